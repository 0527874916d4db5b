"""Page image preprocessing before layout and OCR. Each step applied is recorded by name on the page."""

from __future__ import annotations

from PIL import Image

from doc_pipeline.core.models import PageInfo, PageKind


def preprocess_page(image: Image.Image, dpi: int, info: PageInfo) -> tuple[Image.Image, list[str]]:
    steps: list[str] = []
    if info.kind == PageKind.scanned and image.mode != "L":
        image = image.convert("L")  # OCR works on luminance; a third of the bytes to store and decode
        steps.append("grayscale")
    return image, steps
