"""The OCR wrapper (real Tesseract, in-process): words, confidences and boxes in page points."""

import pytest

from doc_pipeline.core.ocr import get_engine
from doc_pipeline.core.ocr.base import words_to_points
from doc_pipeline.core.text import words_to_text
from doc_pipeline_tests import make_docs


@pytest.mark.parametrize("dpi", [150, 300])
def test_tesseract_words_boxes_and_confidence(dpi):
    img = make_docs.text_image(["INVOICE 2024-0042", "Total due 97.99"], dpi=dpi)
    engine = get_engine("tesseract", lang="eng")
    words = words_to_points(engine.recognize(img, dpi), dpi)
    text = words_to_text(words)
    assert "INVOICE" in text and "97.99" in text
    assert all(0.5 < w.conf <= 1.0 for w in words)
    inv = next(w for w in words if w.text == "INVOICE")
    # drawn at 1 inch from the left, 0.5 inch from the top: 72pt and 36pt whatever the DPI
    assert inv.bbox[0] == pytest.approx(72, abs=4)
    assert inv.bbox[1] == pytest.approx(36, abs=8)
    lines = {w.line for w in words}
    assert len(lines) == 2


def test_engine_is_loaded_once_per_thread():
    assert get_engine("tesseract", lang="eng") is get_engine("tesseract", lang="eng")


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown OCR engine"):
        get_engine("nope")


def test_rapidocr_engine_reads_text():
    img = make_docs.text_image(["Total due 97.99"], dpi=200)
    words = words_to_points(get_engine("rapidocr").recognize(img, 200), 200)
    assert "97.99" in " ".join(w.text for w in words)
