"""Image inputs (PNG, JPEG, TIFF incl. multi-page): pages, DPI and safe decoding."""

from __future__ import annotations

from collections.abc import Iterator

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from doc_pipeline.core.errors import CorruptDocumentError, EmptyDocumentError, LimitExceededError
from doc_pipeline.core.models import PageInfo, PageKind

DEFAULT_PAGE_WIDTH_IN = 8.5  # when an image has no usable DPI and no text to measure: a page of letter width
MIN_DPI, MAX_DPI = 72, 600
# 72 and 96 are what image software writes when it does not know (screen resolutions): not a scan's DPI
PLACEHOLDER_DPIS = (72, 96)
GLYPH_PT = 6.5  # median height of a glyph's ink in points (caps ~7 pt and lower case ~5 pt at 9-10 pt type)


def binary_small(gray, max_side: int):
    """A grey page shrunk to at most `max_side` pixels (area average) and thresholded (Otsu): ink = 255."""
    import cv2

    h, w = gray.shape
    s = min(1.0, max_side / max(h, w))
    small = cv2.resize(gray, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else gray
    _, bw = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return bw


def component_stats(binary):
    """OpenCV's connected-component stats (8-connectivity; rows of x, y, w, h, area, the background first) of a
    binary image. The label image OpenCV writes on the way is most of the cost: 16-bit labels take a third of the
    time of 32-bit ones (a 1600 px page: 5 instead of 16 ms) and give the same stats; an image with more than
    65,535 components (OpenCV refuses to overflow) is labelled with 32-bit labels instead."""
    import cv2

    try:
        return cv2.connectedComponentsWithStats(binary, connectivity=8, ltype=cv2.CV_16U)[2]
    except cv2.error:
        return cv2.connectedComponentsWithStats(binary, connectivity=8, ltype=cv2.CV_32S)[2]


class GlyphComponents:
    """The dark connected components of a page shrunk to `max_side` (Otsu threshold): what the text-size probe
    (median_glyph_height) and the upright test (preprocess.baseline_votes) both measure, computed once a page.
    `stats` are OpenCV's (x, y, w, h, area) rows without the background; `scale` = shrunk / original size."""

    def __init__(self, img: Image.Image, max_side: int = 1600):
        import cv2
        import numpy as np

        gray = np.asarray(img.convert("L"))
        bw = binary_small(gray, max_side)
        self.stats, self.shape, self.scale = component_stats(bw)[1:], bw.shape, min(1.0, max_side / max(gray.shape))


def median_glyph_height(img: Image.Image, max_side: int = 1600, components: GlyphComponents | None = None,
                        skew: float = 0.0) -> float | None:
    """Median height in pixels (of img) of the glyph-sized dark connected components: a cheap text-size probe.
    None when fewer than 20 such components are found (no text to measure).

    `components` measured on the page before it was deskewed by `skew` degrees may stand in for measuring the
    deskewed page again: a glyph turned by a measures h' = h cos a + w sin a by w' = w cos a + h sin a, which is
    solved for (w, h) per component (within a pixel of a new measurement for |a| <= 10 degrees)."""
    import numpy as np

    comps = components if components is not None else GlyphComponents(img, max_side)
    if len(comps.stats) < 1:
        return None
    cw, ch = comps.stats[:, 2].astype(np.float64), comps.stats[:, 3].astype(np.float64)
    area = comps.stats[:, 4]
    if skew:
        a = np.deg2rad(abs(skew))
        c, s, c2 = np.cos(a), np.sin(a), np.cos(2 * a)
        cw, ch = (cw * c - ch * s) / c2, (ch * c - cw * s) / c2
    # glyph-like: not specks, not rules/lines/pictures; a glyph is at most ~3x wider than tall (touching letters)
    keep = (ch >= 4) & (ch <= comps.shape[0] / 8) & (cw <= 3 * ch) & (cw >= 1) & (area >= 0.1 * cw * ch)
    if keep.sum() < 20:
        return None
    return float(np.median(ch[keep])) / comps.scale


def estimate_dpi_from_text(img: Image.Image) -> int | None:
    glyph = median_glyph_height(img)
    if not glyph:
        return None
    return int(max(MIN_DPI, min(MAX_DPI, round(glyph * 72.0 / GLYPH_PT))))


def image_dpi(img: Image.Image) -> tuple[int, bool]:
    """The image's DPI and whether it was estimated (missing, implausible or placeholder metadata).

    Estimated from the text size when possible (so a receipt's boxes come out receipt-sized), else by
    assuming the image shows a page of letter width."""
    dpi = img.info.get("dpi")
    x = 0.0
    if dpi:
        try:
            x = float(dpi[0])
        except (TypeError, ValueError, IndexError):
            x = 0.0
        if MIN_DPI <= x <= 1200 and int(round(x)) not in PLACEHOLDER_DPIS:
            return int(round(x)), False
    by_width = int(max(MIN_DPI, min(MAX_DPI, round(img.width / DEFAULT_PAGE_WIDTH_IN))))
    try:
        by_text = estimate_dpi_from_text(img)
    except Exception:  # noqa: BLE001 - an odd image mode: fall back to the page-width guess
        by_text = None
    if by_text is None:
        if MIN_DPI <= x <= 1200:  # placeholder metadata and nothing to measure: keep what the file says
            return int(round(x)), False
        return by_width, True
    # type sizes vary, page widths less so: the text size only overrules a page-wide guess that it contradicts
    # (a receipt, a label, a photo of a paragraph)
    return (by_width if 0.6 <= by_text / by_width <= 1.6 else by_text), True


def open_image(path: str, max_pixels: int) -> Image.Image:
    # the check below enforces max_pixels; Pillow's process-wide bomb limit only has to let that many through.
    # Lowering it would also refuse the page images that later stages open (and leak into other documents).
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        img = Image.open(path)
        img.size  # noqa: B018 - forces header parsing
    except Image.DecompressionBombError as exc:
        raise LimitExceededError(f"image too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptDocumentError(f"the image cannot be decoded: {exc}") from exc
    if img.width * img.height > max_pixels:
        raise LimitExceededError(f"image has {img.width}x{img.height} pixels; limit is {max_pixels} (DOCPIPE_MAX_IMAGE_PIXELS)")
    if img.width < 1 or img.height < 1:
        raise EmptyDocumentError("the image has no pixels")
    return img


def iter_frames(img: Image.Image, max_pages: int) -> Iterator[Image.Image]:
    for i, frame in enumerate(ImageSequence.Iterator(img)):
        if i >= max_pages:
            raise LimitExceededError(f"the image has more than {max_pages} frames (DOCPIPE_MAX_PAGES)")
        yield frame


def frame_to_page_image(frame: Image.Image) -> Image.Image:
    """Decode one frame to 8-bit RGB or L, applying the EXIF orientation (phone photos)."""
    try:
        frame = ImageOps.exif_transpose(frame)
        if frame.mode in ("I;16", "I;16B", "I;16L", "I"):
            frame = frame.point(lambda v: v / 256).convert("L")
        elif frame.mode in ("1", "L"):
            frame = frame.convert("L")
        else:
            frame = frame.convert("RGB")  # CMYK, P, RGBA, LA ...
        frame.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptDocumentError(f"the image data is damaged: {exc}") from exc
    return frame


def is_blank(img: Image.Image) -> bool:
    g = img.convert("L")
    lo, hi = g.getextrema()
    return hi - lo < 16


def inspect_image(path: str, max_pages: int, max_pixels: int) -> list[PageInfo]:
    img = open_image(path, max_pixels)
    pages: list[PageInfo] = []
    for n, frame in enumerate(iter_frames(img, max_pages), start=1):
        if frame.width * frame.height > max_pixels:
            raise LimitExceededError(f"page {n} has {frame.width}x{frame.height} pixels; limit is {max_pixels}")
        dpi, estimated = image_dpi(frame)
        page = frame_to_page_image(frame)
        w, h = page.width * 72.0 / dpi, page.height * 72.0 / dpi
        blank = is_blank(page)
        pages.append(PageInfo(page_no=n, kind=PageKind.blank if blank else PageKind.scanned, width=round(w, 2),
                              height=round(h, 2), image_coverage=1.0,
                              reason=("uniform image" if blank else "image input") + (f"; dpi estimated {dpi}" if estimated else "")))
    if not pages:
        raise EmptyDocumentError("the image has no frames")
    return pages


def load_image_page(path: str, page_no: int, max_pixels: int) -> tuple[Image.Image, int]:
    img = open_image(path, max_pixels)
    for n, frame in enumerate(ImageSequence.Iterator(img), start=1):
        if n == page_no:
            dpi, _ = image_dpi(frame)
            return frame_to_page_image(frame), dpi
    raise CorruptDocumentError(f"page {page_no} not found in image")
