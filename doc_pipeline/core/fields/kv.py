"""Layout-aware key-value pairing on word boxes (the same for OCR and text-layer pages).

1. Phrases: each visual line is cut into phrases at wide gaps, after a "label:" word, around check marks and
   before an upper-case "LABEL:" run that follows other text.
2. Tables: a row of label-like phrases (plus stacked header lines above it) with at least two rows of cells
   aligned under it pairs each column header with every cell below it.
3. Labels ("Name:", or an upper-case label followed by differently written text) take one value: the phrase to
   their right on the same line, else the phrase just below them.
4. A lone check mark ("x", "✓", "☑") is the answer of the phrase just left of it.
Each phrase is the value of at most one label. General geometry and typography only, nothing per form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doc_pipeline.core.models import ExtractedField, FieldSource, Page, Table, Word

from .calibration import calibrate
from .layout_text import group_lines, union_bbox

ENGINE = "layout-kv"
GAP = 1.0  # phrase break: a gap wider than this many line heights (word gaps inside a phrase are ~0.3)
MARKS = frozenset("xX✓✔☑☒■✗✘")
BOXES = frozenset("☐□")


@dataclass(eq=False)
class Phrase:
    words: list[Word]
    page_no: int
    row: int = 0

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def bbox(self):
        return union_bbox([w.bbox for w in self.words])

    @property
    def conf(self) -> float:
        return sum(w.conf for w in self.words) / len(self.words)

    @property
    def h(self) -> float:
        return max(1.0, sorted(w.bbox[3] - w.bbox[1] for w in self.words)[len(self.words) // 2])


def _caps_word(t: str) -> bool:
    letters = [c for c in t if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _is_mark(t: str) -> bool:
    t = t.strip("[]()")
    return len(t) == 1 and (t in MARKS or t in BOXES)


def _split_label_run(words: list[Word]) -> list[list[Word]]:
    """Cut before a label that ends in ':' mid-phrase: the label is the run of words written like the word with
    the colon (upper case or not) before it, e.g. "Milw. South | DIVISION NAME:" or "ADMIN. OFFICE | Fax:"."""
    for i in range(1, len(words)):
        if words[i].text.endswith(":") and not words[i - 1].text.endswith(":"):
            caps = _caps_word(words[i].text)
            j = i
            while j > 0 and (not any(c.isalpha() for c in words[j - 1].text)
                             or _caps_word(words[j - 1].text) == caps):
                j -= 1
            if 0 < j:
                return [words[:j]] + _split_label_run(words[j:])
    return [words]


def phrases(page: Page) -> list[list[Phrase]]:
    """Each visual line split into phrases (see the module doc), lines top to bottom."""
    out = []
    for ri, line in enumerate(group_lines(page.words)):
        h = sorted(w.bbox[3] - w.bbox[1] for w in line)[len(line) // 2] or 8.0
        parts: list[list[Word]] = []
        cur = [line[0]]
        for prev, w in zip(line, line[1:]):
            if (w.bbox[0] - prev.bbox[2] > GAP * h or prev.text.endswith(":") or _is_mark(prev.text)
                    or _is_mark(w.text)):
                parts.append(cur)
                cur = []
            cur.append(w)
        parts.append(cur)
        row = [Phrase(ws, page.page_no, ri) for p in parts for ws in _split_label_run(p)]
        out.append(row)
    return out


def _is_key(p: Phrase) -> bool:
    t = p.text.strip()
    return t.endswith(":") and 1 <= len(t.rstrip(":").strip()) <= 60 and any(c.isalpha() for c in t)


def _caps_label(p: Phrase) -> bool:
    letters = [c for c in p.text if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters) and len(p.words) <= 6


def _label_like(p: Phrase) -> bool:
    """Printed column-header text: a few words, mostly letters, no sentence end."""
    t = p.text
    letters = sum(c.isalpha() for c in t)
    digits = sum(c.isdigit() for c in t)
    return letters >= 2 and digits <= letters / 4 and len(p.words) <= 5 and not _is_key(p) \
        and not t.rstrip().endswith((".", ",")) or (letters >= 2 and _caps_label(p) and not _is_key(p))


def _xoverlap(a, b) -> float:
    return min(a[2], b[2]) - max(a[0], b[0])


def key_name(text: str) -> str:
    """Normalised key text: colon and surrounding space removed, whitespace collapsed, lower-cased."""
    return re.sub(r"\s+", " ", text).strip().rstrip(":").strip().lower()


def _pair(key: Phrase | str, value: Phrase, conf: float, page_no: int, key_box=None) -> ExtractedField:
    ktext = key if isinstance(key, str) else key.text
    kbox = key_box if isinstance(key, str) else key.bbox
    kconf = 1.0 if isinstance(key, str) else key.conf
    return ExtractedField(
        name=key_name(ktext), value=value.text, normalized=value.text,
        confidence=round(calibrate(conf * (0.5 + 0.5 * min(kconf, value.conf)), "kv"), 4), page_no=page_no,
        bbox=union_bbox([kbox, value.bbox]), source=FieldSource.kv, evidence=f"{ktext} {value.text}",
        engine=ENGINE)


# ------------------------------------------------------------------------------------------ tables


def _column_of(cell: Phrase, cols: list[tuple[float, float]]) -> int | None:
    """Index of the header column a cell sits under (most of its width), None when it spans two."""
    best, best_ov = None, 0.0
    hits = 0
    for i, (x0, x1) in enumerate(cols):
        ov = min(cell.bbox[2], x1) - max(cell.bbox[0], x0)
        if ov > 0:
            hits += 1
            if ov > best_ov:
                best, best_ov = i, ov
    width = max(cell.bbox[2] - cell.bbox[0], 1e-6)
    return best if hits == 1 or best_ov >= 0.75 * width else None


def _split_at_columns(row: list[Phrase], cols: list[tuple[float, float]], h: float) -> list[Phrase]:
    """A phrase running over a column boundary is cut at its widest word gap (> 0.3 line height) that leaves
    every part under one column: neighbouring cells can read closer than the phrase gap ("Rosen (212) 403-1000")."""
    out: list[Phrase] = []
    for p in row:
        out += _cut(p, cols, h) or [p]
    return out


def _cut(p: Phrase, cols: list[tuple[float, float]], h: float) -> list[Phrase] | None:
    if _column_of(p, cols) is not None:
        return [p]
    ws = p.words
    gaps = sorted(range(1, len(ws)), key=lambda k: ws[k - 1].bbox[2] - ws[k].bbox[0])  # widest first
    gaps = [k for k in gaps if ws[k].bbox[0] - ws[k - 1].bbox[2] > 0.3 * h]
    for whole_right in (True, False):  # one cut into two cells first, then cuts over several columns
        for k in gaps:
            left, right = Phrase(ws[:k], p.page_no, p.row), Phrase(ws[k:], p.page_no, p.row)
            if _column_of(left, cols) is None:
                continue
            if whole_right:
                if _column_of(right, cols) is not None:
                    return [left, right]
            else:
                rest = _cut(right, cols, h)
                if rest:
                    return [left] + rest
    return None


def table_kv(rows: list[list[Phrase]], used: set[int]) -> list[tuple[str, tuple, Phrase, list[Phrase]]]:
    """(header text, header bbox, header phrase, cells) for each column of each table found (see module doc).
    Rows of a table found are added to ``used``."""
    out = []
    ri = 0
    while ri < len(rows) - 2:
        head = rows[ri]
        if ri in used or len(head) < 2 or not (all(_label_like(p) for p in head) or all(_is_key(p) for p in head)):
            ri += 1
            continue
        h = max(p.h for p in head)
        # column spans: header extents widened to the midpoints between neighbouring headers
        xs = sorted(head, key=lambda p: p.bbox[0])
        cols = []
        for i, p in enumerate(xs):
            lo = (xs[i - 1].bbox[2] + p.bbox[0]) / 2 if i else p.bbox[0] - 3 * h
            hi = (p.bbox[2] + xs[i + 1].bbox[0]) / 2 if i + 1 < len(xs) else p.bbox[2] + 3 * h
            cols.append((lo, hi))
        cells: dict[int, list[Phrase]] = {i: [] for i in range(len(xs))}
        body: list[int] = []
        body_rows: list[list[Phrase]] = []
        first_gap = 0.0
        last_y = max(p.bbox[3] for p in head)
        for rj in range(ri + 1, len(rows)):
            row = rows[rj]
            top = min(p.bbox[1] for p in row)
            if top - last_y > 5 * h or any(_is_key(p) for p in row):
                break
            if not body:
                first_gap = top - last_y
            row = _split_at_columns(row, cols, h)
            idx = [_column_of(p, cols) for p in row]
            if any(i is None for i in idx) or len(set(idx)) < len(idx):
                break
            prev = body_rows[-1] if body else None
            if prev is not None and top - last_y < 0.5 * h and len(row) < len(prev) and \
                    min(idx) > min(_column_of(q, cols) for q in prev) and \
                    all(cells[i] and cells[i][-1].row == body[-1] for i in idx):
                # a wrapped cell: the line, empty in the row's first column, continues the cells just above it
                for p, i in zip(row, idx):
                    c = cells[i][-1]
                    cells[i][-1] = Phrase(c.words + p.words, c.page_no, c.row)
                last_y = max(p.bbox[3] for p in row)
                continue
            # a row of header-like text under a data row starts a new table
            if body and len(row) >= 2 and all(_label_like(p) for p in row) and \
                    not all(_label_like(c) for cs in cells.values() for c in cs):
                break
            for p, i in zip(row, idx):
                cells[i].append(p)
            body.append(rj)
            body_rows.append(row)
            last_y = max(p.bbox[3] for p in row)
        filled = [i for i, cs in cells.items() if cs]
        # one row under a header row is a table only when it reads as values (digits), not as more labels
        one_row_values = len(body) == 1 and len(filled) >= 2 and first_gap < 1.5 * h and all(
            any(ch.isdigit() for ch in c.text) or not _label_like(c) for cs in cells.values() for c in cs)
        if (len(body) < 2 and not one_row_values) or len(filled) < 2:
            ri += 1
            continue
        # stacked header lines just above the header row ("NO. OF" over "STORES")
        above = []
        for rk in range(ri - 1, max(-1, ri - 3), -1):
            if rk in used:
                break
            gap = min(p.bbox[1] for p in (head if not above else above[-1])) - max(p.bbox[3] for p in rows[rk])
            if gap > 0.8 * h or not all(_label_like(p) and _column_of(p, cols) is not None for p in rows[rk]):
                break
            above.append(rows[rk])
        for i, p in enumerate(xs):
            if not cells[i]:
                continue
            parts = [q for r in reversed(above) for q in r if _column_of(q, cols) == i] + [p]
            text = " ".join(q.text for q in parts)
            out.append((text, union_bbox([q.bbox for q in parts]), p, cells[i]))
        used.update([ri, *body, *(rows.index(r) for r in above)])
        ri = body[-1] + 1
    return out


# ------------------------------------------------------------------------------------------ pairing


def kv_pairs(pages: list[Page]) -> list[ExtractedField]:
    fields: list[ExtractedField] = []
    for page in pages:
        rows = phrases(page)
        used_rows: set[int] = set()
        taken: set[int] = set()  # ids of phrases already given as a value
        for text, box, hp, cells in table_kv(rows, used_rows):
            for c in cells:
                fields.append(_pair(text, c, 0.5, page.page_no, key_box=box))
                taken.add(id(c))
        for ri, row in enumerate(rows):
            if ri in used_rows:
                continue
            for pi, ph in enumerate(row):
                right = row[pi + 1] if pi + 1 < len(row) else None
                if _is_mark(ph.text) or id(ph) in taken:
                    continue
                if right is not None and _is_mark(right.text) and right.text.strip("[]()") in MARKS:
                    # a ticked box: the mark is the answer of the label just left of it
                    if right.bbox[0] - ph.bbox[2] < 6 * ph.h:
                        fields.append(_pair(ph, right, 0.5, page.page_no))
                        taken.add(id(right))
                    continue
                if not _is_key(ph):
                    # printed upper-case label with a differently written (typed/handwritten) value to its right
                    if right is not None and _caps_label(ph) and not _caps_label(right) and not _is_key(right) \
                            and not _is_mark(right.text) and id(right) not in taken and right.bbox[0] - ph.bbox[2] < 20 * ph.h:
                        fields.append(_pair(ph, right, 0.45, page.page_no))
                        taken.add(id(right))
                    continue
                value, conf = _value_for(ph, right, rows, ri, taken)
                if value is not None:
                    fields.append(_pair(ph, value, conf, page.page_no))
                    taken.add(id(value))
    return fields


def _under_key(q: Phrase, above: list[Phrase], kh: float) -> bool:
    """True when ``q`` sits right under a label of the line above (it is that label's value)."""
    return any(_is_key(k) and k.bbox[0] < q.bbox[2] and q.bbox[0] < k.bbox[2] and q.bbox[1] - k.bbox[3] < 2.5 * kh
               for k in above)


def _value_for(key: Phrase, right: Phrase | None, rows: list[list[Phrase]], ri: int, taken: set[int]):
    kx0, ky0, kx1, ky1 = key.bbox
    kh = key.h
    # right of the key, same line, not itself a key
    # (a phrase already given to a label, e.g. the one right above it, is not taken twice)
    if right is not None and not _is_key(right) and id(right) not in taken and right.bbox[0] - kx1 < 25 * kh \
            and not _under_key(right, rows[ri - 1] if ri else [], kh):
        return right, 0.75
    # below: the first line under the key with a phrase starting under it
    for nrow in rows[ri + 1: ri + 3]:
        cands = [q for q in nrow if q.bbox[0] < kx1 + 2 * kh and q.bbox[2] > kx0 - kh and q.bbox[1] - ky1 < 2.5 * kh]
        if cands:
            q = max(cands, key=lambda q: _xoverlap(q.bbox, key.bbox))
            if not _is_key(q) and id(q) not in taken and not _is_mark(q.text):
                return q, 0.55
            break
    return None, 0.0


def table_pairs(tables: list[Table]) -> list[ExtractedField]:
    """Header -> cell pairs from simple tables: a header row with one data row, or two-column key|value tables."""
    out: list[ExtractedField] = []
    for t in tables:
        rows = [r for r in t.rows if any(c.strip() for c in r)]
        if len(rows) == 2 and len(rows[0]) == len(rows[1]):
            pairs = list(zip(rows[0], rows[1]))
        elif rows and all(len(r) == 2 for r in rows):
            pairs = [(r[0], r[1]) for r in rows]
        else:
            continue
        for k, v in pairs:
            if k.strip() and v.strip():
                out.append(ExtractedField(name=key_name(k), value=v.strip(), normalized=v.strip(), confidence=0.6,
                                          page_no=t.page_no, bbox=t.bbox, source=FieldSource.kv,
                                          evidence=f"{k} {v}", engine="table-kv"))
    return out
