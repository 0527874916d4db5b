"""The table extractor on three synthetic table PDFs (ruled, two per page, unruled inside a layout region)."""

import pdfplumber
import io

from doc_pipeline.core.models import Block
from doc_pipeline.core.pdf_pages import open_pdf, text_layer_words
from doc_pipeline.core.tables import native_tables, table_to_csv, words_grid_table
from doc_pipeline_tests import make_docs


def _tables(data: bytes, blocks=()):
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return native_tables(pdf.pages[0], 1, list(blocks))


def test_ruled_table_cells():
    (t,) = _tables(make_docs.table_pdf_ruled())
    assert t.rows == [["Name", "Qty", "Price"], ["Apples", "3", "1.20"], ["Pears", "5", "2.40"], ["Plums", "7", "0.90"]]
    assert table_to_csv(t).splitlines()[1] == "Apples,3,1.20"


def test_two_tables_on_one_page():
    ts = _tables(make_docs.table_pdf_two_per_page())
    assert sorted(len(t.rows) for t in ts) == [3, 4]
    assert any(t.rows[0] == ["Year", "Sales", "Cost"] for t in ts)


def test_unruled_table_inside_layout_region():
    data = make_docs.table_pdf_unruled()
    assert _tables(data) == []  # no lines and no layout region: nothing invented
    region = Block(type="table", bbox=(60, 80, 480, 170), score=0.9)
    (t,) = _tables(data, [region])
    assert t.rows[0] == ["Date", "Description", "Amount"]
    assert t.rows[-1] == ["21/01/2024", "Groceries", "-217.55"]


def test_word_grid_from_words():
    data = make_docs.table_pdf_unruled()
    words = text_layer_words(open_pdf(data)[0])
    t = words_grid_table(words, (60, 80, 480, 170), 1)
    assert t is not None and len(t.rows) == 4 and t.rows[2] == ["09/01/2024", "Rent", "-1,400.00"]


def test_ruled_tables_found_in_page_images():
    """Scanned pages: ruling lines from the image, cells filled with the page's words; a text page has none."""
    from doc_pipeline.core.table_scan import ruled_tables

    for data, want in ((make_docs.table_pdf_ruled(), [4]), (make_docs.table_pdf_two_per_page(), [3, 4])):
        words = text_layer_words(open_pdf(data)[0])
        found = ruled_tables(make_docs.render_page(data, 200), 200, words, 1)
        assert sorted(len(t.rows) for t in found) == want
    (t,) = ruled_tables(make_docs.render_page(make_docs.table_pdf_ruled(), 150), 150,
                        text_layer_words(open_pdf(make_docs.table_pdf_ruled())[0]), 1)
    assert t.rows[2] == ["Pears", "5", "2.40"] and t.method == "ocr-ruled"
    assert 70 <= t.bbox[0] <= 74  # PDF points, whatever the image DPI
    text = make_docs.text_pdf(["Hello world", "no table here"])
    assert ruled_tables(make_docs.render_page(text), 200, text_layer_words(open_pdf(text)[0]), 1) == []


def test_line_search_at_reduced_resolution_finds_the_same_tables(monkeypatch):
    """A 300-dpi page is searched for ruling lines at LINE_SEARCH_DPI: the same tables, rows and boxes (within a
    point or two) as the search at full resolution."""
    from doc_pipeline.core import table_scan

    data = make_docs.table_pdf_two_per_page()
    words = text_layer_words(open_pdf(data)[0])
    page = make_docs.render_page(data, 300)
    reduced = table_scan.ruled_tables(page, 300, words, 1)
    monkeypatch.setattr(table_scan, "LINE_SEARCH_DPI", 10_000)
    full = table_scan.ruled_tables(page, 300, words, 1)
    assert len(reduced) == len(full) == 2
    for a, b in zip(sorted(reduced, key=lambda t: t.bbox), sorted(full, key=lambda t: t.bbox)):
        assert a.rows == b.rows
        assert max(abs(x - y) for x, y in zip(a.bbox, b.bbox)) < 2.5
