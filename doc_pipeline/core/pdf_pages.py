"""Opening PDFs safely and deciding, per page, whether the text layer can be trusted (native) or the page must
be OCRed (scanned), or holds nothing (blank).

A page is *native* only when it has enough visible, Unicode-mapped text. Invisible text (render mode 3, i.e. an
earlier OCR layer), text without a Unicode map (private-use / replacement characters), glyphs drawn as curves, and a
header/footer line over a full-page scan do not count: those pages are *scanned*. A page with neither text nor
images nor drawings is *blank* (and is not sent to OCR).
"""

from __future__ import annotations

import ctypes
import unicodedata
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from doc_pipeline.core.errors import (CorruptDocumentError, EmptyDocumentError, EncryptedDocumentError,
                                      LimitExceededError)
from doc_pipeline.core.models import BBox, PageInfo, PageKind, Word

MIN_NATIVE_CHARS = 20  # fewer visible chars than this on an image-covered page: treat it as a scan
TEXT_RENDER_INVISIBLE = 3
_PASSWORD_ERRORS = {pdfium_c.FPDF_ERR_PASSWORD}


def open_pdf(path_or_bytes, max_pages: int | None = None) -> pdfium.PdfDocument:
    """Open a PDF or raise a typed DocumentError with a readable reason."""
    try:
        pdf = pdfium.PdfDocument(path_or_bytes)
    except pdfium.PdfiumError as exc:
        code = pdfium_c.FPDF_GetLastError()
        if code in _PASSWORD_ERRORS or "password" in str(exc).lower():
            raise EncryptedDocumentError("the PDF is encrypted with a user password; remove it and upload again") from exc
        raise CorruptDocumentError(f"the PDF cannot be parsed ({exc}); it may be truncated or damaged") from exc
    n = len(pdf)
    if n == 0:
        pdf.close()
        raise EmptyDocumentError("the PDF has no pages")
    if max_pages and n > max_pages:
        pdf.close()
        raise LimitExceededError(f"the PDF has {n} pages; the limit is {max_pages} (DOCPIPE_MAX_PAGES)")
    return pdf


@dataclass
class _PageStats:
    visible_chars: int = 0
    invisible_chars: int = 0
    unmapped_chars: int = 0
    image_area: float = 0.0
    path_count: int = 0
    text_top: float | None = None
    text_bottom: float | None = None


def _bad_char(ch: str) -> bool:
    if ch in ("\ufffd", "\x00"):
        return True
    cat = unicodedata.category(ch)
    return cat in ("Co", "Cn", "Cc") and ch not in "\r\n\t"


def _page_stats(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> _PageStats:
    st = _PageStats()
    w, h = page.get_size()
    for obj in page.get_objects(max_depth=3):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            l, b, r, t = obj.get_bounds()
            st.image_area += max(0.0, min(r, w) - max(l, 0)) * max(0.0, min(t, h) - max(b, 0))
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
            st.path_count += 1
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
            mode = pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
            n = _text_obj_len(obj, textpage)
            if mode == TEXT_RENDER_INVISIBLE:
                st.invisible_chars += n
            else:
                st.visible_chars += n
                l, b, r, t = obj.get_bounds()
                st.text_top = t if st.text_top is None else max(st.text_top, t)
                st.text_bottom = b if st.text_bottom is None else min(st.text_bottom, b)
    text = textpage.get_text_range()
    st.unmapped_chars = sum(1 for ch in text if _bad_char(ch))
    return st


def _text_obj_len(obj, textpage) -> int:
    n = pdfium_c.FPDFTextObj_GetText(obj.raw, textpage.raw, None, 0)  # bytes incl. terminator, UTF-16
    return max(0, n // 2 - 1)


def classify_page(page: pdfium.PdfPage, page_no: int) -> PageInfo:
    """Decide native / scanned / blank for one page (see module docstring)."""
    w, h = page.get_size()
    rotation = page.get_rotation()
    textpage = page.get_textpage()
    try:
        st = _page_stats(page, textpage)
        good_chars = sum(1 for ch in textpage.get_text_range() if not ch.isspace() and not _bad_char(ch))
    finally:
        textpage.close()
    area = max(w * h, 1.0)
    coverage = min(1.0, st.image_area / area)
    visible_good = min(good_chars, st.visible_chars) if st.visible_chars else 0
    unmapped_ratio = st.unmapped_chars / max(1, st.unmapped_chars + good_chars)
    info = dict(page_no=page_no, width=w, height=h, rotation=rotation, text_chars=visible_good,
                image_coverage=round(coverage, 3))
    if visible_good >= 1 and unmapped_ratio > 0.3:
        return PageInfo(kind=PageKind.scanned, reason="text layer has no Unicode mapping", **info)
    if visible_good >= MIN_NATIVE_CHARS or (visible_good >= 1 and coverage < 0.3):
        # a line of text in the top/bottom margin over a page-sized scan is a stamp, not the page's text
        band = st.text_top is not None and (st.text_bottom > h * 0.85 or st.text_top < h * 0.15)
        if coverage > 0.6 and band and visible_good < 200:
            return PageInfo(kind=PageKind.scanned, reason="only a header/footer over a scanned image", **info)
        return PageInfo(kind=PageKind.native, reason="visible text layer", **info)
    if coverage > 0.01:
        why = "invisible OCR text over an image" if st.invisible_chars else "image without a text layer"
        return PageInfo(kind=PageKind.scanned, reason=why, **info)
    if st.path_count > 20:
        return PageInfo(kind=PageKind.scanned, reason="text drawn as vector curves", **info)
    return PageInfo(kind=PageKind.blank, reason="no text, images or drawings", **info)


def _to_top_left(box: tuple[float, float, float, float], rotation: int, w0: float, h0: float) -> BBox:
    """Map a box in unrotated PDF user space (origin bottom-left, page w0 x h0) to the displayed page
    (after /Rotate clockwise), origin top-left."""
    l, b, r, t = box
    if rotation == 90:
        return (b, l, t, r)
    if rotation == 180:
        return (w0 - r, b, w0 - l, t)
    if rotation == 270:
        return (h0 - t, w0 - r, h0 - b, w0 - l)
    return (l, h0 - t, r, h0 - b)


def text_layer_words(page: pdfium.PdfPage) -> list[Word]:
    """Words with boxes from the PDF text layer, in reading order as stored, PDF points origin top-left."""
    textpage = page.get_textpage()
    rotation = page.get_rotation()
    # unrotated size: pdfium reports the displayed size, so undo /Rotate
    w, h = page.get_size()
    w0, h0 = (h, w) if rotation in (90, 270) else (w, h)
    words: list[Word] = []
    cur: list[str] = []
    box: list[float] | None = None
    line = 0  # pdfium inserts generated newlines between lines; each one starts a new line number

    def flush():
        nonlocal cur, box
        if cur and box is not None:
            words.append(Word(text="".join(cur), bbox=tuple(round(v, 2) for v in _to_top_left(tuple(box), rotation, w0, h0)),
                              conf=1.0, line=line))
        cur, box = [], None

    try:
        n = textpage.count_chars()
        for i in range(n):
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
            ch = chr(code) if code else ""
            if not ch or ch.isspace() or _bad_char(ch):
                flush()
                if ch == "\n":
                    line += 1
                continue
            l, r, b, t = _charbox(textpage, i)
            size = pdfium_c.FPDFText_GetFontSize(textpage.raw, i) or (t - b) or 10.0
            # pdfium puts (generated) spaces between words; a wide gap without one is a column break, while
            # tight glyph boxes of narrow letters leave small gaps that must not split a word
            if box is not None and (l - box[2] > size * 0.6 or abs(b - box[1]) > size * 0.8):
                flush()
            cur.append(ch)
            box = [l, b, r, t] if box is None else [min(box[0], l), min(box[1], b), max(box[2], r), max(box[3], t)]
        flush()
    finally:
        textpage.close()
    return words


def _charbox(textpage, i: int) -> tuple[float, float, float, float]:
    l, r, b, t = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    pdfium_c.FPDFText_GetCharBox(textpage.raw, i, l, r, b, t)
    return l.value, r.value, b.value, t.value
