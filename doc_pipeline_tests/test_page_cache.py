"""Decoded page images kept per process: the same pixels as decoding the stored PNG, never stale, bounded."""

import io

from PIL import Image

from doc_pipeline.core.page_cache import DecodedPages
from doc_pipeline_tests import make_docs


def png_of(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def page(text: str) -> Image.Image:
    return make_docs.text_image([text] * 5, dpi=100, width_in=4, height_in=2)


def test_a_remembered_page_opens_with_the_stored_pixels_without_decoding():
    cache = DecodedPages(64 * 1024 * 1024)
    image = page("Invoice 2024-0042")
    png = png_of(image)
    cache.remember(png, image)
    opened = cache.open(png)
    assert cache.hits == 1 and cache.misses == 0
    assert opened.tobytes() == Image.open(io.BytesIO(png)).tobytes() and opened.mode == image.mode
    opened.close()  # the caller's copy: closing or changing it leaves the cache intact
    again = cache.open(png)
    assert again.tobytes() == image.tobytes() and cache.hits == 2


def test_other_bytes_are_decoded_not_served_from_the_cache():
    """A page rewritten elsewhere (a retry in another process) has other bytes: the reader gets those."""
    cache = DecodedPages(64 * 1024 * 1024)
    first, second = page("first version"), page("second version")
    cache.remember(png_of(first), first)
    opened = cache.open(png_of(second))
    assert cache.misses == 1 and cache.hits == 0
    assert opened.tobytes() == second.tobytes() != first.tobytes()


def test_the_cache_is_bounded_least_recently_used_first():
    a, b, c = page("a page"), page("b page"), page("c page")
    one_page = a.width * a.height
    cache = DecodedPages(2 * one_page)
    for image in (a, b):
        cache.remember(png_of(image), image)
    cache.open(png_of(a))  # a is now the most recently used
    cache.remember(png_of(c), c)  # evicts b
    hits = cache.hits
    cache.open(png_of(a)), cache.open(png_of(c))
    assert cache.hits == hits + 2
    cache.open(png_of(b))
    assert cache.misses == 1


def test_a_zero_size_cache_only_decodes():
    cache = DecodedPages(0)
    image = page("no cache")
    cache.remember(png_of(image), image)
    assert cache.open(png_of(image)).tobytes() == image.tobytes() and cache.hits == 0
