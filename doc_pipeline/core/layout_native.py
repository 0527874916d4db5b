"""Layout blocks of a native page from its text layer, and the pages that still need the layout model.

On a page with a text layer the lines, their sizes and positions, the ruled tables and the pictures are all in the
PDF: grouping lines into paragraphs and reading the rulings costs milliseconds, while the layout model costs a
render and 0.03-0.2 CPU s a page. What the text layer cannot say is where an *unruled* table is (ICDAR 2013's
tables are mostly such), so a page whose text stands in rows of separate cells outside any ruled grid, or whose
rulings PDFium cannot read exactly, or that is turned or set sideways, still goes to the model
(`native_layout=auto`, the default; `model` sends every page, `text_layer` none). docs/LAYOUT_TABLES.md.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pypdfium2 as pdfium

from doc_pipeline.core.layout import reading_order
from doc_pipeline.core.models import BBox, Block, LayoutResult, PageImage, PageInfo, PageKind, RawDocument, Word
from doc_pipeline.core.pdf_pages import PAGE_MEMO, PDFIUM_LOCK, image_boxes

# a gap this many line heights wide inside a line separates two cells (or columns), not two words; justified
# prose stretches its spaces to well under one line height
CELL_GAP = 1.5
# rows of two or more cells and no line of prose that make a page worth the layout model
TABULAR_ROWS = 3
PROSE_SHARE = 0.3  # a cell wider than this share of the page, or of this many words, is a line of a text column
PROSE_WORDS = 6
MIN_FIGURE_SHARE = 0.01  # pictures smaller than this share of the page are logos or rules, not figures
BACKGROUND_SHARE = 0.7  # a picture covering more of the page is its background (a scan under its text layer)
BULLETS = "\u2022\u2023\u25aa\u25ab\u25cf\u25cb\u25a0\u25a1\u00b7"
# a list item starts with a bullet or a dash alone, or an enumerator: 1. 2) (a) b.
_LIST_MARK = re.compile(rf"^(?:[{BULLETS}\u2013\u2014*\-]|\(?\d{{1,2}}[.)]|\(?[a-zA-Z][.)])$")


@dataclass
class _Segment:
    """Words of one line between two cell gaps."""

    words: list[Word]
    box: list[float] = field(default_factory=list)

    def __post_init__(self):
        self.box = [min(w.bbox[0] for w in self.words), min(w.bbox[1] for w in self.words),
                    max(w.bbox[2] for w in self.words), max(w.bbox[3] for w in self.words)]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def marked(self) -> bool:  # starts with a bullet or an enumerator
        first = self.words[0].text
        return bool(_LIST_MARK.match(first)) or first[:1] in BULLETS


def _inside(box, region, slack: float = 2.0) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] - slack <= cx <= region[2] + slack and region[1] - slack <= cy <= region[3] + slack


def segments(words: list[Word]) -> list[_Segment]:
    """The page's lines (as PDFium orders the text) cut at cell gaps, words left to right."""
    by_line: dict[int, list[Word]] = {}
    for w in words:
        by_line.setdefault(w.line, []).append(w)
    out = []
    for line in by_line.values():
        line.sort(key=lambda w: w.bbox[0])
        height = max(w.bbox[3] - w.bbox[1] for w in line) or 1.0
        cur = [line[0]]
        for prev, w in zip(line, line[1:]):
            if w.bbox[0] - prev.bbox[2] > CELL_GAP * height or abs(w.bbox[1] - prev.bbox[1]) > height:
                out.append(_Segment(cur))
                cur = []
            cur.append(w)
        out.append(_Segment(cur))
    return out


def tabular_rows(segs: list[_Segment], page_width: float) -> int:
    """Rows of the page (segments side by side, whatever order the PDF drew them in) with two or more cells and
    no line of prose: two text columns side by side, or a clause number before its text, are not a table."""
    rows: list[list[_Segment]] = []
    for s in sorted(segs, key=lambda s: (s.box[1] + s.box[3]) / 2):
        mid = (s.box[1] + s.box[3]) / 2
        if rows and abs(mid - rows[-1][0].box[1] / 2 - rows[-1][0].box[3] / 2) <= max(rows[-1][0].height, s.height) / 2:
            rows[-1].append(s)
        else:
            rows.append([s])
    return sum(1 for row in rows if len(row) >= 2 and not any(_prose(s, page_width) for s in row))


def _prose(s: _Segment, page_width: float) -> bool:
    """A line of a text column rather than a table cell: many words, or wide."""
    return len(s.words) >= PROSE_WORDS or s.box[2] - s.box[0] >= PROSE_SHARE * page_width


def _paragraphs(segs: list[_Segment]) -> list[list[_Segment]]:
    """Segments stacked into paragraphs: each joins the block whose last line stands right above it (gap under one
    line height, overlapping or left-aligned, a similar size); a list item may start after a wider gap."""
    blocks: list[list[_Segment]] = []
    reach: list[list[_Segment]] = []  # blocks that may still take a line (a page of 10^4 labels stays linear)
    for s in sorted(segs, key=lambda s: (s.box[1], s.box[0])):
        # segments come top down: a block whose last line ends further above than any gap it accepts (1.6 line
        # heights, of a line at most 1.45x its own) can take no more lines
        reach = [b for b in reach if s.box[1] - b[-1].box[3] <= 1.6 * max(1.45 * b[-1].height, 1.0)]
        best, best_gap = None, None
        for b in reach:
            last = b[-1]
            h = max(last.height, s.height, 1.0)
            gap = s.box[1] - last.box[3]
            limit = 1.6 * h if (s.marked and b[0].marked) else 0.9 * h
            if gap < -0.3 * h or gap > limit:
                continue
            if not 0.7 <= s.height / max(last.height, 0.1) <= 1.45:
                continue
            overlap = min(s.box[2], last.box[2]) - max(s.box[0], last.box[0])
            narrow = min(s.box[2] - s.box[0], last.box[2] - last.box[0])
            aligned = abs(s.box[0] - b[0].box[0]) <= 1.5 * h
            if (overlap < 0.5 * narrow and not aligned) or (s.marked and not b[0].marked and overlap < narrow):
                continue
            if best_gap is None or gap < best_gap:
                best, best_gap = b, gap
        if best is None:
            blocks.append([s])
            reach.append(blocks[-1])
        else:
            best.append(s)
    return blocks


def text_layer_blocks(words: list[Word], page_width: float, tables: list[BBox], figures: list[BBox]) -> list[Block]:
    """PubLayNet-class blocks (text/title/list/table/figure) in reading order from the page's text-layer words,
    its ruled tables and its pictures (boxes in points, origin top-left)."""
    regions = list(tables) + list(figures)
    segs = segments([w for w in words if not any(_inside(w.bbox, r) for r in regions)])
    body = statistics.median(s.height for s in segs) if segs else 0.0
    blocks = [Block(type="table", bbox=tuple(round(v, 2) for v in t), score=1.0) for t in tables]
    blocks += [Block(type="figure", bbox=tuple(round(v, 2) for v in f), score=1.0) for f in figures]
    for para in _paragraphs(segs):
        box = (min(s.box[0] for s in para), min(s.box[1] for s in para),
               max(s.box[2] for s in para), max(s.box[3] for s in para))
        height = statistics.median(s.height for s in para)
        if sum(s.marked for s in para) >= 2 or (para[0].marked and len(para) >= 2):
            kind = "list"
        elif len(para) <= 3 and height >= 1.2 * body:
            kind = "title"
        else:
            kind = "text"
        blocks.append(Block(type=kind, bbox=tuple(round(v, 2) for v in box), score=1.0))
    return reading_order(blocks, page_width)


def _figures(page: pdfium.PdfPage, images: list[BBox] | None) -> list[BBox]:
    """Pictures that are figures, (x0, top, x1, bottom): `images` from the rulings' walk (pdf_pages.ruled_look),
    else from a walk of their own."""
    w, h = page.get_size()
    out = []
    for x0, top, x1, bottom in image_boxes(page) if images is None else images:
        x0, top, x1, bottom = max(x0, 0.0), max(top, 0.0), min(x1, w), min(bottom, h)
        share = max(0.0, x1 - x0) * max(0.0, bottom - top) / (w * h)
        if MIN_FIGURE_SHARE <= share <= BACKGROUND_SHARE:
            out.append((x0, top, x1, bottom))
    return out


def _is_table_grid(cells: list[BBox]) -> bool:
    """Two columns and two rows at least: boxes stacked in one column (a page frame, ruled-off sections) are not
    a table, and the table step finds none there either."""
    xs = {round(v) for c in cells for v in (c[0], c[2])}
    ys = {round(v) for c in cells for v in (c[1], c[3])}
    return len(xs) >= 3 and len(ys) >= 3


def _grid_box(cells: list[BBox]) -> BBox:
    return min(c[0] for c in cells), min(c[1] for c in cells), max(c[2] for c in cells), max(c[3] for c in cells)


def _clip(box: BBox, width: float, height: float) -> BBox:
    return max(box[0], 0.0), max(box[1], 0.0), min(box[2], width), min(box[3], height)


@dataclass
class NativeLayout:
    """A native page's blocks from its text layer, or why it needs the layout model (blocks None)."""

    blocks: list[Block] | None
    reason: str = ""


def native_page_layout(page: pdfium.PdfPage, words: list[Word], mode: str = "auto", sha256: str = "",
                       page_no: int = 0) -> NativeLayout:
    """`mode`: auto (blocks None where the page needs the model, with the reason), text_layer (always blocks).
    With the file's `sha256`, what PDFium reads is kept for the table step (pdf_pages.PAGE_MEMO)."""
    turned = page.get_rotation() % 360 != 0
    if mode == "auto" and (turned or PAGE_MEMO.sideways(page, sha256, page_no) > 0.1):
        return NativeLayout(None, "turned or sideways text")
    if turned:  # the rulings and pictures are read in the unturned page's frame, the words in the displayed one
        return NativeLayout(text_layer_blocks(words, page.get_size()[0], [], []))
    look = PAGE_MEMO.ruled(page, sha256, page_no)
    if mode == "auto" and look.possible and look.tables is None:
        return NativeLayout(None, "rulings PDFium cannot read exactly")
    width, height = page.get_size()
    tables = [_clip(_grid_box(cells), width, height) for cells in look.tables or [] if _is_table_grid(cells)]
    if mode == "auto":
        open_words = [w for w in words if not any(_inside(w.bbox, t) for t in tables)]
        if open_words and tabular_rows(segments(open_words), width) >= TABULAR_ROWS:
            return NativeLayout(None, "rows of cells outside any ruled table")
    return NativeLayout(text_layer_blocks(words, width, tables, _figures(page, look.images)))


def native_layouts(path: str, pages: list[PageInfo], sha256: str, mode: str = "auto") -> dict[int, NativeLayout]:
    """The text-layer layout of every native page of a PDF (see `native_page_layout`)."""
    out: dict[int, NativeLayout] = {}
    native = [p for p in pages if p.kind == PageKind.native]
    if not native:
        return out
    with PDFIUM_LOCK:  # documents of a batch may run on two threads (assets/_step.py)
        pdf = pdfium.PdfDocument(path)
        try:
            for info in native:
                page = pdf[info.page_no - 1]
                try:
                    words = PAGE_MEMO.words(page, sha256, info.page_no)
                    out[info.page_no] = native_page_layout(page, words, mode, sha256, info.page_no)
                except Exception as exc:  # noqa: BLE001 - the model still lays out a page PDFium cannot read
                    out[info.page_no] = NativeLayout(None, f"text layer unreadable: {exc}")
                finally:
                    page.close()
        finally:
            pdf.close()
    return out


def lay_out_document(path: str, raw: RawDocument, detect: Callable[[int], list[Block]], engine: str,
                     mode: str = "auto", mapper: Callable[..., Iterable] = map) -> LayoutResult:
    """The blocks of every page: native pages from their text layer unless `mode` is "model" (see
    `native_page_layout`), the rest through `detect(page_no)` (the layout model on the page's image), mapped with
    `mapper` (the asset's page pool)."""
    native: dict[int, list[Block]] = {}
    if mode != "model" and raw.media_type == "application/pdf":
        native = {n: nl.blocks for n, nl in native_layouts(path, raw.pages, raw.sha256, mode).items()
                  if nl.blocks is not None}
    pages = dict(native)
    rest = [p.page_no for p in raw.pages if p.page_no not in native]
    pages.update(zip(rest, mapper(detect, rest)))
    return LayoutResult(doc_id=raw.doc_id, pages=dict(sorted(pages.items())), engine=engine,
                        text_layer_pages=sorted(native))


def page_detector(path: str, raw: RawDocument, images: list[PageImage], load_png: Callable[[str], bytes],
                  engine: Callable[[], object], native_dpi: int, max_page_pixels: int) -> Callable[[int], list[Block]]:
    """`detect(page_no)` for `lay_out_document`: the layout model (`engine()`, e.g. one per thread) on the page's
    stored image, or on a native page `page_images` left to be rendered on demand, rendered now."""
    from doc_pipeline.core.page_cache import open_page
    from doc_pipeline.core.render import render_page_on_demand

    stored = {pi.page_no: pi for pi in images}
    infos = {p.page_no: p for p in raw.pages}

    def detect(page_no: int) -> list[Block]:
        pi = stored.get(page_no)
        if pi is None:
            page = render_page_on_demand(path, infos[page_no], native_dpi, max_page_pixels)
            return engine().detect(page.image, page.dpi)
        with open_page(load_png(pi.key)) as img:
            return engine().detect(img, pi.dpi)

    return detect
