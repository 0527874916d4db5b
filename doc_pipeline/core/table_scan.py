"""Ruled tables on scanned pages: find the ruling lines in the page image (OpenCV morphology), turn their
crossings into a cell grid, and fill each cell with the OCR words whose centre lies in it."""

from __future__ import annotations

import numpy as np
from PIL import Image

from doc_pipeline.core.images import component_stats
from doc_pipeline.core.models import BBox, Table, Word

MIN_LINE_FRACTION = 0.04  # a ruling line is at least this share of the page width/height
LINE_SEARCH_DPI = 100  # pages at twice this or more are searched at this resolution


def _positions(profile: np.ndarray, min_len: float, gap: int = 3) -> list[int]:
    """Centres of runs where the line profile is long enough (one position per ruling line)."""
    idx = np.flatnonzero(profile >= min_len)
    if idx.size == 0:
        return []
    runs, start = [], idx[0]
    for a, b in zip(idx[:-1], idx[1:]):
        if b - a > gap:
            runs.append((start + a) // 2)
            start = b
    runs.append((start + idx[-1]) // 2)
    return [int(r) for r in runs]


def ruled_tables(image: Image.Image, dpi: int, words: list[Word], page_no: int) -> list[Table]:
    """Tables drawn with ruling lines on a page image; words are in PDF points (origin top-left)."""
    import cv2

    gray = np.asarray(image.convert("L"))
    if dpi >= 2 * LINE_SEARCH_DPI:
        # ruling lines are long: half the pixels find the same lines (an area-averaged thin rule stays darker than
        # its surroundings) at a quarter of the thresholding and morphology cost
        f = LINE_SEARCH_DPI / dpi
        gray = cv2.resize(gray, (max(1, round(gray.shape[1] * f)), max(1, round(gray.shape[0] * f))),
                          interpolation=cv2.INTER_AREA)
        dpi = dpi * f
    h, w = gray.shape
    binary = cv2.adaptiveThreshold(255 - gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 15, -2)
    horiz = cv2.morphologyEx(binary, cv2.MORPH_OPEN,
                             cv2.getStructuringElement(cv2.MORPH_RECT, (max(10, int(w * MIN_LINE_FRACTION)), 1)))
    vert = cv2.morphologyEx(binary, cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(10, int(h * MIN_LINE_FRACTION)))))
    grid = cv2.dilate(cv2.bitwise_or(horiz, vert), np.ones((3, 3), np.uint8))
    stats = component_stats(grid)
    n = len(stats)
    scale = 72.0 / dpi
    tables = []
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        if bw < w * 0.1 or bh < h * 0.02:
            continue
        region_h = horiz[y:y + bh, x:x + bw] > 0
        region_v = vert[y:y + bh, x:x + bw] > 0
        rows = _positions(region_h.sum(axis=1), bw * 0.3)  # lenient: a slightly skewed line splits across rows
        cols = _positions(region_v.sum(axis=0), bh * 0.3)
        if len(rows) < 3 or len(cols) < 2:  # a header and a body row at least, between ruling lines
            continue
        table = _fill(rows, cols, x, y, scale, words, page_no)
        if table is not None:
            tables.append(table)
    return tables


def _fill(rows: list[int], cols: list[int], x0: int, y0: int, scale: float, words: list[Word],
          page_no: int) -> Table | None:
    ys = [(y0 + r) * scale for r in rows]
    xs = [(x0 + c) * scale for c in cols]
    cells: list[list[list[str]]] = [[[] for _ in range(len(xs) - 1)] for _ in range(len(ys) - 1)]
    for wd in words:
        cx, cy = (wd.bbox[0] + wd.bbox[2]) / 2, (wd.bbox[1] + wd.bbox[3]) / 2
        r = next((k for k in range(len(ys) - 1) if ys[k] <= cy < ys[k + 1]), None)
        c = next((k for k in range(len(xs) - 1) if xs[k] <= cx < xs[k + 1]), None)
        if r is not None and c is not None:
            cells[r][c].append(wd.text)
    grid = [[" ".join(cell) for cell in row] for row in cells]
    grid = [row for row in grid if any(row)]
    if len(grid) < 2 or sum(1 for row in grid for v in row if v) < 3:
        return None  # lines without text in them: a box or a form frame, not a table
    bbox: BBox = (round(xs[0], 2), round(ys[0], 2), round(xs[-1], 2), round(ys[-1], 2))
    return Table(page_no=page_no, bbox=bbox, rows=grid, method="ocr-ruled")
