"""Engine selection per text line: RapidOCR reads the page; where it is unsure of a line, Tesseract reads that line
again (single-line mode on the line's crop) and the more confident reading wins.

Why per line: PP-OCR finds lines more reliably than Tesseract on receipts and forms (faint print, stamps, skew),
and its recogniser is better on most lines; Tesseract's dictionary-backed recogniser sometimes wins on lines PP-OCR
is unsure of. Re-reading only the unsure lines keeps the cost close to RapidOCR alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from doc_pipeline.core.ocr.base import OcrEngine, OcrWord, get_engine, register_engine

LINE_TARGET_HEIGHT = 40  # px: Tesseract reads single lines best with capitals around 25-30 px


@dataclass(frozen=True)
class LineChoice:
    """Which reading of one line was kept, and why (the selection rule, testable without engines)."""

    engine: str
    words: list[OcrWord]


def line_conf(words: list[OcrWord]) -> float:
    return min((w.conf for w in words), default=0.0)


def choose_line(primary: list[OcrWord], secondary: list[OcrWord] | None, *, margin: float = 0.15,
                primary_name: str = "rapidocr", secondary_name: str = "tesseract") -> LineChoice:
    """Keep the primary reading unless the secondary one is clearly more confident (mean word confidence ahead by
    `margin`) and they agree on roughly how much text there is (a reading that lost half the line does not win)."""
    if not secondary:
        return LineChoice(primary_name, primary)
    p_chars = sum(len(w.text) for w in primary)
    s_chars = sum(len(w.text) for w in secondary)
    if p_chars and not (0.6 <= s_chars / p_chars <= 1.6):
        return LineChoice(primary_name, primary)
    p_mean = sum(w.conf for w in primary) / max(1, len(primary))
    s_mean = sum(w.conf for w in secondary) / len(secondary)
    if s_mean >= p_mean + margin:
        return LineChoice(secondary_name, secondary)
    return LineChoice(primary_name, primary)


@register_engine("fusion")
class FusionEngine(OcrEngine):
    """RapidOCR for the page, Tesseract for the lines RapidOCR is unsure of (DOCPIPE_OCR_RECHECK_BELOW)."""

    name = "rapidocr+tesseract"

    def __init__(self, recheck_below: float = 0.8, margin: float = 0.15, lang: str = "eng", tessdata: str | None = None):
        self.recheck_below, self.margin = recheck_below, margin
        self.rapid = get_engine("rapidocr")
        opts = {"lang": lang, **({"tessdata": tessdata} if tessdata else {})}
        self.tess_line = get_engine("tesseract", psm=7, **opts)  # PSM 7: the image is one text line
        self.last_choices: list[str] = []

    def recognize(self, image: Image.Image, dpi: int) -> list[OcrWord]:
        gray = image.convert("L")
        words: list[OcrWord] = []
        self.last_choices = []
        for line in self.rapid.recognize_lines(image):
            second = None
            if line_conf(line) < self.recheck_below:
                second = self._read_line(gray, line, dpi)
            choice = choose_line(line, second, margin=self.margin)
            self.last_choices.append(choice.engine)
            words.extend(choice.words)
        return words  # engine line numbers; page_text orders them (reading_order)

    def _read_line(self, gray: Image.Image, line: list[OcrWord], dpi: int) -> list[OcrWord]:
        x0 = min(w.box_px[0] for w in line)
        y0 = min(w.box_px[1] for w in line)
        x1 = max(w.box_px[2] for w in line)
        y1 = max(w.box_px[3] for w in line)
        pad = max(2, (y1 - y0) // 5)
        box = (max(0, x0 - pad), max(0, y0 - pad), min(gray.width, x1 + pad), min(gray.height, y1 + pad))
        crop = gray.crop(box)
        scale = max(1.0, LINE_TARGET_HEIGHT / max(1, crop.height))
        if scale > 1.0:
            crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.LANCZOS)
        out = []
        for w in self.tess_line.recognize(crop, int(dpi * scale)):
            b = w.box_px
            out.append(OcrWord(text=w.text, conf=w.conf, line=line[0].line, block=line[0].block,
                               box_px=(box[0] + int(b[0] / scale), box[1] + int(b[1] / scale),
                                       box[0] + int(round(b[2] / scale)), box[1] + int(round(b[3] / scale)))))
        return out
