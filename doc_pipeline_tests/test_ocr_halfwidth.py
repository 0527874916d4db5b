"""RapidOCR output: full-width punctuation/letters (PP-OCR's Chinese-trained recogniser) become ASCII."""

from doc_pipeline.core.ocr.rapid import halfwidth


def test_fullwidth_forms_become_ascii():
    assert halfwidth("TEL：03（RM）／Ａ１") == "TEL:03(RM)/A1"


def test_other_text_is_unchanged():
    for t in ("TOTAL : 4.90", "café", "☐ yes", "中文", "×2"):
        assert halfwidth(t) == t
