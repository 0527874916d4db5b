"""Page kinds on generated PDFs: what makes a page with some text still a scan, and blank pages."""

import io

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import ImageReader

from doc_pipeline.core.ingest import inspect_document
from doc_pipeline.core.models import DocKind, PageKind
from doc_pipeline.core.pdf_pages import _WORDLIKE
from doc_pipeline_tests import make_docs

W, H = letter


def _scan_image(w=850, h=1100) -> ImageReader:
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    for y in range(150, 1000, 40):
        d.rectangle((80, y, 760, y + 12), fill=30)  # text-like bars
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    return ImageReader(buf)


def _inspect(tmp_path, data: bytes):
    p = tmp_path / "doc.pdf"
    p.write_bytes(data)
    return inspect_document(p)


def test_header_line_over_full_page_scan_is_scanned(tmp_path):
    def draw(c, i):
        c.drawImage(_scan_image(), 0, 0, W, H)
        c.setFont("Helvetica", 8)
        c.drawString(40, H - 20, "Scanned by ACME Copier 2024-01-05 page 1 of 1 - confidential")

    _, kind, (page,) = _inspect(tmp_path, make_docs.pdf_with(draw))
    assert page.kind == PageKind.scanned and "header/footer" in page.reason
    assert kind == DocKind.scanned


def test_clip_only_text_over_image_is_scanned(tmp_path):
    # render mode 7 (add to clipping path, neither filled nor stroked) is as invisible as mode 3
    def draw(c, i):
        c.drawImage(_scan_image(), 0, 0, W, H)
        t = c.beginText(72, H - 200)
        t.setTextRenderMode(7)
        t.setFont("Helvetica", 11)
        for line in ["An earlier OCR layer hidden as a clipping path", "with enough characters to look native"] * 3:
            t.textLine(line)
        c.drawText(t)

    _, _, (page,) = _inspect(tmp_path, make_docs.pdf_with(draw))
    assert page.kind == PageKind.scanned and "invisible" in page.reason


def test_figure_with_caption_is_native(tmp_path):
    # a born-digital page holding a big figure and a short caption is not a scan
    def draw(c, i):
        c.drawImage(_scan_image(), 90, 150, W - 180, H - 300)
        c.setFont("Helvetica-Bold", 12)
        c.drawString(250, H - 120, "MAP OF FINLAND")

    _, kind, (page,) = _inspect(tmp_path, make_docs.pdf_with(draw))
    assert page.kind == PageKind.native and kind == DocKind.native


def test_blank_page_in_native_document_is_native_but_blank_document_stays_blank(tmp_path):
    def draw(c, i):
        if i != 1:
            c.setFont("Helvetica", 11)
            c.drawString(72, H - 72, f"Page {i + 1}: this agreement is made between the parties below.")

    _, kind, pages = _inspect(tmp_path, make_docs.pdf_with(draw, pages=3))
    assert kind == DocKind.native
    assert [p.kind for p in pages] == [PageKind.native] * 3
    assert pages[1].reason == "blank page of a born-digital document"

    _, _, (blank,) = _inspect(tmp_path, make_docs.blank_pdf())
    assert blank.kind == PageKind.blank


def test_blank_page_next_to_a_scan_stays_blank(tmp_path):
    def draw(c, i):
        if i == 0:
            c.drawImage(_scan_image(), 0, 0, W, H)

    _, kind, pages = _inspect(tmp_path, make_docs.pdf_with(draw, pages=2))
    assert [p.kind for p in pages] == [PageKind.scanned, PageKind.blank]
    assert kind == DocKind.scanned


def test_garbage_from_unmapped_glyph_codes_has_no_words():
    # what pdfium returns for a subset font without a Unicode map vs. a real table of numbers
    assert not _WORDLIKE.search('"7+%-')
    assert not _WORDLIKE.search("\x03\x11 12 #$")
    assert _WORDLIKE.search("Reference Tables [In thousands] 1996 45,611")


def test_unmapped_count_is_the_per_character_test_counted():
    """The regex count of a page's unmapped characters equals `_bad_char` asked for every character: control
    characters (not tab, CR, LF), NUL, the replacement character, private-use and unassigned code points."""
    import random

    from doc_pipeline.core.pdf_pages import _bad_char, unmapped_count

    rng = random.Random(7)
    pool = [chr(i) for i in range(0x3000)] + ["\ufffd", "\x00", "\ue000", "\U000f0000", "\U0010fffd", "\n", "\r",
                                              "\t", "\x7f", "\u0378"]
    for _ in range(500):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 120)))
        assert unmapped_count(text) == sum(1 for ch in text if _bad_char(ch)), repr(text)
    assert unmapped_count("Total \ufffd\ufffd due\x00\x7f\n\t") == 4
