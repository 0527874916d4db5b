"""raw_pdf's core: identify the input, open it safely and classify every page."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from doc_pipeline.core import images, pdf_pages
from doc_pipeline.core.errors import EmptyDocumentError, UnsupportedFormatError
from doc_pipeline.core.models import DocKind, PageInfo, PageKind
from doc_pipeline.core.sniff import describe_unsupported, sniff_media_type


@dataclass(frozen=True)
class Limits:
    max_pages: int = 2000
    max_image_pixels: int = 200_000_000
    max_page_pixels: int = 60_000_000


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def detect_media_type(path: str | Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if not head:
        raise EmptyDocumentError("the file is empty (0 bytes)")
    media = sniff_media_type(head)
    if media is None:
        raise UnsupportedFormatError(describe_unsupported(head))
    return media


def doc_kind(pages: list[PageInfo]) -> DocKind:
    """native / scanned / mixed from the page kinds; blank pages do not make a document scanned."""
    kinds = {p.kind for p in pages if p.kind != PageKind.blank}
    if kinds == {PageKind.native}:
        return DocKind.native
    if kinds == {PageKind.scanned}:
        return DocKind.scanned
    if not kinds:
        return DocKind.native if all(p.kind == PageKind.blank for p in pages) else DocKind.scanned
    return DocKind.mixed


def inspect_document(path: str | Path, limits: Limits = Limits()) -> tuple[str, DocKind, list[PageInfo]]:
    """(media_type, document kind, page infos) or a DocumentError saying why the file cannot be processed."""
    media = detect_media_type(path)
    if media == "application/pdf":
        pdf = pdf_pages.open_pdf(str(path), max_pages=limits.max_pages)
        try:
            pages = [pdf_pages.classify_page(pdf[i], i + 1) for i in range(len(pdf))]
        finally:
            pdf.close()
    else:
        pages = images.inspect_image(str(path), limits.max_pages, limits.max_image_pixels)
    return media, doc_kind(pages), pages
