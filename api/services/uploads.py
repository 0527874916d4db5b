"""Upload validation and storage.

Why spool to a local temporary file first instead of writing straight into raw/: deciding whether a PDF is
encrypted, damaged or too long needs random access to the whole file (the xref table sits at the end), and the
raw/ sensor must never see a file we are about to refuse. So the body is streamed, counted and cut off at
DOCPIPE_MAX_UPLOAD_BYTES into a SpooledTemporaryFile (memory up to 1 MiB, then disk: never the whole file in
memory), checked, and only then streamed into raw/<doc_id>.<ext> with ObjectStore.put_stream.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from typing import BinaryIO

from fastapi import HTTPException

from doc_pipeline.core.errors import (CorruptDocumentError, EmptyDocumentError, EncryptedDocumentError,
                                      LimitExceededError)
from doc_pipeline.core.sniff import EXTENSIONS, describe_unsupported, sniff_media_type
from doc_pipeline.db import Document
from doc_pipeline.core.doc_ids import new_doc_id  # noqa: F401 - the routers take ids from here
from doc_pipeline.db.repo import clean_text, now
from doc_pipeline.settings import Settings
from doc_pipeline.storage import StorageError

SPOOL_MEMORY = 1 << 20
_UNSAFE_NAME = re.compile(r"[^\w.\- ()\[\]+,@]")


def too_large(limit: int) -> HTTPException:
    return HTTPException(status_code=413, detail=f"upload larger than the limit of {limit} bytes "
                                                 f"(DOCPIPE_MAX_UPLOAD_BYTES)")


def sanitise_filename(name: str | None) -> str | None:
    """The base name only, no control or path characters, at most 200 characters."""
    if not name:
        return None
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", clean_text(name, 1000) or "").strip(" .")
    return name[:200] or None


def clean_label(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = (clean_text(value, limit) or "").strip()
    return value or None


class LimitedReader:
    """A read() wrapper that fails once more than `limit` bytes went through (the store write is aborted)."""

    def __init__(self, stream: BinaryIO, limit: int):
        self.stream, self.limit, self.n = stream, limit, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.n += len(data)
        if self.n > self.limit:
            raise too_large(self.limit)
        return data


async def spool_stream(chunks: AsyncIterator[bytes], limit: int) -> tempfile.SpooledTemporaryFile:
    """Copy a request body into a spooled temp file, cutting it off as soon as it passes `limit`."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
    total = 0
    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise too_large(limit)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def file_size(fh: BinaryIO) -> int:
    fh.seek(0, 2)
    n = fh.tell()
    fh.seek(0)
    return n


def validate_content(fh: BinaryIO, settings: Settings) -> tuple[str, int]:
    """(media type, size) of an acceptable upload, or an HTTPException that says what is wrong with it.

    Status codes: 413 over a size/page/pixel limit, 415 not a PDF/PNG/JPEG/TIFF by content, 422 a supported
    type that cannot be processed (empty, encrypted, damaged)."""
    size = file_size(fh)
    if size > settings.max_upload_bytes:
        raise too_large(settings.max_upload_bytes)
    head = fh.read(1024)
    fh.seek(0)
    if not head:
        raise HTTPException(status_code=422, detail="the file is empty (0 bytes)")
    media = sniff_media_type(head)
    if media is None:
        raise HTTPException(status_code=415, detail=describe_unsupported(head))
    if media == "application/pdf":
        _check_pdf(fh, settings)
    else:
        _check_image(fh, settings)
    fh.seek(0)
    return media, size


def _check_pdf(fh: BinaryIO, settings: Settings) -> None:
    from doc_pipeline.core.pdf_pages import open_pdf

    try:
        pdf = open_pdf(fh, max_pages=settings.max_pages)
    except EncryptedDocumentError as exc:
        raise HTTPException(status_code=422, detail="encrypted PDF: remove the password and upload again") from exc
    except LimitExceededError as exc:
        raise HTTPException(status_code=413, detail=exc.reason) from exc
    except (CorruptDocumentError, EmptyDocumentError) as exc:
        raise HTTPException(status_code=422, detail=f"damaged PDF: {exc.reason}") from exc
    pdf.close()


def _check_image(fh: BinaryIO, settings: Settings) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(fh) as img:  # reads the header only
            w, h = img.size
            frames = getattr(img, "n_frames", 1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise HTTPException(status_code=422, detail=f"damaged image: {exc}") from exc
    except Image.DecompressionBombError as exc:
        raise HTTPException(status_code=413, detail=f"image too large: {exc}") from exc
    if w * h > settings.max_image_pixels:
        raise HTTPException(status_code=413, detail=f"image has {w * h} pixels; the limit is "
                                                     f"{settings.max_image_pixels} (DOCPIPE_MAX_IMAGE_PIXELS)")
    if frames > settings.max_pages:
        raise HTTPException(status_code=413, detail=f"image has {frames} pages; the limit is {settings.max_pages}")


def raw_key_for(doc_id: str, media_type: str) -> str:
    return f"raw/{doc_id}.{EXTENSIONS[media_type]}"


def store_upload(ctx, fh: BinaryIO, media: str, size: int, *, doc_id: str, owner: str, source_name: str | None,
                 applicant_id: str | None, doc_type_hint: str | None) -> Document:
    """Insert (or complete) the Document row, then stream the bytes into raw/. The row goes first so the raw/
    sensor always finds it and keeps this doc_id."""
    raw_key = raw_key_for(doc_id, media)
    with ctx.db.session() as s:
        doc = s.get(Document, doc_id)
        created = doc is None
        if created:
            doc = Document(doc_id=doc_id, raw_key=raw_key, source="api", flagged=False, created_at=now())
            s.add(doc)
        doc.raw_key, doc.status, doc.owner, doc.media_type, doc.size = raw_key, "queued", owner, media, size
        doc.source_name = source_name or doc.source_name
        doc.applicant_id = applicant_id or doc.applicant_id
        doc.doc_type_hint = doc_type_hint or doc.doc_type_hint
        doc.error, doc.updated_at = None, now()
    try:
        ctx.store.put_stream(raw_key, LimitedReader(fh, ctx.settings.max_upload_bytes), content_type=media)
    except BaseException as exc:
        with ctx.db.session() as s:
            row = s.get(Document, doc_id)
            if row is not None and created:
                s.delete(row)
            elif row is not None:
                row.status = "awaiting_upload"
        if isinstance(exc, StorageError):
            raise HTTPException(status_code=503, detail=f"object store unavailable: {exc}") from exc
        ctx.store.delete(raw_key)  # stores write atomically, but make sure no partial object stays in raw/
        raise
    return doc
