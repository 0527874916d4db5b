"""Image inputs (PNG, JPEG, TIFF incl. multi-page): pages, DPI and safe decoding."""

from __future__ import annotations

from collections.abc import Iterator

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from doc_pipeline.core.errors import CorruptDocumentError, EmptyDocumentError, LimitExceededError
from doc_pipeline.core.models import PageInfo, PageKind

DEFAULT_PAGE_WIDTH_IN = 8.5  # when an image has no usable DPI we assume it shows a page of about letter width
MIN_DPI, MAX_DPI = 72, 600


def image_dpi(img: Image.Image) -> tuple[int, bool]:
    """The image's DPI and whether it was estimated (missing or implausible metadata)."""
    dpi = img.info.get("dpi")
    if dpi:
        try:
            x = float(dpi[0])
        except (TypeError, ValueError, IndexError):
            x = 0
        if MIN_DPI <= x <= 1200:
            return int(round(x)), False
    est = img.width / DEFAULT_PAGE_WIDTH_IN
    return int(max(MIN_DPI, min(MAX_DPI, round(est)))), True


def open_image(path: str, max_pixels: int) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow raises DecompressionBombError beyond 2x this
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
