"""detect native / scanned / blank per page, and text-layer words in our coordinate system."""

import pytest

from doc_pipeline.core.errors import CorruptDocumentError, EmptyDocumentError, EncryptedDocumentError
from doc_pipeline.core.ingest import inspect_document
from doc_pipeline.core.models import DocKind, PageKind
from doc_pipeline.core.pdf_pages import classify_page, open_pdf, text_layer_words
from doc_pipeline.samples import mixed_statement_pdf, native_invoice_pdf, scanned_paystub_pdf
from doc_pipeline_tests import make_docs


def _kinds(data: bytes) -> list[PageKind]:
    pdf = open_pdf(data)
    return [classify_page(pdf[i], i + 1).kind for i in range(len(pdf))]


def test_native_scanned_mixed_samples(tmp_path):
    for name, data, doc_kind, page_kinds in (
            ("n.pdf", native_invoice_pdf(), DocKind.native, [PageKind.native]),
            ("s.pdf", scanned_paystub_pdf(), DocKind.scanned, [PageKind.scanned]),
            ("m.pdf", mixed_statement_pdf(), DocKind.mixed, [PageKind.native, PageKind.scanned])):
        p = tmp_path / name
        p.write_bytes(data)
        media, kind, pages = inspect_document(p)
        assert media == "application/pdf"
        assert kind == doc_kind, name
        assert [pg.kind for pg in pages] == page_kinds, name


def test_blank_page_is_not_scanned():
    assert _kinds(make_docs.blank_pdf()) == [PageKind.blank]


def test_invisible_ocr_layer_is_not_native():
    pdf = open_pdf(make_docs.invisible_text_over_image_pdf())
    info = classify_page(pdf[0], 1)
    assert info.kind == PageKind.scanned
    assert "invisible" in info.reason


def test_vector_text_needs_ocr():
    assert _kinds(make_docs.vector_text_pdf()) == [PageKind.scanned]


def test_text_layer_words_have_top_left_point_boxes():
    pdf = open_pdf(make_docs.text_pdf(["Hello world 2024"]))
    words = text_layer_words(pdf[0])
    assert [w.text for w in words] == ["Hello", "world", "2024"]
    hello = words[0].bbox
    # drawn at x=72pt, baseline y=720pt from the bottom of a 792pt page: top-left y is about 792-720-cap height
    assert 71 <= hello[0] <= 73.5
    assert 60 <= hello[1] <= 72 < hello[3] <= 75
    assert all(w.conf == 1.0 for w in words)


def test_bad_pdfs_raise_typed_errors(tmp_path):
    with pytest.raises(EncryptedDocumentError):
        open_pdf(make_docs.encrypted_pdf(tmp_path))
    with pytest.raises(CorruptDocumentError):
        open_pdf(b"%PDF-1.7\n this is not really a pdf")
    p = tmp_path / "empty.pdf"
    p.write_bytes(b"")
    with pytest.raises(EmptyDocumentError):
        inspect_document(p)


def test_page_stats_count_each_drawn_character_once_by_its_render_mode():
    """The visible / invisible counts that decide a page's kind come from one pass over the text layer, each
    character attributed to the text object that drew it (one object per word here, as many writers emit)."""
    from doc_pipeline.core.pdf_pages import _page_stats

    visible = "Invoice 2041 total due".split()
    hidden = "an earlier OCR layer nobody sees".split()

    def draw(c, i):
        c.setFont("Helvetica", 11)
        for k, word in enumerate(visible):
            c.drawString(72 + 60 * k, 700, word)
        t = c.beginText(72, 600)
        t.setTextRenderMode(3)
        for word in hidden:
            t.textOut(word + " ")
        c.drawText(t)

    pdf = open_pdf(make_docs.pdf_with(draw))
    page = pdf[0]
    textpage = page.get_textpage()
    st = _page_stats(page, textpage)
    textpage.close()
    assert st.visible_chars == sum(map(len, visible))
    # the invisible run is one object; its own spaces are characters of that object
    assert sum(map(len, hidden)) <= st.invisible_chars <= len(" ".join(hidden)) + 1
    assert st.symbolic_text is None and st.text_top is not None


def test_words_of_text_scaled_by_its_matrix_and_of_sideways_text_hold_together():
    """Many writers set `1 Tf` and scale the text or graphics matrix: the gap rule must use the size on the page,
    or every letter gap of a 10-point body is a word break. Sideways text is split along its own direction, and
    PDFium's end-of-line hyphen marker is kept as the hyphen it stands for."""

    def scaled(c, i):
        c.saveState()
        c.translate(72, 700)
        c.scale(10, 10)
        c.setFont("Helvetica", 1)
        c.drawString(0, 0, "During the planning phase, the test-retest or intra-")
        c.drawString(0, -1.2, "interviewer reliability")
        c.restoreState()
        t = c.beginText(72, 500)
        t.setFont("Helvetica", 1)
        t.setTextTransform(10, 0, 0, 10, 72, 500)
        t.textOut("Tm scaled words here")
        c.drawText(t)

    words = [w.text for w in text_layer_words(open_pdf(make_docs.pdf_with(scaled))[0])]
    assert words == ["During", "the", "planning", "phase,", "the", "test-retest", "or", "intra-", "interviewer",
                     "reliability", "Tm", "scaled", "words", "here"]

    def sideways(c, i):
        c.setFont("Helvetica", 11)
        for k, angle in enumerate((90, 270, 180)):
            c.saveState()
            c.translate(200 + 150 * k, 400)
            c.rotate(angle)
            c.drawString(0, 0, "Rural Third Repeat Survey 2011-12")
            c.restoreState()

    words = [w.text for w in text_layer_words(open_pdf(make_docs.pdf_with(sideways))[0])]
    assert words == ["Rural", "Third", "Repeat", "Survey", "2011-12"] * 3


def test_the_writing_direction_frame_runs_along_sideways_and_upside_down_text():
    """Each character of a word drawn at 90, 270 or 180 degrees starts further along the frame _along_text gives
    its angle, on the same line: the frame the word-break rule measures gaps in."""
    import math

    import pypdfium2.raw as pdfium_c

    from doc_pipeline.core.pdf_pages import _along_text, char_geometry

    for angle in (90, 270, 180, 0):
        def draw(c, i, angle=angle):
            c.setFont("Helvetica", 11)
            c.translate(300, 400)
            c.rotate(angle)
            c.drawString(0, 0, "Gamma")

        page = open_pdf(make_docs.pdf_with(draw))[0]
        textpage = page.get_textpage()
        frames = []
        for i in range(textpage.count_chars()):
            if pdfium_c.FPDFText_GetUnicode(textpage.raw, i) in (32, 13, 10):
                continue
            size, a = char_geometry(textpage, i)
            assert abs(size - 11) < 0.01
            assert min(abs(a - pdfium_c.FPDFText_GetCharAngle(textpage.raw, i)),
                       2 * math.pi - abs(a - pdfium_c.FPDFText_GetCharAngle(textpage.raw, i))) < 1e-3
            left, bottom, right, top = textpage.get_charbox(i)
            frames.append(_along_text((left, bottom, right, top), round(a / (math.pi / 2)) % 4))
        textpage.close()
        starts = [f[0] for f in frames]
        assert len(frames) == 5
        assert all(b - a > 3 for a, b in zip(starts, starts[1:])), (angle, starts)
        assert max(f[1] for f in frames) - min(f[1] for f in frames) < 4, angle  # one baseline (descender aside)


def test_plumber_chars_reuse_what_the_words_read_of_each_character(monkeypatch):
    """The tables step's characters of a page whose words the layout step read: the size and angle text_layer_words
    read per character are taken, not read again through PDFium; the characters are the same."""
    from array import array

    from doc_pipeline import samples
    from doc_pipeline.core import pdf_pages
    from doc_pipeline.core.pdf_pages import open_pdf, plumber_chars, text_layer_words

    page = open_pdf(samples.native_invoice_pdf())[0]
    geometry = array("d")
    words = text_layer_words(page, geometry)
    textpage = page.get_textpage()
    try:
        assert len(geometry) == 2 * textpage.count_chars() and words
        fresh = plumber_chars(page, textpage)
        reads = []
        real = pdf_pages.char_geometry_reader

        def counting(tp, matrix=None):
            read = real(tp, matrix)
            return lambda i: reads.append(i) or read(i)
        monkeypatch.setattr(pdf_pages, "char_geometry_reader", counting)
        reused = plumber_chars(page, textpage, geometry)
        assert reused == fresh
        # only characters the words skipped (the PDF's own spaces) are read again
        assert len(reads) < len(fresh) / 3
        assert plumber_chars(page, textpage, array("d", [1.0, 0.0])) == fresh  # another page's: not used
    finally:
        textpage.close()
