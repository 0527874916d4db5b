"""Layout of native pages from their text layer (core/layout_native.py), and the pages that still get the model."""

from __future__ import annotations

import io

from PIL import Image
from reportlab.lib import colors
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Table, TableStyle

from doc_pipeline.core.layout_native import native_layouts, native_page_layout
from doc_pipeline.core.models import PageInfo, PageKind
from doc_pipeline.core.pdf_pages import PageMemo, open_pdf, text_layer_words
from doc_pipeline_tests import make_docs

PROSE = ("the parties agree that the supplier delivers the goods named in the order within thirty days of the date "
         "of the order and that the buyer pays every invoice within thirty days of its date").split()


def _prose_lines(n: int, words_per_line: int = 11, start: int = 0) -> list[str]:
    return [" ".join(PROSE[(start + i * words_per_line + k) % len(PROSE)] for k in range(words_per_line))
            for i in range(n)]


def _report_page(c, _i):
    c.setFont("Helvetica-Bold", 20)
    c.drawString(72, 730, "Quarterly Report")
    c.setFont("Helvetica", 11)
    y = 700
    for line in _prose_lines(4):
        c.drawString(72, y, line)
        y -= 14
    y -= 14  # paragraph break
    for line in _prose_lines(3, start=5):
        c.drawString(72, y, line)
        y -= 14
    y -= 10
    for item in ("deliveries on time", "invoices paid", "claims settled"):
        c.drawString(80, y, "\u2022")
        c.drawString(92, y, item)
        y -= 16
    t = Table([["Item", "Qty", "Price"], ["Paper", "3", "1.20"], ["Toner", "5", "2.40"]], colWidths=[120, 60, 80])
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.8, colors.black)]))
    _, h = t.wrapOn(c, 0, 0)
    t.drawOn(c, 72, 420 - h)
    img = Image.new("RGB", (200, 120), (40, 90, 160))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    c.drawImage(ImageReader(io.BytesIO(buf.getvalue())), 72, 150, width=200, height=120)


def _layout(pdf_bytes: bytes, mode: str = "auto"):
    page = open_pdf(pdf_bytes)[0]
    return native_page_layout(page, text_layer_words(page), mode)


def test_a_native_page_is_laid_out_from_its_text_layer_with_every_block_class():
    nl = _layout(make_docs.pdf_with(_report_page))
    assert nl.blocks is not None, nl.reason  # no table left open: the model is not needed
    kinds = [b.type for b in nl.blocks]  # reading order
    assert kinds == ["title", "text", "text", "list", "table", "figure"], kinds
    title, para1, para2, items, table, figure = nl.blocks
    assert title.bbox[1] < 72 and title.bbox[2] < 300  # the heading line only, at the top (y down)
    assert para1.bbox[3] < para2.bbox[1]  # two paragraphs, one above the other, not one block
    assert para2.bbox[3] < items.bbox[1] and items.bbox[3] < table.bbox[1]  # the three items in one block
    assert items.bbox[3] - items.bbox[1] > 30
    assert abs(table.bbox[0] - 72) < 2 and abs(table.bbox[2] - 332) < 2  # the ruled grid: 120 + 60 + 80 wide
    assert abs(figure.bbox[0] - 72) < 1 and abs(figure.bbox[1] - (792 - 270)) < 1  # the picture's box, y down
    assert [b.order for b in nl.blocks] == list(range(6))


def test_an_unruled_table_sends_the_page_to_the_model_and_text_layer_mode_never_does():
    data = make_docs.table_pdf_unruled()  # rows of cells aligned by position only: only the model finds the table
    nl = _layout(data)
    assert nl.blocks is None and "rows of cells" in nl.reason
    forced = _layout(data, mode="text_layer")
    assert forced.blocks is not None and forced.blocks


def test_two_columns_of_prose_are_not_a_table_and_read_left_column_first():
    def draw(c, _i):
        c.setFont("Helvetica", 10)
        for x, start in ((72, 0), (320, 7)):
            for j, line in enumerate(_prose_lines(12, words_per_line=7, start=start)):
                c.drawString(x, 700 - 13 * j, line)
    nl = _layout(make_docs.pdf_with(draw))
    assert nl.blocks is not None, nl.reason
    assert [b.type for b in nl.blocks] == ["text", "text"]
    left, right = nl.blocks
    assert left.bbox[2] < 320 <= right.bbox[0] + 1


def test_what_pdfium_read_for_the_layout_is_kept_for_the_next_steps_and_a_changed_file_reads_afresh():
    memo = PageMemo()
    page = open_pdf(make_docs.table_pdf_ruled())[0]
    words = memo.words(page, "sha-a", 1)
    look = memo.ruled(page, "sha-a", 1)
    assert memo.words(page, "sha-a", 1) is words and memo.ruled(page, "sha-a", 1) is look  # read once
    assert look.tables and memo.sideways(page, "sha-a", 1) == 0.0
    other = open_pdf(make_docs.text_pdf(["Invoice 2002"]))[0]
    assert [w.text for w in memo.words(other, "sha-b", 1)] == ["Invoice", "2002"]
    assert [w.text for w in memo.words(other, "", 1)] == ["Invoice", "2002"]  # no digest: never kept
    assert (memo.hits, memo.misses) == (2, 6)  # words (with their characters' geometry), rulings, share, words
    assert len(memo.known("sha-a", 1, "geometry")) > 0  # for the tables step's characters


def test_native_layouts_covers_native_pages_only(tmp_path):
    path = tmp_path / "d.pdf"
    path.write_bytes(make_docs.pdf_with(_report_page, pages=2))
    pages = [PageInfo(page_no=1, kind=PageKind.native, width=612, height=792),
             PageInfo(page_no=2, kind=PageKind.scanned, width=612, height=792)]
    out = native_layouts(str(path), pages, "sha-native-layouts")
    assert list(out) == [1] and out[1].blocks


def test_lay_out_document_sends_only_pages_with_an_open_table_to_the_model(tmp_path):
    from doc_pipeline.core.ingest import file_sha256, inspect_document
    from doc_pipeline.core.layout import get_layout_engine
    from doc_pipeline.core.layout_native import lay_out_document
    from doc_pipeline.core.models import RawDocument
    from doc_pipeline.core.render import render_page_on_demand

    def draw(c, i):
        if i == 0:  # make_docs.table_pdf_unruled's rows: columns aligned by position only
            c.setFont("Helvetica", 11)
            for j, row in enumerate([["Date", "Description", "Amount"], ["03/01/2024", "Salary", "2,100.00"],
                                     ["09/01/2024", "Rent", "-1,400.00"], ["21/01/2024", "Groceries", "-217.55"]]):
                for x, cell in zip((72, 200, 360), row):
                    c.drawString(x, 700 - 20 * j, cell)
        else:
            _report_page(c, i)
    data = make_docs.pdf_with(draw, pages=2)
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    media, kind, infos = inspect_document(path)
    raw = RawDocument(doc_id="d", raw_key="raw/d.pdf", media_type=media, sha256=file_sha256(path), size=len(data),
                      kind=kind, pages=infos)
    infos = {p.page_no: p for p in raw.pages}
    engine = get_layout_engine("rapid_layout")
    seen = []

    def detect(page_no):  # as the asset does for a page page_images left to be rendered on demand
        seen.append(page_no)
        page = render_page_on_demand(str(path), infos[page_no], 100, 60_000_000)
        return engine.detect(page.image, page.dpi)

    layout = lay_out_document(str(path), raw, detect, engine.name)
    assert seen == [1] and layout.text_layer_pages == [2]
    pdf = open_pdf(data)
    assert layout.pages[1] == engine.detect(pdf[0].render(scale=100 / 72).to_pil(), 100)  # the model's own blocks
    assert [b.type for b in layout.pages[2]][:2] == ["title", "text"]
    seen.clear()
    every = lay_out_document(str(path), raw, detect, engine.name, mode="model")
    assert seen == [1, 2] and every.text_layer_pages == []


def test_ruled_boxes_in_one_column_are_no_table_block():
    def draw(c, _i):
        c.setLineWidth(0.8)
        c.rect(36, 36, 540, 720)  # a page frame
        c.line(36, 500, 576, 500)  # ruled off into sections
        c.line(36, 300, 576, 300)
        c.setFont("Helvetica", 11)
        for j, line in enumerate(_prose_lines(5)):
            c.drawString(72, 700 - 14 * j, line)
        for j, line in enumerate(_prose_lines(4, start=3)):
            c.drawString(72, 450 - 14 * j, line)
    nl = _layout(make_docs.pdf_with(draw))
    assert nl.blocks is not None, nl.reason
    assert [b.type for b in nl.blocks] == ["text", "text"]


def test_figures_come_from_the_rulings_walk_or_a_walk_of_their_own():
    from doc_pipeline.core.layout_native import _figures
    from doc_pipeline.core.pdf_pages import ruled_look

    page = open_pdf(make_docs.pdf_with(_report_page))[0]
    look = ruled_look(page)
    assert look.images is not None and len(look.images) == 1
    assert _figures(page, look.images) == _figures(page, None) == [(72.0, 792 - 270.0, 272.0, 792 - 150.0)]


def test_a_turned_page_goes_to_the_model_and_text_layer_mode_lays_out_its_words_alone():
    pdf = open_pdf(make_docs.pdf_with(_report_page))
    page = pdf[0]
    page.set_rotation(90)
    words = text_layer_words(page)
    assert native_page_layout(page, words).reason == "turned or sideways text"
    blocks = native_page_layout(page, words, "text_layer").blocks
    assert blocks and not [b for b in blocks if b.type in ("table", "figure")]  # their frame is the unturned page's
    assert all(b.bbox[2] <= 792 + 1 for b in blocks)  # words of the turned page: 792 pt wide as displayed


def test_ocr_text_takes_remembered_text_layer_words_without_opening_the_pdf(tmp_path, monkeypatch):
    """ocr_text's native pages: words layout_blocks read in this process come from the memo without loading the
    page or opening the PDF; a page not remembered (a retry in another process) is read, with the same words."""
    from doc_pipeline.core import page_text
    from doc_pipeline.core.ingest import file_sha256, inspect_document
    from doc_pipeline.core.models import LayoutResult, PageImages, RawDocument
    from doc_pipeline.core.page_text import PageTextReader
    from doc_pipeline.core.pdf_pages import PAGE_MEMO

    path = tmp_path / "d.pdf"
    path.write_bytes(make_docs.pdf_with(_report_page, pages=2))
    media, kind, infos = inspect_document(path)
    raw = RawDocument(doc_id="d", raw_key="raw/d.pdf", media_type=media, sha256=file_sha256(str(path)), size=1,
                      kind=kind, pages=infos)
    opened = []
    real = page_text.pdfium.PdfDocument
    monkeypatch.setattr(page_text.pdfium, "PdfDocument", lambda *a, **k: opened.append(a) or real(*a, **k))

    def read():
        return PageTextReader(ocr_engine="tesseract").read_document(
            str(path), raw, PageImages(doc_id="d", images=[]), LayoutResult(doc_id="d", engine="text_layer", pages={}), lambda k: b"")

    first = read()  # nothing remembered for this file yet: read from the PDF
    assert len(opened) == 1 and all(p.words for p in first)
    again = read()
    assert len(opened) == 1  # remembered: the PDF was not opened again
    assert [[w.text for w in p.words] for p in again] == [[w.text for w in p.words] for p in first]
    assert PAGE_MEMO.known(raw.sha256, 1, "words") is not None and PAGE_MEMO.known("", 1, "words") is None
