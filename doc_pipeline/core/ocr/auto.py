"""Engine choice per page: Tesseract reads every page; a page it reads with low confidence is read again by the
`fusion` engine (RapidOCR, with Tesseract re-reading RapidOCR's unsure lines), and that reading is kept.

Why per page: on clean office scans Tesseract alone is as good as the fusion and about four times cheaper, while on
receipts, faint forms and photographed pages it loses whole lines that PP-OCR finds (order-free word F1 on the
corpus: SROIE 68 vs 91, FUNSD 54 vs 78). Tesseract's own mean word confidence tells the two apart: 0.93-0.96 on
clean generated pages, 0.47-0.91 on the SROIE and FUNSD scans (15 of each, docs/OCR.md), so pages under
`escalate_below` (DOCPIPE_OCR_ESCALATE_BELOW, 0.9) pay for the second reading and clean pages do not.

Tesseract's first reading is not thrown away on an escalated page: the fusion engine checks every PP-OCR line
against it (`fusion.prefer_dictionary_words`: a non-word PP-OCR reading such as `Anount` gives way to Tesseract's
`Amount` at the same place), at no extra OCR.
"""

from __future__ import annotations

from PIL import Image

from doc_pipeline.core.ocr.base import OcrEngine, OcrWord, get_engine, mean_word_conf, register_engine


def page_confidence(words: list[OcrWord]) -> float:
    """Tesseract's mean confidence over the page's words of two or more letters or digits (all words when there are
    none). At 300 dpi the speckles of a clean scan come out as one-character "words" of low confidence: the benchmark's
    scans read 0.86-0.91 by the plain word mean at 300 dpi (0.93-0.96 at 200) and would all pay for a second reading;
    without those marks 0.905-0.951. On the corpus the decisions stay as they were (SROIE 1 of 30 pages at 0.9 or
    more either way, FUNSD 0 of 30; docs/OCR.md)."""
    real = [w for w in words if sum(c.isalnum() for c in w.text) >= 2]
    return mean_word_conf(real or words)


def needs_second_reading(words: list[OcrWord], escalate_below: float) -> bool:
    """A page with no words at all is read again too: faint or low-contrast text Tesseract does not even find."""
    return page_confidence(words) < escalate_below


@register_engine("auto")
class AutoEngine(OcrEngine):
    """Tesseract; the fusion engine for pages Tesseract is unsure of. `name` says which reading the last page got."""

    name = "tesseract"

    def __init__(self, escalate_below: float = 0.9, recheck_below: float = 0.8, lang: str = "eng",
                 tessdata: str | None = None):
        self.escalate_below = escalate_below
        self._tess_opts = {"lang": lang, **({"tessdata": tessdata} if tessdata else {})}
        self._fusion_opts = {**self._tess_opts, "recheck_below": recheck_below}
        self.fast = get_engine("tesseract", **self._tess_opts)
        self.last_confidence = 0.0

    def version(self) -> str:
        return self.fast.version()

    def recognize(self, image: Image.Image, dpi: int) -> list[OcrWord]:
        words = self.fast.recognize(image, dpi)
        self.last_confidence = page_confidence(words)
        if not needs_second_reading(words, self.escalate_below):
            self.name = self.fast.name
            return words
        fusion = get_engine("fusion", **self._fusion_opts)  # loaded on the first unsure page only
        self.name = fusion.name
        return fusion.recognize(image, dpi, page_words=words)  # Tesseract's words: the dictionary check
