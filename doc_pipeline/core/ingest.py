"""raw_pdf's core: identify the input, open it safely and classify every page."""

from __future__ import annotations

import hashlib
import mmap
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from doc_pipeline.core import images, pdf_pages
from doc_pipeline.core.errors import (CorruptDocumentError, EmptyDocumentError, EncryptedDocumentError,
                                      LimitExceededError, UnsupportedFormatError)
from doc_pipeline.core.models import DocKind, PageInfo, PageKind
from doc_pipeline.core.render import bounded_dpi
from doc_pipeline.core.sniff import describe_unsupported, sniff_media_type


@dataclass(frozen=True)
class Limits:
    max_pages: int = 2000
    max_image_pixels: int = 200_000_000
    max_page_pixels: int = 60_000_000
    max_stream_bytes: int = 512 * 1024 * 1024


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


_STREAM_START = re.compile(rb"(?<!end)stream\r?\n")
_INFLATE_CHUNK = 1 << 20


def _zlib_header(b0: int, b1: int) -> bool:
    return b0 & 0x0F == 8 and b0 >> 4 <= 7 and ((b0 << 8) | b1) % 31 == 0


def _inflated_size(buf, start: int, limit: int, depth: int = 3) -> int:
    """Bytes a zlib stream at buf[start:] inflates to, counted in 1 MiB steps and stopped past `limit`; a
    result that is itself a zlib stream (/Filter [/FlateDecode /FlateDecode]) is inflated too, up to `depth`
    levels. Never holds more than a few MiB."""
    decoders = [zlib.decompressobj()]
    sizes = [0]
    pos, end = start, len(buf)

    def feed(level: int, data: bytes) -> None:
        d = decoders[level]
        while data and not d.eof:
            out = d.decompress(data, _INFLATE_CHUNK)
            data = d.unconsumed_tail
            sizes[level] += len(out)
            if sizes[level] > limit:
                raise OverflowError
            if out and level + 1 < depth:
                if len(decoders) == level + 1 and sizes[level] == len(out) and len(out) > 1 and _zlib_header(out[0], out[1]):
                    decoders.append(zlib.decompressobj())
                    sizes.append(0)
                if len(decoders) > level + 1:
                    feed(level + 1, out)

    try:
        while pos < end and not decoders[0].eof:
            feed(0, bytes(buf[pos:pos + 65536]))
            pos += 65536
    except zlib.error:
        pass  # damaged or not Flate at all: pdfium decides what to make of it
    except OverflowError:
        return limit + 1
    return max(sizes)


def check_pdf_streams(path: str | Path, max_bytes: int) -> None:
    """Refuse a PDF with a Flate stream that inflates beyond max_bytes (a 'zip bomb' content stream or image:
    a few KB on disk, gigabytes in memory once pdfium decodes it). Streams are found by their `stream` keyword,
    so this also works on files whose xref is broken; encrypted or otherwise-wrapped streams are left to
    pdfium (see docs/RELIABILITY.md)."""
    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            for m in _STREAM_START.finditer(buf):
                at = m.end()
                if at + 2 > len(buf) or not _zlib_header(buf[at], buf[at + 1]):
                    continue
                if _inflated_size(buf, at, max_bytes) > max_bytes:
                    raise LimitExceededError(
                        f"a stream at byte {at} inflates to more than {max_bytes} bytes (DOCPIPE_MAX_STREAM_BYTES); "
                        "the PDF looks like a decompression bomb")


def _mentions(path: str | Path, token: bytes) -> bool:
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        return buf.find(token) >= 0


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


def _classify_pdf(path: str | Path, limits: Limits) -> list[PageInfo]:
    try:
        pdf = pdf_pages.open_pdf(str(path), max_pages=limits.max_pages)
    except EncryptedDocumentError as exc:
        # pdfium's last-error code is per thread and not reset by a later failure: a broken file opened
        # after an encrypted one reads as "password" too, so believe it only if the file has /Encrypt
        if not _mentions(path, b"/Encrypt"):
            raise CorruptDocumentError("the PDF cannot be parsed; it may be truncated or damaged") from exc
        raise
    try:
        return pdf_pages.classify_pages(pdf, str(path))
    except pdfium.PdfiumError as exc:  # e.g. a page tree that loops back on itself
        raise CorruptDocumentError(f"a page of the PDF cannot be loaded ({exc}); its page tree is damaged") from exc
    finally:
        pdf.close()


def inspect_document(path: str | Path, limits: Limits = Limits()) -> tuple[str, DocKind, list[PageInfo]]:
    """(media_type, document kind, page infos) or a DocumentError saying why the file cannot be processed."""
    media = detect_media_type(path)
    if media == "application/pdf":
        check_pdf_streams(path, limits.max_stream_bytes)
        # pdfium is not thread-safe, and raw_pdf inspects several documents of a batch at once
        with pdf_pages.PDFIUM_LOCK:
            pages = _classify_pdf(path, limits)
        for p in pages:  # a page no image of can be made: refused here, as pages with a text layer may never be
            bounded_dpi(p.width, p.height, 1, limits.max_page_pixels)  # rendered (DOCPIPE_NATIVE_PAGE_IMAGES)
    else:
        pages = images.inspect_image(str(path), limits.max_pages, limits.max_image_pixels)
    return media, doc_kind(pages), pages
