"""Page images decoded once per process.

`page_images` writes each page as PNG (the store is the record, and other processes may read it), then
`layout_blocks`, `ocr_text` and `tables` each read it back. Dagster runs those steps one after another in the same
process (in-process executor, several documents per run), so each page was PNG-decoded three times (about 0.015 CPU s
each for a 200-dpi page) right after it had been encoded from the very pixels it decodes to. This cache keeps the
decoded pixels, keyed by a digest of the PNG bytes: a reader still fetches the stored bytes, so it always gets what is
stored (a page rewritten by a retry in another process has another digest) - only the decode is skipped.
Bounded by DOCPIPE_PAGE_CACHE_MB (least recently used pages go first; 0 turns it off)."""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict

from PIL import Image


class DecodedPages:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._pages: OrderedDict[bytes, Image.Image] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def _digest(png: bytes) -> bytes:
        return hashlib.blake2b(png, digest_size=16).digest()

    @staticmethod
    def _size(image: Image.Image) -> int:
        return image.width * image.height * len(image.getbands())

    def remember(self, png: bytes, image: Image.Image) -> None:
        """`image` is what `png` decodes to (the writer encoded it): keep a private copy."""
        size = self._size(image)
        if size > self.max_bytes:
            return
        key, copy = self._digest(png), image.copy()
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return
            self._pages[key] = copy
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._pages.popitem(last=False)
                self._bytes -= self._size(old)

    def open(self, png: bytes) -> Image.Image:
        """The decoded page, the caller's own copy (it may close or change it)."""
        if self.max_bytes > 0:
            key = self._digest(png)
            with self._lock:
                cached = self._pages.get(key)
                if cached is not None:
                    self._pages.move_to_end(key)
                    self.hits += 1
            if cached is not None:
                return cached.copy()
            self.misses += 1
        image = Image.open(io.BytesIO(png))
        image.load()
        return image


_CACHE: DecodedPages | None = None
_CACHE_LOCK = threading.Lock()


def decoded_pages() -> DecodedPages:
    """The process's cache, sized from the settings on first use."""
    global _CACHE
    if _CACHE is None:
        with _CACHE_LOCK:
            if _CACHE is None:
                from doc_pipeline.settings import get_settings

                _CACHE = DecodedPages(max(0, get_settings().page_cache_mb) * 1024 * 1024)
    return _CACHE


def remember_page(png: bytes, image: Image.Image) -> None:
    decoded_pages().remember(png, image)


def open_page(png: bytes) -> Image.Image:
    """A stored page image's pixels from its PNG bytes (decoded once per process while the cache holds it)."""
    return decoded_pages().open(png)
