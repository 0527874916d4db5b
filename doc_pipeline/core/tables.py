"""Tables: pdfplumber (ruled tables, then text alignment inside layout table regions) on native pages;
word-grid reconstruction inside layout table regions on scanned pages."""

from __future__ import annotations

import csv
import io

from doc_pipeline.core.models import BBox, Block, Table, Word


def clean_rows(rows: list[list]) -> list[list[str]]:
    out = [[(c or "").replace("\n", " ").strip() for c in r] for r in rows]
    out = [r for r in out if any(r)]
    if not out:
        return []
    keep = [j for j in range(max(len(r) for r in out)) if any(j < len(r) and r[j] for r in out)]
    return [[r[j] if j < len(r) else "" for j in keep] for r in out]


def overlap_fraction(a: BBox, b: BBox) -> float:
    """Fraction of a's area inside b."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = max(1e-6, (a[2] - a[0]) * (a[3] - a[1]))
    return max(0.0, w) * max(0.0, h) / area


def iou(a: BBox, b: BBox) -> float:
    """Intersection over union of two ``[x0, y0, x1, y1]`` boxes (any corner order is tolerated)."""
    ax0, ax1 = sorted((a[0], a[2]))
    ay0, ay1 = sorted((a[1], a[3]))
    bx0, bx1 = sorted((b[0], b[2]))
    by0, by1 = sorted((b[1], b[3]))
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


def native_tables(plumber_page, page_no: int, table_blocks: list[Block], rotation: int = 0) -> list[Table]:
    """Tables on one pdfplumber page. Ruled tables anywhere; unruled ones only where layout saw a table.

    pdfplumber's coordinates are top-left origin points of the unrotated page; for rotated pages we skip the
    text strategy and keep only ruled tables (their boxes are approximate)."""
    tables: list[Table] = []
    seen: list[BBox] = []
    for t in plumber_page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"}):
        rows = clean_rows(t.extract())
        if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
            tables.append(Table(page_no=page_no, bbox=tuple(round(v, 2) for v in t.bbox), rows=rows, method="pdfplumber-lines"))
            seen.append(t.bbox)
    if rotation:
        return tables
    for blk in table_blocks:
        if any(overlap_fraction(blk.bbox, s) > 0.5 for s in seen):
            continue
        x0, y0, x1, y1 = blk.bbox
        pad = 4
        box = (max(0, x0 - pad), max(0, y0 - pad), min(plumber_page.width, x1 + pad), min(plumber_page.height, y1 + pad))
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        region = plumber_page.crop(box)
        found = region.extract_table({"vertical_strategy": "text", "horizontal_strategy": "text"})
        rows = clean_rows(found or [])
        if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
            tables.append(Table(page_no=page_no, bbox=tuple(round(v, 2) for v in box), rows=rows, method="pdfplumber-text"))
    return tables


def words_grid_table(words: list[Word], region: BBox, page_no: int) -> Table | None:
    """Rebuild a table from OCR words inside a region: rows by line overlap, columns by x-gaps common to rows."""
    inside = [w for w in words if overlap_fraction(w.bbox, region) > 0.5]
    if len(inside) < 4:
        return None
    inside.sort(key=lambda w: ((w.bbox[1] + w.bbox[3]) / 2, w.bbox[0]))
    lines: list[list[Word]] = []
    for w in inside:
        cy = (w.bbox[1] + w.bbox[3]) / 2
        if lines:
            last = lines[-1]
            ly0 = min(x.bbox[1] for x in last)
            ly1 = max(x.bbox[3] for x in last)
            if ly0 <= cy <= ly1:
                last.append(w)
                continue
        lines.append([w])
    # column boundaries: x positions covered by no word in any line are gaps
    x0, x1 = region[0], region[2]
    width = int(x1 - x0) + 1
    if width <= 0:
        return None
    covered = [0] * width
    for w in inside:
        for x in range(max(0, int(w.bbox[0] - x0)), min(width, int(w.bbox[2] - x0) + 1)):
            covered[x] += 1
    cuts, run = [], 0
    for x, c in enumerate(covered):
        run = run + 1 if c == 0 else 0
        if run == 6:  # a 6-pt empty gap separates columns
            cuts.append(x0 + x - 3)
    if not cuts:
        return None
    rows = []
    for line in lines:
        cells = [""] * (len(cuts) + 1)
        for w in sorted(line, key=lambda w: w.bbox[0]):
            cx = (w.bbox[0] + w.bbox[2]) / 2
            j = sum(1 for c in cuts if cx > c)
            cells[j] = (cells[j] + " " + w.text).strip()
        rows.append(cells)
    rows = clean_rows(rows)
    if len(rows) < 2 or max(len(r) for r in rows) < 2:
        return None
    return Table(page_no=page_no, bbox=region, rows=rows, method="ocr-grid")


def table_to_csv(table: Table) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(table.rows)
    return buf.getvalue()
