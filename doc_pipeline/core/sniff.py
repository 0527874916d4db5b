"""Content-type detection by magic bytes (never by file extension)."""

from __future__ import annotations

EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif"}
SNIFF_BYTES = 1024


def sniff_media_type(head: bytes) -> str | None:
    """Return the media type of a supported input from its first bytes, or None if unsupported."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    # PDF readers accept a header anywhere in the first 1 KiB (junk before %PDF- is common in the wild)
    if b"%PDF-" in head[:SNIFF_BYTES]:
        return "application/pdf"
    return None


def describe_unsupported(head: bytes) -> str:
    """A readable guess of what an unsupported file is, for the rejection reason."""
    if not head:
        return "the file is empty (0 bytes)"
    probes = [(b"PK\x03\x04", "a ZIP archive (or DOCX/XLSX)"), (b"GIF8", "a GIF image"), (b"BM", "a BMP image"),
              (b"RIFF", "a RIFF file (WEBP/WAV/AVI)"), (b"\x1f\x8b", "a gzip archive"), (b"{", "JSON or text"),
              (b"<", "HTML or XML")]
    stripped = head.lstrip()
    for magic, what in probes:
        if stripped.startswith(magic):
            return f"unsupported file type: looks like {what}; send PDF, PNG, JPEG or TIFF"
    return "unsupported file type: not a PDF, PNG, JPEG or TIFF"
