"""Checkboxes (selection marks) on scanned pages, as words: `☐` for an empty box, `☑` for a ticked one.

Forms are full of them ("YES ☐ NO ☑", "☐ Final report"), and neither OCR engine reads them: PP-OCR's detector
skips a lone square or glues it to the label beside it, Tesseract drops it as noise. A box nobody reads is a
question nobody can answer, so every OCR engine's words get the page's checkboxes added, found on the page image
itself (engine independent, after recognition, before reading order):

* a candidate is a connected component of ink about the size of the page's text (`MIN_SIZE`-`MAX_SIZE` times
  the median word height), about square, inked along all four sides and in all four corners (a letter `O`, `D`
  or `0` has round corners or a round side) and hollow inside (a solid blob is a dot or a bullet);
* it stands free: almost no ink in a ring just outside it (a letter inside a word, a cell of a ruled grid and a
  box drawn on a rule all touch their neighbours);
* no OCR word covers it (a word over it is text, or a tick the engine read as `x`: that reading stays), except
  a word of one or two characters inside an empty box, which is the engine's reading of the outline (Tesseract
  reads an empty box as `O`, `TO`, `[]`) and gives way to the box;
* an OCR word sits beside it on its line (a checkbox has its label; a lone square in a figure or a plot is no
  answer to anything);
* ink inside it (a cross or check mark the engine did not read) makes it ticked.

PP-OCR reads a crossed box `☒` as the CJK character `区`: on pages read in a language of a baseline script
(Latin, Cyrillic, Greek: `preprocess.baseline_script`, never a CJK one) that word is a ticked box.

Measured on FUNSD (the 30 forms of ../shared/corpus, docs/OCR.md "Ninth round"); `DOCPIPE_OCR_CHECKBOXES=false`
turns it off.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from doc_pipeline.core.ocr.base import BALLOT_BOX, OcrWord, split_words
from doc_pipeline.core.tables import overlap_fraction

TICKED_BOX = "\u2611"  # ☑
# PP-OCR's reading of a crossed box (☒) in a Latin-script page
_CROSSED_BOX_READINGS = frozenset("\u533a")  # 区

MIN_SIZE, MAX_SIZE = 0.45, 2.2  # side of a box, times the median word height of the page
MIN_PX = 6  # below this a square is a speck or a letter, whatever the page
MAX_ASPECT = 1.45  # width / height (and back) of a box
SIDE_INK = 0.85  # share of each side's length that must be inked
RING_INK = 0.05  # at most this share of a ring around the box may be inked (it stands free)
TICK_INK = 0.12  # ink inside the box above this share: ticked
SOLID_INK = 0.9  # ... and above this it is a blob (a bullet, a dot), not a box
COVERED = 0.3  # a word overlapping this share of a box's area covers it (as does one lying mostly inside it)
NEIGHBOUR = 4.0  # a word beside the box on its line, at most this many box widths away
CHECKBOX_CONF = 0.9
POOL_HEIGHT = 12  # text this many pixels tall or more: the ink is pooled by text height // POOL_HEIGHT
TICK_READINGS = frozenset(("x", "X", "\u2713", "\u2714", "\u2717", "\u2718", "/", "v", "V", "\u221a", TICKED_BOX,
                           BALLOT_BOX))


@dataclass(frozen=True)
class Checkbox:
    box_px: tuple[int, int, int, int]  # x0, y0, x1, y1
    ticked: bool
    fill: float  # share of the inside that is inked


def _ink(gray: np.ndarray) -> np.ndarray:
    import cv2

    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return bw


def find_checkboxes(gray: np.ndarray, text_height_px: float) -> list[Checkbox]:
    """Free-standing square outlines about the size of the text on a grey page image (see the module doc).

    The ink is found at the page's resolution; pages whose text is `POOL_HEIGHT` pixels tall or more are searched
    on ink pooled by a whole factor f (a pooled pixel is ink when f of its f x f pixels are, as many as a one-pixel
    line across it inks, so an outline stays closed while specks vanish: 200-dpi office text, 25 px, is searched
    at half size), and what is found there is tested again, and read for a tick, at full resolution."""
    import cv2

    ink = _ink(gray)
    f = max(1, int(text_height_px // POOL_HEIGHT))
    pooled = ink
    if f > 1:
        hh, ww = ink.shape[0] // f * f, ink.shape[1] // f * f
        pooled = cv2.resize(ink[:hh, :ww], (ww // f, hh // f), interpolation=cv2.INTER_AREA)
        # ink when f of a block's f x f pixels are: a one-pixel line inks that many of every block it crosses, the
        # specks of a scan (on a 200-dpi office page most of its components: one or two pixels) fewer
        cv2.threshold(pooled, 255 / f - 1, 255, cv2.THRESH_BINARY, dst=pooled)
    boxes = _outlines(pooled, text_height_px / f, MIN_PX / f)
    if f > 1:  # pooling squares off letters (`B`, `D`): every candidate is tested again at full resolution
        boxes = sorted({b for c in boxes for b in _recheck(ink, c, f, text_height_px)})
    full = ink > 0
    found: list[Checkbox] = []
    for x0, y0, w, h, t in boxes:
        x1, y1 = x0 + w, y0 + h
        inside = full[y0 + 2 * t + 1:y1 - 2 * t - 1, x0 + 2 * t + 1:x1 - 2 * t - 1]
        if inside.size == 0:
            continue
        fill = float(inside.mean())
        if fill > SOLID_INK:  # a bullet or a blot
            continue
        found.append(Checkbox((x0, y0, x1, y1), fill > TICK_INK, round(fill, 3)))
    return found


def _recheck(ink: np.ndarray, cand: tuple[int, int, int, int, int], f: int, text_height_px: float):
    """The outlines found at full resolution in a window around a candidate found on pooled ink."""
    bx, by, bw_, bh, bt = cand
    pad = (2 * bt + 2) * f
    x0, y0 = max(0, bx * f - pad), max(0, by * f - pad)
    window = np.ascontiguousarray(ink[y0:(by + bh) * f + pad, x0:(bx + bw_) * f + pad])
    return [(x + x0, y + y0, w, h, t) for x, y, w, h, t in _outlines(window, text_height_px, MIN_PX)]


def _outlines(bw: np.ndarray, text_height_px: float, min_px: float) -> list[tuple[int, int, int, int, int]]:
    """(x, y, w, h, outline thickness) of the ink components (255 in `bw`) that pass the geometric tests."""
    import cv2

    height, width = bw.shape
    lo, hi = max(min_px, MIN_SIZE * text_height_px), MAX_SIZE * text_height_px
    # every ink component's box (the outer contours: a component inside another's hole is one too; 5x cheaper
    # than connectedComponentsWithStats, which writes a label image); the cheap tests (size, shape, a free ring
    # around it, inked sides and corners) on all of them at once with an integral image, the rest on the few left
    contours, hierarchy = cv2.findContours(bw, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    rects = np.array([cv2.boundingRect(contours[i]) for i in np.flatnonzero(hierarchy[0][:, 3] < 0)],
                     dtype=np.int64).reshape(-1, 4)
    x, y, w, h = rects[:, 0], rects[:, 1], rects[:, 2], rects[:, 3]
    ok = (w >= lo) & (w <= hi) & (h >= lo) & (h <= hi) & (w <= MAX_ASPECT * h) & (h <= MAX_ASPECT * w)
    t = np.maximum(1, np.round(np.minimum(w, h) / 8)).astype(np.int64)  # the outline's expected thickness
    m = t + 1
    x0, y0 = np.clip(x - m, 0, width), np.clip(y - m, 0, height)
    x1, y1 = np.clip(x + w + m, 0, width), np.clip(y + h + m, 0, height)
    ink = bw > 0
    ii = cv2.integral(ink.astype(np.uint8))

    def ink_in(a0, b0, a1, b1):
        a0, a1 = np.clip(a0, 0, width), np.clip(a1, 0, width)
        b0, b1 = np.clip(b0, 0, height), np.clip(b1, 0, height)
        return ii[b1, a1] - ii[b0, a1] - ii[b1, a0] + ii[b0, a0]

    ring_area = (x1 - x0) * (y1 - y0) - w * h
    ring_ink = ink_in(x0, y0, x1, y1) - ink_in(x, y, x + w, y + h)
    ok &= (ring_area > 0) & (ring_ink <= RING_INK * np.maximum(ring_area, 1))
    # a side inked along SIDE_INK of its length holds at least that many ink pixels in its strip
    k = t + 1
    xe, ye = x + w, y + h
    for a0, b0, a1, b1, length in ((x, y, xe, y + k, w), (x, ye - k, xe, ye, w), (x, y, x + k, ye, h),
                                   (xe - k, y, xe, ye, h)):
        ok &= ink_in(a0, b0, a1, b1) >= SIDE_INK * length
    for a0, b0 in ((x, y), (xe - k, y), (x, ye - k), (xe - k, ye - k)):  # ink in every corner (not an `o`)
        ok &= ink_in(a0, b0, a0 + k, b0 + k) > 0
    out = []
    for i in np.flatnonzero(ok):
        bx, by, bw_, bh, bt = int(x[i]), int(y[i]), int(w[i]), int(h[i]), int(t[i])
        box = ink[by:by + bh, bx:bx + bw_]
        sides = (box[:bt + 1].any(axis=0).mean(), box[-bt - 1:].any(axis=0).mean(),
                 box[:, :bt + 1].any(axis=1).mean(), box[:, -bt - 1:].any(axis=1).mean())
        if min(sides) >= SIDE_INK:
            out.append((bx, by, bw_, bh, bt))
    # an outline's inner edge is no contour of its own here (holes are not listed), but a box drawn twice is
    out.sort(key=lambda b: -b[2] * b[3])
    kept: list[tuple[int, int, int, int, int]] = []
    for b in out:
        if not any(b[0] >= k[0] - 1 and b[1] >= k[1] - 1 and b[0] + b[2] <= k[0] + k[2] + 1
                   and b[1] + b[3] <= k[1] + k[3] + 1 for k in kept):
            kept.append(b)
    return kept


def _beside(box, words: list[OcrWord]) -> bool:
    """An OCR word on the box's line (their vertical middles overlap) within NEIGHBOUR box widths left or right."""
    x0, y0, x1, y1 = box
    reach = NEIGHBOUR * (x1 - x0)
    cy = (y0 + y1) / 2
    for w in words:
        wx0, wy0, wx1, wy1 = w.box_px
        if not (wy0 <= cy <= wy1 or y0 <= (wy0 + wy1) / 2 <= y1):
            continue
        if 0 <= wx0 - x1 <= reach or 0 <= x0 - wx1 <= reach:
            return True
    return False


def text_height(words: list[OcrWord]) -> float | None:
    """Median height of the words that hold a letter or digit (None without any)."""
    hs = [w.box_px[3] - w.box_px[1] for w in words if any(ch.isalnum() for ch in w.text)]
    return float(statistics.median(hs)) if hs else None


def crossed_box_words(words: list[OcrWord]) -> list[OcrWord]:
    """PP-OCR's `区` for a crossed box, alone or glued to the label after it (`区SHIP`), as `☑`."""
    def split(text: str) -> list[str]:
        if text[:1] not in _CROSSED_BOX_READINGS or not all(ch.isascii() for ch in text[1:]):
            return [text]
        return [text[0], text[1:]] if len(text) > 1 else [text]

    return [replace(w, text=TICKED_BOX) if w.text in _CROSSED_BOX_READINGS else w
            for w in split_words(words, split)]


def add_checkbox_words(words: list[OcrWord], image: Image.Image, latin_script: bool = True) -> list[OcrWord]:
    """The page's OCR words plus a word for every checkbox found on its image that no word covers (module doc).
    A new word joins the engine line it sits inside, else it is a line of its own (block -1): reading_order
    places it in its row by its box."""
    if latin_script:
        words = crossed_box_words(words)
    th = text_height(words)
    if th is None:
        return words
    boxes = find_checkboxes(np.asarray(image.convert("L")), th)
    lines: dict[tuple[int, int], list[OcrWord]] = {}
    for w in words:
        lines.setdefault((w.block, w.line), []).append(w)
    added: list[OcrWord] = []
    glyph_of: dict[int, OcrWord] = {}  # index of an engine's word that is its reading of a box -> the box's word
    for cb in boxes:
        over = [i for i, w in enumerate(words) if overlap_fraction(cb.box_px, w.box_px) > COVERED
                or overlap_fraction(w.box_px, cb.box_px) >= 0.5]  # over it, or read inside it
        mark = TICKED_BOX if cb.ticked else BALLOT_BOX
        if not cb.ticked and len(over) == 1 and _reads_the_box(words[over[0]], cb.box_px):
            # the engine read an empty outline itself as a letter (Tesseract: `O`, `TO`, `[]`): the box replaces
            # it (with ink inside, the word may be what is written in the box: `[2]`, and it stays)
            glyph_of[over[0]] = replace(words[over[0]], text=mark, box_px=cb.box_px, conf=CHECKBOX_CONF)
            continue
        if over:
            continue
        if not _beside(cb.box_px, words):
            continue
        block, line = _line_around(cb.box_px, lines) or (-1, sum(w.block == -1 for w in added))
        added.append(OcrWord(text=mark, box_px=cb.box_px, conf=CHECKBOX_CONF, line=line, block=block))
    return [glyph_of.get(i, w) for i, w in enumerate(words)] + added


def _reads_the_box(word: OcrWord, box) -> bool:
    """A word of at most two characters lying within the box, other than a tick (an `x`, `✓` or `/` read inside
    a box is the engine's reading of the mark and stays)."""
    return (len(word.text) <= 2 and word.text not in TICK_READINGS
            and overlap_fraction(word.box_px, box) >= 0.7)


def _line_around(box, lines: dict[tuple[int, int], list[OcrWord]]) -> tuple[int, int] | None:
    """The engine line a box sits inside (between its first and last word, on its height): reading order keeps
    an engine line whole, so a box inside one must join it to be read in its place."""
    cy = (box[1] + box[3]) / 2
    for key, ws in lines.items():
        x0, x1 = min(w.box_px[0] for w in ws), max(w.box_px[2] for w in ws)
        y0, y1 = min(w.box_px[1] for w in ws), max(w.box_px[3] for w in ws)
        if x0 < box[0] and box[2] < x1 and y0 <= cy <= y1:
            return key
    return None
