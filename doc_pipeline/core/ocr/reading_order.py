"""Reading order for OCR words: engine lines grouped into rows, rows inside layout regions (columns).

An engine "line" (a PP-OCR detection box, a Tesseract textline) is kept whole. Lines whose vertical extents
overlap enough form one row (a receipt's "TOTAL" and its amount far to the right), rows are read top to bottom and
each row left to right. Where layout regions are given (layout_blocks, already in column-aware order), lines are
read region by region, so a two-column page is read column by column instead of across the gutter.

Side-by-side regions whose lines share rows (most lines of the smaller side have a line on the same baseline across
the gap) are not columns but the columns of one table (a receipt's item / amount columns, a form's label / value
columns) and are read as one region, row by row, unless both sides are prose (lines of several words each, the
two-column article whose baselines happen to line up).
"""

from __future__ import annotations

from dataclasses import replace
from statistics import median

from doc_pipeline.core.ocr.base import OcrWord

Box = tuple[float, float, float, float]
ROW_OVERLAP = 0.5  # fraction of the smaller line height two lines must share to be one row
SHARED_ROWS = 0.5  # side-by-side regions are one table when this share of the smaller side's lines has a row-mate
MATE_SHARE_OTHER = 0.3  # ... and at least this share of the other side's lines
PROSE_WORDS = 4  # a region whose lines have at least this many words (median) is prose: a real column


def _union(boxes) -> Box:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _engine_lines(words: list[OcrWord]) -> list[list[OcrWord]]:
    lines: dict[tuple[int, int], list[OcrWord]] = {}
    for w in words:
        lines.setdefault((w.block, w.line), []).append(w)
    return [sorted(ws, key=lambda w: w.box_px[0]) for ws in lines.values()]


def _split_wide_gaps(line: list[OcrWord], max_gap_heights: float | None) -> list[list[OcrWord]]:
    if not max_gap_heights or len(line) < 2:
        return [line]
    h = median(w.box_px[3] - w.box_px[1] for w in line) or 1
    parts = [[line[0]]]
    for w in line[1:]:
        if w.box_px[0] - parts[-1][-1].box_px[2] > max_gap_heights * h:
            parts.append([])
        parts[-1].append(w)
    return parts


def group_rows(lines: list[list[OcrWord]]) -> list[list[list[OcrWord]]]:
    """Lines -> rows (each row: its lines left to right), rows top to bottom."""
    items = sorted(((_union(w.box_px for w in ln), ln) for ln in lines if ln), key=lambda t: (t[0][1] + t[0][3]) / 2)
    rows: list[tuple[list[float], list[tuple[Box, list[OcrWord]]]]] = []  # [y0, y1] of the row, its lines
    for box, ln in items:
        h = box[3] - box[1]
        best, best_ov = None, 0.0
        for row in rows[-8:]:  # only recent rows can overlap: items come sorted by centre
            (ry0, ry1), members = row
            ov = min(box[3], ry1) - max(box[1], ry0)
            rh = median(b[3] - b[1] for b, _ in members)
            # no horizontal overlap with a line already in the row (that would be a line above/below it)
            if any(min(box[2], b[2]) - max(box[0], b[0]) > 0 for b, _ in members):
                continue
            if ov >= ROW_OVERLAP * min(h, rh) and ov > best_ov:
                best, best_ov = row, ov
        if best is None:
            rows.append(([box[1], box[3]], [(box, ln)]))
        else:
            best[1].append((box, ln))
            # the row's extent follows its lines' median, so a tall neighbour does not swallow the next row
            best[0][0] = median(b[1] for b, _ in best[1])
            best[0][1] = median(b[3] for b, _ in best[1])
    rows.sort(key=lambda r: (r[0][0] + r[0][1]) / 2)
    return [[ln for _, ln in sorted(members, key=lambda t: t[0][0])] for _, members in rows]


def _region_of(box: Box, regions: list[Box]) -> int | None:
    best, best_frac = None, 0.5  # at least half of the line inside the region
    area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
    for i, r in enumerate(regions):
        iw = min(box[2], r[2]) - max(box[0], r[0])
        ih = min(box[3], r[3]) - max(box[1], r[1])
        if iw > 0 and ih > 0 and iw * ih / area > best_frac:
            best, best_frac = i, iw * ih / area
    return best


def _same_row(a: Box, b: Box) -> bool:
    return min(a[3], b[3]) - max(a[1], b[1]) >= ROW_OVERLAP * min(a[3] - a[1], b[3] - b[1])


def _shares_rows(ra: Box, rb: Box, la: list[list[OcrWord]], lb: list[list[OcrWord]]) -> bool:
    """Two regions side by side (overlapping vertically, not horizontally) whose lines sit on the same rows:
    of the region with fewer lines (at least 2) at least SHARED_ROWS, of the other at least MATE_SHARE_OTHER
    have a line on their row across the gap (a heading beside a long paragraph of the other column does not)."""
    if min(ra[3], rb[3]) <= max(ra[1], rb[1]):  # one above the other
        return False
    if min(ra[2], rb[2]) - max(ra[0], rb[0]) > 0.1 * min(ra[2] - ra[0], rb[2] - rb[0]):  # not side by side
        return False
    if min(len(la), len(lb)) < 2:
        return False
    if all(median(len(ln) for ln in lines) >= PROSE_WORDS for lines in (la, lb)):
        return False  # two prose columns: read one after the other even where their baselines line up
    ba = [_union(w.box_px for w in ln) for ln in la]
    bb = [_union(w.box_px for w in ln) for ln in lb]
    small, other = (ba, bb) if len(ba) <= len(bb) else (bb, ba)
    share_small = sum(1 for b in small if any(_same_row(b, o) for o in other)) / len(small)
    share_other = sum(1 for o in other if any(_same_row(o, b) for b in small)) / len(other)
    return share_small >= SHARED_ROWS and share_other >= MATE_SHARE_OTHER


def merge_table_regions(regions: list[Box], by_region: dict[int | None, list[list[OcrWord]]]) -> list[list[int]]:
    """Regions (indices, reading order) grouped: side-by-side regions sharing rows (:func:`_shares_rows`) form
    one group, read as one region; groups in the order of their first region."""
    parent = list(range(len(regions)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    live = [i for i in range(len(regions)) if by_region.get(i)]
    for n, i in enumerate(live):
        for j in live[n + 1:]:
            if find(i) != find(j) and _shares_rows(regions[i], regions[j], by_region[i], by_region[j]):
                parent[max(find(i), find(j))] = min(find(i), find(j))
    groups: dict[int, list[int]] = {}
    for i in live:
        groups.setdefault(find(i), []).append(i)
    return [groups[k] for k in sorted(groups)]


def order_words(words: list[OcrWord], regions: list[Box] | None = None,
                split_gap_heights: float | None = None) -> list[OcrWord]:
    """Words in reading order with fresh line/block numbers (block = region, or row group outside regions).

    regions: layout blocks in pixels, in reading order (column-aware). split_gap_heights: split an engine line
    where two words are further apart than this many line heights (engines that join columns into one line)."""
    lines = [part for ln in _engine_lines(words) for part in _split_wide_gaps(ln, split_gap_heights)]
    regions = regions or []
    by_region: dict[int | None, list[list[OcrWord]]] = {}
    for ln in lines:
        by_region.setdefault(_region_of(_union(w.box_px for w in ln), regions), []).append(ln)
    # units of reading: each region's rows, and each row of the words outside every region; placed by the
    # region's order, with free rows slotted in before the first region that starts below them
    units: list[tuple[float, int, list[list[list[OcrWord]]]]] = []
    for group in merge_table_regions(regions, by_region):
        top = min(regions[i][1] for i in group)
        units.append((top, group[0], group_rows([ln for i in group for ln in by_region[i]])))
    free_rows = group_rows(by_region.get(None, []))
    out: list[OcrWord] = []
    line_no = 0
    block_no = 0
    fi = 0

    def emit(rows):
        nonlocal line_no
        for row in rows:
            for ln in row:
                for w in ln:
                    out.append(replace(w, line=line_no, block=block_no))
            line_no += 1

    for top, _, rows in units:
        while fi < len(free_rows) and _union(w.box_px for ln in free_rows[fi] for w in ln)[1] < top:
            emit([free_rows[fi]])
            fi += 1
        block_no += 1
        emit(rows)
        block_no += 1
    emit(free_rows[fi:])
    return out
