"""Post-processing of layout-model blocks into PubLayNet-style blocks, from the page image alone (layout runs
before OCR, so no text is needed):

- the model returns one "text" block per column run; PubLayNet has one block per paragraph. Text lines are
  found by the ink's row profile inside the block, and a new paragraph starts at an indented first line, after
  a short last line, or after a wider vertical gap than the block's usual line spacing.
- a text block is a list (PubLayNet annotates a whole run of items as one list block) when
  * two or more of its lines start with a bullet or number (a small ink blob, then a gap), or
  * its lines hang: item starts flush, continuation lines indented to where the text after the item's label
    starts ("3.  A biplot is ...", "(i) normal human ..."), or
  * the whole block is indented from the column it sits in while ending at the column's right edge (items
    set as an indented block of paragraphs, without labels).
  The layout model's own "reference"/list blocks get the same test: prose it calls a list is split as text.
- a one-line paragraph set in bold (stroke width, from the ink's horizontal runs) inside a text block is a
  heading the model ran into the text: a title.

Everything works in image pixels; `split_text_blocks` takes and returns boxes in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INK = 160  # grey level below which a pixel is ink (at least; light print gets the block's own Otsu level)
INK_MAX = 210  # ... and never above this (paper texture and JPEG noise)


@dataclass
class Line:
    top: int
    bottom: int
    left: int
    right: int
    bullet: bool  # starts with a small blob followed by a clear gap ("•", "-", "1.", "a)")
    runs: tuple[tuple[int, int], ...] = field(default=(), compare=False)  # ink runs split at word spaces
    stroke: float = 0.0  # mean horizontal ink run (px): stroke width, about twice as wide in bold type

    @property
    def height(self) -> int:
        return self.bottom - self.top


def text_lines(gray: np.ndarray) -> list[Line]:
    """Lines of ink in a block crop (2-D uint8), top to bottom."""
    ink = gray < ink_level(gray)
    rows = ink.sum(axis=1)
    on = rows > max(1, ink.shape[1] * 0.002)
    lines: list[Line] = []
    y = 0
    h = len(on)
    while y < h:
        if not on[y]:
            y += 1
            continue
        y0 = y
        while y < h and on[y]:
            y += 1
        if y - y0 < 3:  # specks and rules are not lines
            continue
        band = ink[y0:y]
        cols = np.flatnonzero(band.any(axis=0))
        if len(cols) == 0:
            continue
        lines.append(Line(y0, y, int(cols[0]), int(cols[-1]), _bullet_start(band, cols, y - y0),
                          _word_runs(cols, y - y0), _stroke_width(band)))
    return _merge_split_lines(lines)


def _stroke_width(band: np.ndarray) -> float:
    starts = int(np.count_nonzero(np.diff(band.astype(np.int8), axis=1, prepend=0) == 1))
    return float(band.sum()) / max(1, starts)


def is_heading(line: Line, lines: list[Line]) -> bool:
    """A one-line paragraph in bold (strokes 1.4x the block's usual width): a section heading run into the text
    block ("Acknowledgements", "Funding" above their paragraphs), which PubLayNet annotates as a title."""
    if len(lines) < 3 or not line.stroke:
        return False
    usual = float(np.median([ln.stroke for ln in lines]))
    return usual > 0 and line.stroke >= usual * 1.4


def ink_level(gray: np.ndarray) -> float:
    """Ink threshold for one block: Otsu's level between paper and print, never below INK (dark print keeps the
    fixed level) and never above INK_MAX (paper noise). Light or thin print at INK breaks letters apart, which
    looks like bullets and word gaps that are not there."""
    import cv2

    if gray.size == 0:
        return INK
    level, _ = cv2.threshold(np.ascontiguousarray(gray, dtype=np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(min(INK_MAX, max(INK, level + 1)))  # Otsu puts the level itself on the ink side


def _word_runs(cols: np.ndarray, lh: int) -> tuple[tuple[int, int], ...]:
    """Ink columns -> (start, end) runs separated by gaps of at least a word space (~0.2 of the ink band)."""
    breaks = np.flatnonzero(np.diff(cols) > max(2, lh * 0.2))
    starts = [cols[0], *cols[breaks + 1]]
    ends = [*cols[breaks], cols[-1]]
    return tuple((int(a), int(b)) for a, b in zip(starts, ends))


def _merge_split_lines(lines: list[Line]) -> list[Line]:
    # accents, sub/superscripts and dots above letters make thin extra bands: fold them into their neighbour
    if not lines:
        return lines
    med = float(np.median([ln.height for ln in lines]))
    out: list[Line] = []
    for ln in lines:
        if out and ln.height < med * 0.45 and ln.top - out[-1].bottom < med * 0.3:
            p = out[-1]
            out[-1] = Line(p.top, ln.bottom, min(p.left, ln.left), max(p.right, ln.right), p.bullet, p.runs,
                           p.stroke)
        else:
            out.append(ln)
    return out


def _bullet_start(band: np.ndarray, cols: np.ndarray, lh: int) -> bool:
    first = cols[0]
    gaps = np.flatnonzero(np.diff(cols) > 1)
    if not len(gaps):
        return False
    run_end = cols[gaps[0]]
    gap = cols[gaps[0] + 1] - run_end
    width = run_end - first + 1
    return width <= lh * 1.2 and gap >= lh * 1.0


def paragraphs(lines: list[Line], block_w: int) -> list[list[Line]]:
    """Group a block's lines into paragraphs (see module docstring)."""
    if len(lines) < 2:
        return [lines] if lines else []
    em = float(np.median([ln.height for ln in lines]))
    left = float(np.percentile([ln.left for ln in lines], 25))
    right = max(ln.right for ln in lines)
    gaps = [b.top - a.bottom for a, b in zip(lines, lines[1:])]
    usual_gap = float(np.median(gaps)) if gaps else 0.0
    groups: list[list[Line]] = [[lines[0]]]
    for prev, ln, gap in zip(lines, lines[1:], gaps):
        indented = ln.left > left + em * 0.8 and ln.left < left + block_w * 0.3
        short_prev = prev.right < right - em * 2.5
        wide_gap = gap > usual_gap + em * 0.5
        if indented or short_prev or wide_gap or ln.bullet:
            groups.append([ln])
        else:
            groups[-1].append(ln)
    return groups


def is_list(lines: list[Line]) -> bool:
    """Two or more bullet/number starts, or hanging indents on most item starts."""
    starts = [ln for ln in lines if ln.bullet]
    if len(starts) < 2 or len(starts) < len(lines) * 0.2:
        return False
    # items of one list start at the same x; justified prose with a wide first space does not line up so
    em = float(np.median([ln.height for ln in lines]))
    lefts = sorted(ln.left for ln in starts)
    return lefts[len(lefts) // 2] - lefts[0] <= em * 0.6 and lefts[-1] - lefts[0] <= em * 1.5


def is_hanging_list(lines: list[Line]) -> bool:
    """Hanging indents: item starts flush left, continuation lines indented to where the item's text starts after
    its label. Paragraph indents go the other way (first line in, the rest flush) and do not line up with a word
    start on every flush line, so prose does not pass."""
    if len(lines) < 2:
        return False
    em = float(np.median([ln.height for ln in lines]))
    left = min(ln.left for ln in lines)
    flush = [ln.left <= left + em * 0.4 for ln in lines]
    indented = [ln.left for ln, f in zip(lines, flush) if not f]
    if not indented or all(not f for f in flush):
        return False
    hang = float(np.median(indented))
    if not (em * 0.6 <= hang - left <= em * 4) or any(abs(x - hang) > em * 0.5 for x in indented):
        return False
    # an item that goes on: a flush line followed by an indented one
    if not any(f and not g for f, g in zip(flush, flush[1:])):
        return False
    # every item start: a short label, then text starting at the hanging indent
    for ln, f in zip(lines, flush):
        if f and not any(abs(a - hang) <= em * 0.5 for a, _ in ln.runs[1:]):
            return False
    return True


def is_indented_block(lines: list[Line], x0: int, column: tuple[float, float] | None) -> bool:
    """All lines indented from the column's left edge (by 1-6 line heights) while reaching its right edge:
    list items set as an indented block. Centred lines (equations) do not reach the right edge."""
    if column is None or len(lines) < 2:
        return False
    em = float(np.median([ln.height for ln in lines]))
    ink_left = x0 + min(ln.left for ln in lines)
    ink_right = x0 + max(ln.right for ln in lines)
    return em * 1.0 <= ink_left - column[0] <= em * 6 and ink_right >= column[1] - em * 1.5


def _column_of(box, others) -> tuple[float, float] | None:
    """(left, right) of the column a block sits in: the text blocks that share most of its width; None when
    there are none to compare with."""
    mates = [o for o in others if o is not box and min(box[2], o[2]) - max(box[0], o[0]) > 0.6 * (box[2] - box[0])
             and (o[2] - o[0]) < 1.6 * (box[2] - box[0])]
    if not mates:
        return None
    return float(np.median([o[0] for o in mates])), float(np.median([o[2] for o in mates]))


def split_text_blocks(gray: np.ndarray, blocks: list[tuple[str, tuple[float, float, float, float], float]]
                      ) -> list[tuple[str, tuple[float, float, float, float], float]]:
    """(type, pixel box, score) blocks in, paragraph-level blocks out; text blocks may become lists."""
    out = []
    H, W = gray.shape[:2]
    blocks = _drop_nested(blocks)
    text_boxes = [box for kind, box, _ in blocks if kind in ("text", "title", "caption")]
    for kind, box, score in blocks:
        if kind not in ("text", "list", "caption"):
            out.append((kind, box, score))
            continue
        x0, y0, x1, y1 = (int(max(0, box[0])), int(max(0, box[1])), int(min(W, box[2])), int(min(H, box[3])))
        as_text = "text" if kind == "caption" else kind  # captions are text in PubLayNet, and never lists
        if x1 - x0 < 5 or y1 - y0 < 5:
            out.append((as_text, box, score))
            continue
        lines = text_lines(gray[y0:y1, x0:x1])
        if not lines:
            out.append((as_text, box, score))
            continue
        if kind != "caption" and _list_like(gray, lines, (x0, y0, x1, y1), _column_of(box, text_boxes)):
            out.append(("list", box, score))
            continue
        for para in paragraphs(lines, x1 - x0):
            px0 = x0 + min(ln.left for ln in para)
            px1 = x0 + max(ln.right for ln in para) + 1
            heading = kind != "caption" and len(para) == 1 and is_heading(para[0], lines)
            para_box = (float(px0), float(y0 + para[0].top), float(px1), float(y0 + para[-1].bottom))
            out.append(("title" if heading else "text", para_box, score))
    return out


def _list_like(gray: np.ndarray, lines: list[Line], box: tuple[int, int, int, int], column) -> bool:
    if is_list(lines) or is_hanging_list(lines):
        return True
    if column is None:
        return False
    # the model's box may cut into the text: look a line height further left before calling the block indented
    x0, y0, x1, y1 = box
    pad = int(np.median([ln.height for ln in lines]))
    wx0 = max(0, x0 - pad)
    wide = text_lines(gray[y0:y1, wx0:x1])
    if not wide or (wx0 > 0 and min(ln.left for ln in wide) == 0):  # text runs on to the left: cut, not indented
        return False
    return is_indented_block(wide, wx0, column)


def _inside(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h) / max(1e-6, (a[2] - a[0]) * (a[3] - a[1]))


def _drop_nested(blocks):
    """The model sometimes returns a block and a near copy of it: keep the higher-scored one."""
    keep = []
    texty = ("text", "list", "caption")
    for i, (kind, box, score) in enumerate(blocks):
        dup = any(j != i and _inside(box, other) > 0.7 and (oscore > score or (oscore == score and j < i))
                  and okind in (*texty, kind)
                  for j, (okind, other, oscore) in enumerate(blocks) if kind in (*texty, okind))
        if not dup:
            keep.append((kind, box, score))
    return keep
