"""OCRmyPDF OCR-engine plugin that does no OCR: it returns the words doc-pipeline already recognised
(core/searchable_pdf.py writes them to the JSON file named by DOCPIPE_OCRMYPDF_WORDS)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ocrmypdf import hookimpl
from ocrmypdf.hocrtransform import BoundingBox, OcrClass, OcrElement
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence
from PIL import Image

WORDS_ENV = "DOCPIPE_OCRMYPDF_WORDS"


def _page_words(page_number: int) -> dict | None:
    path = os.environ.get(WORDS_ENV)
    if not path:
        return None
    return json.loads(Path(path).read_text(encoding="utf-8")).get(str(page_number))


class PipelineWordsEngine(OcrEngine):
    @staticmethod
    def version() -> str:
        return "doc-pipeline"

    @staticmethod
    def creator_tag(options) -> str:
        return "doc-pipeline OCR (RapidOCR/Tesseract) via OCRmyPDF"

    def __str__(self) -> str:
        return "doc-pipeline words"

    @staticmethod
    def languages(options) -> set[str]:
        return {"eng"}

    @staticmethod
    def get_orientation(input_file: Path, options) -> OrientationConfidence:
        return OrientationConfidence(angle=0, confidence=0.0)

    @staticmethod
    def get_deskew(input_file: Path, options) -> float:
        return 0.0

    @staticmethod
    def supports_generate_ocr() -> bool:
        return True

    @staticmethod
    def generate_ocr(input_file: Path, options, page_number: int = 0):
        with Image.open(input_file) as img:
            width, height = img.size
            dpi_info = img.info.get("dpi", (72, 72))
            dpi = float(dpi_info[0] if isinstance(dpi_info, tuple) else dpi_info)
        page = OcrElement(ocr_class=OcrClass.PAGE, bbox=BoundingBox(left=0, top=0, right=width, bottom=height),
                          dpi=dpi, page_number=page_number)
        data = _page_words(page_number)
        if not data:
            return page, ""
        sx, sy = width / data["width"], height / data["height"]  # points -> this raster's pixels
        texts = []
        for line in data["lines"]:
            words = []
            for text, x0, y0, x1, y1, conf in line:
                bb = BoundingBox(left=x0 * sx, top=y0 * sy, right=max(x1 * sx, x0 * sx + 1),
                                 bottom=max(y1 * sy, y0 * sy + 1))
                words.append(OcrElement(ocr_class=OcrClass.WORD, bbox=bb, text=text, confidence=conf))
            lb = BoundingBox(left=min(w.bbox.left for w in words), top=min(w.bbox.top for w in words),
                             right=max(w.bbox.right for w in words), bottom=max(w.bbox.bottom for w in words))
            page.children.append(OcrElement(ocr_class=OcrClass.LINE, bbox=lb, children=words))
            texts.append(" ".join(w.text for w in words))
        return page, "\n".join(texts)

    @staticmethod
    def generate_hocr(input_file, output_hocr, output_text, options) -> None:
        raise NotImplementedError("doc-pipeline words are supplied through generate_ocr()")

    @staticmethod
    def generate_pdf(input_file, output_pdf, output_text, options) -> None:
        raise NotImplementedError("use the fpdf2 renderer")


@hookimpl
def get_ocr_engine(options):
    return PipelineWordsEngine()
