"""Post-processing of layout-model blocks into PubLayNet-style blocks, from the page image alone (layout runs
before OCR, so no text is needed):

- the model returns one "text" block per column run; PubLayNet has one block per paragraph. Text lines are
  found by the ink's row profile inside the block, and a new paragraph starts at an indented first line, after
  a short last line, or after a wider vertical gap than the block's usual line spacing.
- a text block whose lines start with a bullet or number (a small ink blob, then a gap) on two or more lines,
  or whose lines hang (first line flush, the following ones indented), is a list.

Everything works in image pixels; `split_text_blocks` takes and returns boxes in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INK = 160  # grey level below which a pixel is ink


@dataclass
class Line:
    top: int
    bottom: int
    left: int
    right: int
    bullet: bool  # starts with a small blob followed by a clear gap ("•", "-", "1.", "a)")

    @property
    def height(self) -> int:
        return self.bottom - self.top


def text_lines(gray: np.ndarray) -> list[Line]:
    """Lines of ink in a block crop (2-D uint8), top to bottom."""
    ink = gray < INK
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
        lines.append(Line(y0, y, int(cols[0]), int(cols[-1]), _bullet_start(band, cols, y - y0)))
    return _merge_split_lines(lines)


def _merge_split_lines(lines: list[Line]) -> list[Line]:
    # accents, sub/superscripts and dots above letters make thin extra bands: fold them into their neighbour
    if not lines:
        return lines
    med = float(np.median([ln.height for ln in lines]))
    out: list[Line] = []
    for ln in lines:
        if out and ln.height < med * 0.45 and ln.top - out[-1].bottom < med * 0.3:
            p = out[-1]
            out[-1] = Line(p.top, ln.bottom, min(p.left, ln.left), max(p.right, ln.right), p.bullet)
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


def split_text_blocks(gray: np.ndarray, blocks: list[tuple[str, tuple[float, float, float, float], float]]
                      ) -> list[tuple[str, tuple[float, float, float, float], float]]:
    """(type, pixel box, score) blocks in, paragraph-level blocks out; text blocks may become lists."""
    out = []
    H, W = gray.shape[:2]
    for kind, box, score in _drop_nested(blocks):
        if kind not in ("text", "list"):
            out.append((kind, box, score))
            continue
        x0, y0, x1, y1 = (int(max(0, box[0])), int(max(0, box[1])), int(min(W, box[2])), int(min(H, box[3])))
        if x1 - x0 < 5 or y1 - y0 < 5:
            out.append((kind, box, score))
            continue
        lines = text_lines(gray[y0:y1, x0:x1])
        if not lines:
            out.append((kind, box, score))
            continue
        if kind == "list" or is_list(lines):
            out.append(("list", box, score))
            continue
        for para in paragraphs(lines, x1 - x0):
            px0 = x0 + min(ln.left for ln in para)
            px1 = x0 + max(ln.right for ln in para) + 1
            out.append(("text", (float(px0), float(y0 + para[0].top), float(px1), float(y0 + para[-1].bottom)), score))
    return out


def _inside(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h) / max(1e-6, (a[2] - a[0]) * (a[3] - a[1]))


def _drop_nested(blocks):
    """The model sometimes returns a block and a near copy of it: keep the higher-scored one."""
    keep = []
    for i, (kind, box, score) in enumerate(blocks):
        dup = any(j != i and _inside(box, other) > 0.7 and (oscore > score or (oscore == score and j < i))
                  and okind in ("text", "list", kind)
                  for j, (okind, other, oscore) in enumerate(blocks) if kind in ("text", "list", okind))
        if not dup:
            keep.append((kind, box, score))
    return keep
