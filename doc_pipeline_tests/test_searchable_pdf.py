"""Searchable PDF through OCRmyPDF with the pipeline's own words (no second OCR): the text layer is findable."""

import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from doc_pipeline.core.models import Page, PageKind, Word
from doc_pipeline.core.ocr import get_engine
from doc_pipeline.core.ocr.base import words_to_points
from doc_pipeline.core.ocr.reading_order import order_words
from doc_pipeline.core.searchable_pdf import _unrotate_box, words_payload, write_searchable_pdf
from doc_pipeline_tests import make_docs


def _pdf_words(path: Path) -> str:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def test_image_input_gets_text_layer_from_our_words(tmp_path):
    dpi = 150
    img = make_docs.text_image(["INVOICE 2024-0042", "Total due 97.99"], dpi=dpi)
    words = words_to_points(order_words(get_engine("rapidocr").recognize(img, dpi)), dpi)
    page = Page(page_no=1, kind=PageKind.scanned, width=img.width * 72 / dpi, height=img.height * 72 / dpi,
                words=words)
    out = write_searchable_pdf([page], tmp_path / "out.pdf", page_images=[(img, dpi)])
    text = _pdf_words(out)
    assert "INVOICE" in text and "97.99" in text
    # the page keeps its size in points and the invisible words sit where the printed ones are
    pdf = pdfium.PdfDocument(str(out))
    assert pdf[0].get_size() == pytest.approx((612, 288), abs=1)
    pdf.close()
    bbox = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True, text=True).stdout
    line = next(ln for ln in bbox.splitlines() if ">INVOICE<" in ln)
    x_min = float(line.split('xMin="')[1].split('"')[0])
    assert x_min == pytest.approx(72, abs=5)


def test_text_layer_is_exactly_the_pipeline_words_not_a_second_ocr(tmp_path):
    img = make_docs.text_image(["INVOICE 2024-0042"], dpi=100)
    fake = Word(text="PIPELINEWORD", bbox=(72, 36, 200, 50), conf=0.9)  # not what the image says
    page = Page(page_no=1, kind=PageKind.scanned, width=612, height=288, words=[fake])
    text = _pdf_words(write_searchable_pdf([page], tmp_path / "o.pdf", page_images=[(img, 100)]))
    assert "PIPELINEWORD" in text and "INVOICE" not in text


def test_pdf_input_native_pages_untouched_scanned_pages_get_words(tmp_path):
    src = tmp_path / "mixed.pdf"
    src.write_bytes(make_docs.text_pdf(["Native page text here"]))
    native = Page(page_no=1, kind=PageKind.native, width=612, height=792, words=[])
    text = _pdf_words(write_searchable_pdf([native], tmp_path / "o.pdf", source_pdf=src))
    assert "Native page text here" in text  # skip mode: the existing text layer stays


def test_turned_page_words_map_back_to_the_original_page():
    # a word at the top-left of a page we turned 90 degrees clockwise (612x792 original -> 792x612 shown)
    w, h = 792.0, 612.0
    box_shown = (10.0, 20.0, 60.0, 30.0)
    back = _unrotate_box(box_shown, 90, w, h)
    assert back == (20.0, w - 60.0, 30.0, w - 10.0)
    assert _unrotate_box(box_shown, 180, w, h) == (w - 60, h - 30, w - 10, h - 20)
    page = Page(page_no=1, kind=PageKind.scanned, width=w, height=h, preprocessing=["rotate_90"],
                words=[Word(text="x", bbox=box_shown, conf=1.0)])
    payload = words_payload([page], turned_back=True)
    assert payload["0"]["width"] == h and payload["0"]["height"] == w
