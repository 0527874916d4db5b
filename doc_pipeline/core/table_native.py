"""Tables on native pages: several extractors per table region, the most plausible grid wins.

Regions come from ruling lines (pdfplumber's line strategy) and from the layout model's table blocks. For each
region we ask pdfplumber (lines, text) and camelot (lattice where the page has rulings, stream always; both
restricted to the region with ``table_areas``) for a grid and keep the one with the best `grid_quality`:
filled cells, no cells that swallowed a whole column of stacked values (a ruled table whose row lines are
missing), at least two rows and two columns. Camelot's network/hybrid flavours ignore ``table_areas`` (they
return every table-like text block on the page), so they are only used when asked for with
``methods=(..., "network")`` and then only their tables that overlap the region.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from dataclasses import dataclass

from doc_pipeline.core.models import BBox, Block, Table
from doc_pipeline.core.tables import clean_rows, overlap_fraction

log = logging.getLogger(__name__)

DEFAULT_METHODS = ("pdfplumber", "lattice", "stream")
_NUMBER = re.compile(r"^[-+(]?[$€£]?\d[\d,.]*%?\)?$")


@dataclass
class Candidate:
    method: str
    bbox: BBox
    raw: list[list[str]]  # cells as extracted, newlines kept (they tell stacked values apart)

    @property
    def rows(self) -> list[list[str]]:
        return clean_rows(self.raw)


@dataclass
class GridCheck:
    integrity: float  # share of the region's words found whole in some cell (cut or lost words lower it)
    stacked: float  # share of filled cells that hold a column of values (a missing row separator)
    fill: float  # share of grid positions with text
    shape_ok: bool  # at least 2 rows and 2 columns

    @property
    def quality(self) -> float:
        if not self.shape_ok:
            return 0.0
        return self.integrity ** 2 * (1.0 - self.stacked) ** 2 * (0.5 + 0.5 * self.fill)

    @property
    def sound(self) -> bool:
        """Good enough to trust as is when it comes from ruling lines."""
        return self.shape_ok and self.integrity >= 0.9 and self.stacked == 0 and self.fill >= 0.4


def check_grid(raw: list[list[str]], words: list[str] | None = None) -> GridCheck:
    """How plausible a grid is, from its cells and the text-layer words inside its region (`words`)."""
    rows = clean_rows(raw)
    if len(rows) < 2 or max(len(r) for r in rows) < 2:
        return GridCheck(0.0, 0.0, 0.0, False)
    cells = [(c or "").strip() for r in raw for c in r]
    filled = [c for c in cells if c]
    fill = len(filled) / max(1, sum(len(r) for r in rows))
    stacked = 0
    for r in raw:
        multi = [c for c in r if c and len([ln for ln in c.split("\n") if ln.strip()]) >= 2]
        # a row whose cells hold several lines of bare numbers is several rows merged (wrapped prose is fine)
        if any(all(_NUMBER.match(ln.strip()) for ln in c.split("\n") if ln.strip()) for c in multi):
            stacked += len(multi)
    integrity = 1.0
    if words:
        tokens = Counter(tok for c in filled for tok in c.split())
        want = Counter(words)
        integrity = sum((tokens & want).values()) / max(1, sum(want.values()))
    return GridCheck(integrity, stacked / max(1, len(filled)), fill, True)


def grid_quality(raw: list[list[str]], words: list[str] | None = None) -> float:
    """0..1, higher is a more plausible table grid (see GridCheck)."""
    return check_grid(raw, words).quality


def _camelot_area(box: BBox, page_height: float) -> str:
    # camelot wants "x_left,y_top,x_right,y_bottom" in PDF user space (origin bottom-left)
    x0, y0, x1, y1 = box
    return f"{x0:.1f},{page_height - y0:.1f},{x1:.1f},{page_height - y1:.1f}"


def _from_camelot(table, page_height: float) -> tuple[BBox, list[list[str]]]:
    x0, y0, x1, y1 = table._bbox
    return (round(x0, 2), round(page_height - y1, 2), round(x1, 2), round(page_height - y0, 2)), table.df.values.tolist()


def camelot_candidates(path: str, page_no: int, regions: list[BBox], page_height: float,
                       flavor: str) -> list[Candidate]:
    """Camelot tables of one flavour inside the regions of one page (one call for all regions)."""
    if not regions:
        return []
    import camelot

    kwargs = {"table_areas": [_camelot_area(r, page_height) for r in regions]}
    if flavor == "lattice":
        kwargs = {"table_areas": kwargs["table_areas"], "line_scale": 40}
    elif flavor in ("network", "hybrid"):
        kwargs = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = camelot.read_pdf(path, pages=str(page_no), flavor=flavor, suppress_stdout=True, **kwargs)
    except Exception as exc:  # camelot raises on odd pages (no text, broken fonts): that flavour just has nothing
        log.debug("camelot %s failed on page %s: %s", flavor, page_no, exc)
        return []
    out = []
    for t in found:
        bbox, raw = _from_camelot(t, page_height)
        out.append(Candidate(f"camelot-{flavor}", bbox, [[str(c) for c in r] for r in raw]))
    return out


def plumber_ruled_candidates(plumber_page) -> list[Candidate]:
    """The page's ruled tables as pdfplumber's lines strategy finds them."""
    return [Candidate("pdfplumber-lines", tuple(round(v, 2) for v in t.bbox), t.extract())
            for t in plumber_page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"})]


def plumber_text_candidates(plumber_page, regions: list[BBox]) -> list[Candidate]:
    """Text-aligned tables (pdfplumber's text strategy) inside each region."""
    text = []
    for box in regions:
        box = _clip(box, plumber_page.width, plumber_page.height)
        if box is None:
            continue
        found = plumber_page.crop(box).extract_table({"vertical_strategy": "text", "horizontal_strategy": "text"})
        if found:
            text.append(Candidate("pdfplumber-text", box, found))
    return text


def _clip(box: BBox, w: float, h: float, pad: float = 4) -> BBox | None:
    b = (max(0.0, box[0] - pad), max(0.0, box[1] - pad), min(w, box[2] + pad), min(h, box[3] + pad))
    return b if b[2] > b[0] and b[3] > b[1] else None


def _same_region(a: BBox, b: BBox) -> bool:
    return overlap_fraction(a, b) > 0.5 or overlap_fraction(b, a) > 0.5


def table_regions(ruled: list[Candidate], table_blocks: list[Block]) -> list[BBox]:
    """Ruled-table boxes plus layout table blocks that no ruled table already covers."""
    # a ruled box with one column is a framed paragraph, not a table
    regions = [c.bbox for c in ruled if check_grid(c.raw).shape_ok]
    for blk in table_blocks:
        if not any(_same_region(blk.bbox, r) for r in regions):
            regions.append(blk.bbox)
    return regions


RULED = ("pdfplumber-lines", "camelot-lattice")
MIN_INTEGRITY = 0.8  # least share of a region's words a chosen reading keeps whole (see choose)
TIE = 0.02  # quality within this of the best: keep the earlier method (ruled grids before text alignment)


def choose(candidates: list[Candidate], region: BBox, page_words: list[tuple[str, BBox]] = ()) -> Candidate | None:
    """The candidate for one region with the best grid quality; near-ties go to the earlier candidate."""
    scored = []
    for c in candidates:
        if not _same_region(c.bbox, region):
            continue
        inside = [t for t, b in page_words if overlap_fraction(b, c.bbox) > 0.5]
        check = check_grid(c.raw, inside)
        # ruling lines are the author's own statement of the structure: a sound ruled grid wins outright
        if c.method in RULED and check.sound:
            return c
        # a reading that cuts a fifth of the region's words is not a table: a justified paragraph split into
        # "columns" at its word gaps (the words then come from the page's text layer, not pdfminer's cut ones)
        scored.append((check.quality if check.integrity >= MIN_INTEGRITY else 0.0, c))
    if not scored:
        return None
    top = max(q for q, _ in scored)
    if top <= 0:
        return None
    return next(c for q, c in scored if q >= top - TIE)


def _decided_by(ruled: list[Candidate], region: BBox, page_words: list[tuple[str, BBox]]) -> bool:
    """choose() would return one of these pdfplumber ruled grids for the region whatever else is read."""
    return any(c.method in RULED and check_grid(c.raw, [t for t, b in page_words
                                                        if overlap_fraction(b, c.bbox) > 0.5]).sound
               for c in ruled if _same_region(c.bbox, region))


def native_page_tables(path: str, plumber_page, page_no: int, table_blocks: list[Block],
                       methods: tuple[str, ...] = DEFAULT_METHODS,
                       page_words: list[tuple[str, BBox]] | None = None) -> list[Table]:
    """Tables of one unrotated native page, one per region, each from the extractor that read it best. The
    candidates' cells are checked against `page_words` (the page's text-layer words, in pdfplumber's coordinates)
    or, without them, pdfplumber's words."""
    ruled = plumber_ruled_candidates(plumber_page)
    regions = table_regions(ruled, table_blocks)
    if not regions:
        return []
    regions = [r for r in (_clip(r, plumber_page.width, plumber_page.height) for r in regions) if r]
    words = page_words if page_words is not None else [
        (w["text"], (w["x0"], w["top"], w["x1"], w["bottom"])) for w in plumber_page.extract_words()]
    cands: list[Candidate] = []
    if "pdfplumber" in methods:
        cands += ruled
    # a region whose pdfplumber ruled grid is sound is decided (choose() takes it outright, and it comes first):
    # camelot, which parses the page again, only reads the others
    open_regions = [r for r in regions if not _decided_by(ruled if "pdfplumber" in methods else [], r, words)]
    if open_regions and "stream" in methods:
        cands += camelot_candidates(path, page_no, open_regions, plumber_page.height, "stream")
    if open_regions and "lattice" in methods and (plumber_page.lines or plumber_page.rects):
        cands += camelot_candidates(path, page_no, open_regions, plumber_page.height, "lattice")
    for flavor in ("network", "hybrid"):
        if open_regions and flavor in methods:
            cands += camelot_candidates(path, page_no, open_regions, plumber_page.height, flavor)
    if open_regions and "pdfplumber" in methods:  # a decided region never looks past its sound ruled grid
        cands += plumber_text_candidates(plumber_page, open_regions)
    return _chosen_tables(cands, regions, words, page_no)


def _chosen_tables(cands: list[Candidate], regions: list[BBox], words: list[tuple[str, BBox]],
                   page_no: int) -> list[Table]:
    """One table per region, from the candidate choose() takes for it (a text-aligned grid keeps the region)."""
    tables = []
    for region in regions:
        c = choose(cands, region, words)
        if c is not None:
            tables.append(Table(page_no=page_no, bbox=c.bbox if c.method != "pdfplumber-text" else region,
                                rows=c.rows, method=c.method))
    return _dedupe(tables)


def ruled_tables_from_chars(cell_groups: list[list[BBox]], chars: list[dict], table_blocks: list[Block],
                            page_no: int, page_words: list[tuple[str, BBox]] | None = None) -> list[Table] | None:
    """The tables of an upright native page when its ruled grids decide every table region, else None (the page
    needs the full reading of native_page_tables). `cell_groups` are pdfplumber's cell groups built from the
    page's rulings as PDFium reads them and `chars` its characters as PDFium reads them (pdf_pages.ruled_look,
    pdf_pages.plumber_chars): pdfplumber's own Table.extract and word extraction then run on them as in
    native_page_tables, without pdfminer's parse of the page. A grid that is not sound, or a layout table block
    no sound grid covers, sends the page back. The grids are checked against `page_words` (the page's text-layer
    words: the same PDFium reading, in the same frame) as native_page_tables checks them; without them, against
    pdfplumber's words of `chars` (a third of this function's time on a page with one table)."""
    from pdfplumber.utils import extract_words

    ruled = []
    for cells in cell_groups:
        if cells:
            bbox, rows = filled_grid(cells, chars)
            ruled.append(Candidate("pdfplumber-lines", tuple(round(v, 2) for v in bbox), rows))
    regions = table_regions(ruled, table_blocks)
    if not regions:
        return []
    words = page_words if page_words is not None else [
        (w["text"], (w["x0"], w["top"], w["x1"], w["bottom"])) for w in extract_words(chars)]
    if any(not _decided_by(ruled, r, words) for r in regions):
        return None
    return _chosen_tables(ruled, regions, words, page_no)


def filled_grid(cells: list[BBox], chars: list[dict]) -> tuple[BBox, list[list[str | None]]]:
    """pdfplumber's Table.extract of a grid of cells: (the grid's bbox, its rows of cell texts). Table.extract
    tests every character it is given against each row, so it gets only the characters whose centre is inside
    the grid (its own test): the same cells at a fraction of the cost on a page with text around the table."""
    from pdfplumber.table import Table as PlumberTable

    t = PlumberTable(_CharsOnly([]), cells)  # its rows and bbox come from the cells alone
    x0, top, x1, bottom = t.bbox
    inside = [c for c in chars if x0 <= (c["x0"] + c["x1"]) / 2 <= x1 and top <= (c["top"] + c["bottom"]) / 2 <= bottom]
    return t.bbox, table_extract(t, inside)


def table_extract(table, chars: list[dict]) -> list[list[str | None]]:
    """pdfplumber's `Table.extract()` (no options), the same cells: Table.extract tests every character against
    every row (the characters x rows centre tests were a third of a ruled page's table time); here a row's
    characters come from the characters sorted by their vertical centre (a bisection), kept in their own order,
    and each cell's text is pdfplumber's `extract_text` of the same characters."""
    from bisect import bisect_left

    from pdfplumber.utils import extract_text

    h_mid = [(c["x0"] + c["x1"]) / 2 for c in chars]
    v_mid = [(c["top"] + c["bottom"]) / 2 for c in chars]
    by_v = sorted(range(len(chars)), key=v_mid.__getitem__)
    v_sorted = [v_mid[i] for i in by_v]
    rows = []
    for row in table.rows:
        x0, top, x1, bottom = row.bbox  # pdfplumber's test: x0 <= h < x1 and top <= v < bottom
        in_row = sorted(i for i in by_v[bisect_left(v_sorted, top):bisect_left(v_sorted, bottom)]
                        if x0 <= h_mid[i] < x1)
        texts: list[str | None] = []
        for cell in row.cells:
            if cell is None:
                texts.append(None)
                continue
            cx0, ctop, cx1, cbottom = cell
            cell_chars = [chars[i] for i in in_row if cx0 <= h_mid[i] < cx1 and ctop <= v_mid[i] < cbottom]
            texts.append(extract_text(cell_chars) if cell_chars else "")
        rows.append(texts)
    return rows


@dataclass
class _CharsOnly:
    """What pdfplumber's Table.extract reads of a page: its characters."""

    chars: list[dict]


def _dedupe(tables: list[Table]) -> list[Table]:
    out: list[Table] = []
    for t in tables:
        if t.bbox and any(o.bbox and _same_region(t.bbox, o.bbox) for o in out):
            continue
        out.append(t)
    return out


def rotated_text_share(plumber_page) -> float:
    """Share of characters not set upright: near 1 for a table printed sideways on a portrait page."""
    chars = plumber_page.chars
    return sum(1 for c in chars if not c.get("upright", True)) / len(chars) if chars else 0.0


def rotated_page_tables(path: str, plumber_page, page_no: int) -> list[Table]:
    """Tables on a page whose text runs sideways. Camelot turns such a page's layout upright itself, so it
    reads the whole page (lattice and stream) and the more plausible grid wins. The bbox is that of the
    sideways text on the page as displayed."""
    cands = []
    for flavor in ("lattice", "stream"):
        try:
            import camelot

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = camelot.read_pdf(path, pages=str(page_no), flavor=flavor, suppress_stdout=True)
        except Exception as exc:
            log.debug("camelot %s failed on rotated page %s: %s", flavor, page_no, exc)
            continue
        cands += [(check_grid([[str(c) for c in r] for r in t.df.values.tolist()]).quality, flavor, t) for t in found]
    cands = [c for c in cands if c[0] > 0]
    if not cands:
        return []
    best_flavor = max(cands, key=lambda c: (c[0], c[1] == "lattice"))[1]
    chars = [c for c in plumber_page.chars if not c.get("upright", True)]
    box = (min(c["x0"] for c in chars), min(c["top"] for c in chars), max(c["x1"] for c in chars),
           max(c["bottom"] for c in chars)) if chars else None
    return [Table(page_no=page_no, bbox=tuple(round(v, 2) for v in box) if box else None,
                  rows=clean_rows([[str(c) for c in r] for r in t.df.values.tolist()]), method=f"camelot-{best_flavor}-rotated")
            for q, flavor, t in cands if flavor == best_flavor]


def merge_continued_tables(tables: list[Table], page_heights: dict[int, float] | None = None) -> list[Table]:
    """Join a table that carries on at the top of the next page: same column count, the first one ends in the
    lower part of its page and the next one starts in the upper part of the next page. A repeated header row
    is dropped. The merged table keeps the first part's page and bbox; its method gets "+continued"."""
    out: list[Table] = []
    last_parts: list[Table] = []  # the latest page's piece of each output table
    for t in sorted(tables, key=lambda t: (t.page_no, t.bbox[1] if t.bbox else 0)):
        if out and _continues(out[-1], last_parts[-1], t, page_heights or {}):
            prev = out[-1]
            rows = t.rows[1:] if t.rows and prev.rows and t.rows[0] == prev.rows[0] else t.rows
            out[-1] = prev.model_copy(update={"rows": prev.rows + rows,
                                              "method": prev.method.split("+")[0] + "+continued"})
            last_parts[-1] = t
            continue
        out.append(t)
        last_parts.append(t)
    return out


def _continues(a: Table, last: Table, b: Table, heights: dict[int, float]) -> bool:
    if b.page_no != last.page_no + 1 or not a.rows or not b.rows:
        return False
    if max(len(r) for r in a.rows) != max(len(r) for r in b.rows):
        return False
    if last.bbox and b.bbox:
        h_a = heights.get(last.page_no, 842.0)
        h_b = heights.get(b.page_no, 842.0)
        return last.bbox[3] > h_a * 0.6 and b.bbox[1] < h_b * 0.4
    return True
