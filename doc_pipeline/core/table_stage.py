"""tables' core: run the right extractor for each page kind."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PIL import Image

from doc_pipeline.core import table_model
from doc_pipeline.core.models import Page, PageImages, PageKind, RawDocument, Table
from doc_pipeline.core.page_cache import open_page
from doc_pipeline.core.pdf_pages import PAGE_MEMO, PDFIUM_LOCK, open_pdf, plumber_chars
from doc_pipeline.core.table_scan import ruled_tables
from doc_pipeline.core.table_native import (DEFAULT_METHODS, merge_continued_tables, native_page_tables,
                                         rotated_page_tables, rotated_text_share, ruled_tables_from_chars)
from doc_pipeline.core.tables import overlap_fraction, native_tables, words_grid_table

log = logging.getLogger(__name__)

PageImageLoader = Callable[[int], "tuple[Image.Image, int] | None"]


def page_image_loader(imgs: PageImages, load_bytes: Callable[[str], bytes]) -> PageImageLoader:
    """`page_image(page_no)` over a document's stored page images (load_bytes: object-store key -> PNG bytes)."""
    by_page = {pi.page_no: pi for pi in imgs.images}

    def page_image(page_no: int):
        pi = by_page.get(page_no)
        return (open_page(load_bytes(pi.key)), pi.dpi) if pi else None

    return page_image


def extract_document_tables(path: str, raw: RawDocument, pages: list[Page],
                            methods: tuple[str, ...] = DEFAULT_METHODS, merge_pages: bool = False,
                            page_image: PageImageLoader | None = None, structure_model: str = "off") -> list[Table]:
    """Every table of a document. Native pages: per table region the best of `methods` (table_native);
    sideways text: camelot on the whole page; scanned pages: ruling lines found in the page image (when
    `page_image(page_no)` gives it) filled with the OCR words, then in the other layout table regions the
    SLANet-plus structure model's cells filled with the OCR words (`structure_model` "auto", see table_model),
    else word grids. `merge_pages` joins tables continued across pages into one."""
    found = _page_tables(path, raw, pages, methods, page_image, structure_model)
    if merge_pages:
        found = merge_continued_tables(found, {p.page_no: p.height for p in pages})
    return found


def _page_tables(path: str, raw: RawDocument, pages: list[Page], methods: tuple[str, ...],
                 page_image: PageImageLoader | None = None, structure_model: str = "off") -> list[Table]:
    use_model = structure_model.strip().lower() not in ("off", "false", "0", "none", "")
    found: list[Table] = []
    native = [p for p in pages if p.kind == PageKind.native]
    if native and raw.media_type == "application/pdf":
        # camelot renders through PDFium: native pages hold the lock (documents of a batch may run on two
        # threads); scanned pages below need no PDFium and run side by side
        with PDFIUM_LOCK:
            found, native = _native_tables(path, native, methods, raw.sha256)
    for p in pages:
        if p.kind == PageKind.scanned or p in native:
            ruled: list[Table] = []
            loaded = page_image(p.page_no) if page_image is not None and p.kind == PageKind.scanned else None
            if loaded is not None:
                ruled = ruled_tables(loaded[0], loaded[1], p.words, p.page_no)
                found.extend(ruled)
            for b in p.blocks:
                if b.type == "table" and not any(overlap_fraction(b.bbox, t.bbox) > 0.5 for t in ruled):
                    t = (table_model.model_table(loaded[0], loaded[1], p.words, b.bbox, p.page_no)
                         if use_model and loaded is not None and table_model.available() else None)
                    t = t or words_grid_table(p.words, b.bbox, p.page_no)
                    if t is not None:
                        found.append(t)
    return sorted(found, key=lambda t: (t.page_no, t.bbox[1] if t.bbox else 0))


def _native_tables(path: str, native: list[Page], methods: tuple[str, ...], sha256: str = ""
                   ) -> tuple[list[Table], list[Page]]:
    """Tables of the native pages; the pages pdfplumber could not open come back for the word-grid fallback."""
    import pdfplumber

    found, sideways, wanted = _pdfium_look(path, native, fill_ruled="pdfplumber" in methods, sha256=sha256)
    if not wanted:
        return found, []
    pdf = None
    try:
        pdf = pdfplumber.open(path)
        plumber_pages = [pdf.pages[p.page_no - 1] for p in wanted]
    except Exception:  # noqa: BLE001 - pdfminer gives up on some files pdfium repairs (broken xref, a page
        if pdf is not None:  # tree that loops): then word grids in layout table regions, as on scans
            pdf.close()
        pdf = None
    if pdf is not None:
        with pdf:
            for p, plumber_page in zip(wanted, plumber_pages):
                blocks = [b for b in p.blocks if b.type == "table"]
                share = sideways.get(p.page_no)
                if p.rotation or (share if share is not None else rotated_text_share(plumber_page)) > 0.5:
                    # sideways tables: camelot turns the page upright itself; pdfplumber's ruled grid if not
                    found.extend(rotated_page_tables(path, plumber_page, p.page_no)
                                 or native_tables(plumber_page, p.page_no, blocks, rotation=p.rotation or 90))
                else:
                    found.extend(native_page_tables(path, plumber_page, p.page_no, blocks, methods,
                                                    _words_in_plumber_frame(p, plumber_page)))
                plumber_page.close()
            return found, []
    return found, wanted


def _pdfium_look(path: str, pages: list[Page], fill_ruled: bool = True, sha256: str = ""
                 ) -> tuple[list[Table], dict[int, float], list[Page]]:
    """(tables read without pdfplumber, sideways-text share per page, the pages that need pdfplumber's reading).
    pdfplumber parses a page in full at its first look (pdfminer: every character and path, 0.01 to 0.2 s), so
    PDFium looks first (pdf_pages.ruled_look): a page with its text upright, no layout table block and rulings
    that make no grid of 2 x 2 cells holds no table any extractor here would find; a page whose rulings PDFium
    reads exactly and whose every table region a sound ruled grid decides gets those grids filled with the
    characters PDFium reads (table_native.ruled_tables_from_chars). A page PDFium cannot read is parsed in full."""
    try:
        pdf = open_pdf(path)
    except Exception:  # noqa: BLE001 - the document opened in raw_pdf; pdfplumber gets its own chance
        return [], {}, pages
    found: list[Table] = []
    shares: dict[int, float] = {}
    wanted = []
    try:
        for p in pages:
            try:
                page = pdf[p.page_no - 1]
                try:  # layout_blocks has usually read the share and the rulings already (PAGE_MEMO)
                    shares[p.page_no] = share = PAGE_MEMO.sideways(page, sha256, p.page_no)
                    blocks = [b for b in p.blocks if b.type == "table"]
                    if p.rotation or share > 0.5:
                        wanted.append(p)
                        continue
                    look = PAGE_MEMO.ruled(page, sha256, p.page_no)
                    if not look.possible and not blocks:
                        continue
                    tables = None
                    if fill_ruled and look.tables is not None:
                        textpage = page.get_textpage()
                        try:
                            chars = plumber_chars(page, textpage, PAGE_MEMO.known(sha256, p.page_no, "geometry"))
                        finally:
                            textpage.close()
                        tables = ruled_tables_from_chars(look.tables, chars, blocks, p.page_no,
                                                         [(w.text, w.bbox) for w in p.words] if p.words else None)
                    if tables is None:
                        wanted.append(p)
                    else:
                        found.extend(tables)
                finally:
                    page.close()
            except Exception as exc:  # noqa: BLE001 - only a shortcut: without it the page is parsed in full
                log.debug("no PDFium look at page %s: %s", p.page_no, exc)
                wanted.append(p)
    finally:
        pdf.close()
    return found, shares, wanted


def _words_in_plumber_frame(page: Page, plumber_page) -> list[tuple[str, tuple]] | None:
    """The page's text-layer words for checking table candidates, where they share pdfplumber's coordinates (an
    unrotated page whose media box starts at the origin and equals its crop box); None: use pdfplumber's words.
    pdfplumber's words are cut wherever pdfminer's characters stand more than 3 pt apart, so a justified,
    widely spaced paragraph cut into columns by camelot passed the check as a table."""
    mediabox = tuple(plumber_page.mediabox)
    if (not page.words or page.rotation or mediabox[:2] != (0, 0) or tuple(plumber_page.cropbox) != mediabox
            or abs(plumber_page.width - page.width) > 0.5 or abs(plumber_page.height - page.height) > 0.5):
        return None
    return [(w.text, w.bbox) for w in page.words]
