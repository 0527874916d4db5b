"""Page image preprocessing before layout and OCR. Each step applied is recorded by name on the page.

Scanned pages get, in order (each only when it applies):

1. ``grayscale``           OCR works on luminance; a third of the bytes to store and decode.
2. ``rotate_<deg>``        Tesseract OSD says the page is turned by 90/180/270 degrees with enough confidence
                           (180: only when PP-OCR's text-line direction classifier agrees). OSD is skipped on pages
                           whose glyph baselines already prove them upright (`clearly_upright`).
3. ``deskew_<deg>``        projection-profile skew estimate, small angles only (|angle| <= MAX_SKEW).
4. ``rescale_<factor>``    text so small (or so large) that the OCR engines read it badly: the image is resized
                           so glyphs are about TARGET_GLYPH_PX tall, and the DPI changes with it.

The returned DPI always maps the returned image to the page in points (points = px * 72 / dpi), so a rescaled page
keeps its size in points; a page turned by 90/270 degrees swaps width and height (the page *as displayed*).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from doc_pipeline.core.images import GlyphComponents, binary_small, median_glyph_height
from doc_pipeline.core.models import PageInfo, PageKind

MAX_SKEW = 10.0  # degrees; beyond that it is a rotated photo, not a skewed scan
SKEW_SIDE_PX = 1200  # the long side the skew search reads the page at
MIN_SKEW = 0.3  # below this a rotation blurs more than it straightens
OSD_MIN_CONF = 2.0  # Tesseract OSD orientation confidence needed to turn a page
OSD_BAND_SURE_CONF = 2 * OSD_MIN_CONF  # a middle-band OSD answer this sure is taken without reading the whole page
OSD_BAND_MIN_PX = 200  # pages under 3x this height are read whole
OSD_BAND_CHARS = 20  # characters OSD classifies in the band (Tesseract's default 50: measured 0.29 -> 0.16 -> 0.12 CPU
# s/page for whole page -> band -> band with 20; upright and turned test pages all still answered at confidence >= 5)
TARGET_GLYPH_PX = 24  # median glyph height the engines read best at (PP-OCR and Tesseract alike)
# A page is taken as upright without OSD when its text lines sit on a common baseline: in Latin script nearly every
# glyph ends at the baseline (only g j p q y drop below it) while tops vary (x-height, capitals, b d f h k l t), so
# in an upright line glyph bottoms line up more than glyph tops and in a line turned 180 degrees the reverse; lines
# turned 90/270 degrees are not lines at all. scripts/orientation_eval.py: 60 of 90 upright corpus pages (SROIE,
# FUNSD, PubLayNet, DocBank) pass and none of the 270 turned ones (the closest: 6 lines for upright against 5 for
# upside down); on ICDAR 2013 / pdf_kind pages, not used to choose these numbers, 43/57 and none of 171 turned.
# Caps-only text, sparse and noisy pages go to OSD.
UPRIGHT_SIDE_PX = 1600  # the long side glyphs are measured at
UPRIGHT_MIN_LINES = 6  # lines whose bottoms line up better than their tops, needed to skip OSD
UPRIGHT_MIN_SHARE = 0.8  # ... and their share of all lines that lean one way
LINE_LEAN = 0.15  # a line leans when the shares of glyph bottoms and of glyph tops on their median differ this much
ALIGN_TOL = 0.12  # "on the median": within this fraction of the line's median glyph height (at least 1 px)
# Tesseract languages whose scripts sit on a baseline (Latin, Cyrillic, Greek). Scripts that hang from a headline
# (Devanagari, Bengali, Gurmukhi, ...) line up at the top instead, so an upside-down page of them would look upright:
# any other language in DOCPIPE_OCR_LANG turns the test off and every page gets OSD.
BASELINE_SCRIPT_LANGS = frozenset(
    "afr aze bel bos bre bul cat ceb ces cos cym dan deu eng enm epo est eus fao fil fin fra frk frm fry gla gle glg "
    "hat hrv hun ind isl ita jav kaz lat lav lit ltz mkd mlt mon msa nld nor oci pol por que ron rus slk slv spa sqi "
    "srp srp_latn sun swa swe tat tgl ton tur ukr uzb vie yor ell".split())
# The text size of a deskewed page is read from the glyphs measured before deskew, corrected for the angle
# (images.median_glyph_height), unless that lands within this factor of a rescale threshold: the estimate is within
# ~11% of measuring the deskewed page again (corpus pages), and 7 px vs 6.9 px is no rescale vs 3x.
GLYPH_REUSE_MARGIN = 1.2
MIN_GLYPH_PX, MAX_GLYPH_PX = 7, 80  # rescale only outside this range (measured: PP-OCR gains nothing from
# upscaling 8-9 px FUNSD glyphs, loses a little; tiny or huge text is what needs it)


@dataclass
class PreparedPage:
    image: Image.Image
    dpi: int
    steps: list[str] = field(default_factory=list)
    rotation: int = 0  # degrees clockwise we turned the page (0/90/180/270)
    skew: float = 0.0


def preprocess_page(image: Image.Image, dpi: int, info: PageInfo) -> tuple[Image.Image, list[str]]:
    """The cheap part every page gets at render time (render.iter_page_images)."""
    steps: list[str] = []
    if info.kind == PageKind.scanned and image.mode != "L":
        image = image.convert("L")
        steps.append("grayscale")
    return image, steps


# ---------------------------------------------------------------------------------------------- skew


def _ink_points(bw: np.ndarray, max_points: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(bw)
    if len(ys) > max_points:  # an even subsample keeps the row profile's shape
        k = -(-len(ys) // max_points)
        ys, xs = ys[::k], xs[::k]
    return ys.astype(np.float64), xs.astype(np.float64)


class _SkewProfile:
    """Scores a turn of the page's ink by its row profile: each ink pixel's row after turning by `angle` (cv2/PIL
    sense, about the image centre), counted with bincount - the same profile as rotating the whole image with
    nearest neighbour (cv2.warpAffine), at a fraction of the cost, since only ink pixels are moved. The centred
    coordinates and the work arrays are made once per page for the ~40 angles of the search: 0.4 of the CPU of
    recomputing them per angle, the same scores bit for bit (the same float operations in the same order)."""

    def __init__(self, points: tuple[np.ndarray, np.ndarray], shape: tuple[int, int]):
        ys, xs = points
        self.h = shape[0]
        self.xc, self.yc = xs - shape[1] / 2, ys - self.h / 2
        # rows a turn about the centre can reach outside the page: counted in a padded profile, then cut off
        self.pad = int(np.ceil(np.hypot(*shape) / 2 - self.h / 2)) + 2
        self._rows, self._tmp = np.empty_like(self.xc), np.empty_like(self.xc)
        self._irows = np.empty(len(self.xc), dtype=np.int64)

    def score(self, angle: float) -> float:
        t = np.deg2rad(angle)
        rows, tmp = self._rows, self._tmp
        np.multiply(self.xc, -np.sin(t), out=rows)
        np.multiply(self.yc, np.cos(t), out=tmp)
        np.add(rows, tmp, out=rows)
        np.add(rows, self.h / 2, out=rows)
        np.rint(rows, out=rows)
        np.add(rows, self.pad, out=rows)  # whole numbers: exact
        self._irows[:] = rows
        profile = np.bincount(self._irows, minlength=self.h + 2 * self.pad)[self.pad:self.pad + self.h]
        return float(np.sum(np.diff(profile.astype(np.float64)) ** 2))  # sharp row transitions = lines lined up


def estimate_skew(image: Image.Image, max_angle: float = MAX_SKEW) -> float:
    """Degrees to rotate the page counter-clockwise (PIL's sense) to make its text lines horizontal."""
    bw = binary_small(np.asarray(image.convert("L")), SKEW_SIDE_PX)
    if bw.mean() < 0.5:  # (almost) no ink
        return 0.0
    profile = _SkewProfile(_ink_points(bw), bw.shape)
    best = 0.0
    for step, span in ((1.0, max_angle), (0.2, 1.0), (0.05, 0.2)):
        angles = np.arange(best - span, best + span + 1e-9, step)
        best = float(max(angles, key=profile.score))
    # angles are counter-clockwise in image coordinates, like PIL's Image.rotate
    return round(best, 2)


def deskew(image: Image.Image, angle: float) -> Image.Image:
    """Turn by `angle` degrees counter-clockwise about the centre (PIL's Image.rotate sense), white fill.
    OpenCV's bicubic warp: the same result as PIL's rotate(BICUBIC), about 5x faster on a 200-dpi page."""
    import cv2

    arr = np.asarray(image)
    h, w = arr.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    fill = 255 if arr.ndim == 2 else (255,) * arr.shape[2]
    out = cv2.warpAffine(arr, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return Image.fromarray(out)


# ---------------------------------------------------------------------------------------------- orientation


def baseline_votes(image: Image.Image, skew: float = 0.0,
                   components: GlyphComponents | None = None) -> tuple[int, int]:
    """(lines that look upright, lines that look upside down): per text line, whether its glyphs' bottoms line up
    better than their tops (see UPRIGHT_MIN_LINES). Glyphs are connected components (`components`, measured here
    when not given); rules, frames and pictures (taller than a line or wider than a quarter page) are left out, so
    table rows count as lines. `skew` is the page's estimated skew (estimate_skew): glyph rows are measured along
    the deskewed lines."""
    comps = components if components is not None else GlyphComponents(image, UPRIGHT_SIDE_PX)
    height, width = comps.shape
    x, y, w, h, area = (comps.stats[:, i] for i in range(5))
    glyph = (area >= 4) & (h >= 4) & (h <= 80) & (w <= width / 4)  # 4: speckle noise out
    x, y, w, h = x[glyph], y[glyph], w[glyph], h[glyph]
    if len(x) < 20:
        return 0, 0
    shift = -np.tan(np.deg2rad(skew)) * (x + w / 2 - width / 2)
    top, bottom = y + shift, y + h + shift
    # lines: runs of rows covered by some glyph (a difference array over the glyphs' row spans)
    pad = int(np.ceil(np.abs(shift).max())) + 1
    cover = np.zeros(height + 2 * pad + 2, dtype=np.int64)
    np.add.at(cover, np.floor(top).astype(np.int64) + pad, 1)
    np.add.at(cover, np.ceil(bottom).astype(np.int64) + pad, -1)
    covered = np.concatenate([[0], (np.cumsum(cover) > 0).astype(np.int8), [0]])
    starts = np.flatnonzero(np.diff(covered) == 1)
    line_of = np.searchsorted(starts, (top + bottom) / 2 + pad, side="right") - 1
    up = down = 0
    for line in np.unique(line_of):
        sel = line_of == line
        if sel.sum() < 5:
            continue
        tol = max(1.0, ALIGN_TOL * float(np.median(h[sel])))
        tops_aligned = np.mean(np.abs(top[sel] - np.median(top[sel])) <= tol)
        bottoms_aligned = np.mean(np.abs(bottom[sel] - np.median(bottom[sel])) <= tol)
        up += bottoms_aligned - tops_aligned > LINE_LEAN
        down += tops_aligned - bottoms_aligned > LINE_LEAN
    return int(up), int(down)


def baseline_script(lang: str) -> bool:
    """Whether every language of a Tesseract language spec ("eng", "deu+fra") writes on a baseline, so that
    clearly_upright may stand in for OSD."""
    codes = [c for c in lang.split("+") if c]
    return bool(codes) and all(c in BASELINE_SCRIPT_LANGS for c in codes)


def clearly_upright(image: Image.Image, skew: float = 0.0, components: GlyphComponents | None = None) -> bool:
    """True when the page's text lines prove it upright (baseline_votes), so OSD (~0.1 CPU s a page) is skipped.
    Conservative: undecided pages go to OSD."""
    up, down = baseline_votes(image, skew, components)
    return up >= UPRIGHT_MIN_LINES and up >= UPRIGHT_MIN_SHARE * (up + down)


def detect_orientation(image: Image.Image, dpi: int) -> tuple[int, float] | None:
    """(degrees clockwise the content is turned, confidence) from Tesseract OSD, or None if it cannot tell.

    OSD costs about 0.25 CPU s on a full 200-dpi page, in proportion to the text it looks at. It first looks at
    the middle third of the page, classifying OSD_BAND_CHARS characters (under half the cost; the same answers on
    upright and turned test pages, confidence 5-8 against 15-18), and only reads the whole page, with Tesseract's
    defaults, when that band is not clearly decided (sparse pages)."""
    from doc_pipeline.core.ocr import get_engine

    engine = get_engine("tesseract")
    if image.height >= 3 * OSD_BAND_MIN_PX:
        band = image.crop((0, image.height // 3, image.width, 2 * image.height // 3))
        try:
            found = engine.detect_orientation(band, dpi, min_chars=OSD_BAND_CHARS)
        except Exception:  # noqa: BLE001 - too little text in the band: read the whole page below
            found = None
        if found and found[1] >= OSD_BAND_SURE_CONF:
            return found
    try:
        return engine.detect_orientation(image, dpi)
    except Exception:  # noqa: BLE001 - OSD fails on pages with too little text; that is "unknown", not an error
        return None


def upside_down_confirmed(image: Image.Image) -> bool:
    """A second opinion before a page is turned by 180 degrees. OSD tells 0 from 180 poorly on receipts (confidence
    2-6 either way; it turned an upright SROIE receipt upside down, that page's word F1 83 -> 11), while PP-OCR's
    text-line direction classifier separates them cleanly (share of text read as 180: 0-0.40 on 60 upright
    SROIE/FUNSD pages, 0.68-1.0 on the same pages turned). Only pages OSD calls 180 pay for it (~0.5 s)."""
    from doc_pipeline.core.ocr import get_engine

    share = get_engine("rapidocr").upside_down_share(image)
    return share is None or share >= 0.5  # no text lines found: OSD's answer stands


def orient(image: Image.Image, dpi: int, min_conf: float = OSD_MIN_CONF) -> tuple[Image.Image, int]:
    """Turn the page upright when OSD is confident; returns the image and the degrees turned (clockwise)."""
    found = detect_orientation(image, dpi)
    if not found:
        return image, 0
    deg, conf = found
    deg %= 360
    if deg == 0 or conf < min_conf:
        return image, 0
    if deg == 180 and not upside_down_confirmed(image):
        return image, 0
    # OSD's orient_deg is the counter-clockwise turn that makes the page upright (PIL's rotate sense); we record
    # the clockwise equivalent (test_preprocess: a page turned 90 degrees counter-clockwise gets rotate_90)
    return image.rotate(deg, expand=True), (360 - deg) % 360


# ---------------------------------------------------------------------------------------------- scale


def rescale_factor(glyph_px: float | None) -> float:
    if not glyph_px or MIN_GLYPH_PX <= glyph_px <= MAX_GLYPH_PX:
        return 1.0
    return max(0.25, min(3.0, TARGET_GLYPH_PX / glyph_px))


def prepare_scanned_page(image: Image.Image, dpi: int, *, orientation: bool = True, deskew_pages: bool = True,
                         rescale: bool = True, max_pixels: int = 60_000_000,
                         upright_check: bool = True) -> PreparedPage:
    """Orientation, deskew and scale normalisation of one scanned page image (see the module doc). `upright_check`:
    skip OSD on pages that clearly_upright proves upright (only for baseline scripts: see baseline_script)."""
    page = PreparedPage(image=image, dpi=dpi)
    angle = None
    # the glyph components of the upright test also give the text size below (one threshold + labelling a page)
    components = GlyphComponents(page.image, UPRIGHT_SIDE_PX) if orientation and upright_check else None
    if orientation:
        angle = estimate_skew(page.image)  # upright pages keep it; a turned page is measured again below
        if not (upright_check and clearly_upright(page.image, angle, components)):
            page.image, page.rotation = orient(page.image, dpi)
            if page.rotation:
                page.steps.append(f"rotate_{page.rotation}")
                angle, components = None, None
    if deskew_pages:
        angle = estimate_skew(page.image) if angle is None else angle
        if MIN_SKEW <= abs(angle) <= MAX_SKEW:
            page.image = deskew(page.image, angle)
            page.skew = angle
            page.steps.append(f"deskew_{angle:+.2f}")
    if rescale:
        glyph = (median_glyph_height(page.image, components=components, skew=page.skew)
                 if components is not None else None)
        near = not (glyph and MIN_GLYPH_PX * GLYPH_REUSE_MARGIN <= glyph <= MAX_GLYPH_PX / GLYPH_REUSE_MARGIN)
        if components is None or (page.skew and near):  # near a threshold: measure the deskewed page itself
            glyph = median_glyph_height(page.image)
        f = rescale_factor(glyph)
        if f != 1.0 and page.image.width * page.image.height * f * f <= max_pixels:
            w, h = max(1, round(page.image.width * f)), max(1, round(page.image.height * f))
            page.image = page.image.resize((w, h), Image.LANCZOS if f < 1 else Image.BICUBIC)
            page.dpi = max(1, round(dpi * f))
            page.steps.append(f"rescale_{f:.2f}")
    return page
