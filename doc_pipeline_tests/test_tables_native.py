"""Native table extraction: per-region choice among extractors, cross-page merge, sideways tables."""

from reportlab.lib.pagesizes import letter

from doc_pipeline.core.ingest import inspect_document
from doc_pipeline.core.models import Block, Page, RawDocument, Table
from doc_pipeline.core.table_native import check_grid, merge_continued_tables
from doc_pipeline.core.table_stage import extract_document_tables
from doc_pipeline_tests import make_docs

W, H = letter
ROWS = [["Country", "Fund", "Total"], ["Bulgaria", "2.3", "5.5"], ["Cyprus", "0.21", "0.21"],
        ["Estonia", "1.1", "3.0"], ["Hungary", "8.6", "19.8"], ["Latvia", "1.5", "3.9"]]
XS = [72, 220, 330, 440]


def _table(c, rows, top, row_lines=True, col_lines=True):
    """A table whose top edge is `top` points from the top of the page."""
    y = H - top
    n = len(rows)
    c.setLineWidth(0.8)
    c.rect(XS[0], y - n * 18, XS[-1] - XS[0], n * 18)
    if col_lines:
        for x in XS[1:-1]:
            c.line(x, y, x, y - n * 18)
    c.line(XS[0], y - 18, XS[-1], y - 18)  # header rule
    if row_lines:
        for i in range(2, n):
            c.line(XS[0], y - i * 18, XS[-1], y - i * 18)
    c.setFont("Helvetica", 10)
    for i, row in enumerate(rows):
        for x, cell in zip(XS, row):
            c.drawString(x + 4, y - i * 18 - 13, cell)


def _run(tmp_path, data: bytes, blocks=None, with_words: bool = False, **kw) -> list[Table]:
    """`with_words`: the pages carry their text-layer words, as ocr_text's pages do in the pipeline."""
    p = tmp_path / "t.pdf"
    p.write_bytes(data)
    media, kind, infos = inspect_document(p)
    raw = RawDocument(doc_id="t", raw_key="raw/t.pdf", media_type=media, sha256="", size=len(data), kind=kind, pages=infos)
    words = {}
    if with_words:
        import pypdfium2 as pdfium

        from doc_pipeline.core.pdf_pages import text_layer_words

        pdf = pdfium.PdfDocument(str(p))
        words = {i + 1: text_layer_words(pdf[i]) for i in range(len(pdf))}
        pdf.close()
    pages = [Page(page_no=i.page_no, kind=i.kind, width=i.width, height=i.height, rotation=i.rotation,
                  words=words.get(i.page_no, []), blocks=(blocks or {}).get(i.page_no, [])) for i in infos]
    return extract_document_tables(str(p), raw, pages, **kw)


def test_grid_check_flags_stacked_values_and_cut_words():
    stacked = [["Country", "Fund"], ["Bulgaria\nCyprus\nEstonia", "2.3\n0.21\n1.1"]]
    assert check_grid(stacked).stacked > 0 and not check_grid(stacked, ["Country"]).sound
    cut = [["Coun", "try"], ["Bulg", "aria"]]
    assert check_grid(cut, ["Country", "Bulgaria"]).integrity == 0
    good = [["Country", "Fund"], ["Bulgaria", "2.3"]]
    assert check_grid(good, ["Country", "Fund", "Bulgaria", "2.3"]).sound


def test_ruled_table_without_row_lines_is_read_row_by_row(tmp_path):
    # the box and column rules are there, the row rules are not: pdfplumber's ruled grid would put every body
    # row in one cell; the region is read by the extractor whose grid holds no stacked values
    data = make_docs.pdf_with(lambda c, i: _table(c, ROWS, 100, row_lines=False))
    (t,) = _run(tmp_path, data)
    assert t.rows == ROWS
    assert t.method != "pdfplumber-lines"


def test_fully_ruled_table_keeps_its_ruled_grid(tmp_path):
    data = make_docs.pdf_with(lambda c, i: _table(c, ROWS, 100))
    (t,) = _run(tmp_path, data)
    assert t.rows == ROWS and t.method == "pdfplumber-lines"


def test_unruled_table_in_layout_region(tmp_path):
    data = make_docs.pdf_with(lambda c, i: _table(c, ROWS, 100, row_lines=False, col_lines=False))
    region = Block(type="table", bbox=(60, 90, 450, 100 + 18 * len(ROWS) + 10), score=0.9)
    tables = _run(tmp_path, data, {1: [region]})
    assert [t.rows for t in tables] == [ROWS]


def test_table_continued_on_next_page_is_merged_when_asked(tmp_path):
    first, second = ROWS[:4], [ROWS[0]] + ROWS[4:]  # the header row repeats on page 2

    def draw(c, i):
        if i == 0:
            c.setFont("Helvetica", 11)
            c.drawString(72, H - 72, "Annex: funds per country")
            _table(c, first, H - 18 * len(first) - 60)  # ends near the bottom
        else:
            _table(c, second, 60)  # starts at the top

    data = make_docs.pdf_with(draw, pages=2)
    per_page = _run(tmp_path, data)
    assert [t.page_no for t in per_page] == [1, 2]
    (merged,) = _run(tmp_path, data, merge_pages=True)
    assert merged.rows == ROWS and merged.page_no == 1 and merged.method.endswith("+continued")


def test_merge_needs_same_columns_and_adjacent_pages():
    a = Table(page_no=1, bbox=(50, 600, 500, 780), rows=[["a", "b"], ["1", "2"]])
    b = Table(page_no=2, bbox=(50, 40, 500, 200), rows=[["x", "y", "z"], ["1", "2", "3"]])
    c = Table(page_no=3, bbox=(50, 40, 500, 200), rows=[["a", "b"], ["3", "4"]])
    assert len(merge_continued_tables([a, b], {1: 792, 2: 792})) == 2
    assert len(merge_continued_tables([a, c], {1: 792, 3: 792})) == 2


def test_sideways_table_is_read_upright(tmp_path):
    def draw(c, i):
        c.translate(W, 0)
        c.rotate(90)  # the table runs up the page, as in a landscape table printed on a portrait page
        _table(c, ROWS, 100 - (H - W))

    (t,) = _run(tmp_path, make_docs.pdf_with(draw))
    assert t.rows == ROWS and "rotated" in t.method


def test_camelot_reads_only_the_regions_a_sound_ruled_grid_did_not_decide(tmp_path, monkeypatch):
    """A fully ruled table is decided by pdfplumber's grid (choose() takes a sound ruled grid outright), so camelot,
    which parses the page again, is not asked for it; a table whose rows are not ruled still goes to camelot."""
    from doc_pipeline.core import table_native

    asked = []
    real = table_native.camelot_candidates

    def spy(path, page_no, regions, page_height, flavor):
        asked.append((flavor, len(regions)))
        return real(path, page_no, regions, page_height, flavor)

    monkeypatch.setattr(table_native, "camelot_candidates", spy)
    # nor does pdfplumber's text strategy read a decided region (and the ruled grids are found once a page)
    text_asked, ruled_asked = [], []
    real_text, real_ruled = table_native.plumber_text_candidates, table_native.plumber_ruled_candidates
    monkeypatch.setattr(table_native, "plumber_text_candidates",
                        lambda page, regions: text_asked.append(len(regions)) or real_text(page, regions))
    monkeypatch.setattr(table_native, "plumber_ruled_candidates",
                        lambda page: ruled_asked.append(1) or real_ruled(page))
    (t,) = _run(tmp_path, make_docs.pdf_with(lambda c, i: _table(c, ROWS, 100)))
    assert t.rows == ROWS and t.method == "pdfplumber-lines" and asked == [] and text_asked == []
    assert ruled_asked == []  # decided from PDFium's reading of the page alone (see the next test)
    (t,) = _run(tmp_path, make_docs.pdf_with(lambda c, i: _table(c, ROWS, 100, row_lines=False)))
    assert t.rows == ROWS and ("stream", 1) in asked and text_asked == [1] and ruled_asked == [1]


def _grid_as_one_path(c, rows, top):
    """The table's rulings as a single path object (one stroke of many subpaths, as many PDF writers emit them)."""
    y = H - top
    n = len(rows)
    path = c.beginPath()
    for i in range(n + 1):
        path.moveTo(XS[0], y - i * 18)
        path.lineTo(XS[-1], y - i * 18)
    for x in XS:
        path.moveTo(x, y)
        path.lineTo(x, y - n * 18)
    c.drawPath(path, stroke=1, fill=0)
    c.setFont("Helvetica", 10)
    for i, row in enumerate(rows):
        for x, cell in zip(XS, row):
            c.drawString(x + 4, y - i * 18 - 13, cell)


def _prose_page(c, i):
    """A contract-like page: a page-sized background rectangle, an underlined heading and prose, no table."""
    c.setFillGray(1.0)
    c.rect(0, -200, W, H + 200, fill=1, stroke=0)
    c.setFillGray(0.0)
    c.setFont("Helvetica", 12)
    c.drawString(72, H - 72, "MUTUAL NON-DISCLOSURE AGREEMENT")
    c.line(72, H - 75, 300, H - 75)
    for k in range(30):
        c.drawString(72, H - 110 - k * 14, f"Clause {k}: the parties agree to keep the information confidential.")


def test_pdfium_look_reads_rulings_and_sideways_text_without_pdfplumber():
    import pypdfium2 as pdfium

    from doc_pipeline.core.pdf_pages import ruled_look, sideways_share

    def sideways(c, i):
        c.translate(W, 0)
        c.rotate(90)
        _table(c, ROWS, 100 - (H - W))

    def look(draw):
        page = pdfium.PdfDocument(make_docs.pdf_with(draw))[0]
        textpage = page.get_textpage()
        try:
            return ruled_look(page).possible, sideways_share(textpage)
        finally:
            textpage.close()

    assert look(_prose_page) == (False, 0.0)
    assert look(lambda c, i: _table(c, ROWS, 100)) == (True, 0.0)
    assert look(lambda c, i: _grid_as_one_path(c, ROWS, 100)) == (True, 0.0)  # segments, not the path's box
    grid, share = look(sideways)
    assert grid and share > 0.9
    # a single framed box (one rectangle) is a 1 x 1 grid: no table
    assert look(lambda c, i: c.rect(72, 400, 300, 200)) == (False, 0.0)


def test_page_without_rulings_or_table_blocks_is_not_parsed_by_pdfplumber(tmp_path, monkeypatch):
    """pdfplumber's first look at a page parses all of it; a prose page with no grid and no layout table block
    skips that, and the pages that may hold a table still get their tables (one ruled grid drawn as one path)."""
    import pdfplumber

    opened = []
    real_open = pdfplumber.open
    monkeypatch.setattr(pdfplumber, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    assert _run(tmp_path, make_docs.pdf_with(_prose_page, pages=3)) == [] and opened == []
    blocks = {1: [Block(type="table", bbox=(60, 90, 460, 220), score=0.9)]}
    _run(tmp_path, make_docs.pdf_with(_prose_page), blocks=blocks)
    assert len(opened) == 1  # a layout table block still gets the full look
    (t,) = _run(tmp_path, make_docs.pdf_with(lambda c, i: _prose_page(c, i) if i else _grid_as_one_path(c, ROWS, 100),
                                             pages=2))
    assert t.rows == ROWS and t.page_no == 1


def test_sound_ruled_grids_are_read_from_pdfium_alone_and_match_pdfplumbers_reading(tmp_path, monkeypatch):
    """A page whose every table region a sound ruled grid decides is read without pdfplumber's parse (PDFium's
    rulings and characters through pdfplumber's own table functions), and gives what pdfplumber's reading gives;
    a layout table block that no ruled grid covers still sends the page to the full reading."""
    import pdfplumber

    from doc_pipeline.core import table_stage

    other = [["Item", "Qty", "Price"], ["Bolts", "12", "3.40"], ["Nuts", "7", "1.10"]]

    def draw(c, i):
        _table(c, ROWS, 100)
        _grid_as_one_path(c, other, 400)
        c.setFont("Helvetica", 9)
        c.drawString(72, 80, "Prices in EUR, intra-community delivery.")

    data = make_docs.pdf_with(draw)
    opened = []
    real_open = pdfplumber.open
    monkeypatch.setattr(pdfplumber, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    fast = _run(tmp_path, data)
    assert [t.rows for t in fast] == [ROWS, other] and opened == []
    real_look = table_stage._pdfium_look
    monkeypatch.setattr(table_stage, "_pdfium_look",
                        lambda path, pages, fill_ruled=True, sha256="": real_look(path, pages, False))
    full = _run(tmp_path, data)
    assert len(opened) == 1
    assert [(t.bbox, t.rows, t.method) for t in fast] == [(t.bbox, t.rows, t.method) for t in full]
    monkeypatch.setattr(table_stage, "_pdfium_look", real_look)
    opened.clear()
    _run(tmp_path, data, blocks={1: [Block(type="table", bbox=(72, 600, 440, 700), score=0.9)]})
    assert len(opened) == 1  # the block at the foot of the page is no ruled grid's: camelot and co. read it


def test_ruled_grids_are_checked_against_the_text_layer_words_when_the_page_has_them(tmp_path, monkeypatch):
    """With the page's text-layer words (the pipeline's case) the grids are checked against them, not against
    pdfplumber's words of the same characters (a third of the PDFium path's time): the same tables."""
    import pdfplumber.utils

    def draw(c, i):
        _table(c, ROWS, 100)
        c.setFont("Helvetica", 9)
        c.drawString(72, 80, "Prices in EUR, intra-community delivery.")

    data = make_docs.pdf_with(draw)
    from_plumber_words = _run(tmp_path, data)
    calls = []
    real = pdfplumber.utils.extract_words
    monkeypatch.setattr(pdfplumber.utils, "extract_words", lambda *a, **k: calls.append(1) or real(*a, **k))
    from_layer_words = _run(tmp_path, data, with_words=True)
    assert calls == []
    assert [(t.bbox, t.rows, t.method) for t in from_layer_words] == [(t.bbox, t.rows, t.method)
                                                                      for t in from_plumber_words]
    assert from_layer_words[0].rows == ROWS


def test_a_reading_that_cuts_the_regions_words_is_not_chosen():
    """A justified paragraph that a text-alignment extractor splits into 'columns' at its wide word gaps keeps
    few words whole: no table, however full its grid (the words come from the page's text layer)."""
    from types import SimpleNamespace

    from doc_pipeline.core.table_native import Candidate, choose
    from doc_pipeline.core.table_stage import _words_in_plumber_frame

    region = (0.0, 0.0, 500.0, 60.0)
    text = "written agreements that contain provisions similar to the provisions contained herein all such"
    words = [(w, (10.0 + 40 * i, 10.0, 45.0 + 40 * i, 20.0)) for i, w in enumerate(text.split()[:12])]
    cut = Candidate("pdfplumber-text", region, [["written agreeme", "nts that", "contain provi", "sions similar"],
                                                ["to the provisi", "ons contained her", "ein, all su", "ch"]])
    assert choose([cut], region, words) is None
    whole = Candidate("pdfplumber-text", region, [["written agreements", "that contain", "provisions similar", "to"],
                                                  ["the provisions", "contained herein", "all such", ""]])
    assert choose([whole], region, words) is whole

    # the text-layer words stand in for pdfplumber's only where both use the same coordinates
    page = Page(page_no=1, kind="native", width=612, height=792,
                words=[{"text": "Total", "bbox": (72, 100, 100, 110), "conf": 1.0}])
    same = SimpleNamespace(mediabox=(0, 0, 612, 792), cropbox=(0, 0, 612, 792), width=612, height=792)
    assert _words_in_plumber_frame(page, same) == [("Total", (72, 100, 100, 110))]
    shifted = SimpleNamespace(mediabox=(0, 50, 612, 842), cropbox=(0, 50, 612, 842), width=612, height=792)
    cropped = SimpleNamespace(mediabox=(0, 0, 612, 792), cropbox=(20, 20, 592, 772), width=572, height=752)
    assert _words_in_plumber_frame(page, shifted) is None and _words_in_plumber_frame(page, cropped) is None
    assert _words_in_plumber_frame(page.model_copy(update={"rotation": 90}), same) is None


def test_ruled_grids_are_filled_as_pdfplumber_fills_them_from_fewer_characters():
    """filled_grid hands Table.extract only the characters centred inside the grid (it tested every character of
    the page against every row): the cells must be exactly pdfplumber's own, characters on the edges included."""
    import random

    from pdfplumber.table import Table as PlumberTable

    from doc_pipeline.core.table_native import _CharsOnly, filled_grid

    rng = random.Random(5)
    xs, ys = [100.0, 180.0, 260.0, 340.0], [200.0, 220.0, 240.0, 260.0, 280.0]
    cells = [(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(len(ys) - 1) for c in range(len(xs) - 1)]
    chars = []
    for _ in range(3000):  # inside, outside and centred exactly on every edge of the grid
        cx = rng.choice([rng.uniform(0, 500), rng.choice(xs)])
        cy = rng.choice([rng.uniform(0, 700), rng.choice(ys)])
        chars.append({"text": rng.choice("abcdef0123"), "x0": cx - 2.5, "x1": cx + 2.5, "top": cy - 4, "bottom": cy + 4,
                      "upright": True, "size": 8, "doctop": cy - 4})
    chars.sort(key=lambda c: (round(c["top"]), c["x0"]))
    plumber = PlumberTable(_CharsOnly(chars), cells)
    bbox, rows = filled_grid(cells, chars)
    assert bbox == plumber.bbox and rows == plumber.extract()
    assert sum(bool(cell) for row in rows for cell in row) == len(cells)  # every cell holds text


def test_table_extract_gives_pdfplumbers_cells_for_any_grid_and_characters():
    """table_native.table_extract against pdfplumber's own Table.extract: grids with merged and missing cells,
    characters inside, outside and exactly on cell edges, in any order: the same rows of cell texts."""
    import random

    from pdfplumber.table import Table as PlumberTable

    from doc_pipeline.core.table_native import _CharsOnly, table_extract

    rng = random.Random(3)
    for _ in range(150):
        xs = sorted(rng.sample(range(0, 400, 10), rng.randint(2, 6)))
        ys = sorted(rng.sample(range(0, 300, 10), rng.randint(2, 6)))
        cells = [(float(a), float(t), float(b), float(u)) for a, b in zip(xs, xs[1:]) for t, u in zip(ys, ys[1:])
                 if rng.random() > 0.15]
        if rng.random() < 0.3 and len(xs) > 2:  # a cell spanning two columns
            cells.append((float(xs[0]), float(ys[-1]), float(xs[2]), float(ys[-1] + 10)))
        if not cells:
            continue
        chars = []
        for _ in range(rng.randint(0, 80)):
            x = rng.choice([rng.uniform(-20, 420), float(rng.choice(xs))])  # some exactly on an edge
            y = rng.choice([rng.uniform(-20, 320), float(rng.choice(ys))])
            w, h = rng.choice([4.0, 5.5, 6.0]), rng.choice([8.0, 10.0])
            chars.append({"text": rng.choice("ab1 .-X"), "x0": x - w / 2, "x1": x + w / 2, "top": y - h / 2,
                          "bottom": y + h / 2, "doctop": y - h / 2, "width": w, "height": h, "size": h,
                          "upright": True})
        t = PlumberTable(_CharsOnly(chars), cells)
        assert table_extract(t, chars) == t.extract()
