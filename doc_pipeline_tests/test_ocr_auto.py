"""The `auto` OCR engine: Tesseract, and the fusion engine for pages Tesseract reads with low confidence."""

import numpy as np
from PIL import Image, ImageFilter

from doc_pipeline.core.ocr import get_engine
from doc_pipeline.core.ocr.auto import needs_second_reading, page_confidence
from doc_pipeline.core.ocr.base import OcrWord, mean_word_conf
from doc_pipeline.core.page_text import PageTextReader
from doc_pipeline_tests import make_docs

LINES = ["INVOICE 2024-0042", "Customer Jane Smith", "Total due 97.99"]


def w(conf):
    return OcrWord(text="x", box_px=(0, 0, 1, 1), conf=conf)


def test_second_reading_only_below_the_threshold_or_when_nothing_was_read():
    assert page_confidence([w(0.8), w(1.0)]) == 0.9  # no word of two characters: the mean of all
    assert not needs_second_reading([w(0.95), w(0.91)], 0.9)
    assert needs_second_reading([w(0.95), w(0.7)], 0.9)
    assert needs_second_reading([], 0.9)


def test_speckles_read_as_marks_do_not_make_a_page_unsure():
    """One-character marks (a clean scan's speckles at 300 dpi) do not count; unsure real words do."""
    def word(text, conf):
        return OcrWord(text=text, box_px=(0, 0, 1, 1), conf=conf)

    sure_words = [word("Invoice", 0.96), word("97.99", 0.95), word("Northwind", 0.94)] * 3
    specks = [word(".", 0.3), word("'", 0.25), word("-", 0.4)] * 3
    assert page_confidence(sure_words + specks) > 0.9 > mean_word_conf(sure_words + specks)
    assert not needs_second_reading(sure_words + specks, 0.9)
    assert needs_second_reading(sure_words + [word("Tota1", 0.4), word("arnount", 0.5)] * 3, 0.9)


def test_a_clean_page_is_read_by_tesseract_alone():
    img = make_docs.text_image(LINES, dpi=200)
    engine = get_engine("auto", escalate_below=0.9)
    words = engine.recognize(img, 200)
    assert engine.name == "tesseract" and engine.last_confidence >= 0.9
    assert {"INVOICE", "97.99"} <= {x.text for x in words}


def _faded(img: Image.Image) -> Image.Image:
    """Faint, blurred, speckled print: the kind of page Tesseract reads with low confidence."""
    arr = np.asarray(img.convert("L").filter(ImageFilter.GaussianBlur(1.6)), dtype=np.float32)
    arr = 150 + arr * (105 / 255)  # ink at about 150 grey on white
    rng = np.random.default_rng(7)
    arr += rng.normal(0, 22, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def test_an_unsure_page_is_read_again_by_the_fusion_engine():
    img = _faded(make_docs.text_image(LINES, dpi=200))
    tess_conf = page_confidence(get_engine("tesseract").recognize(img, 200))
    engine = get_engine("auto", escalate_below=0.9)
    engine.recognize(img, 200)
    assert engine.last_confidence == tess_conf < 0.9
    assert engine.name == "rapidocr+tesseract"
    # the same page with a threshold under Tesseract's confidence stays with Tesseract
    low = get_engine("auto", escalate_below=tess_conf - 0.01)
    low.recognize(img, 200)
    assert low.name == "tesseract"


def test_the_page_records_which_reading_it_got():
    reader = PageTextReader(ocr_engine="auto", workers=1)
    words, engine = reader.ocr_image(make_docs.text_image(LINES, dpi=200), 200)
    assert engine == "tesseract" and words
    words, engine = reader.ocr_image(_faded(make_docs.text_image(LINES, dpi=200)), 200)
    assert engine == "rapidocr+tesseract"


def test_an_escalated_page_hands_tesseracts_words_to_the_fusion(monkeypatch):
    """Tesseract's first reading is the fusion's dictionary check (fusion.prefer_dictionary_words), not waste."""
    from doc_pipeline.core.ocr.fusion import FusionEngine

    seen = {}

    def fake(self, image, dpi, page_words=None):
        seen["words"] = page_words
        return []

    monkeypatch.setattr(FusionEngine, "recognize", fake)
    img = make_docs.text_image(LINES, dpi=200)
    first = get_engine("tesseract").recognize(img, 200)
    get_engine("auto", escalate_below=1.01).recognize(img, 200)  # every page escalates
    assert seen["words"] and [w.text for w in seen["words"]] == [w.text for w in first]
