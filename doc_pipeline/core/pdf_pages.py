"""Opening PDFs safely and deciding, per page, whether the text layer can be trusted (native) or the page must
be OCRed (scanned), or holds nothing (blank).

A page is *native* only when it has enough visible, Unicode-mapped text. Invisible text (render mode 3, i.e. an
earlier OCR layer), text without a Unicode map (private-use / replacement characters), glyphs drawn as curves, and a
header/footer line over a full-page scan do not count: those pages are *scanned*. A page with neither text nor
images nor drawings is *blank* (and is not sent to OCR).
"""

from __future__ import annotations

import ctypes
import math
import re
import threading
import unicodedata
from array import array
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
# every native page's ruling search runs pdfplumber's grid code: imported with the pipeline (40 ms), not by each
# forked worker or run at its first native page (docs/PERFORMANCE.md item 66)
from pdfplumber import table as plumber_table
from pdfplumber import utils as plumber_utils

from doc_pipeline.core.errors import (CorruptDocumentError, EmptyDocumentError, EncryptedDocumentError,
                                      LimitExceededError)
from doc_pipeline.core.models import BBox, PageInfo, PageKind, Word

MIN_NATIVE_CHARS = 20  # fewer visible chars than this on an image-covered page: treat it as a scan
TEXT_RENDER_INVISIBLE = 3
TEXT_RENDER_CLIP_ONLY = 7  # "add to clipping path" without fill or stroke: as invisible as mode 3
PAGE_SIZED_IMAGE = 0.75  # image coverage from which a page with little text looks like a scan
_WORDLIKE = re.compile(r"[^\W\d_]{3,}")
_SYMBOLIC = 4  # PDF font flag: glyphs outside the standard Latin set, codes mean nothing without a map
_PASSWORD_ERRORS = {pdfium_c.FPDF_ERR_PASSWORD}


# PDFium is not thread-safe, not even across documents. Code that may run on several threads of one process at
# once (document steps of a multi-document run, see assets/_step.py) holds this lock around every PDFium call and
# releases nothing PDFium owns outside it.
PDFIUM_LOCK = threading.RLock()


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
    # visible text per embedded symbolic font (the fonts whose codes may have no Unicode meaning)
    symbolic_text: dict[str, str] | None = None


_NAN_PAIR = array("d", [math.nan, math.nan])  # a character's size and angle, not read


def _bad_char(ch: str) -> bool:
    if ch in ("\ufffd", "\x00"):
        return True
    cat = unicodedata.category(ch)
    return cat in ("Co", "Cn", "Cc") and ch not in "\r\n\t"


def _returning_address(fn):
    """A copy of a PDFium function whose handle result comes back as a plain int (None for NULL): converting
    the ctypes pointer afterwards costs twice the call, per character of the page."""
    copy = type(fn).from_address(ctypes.addressof(fn))
    copy.argtypes, copy.restype = fn.argtypes, ctypes.c_void_p
    return copy


_char_text_object = _returning_address(pdfium_c.FPDFText_GetTextObject)


def _page_stats(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> _PageStats:
    st = _PageStats()
    w, h = page.get_size()
    # text objects by handle: whether they are drawn, and the name of their embedded symbolic font if any
    text_objs: dict[int, tuple[bool, str | None]] = {}
    for obj in page.get_objects(max_depth=3):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            l, b, r, t = obj.get_bounds()
            st.image_area += max(0.0, min(r, w) - max(l, 0)) * max(0.0, min(t, h) - max(b, 0))
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
            st.path_count += 1
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
            mode = pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
            visible = mode not in (TEXT_RENDER_INVISIBLE, TEXT_RENDER_CLIP_ONLY)
            symbolic = None
            if visible:
                font = pdfium_c.FPDFTextObj_GetFont(obj.raw)
                if font and pdfium_c.FPDFFont_GetIsEmbedded(font) and pdfium_c.FPDFFont_GetFlags(font) & _SYMBOLIC:
                    symbolic = _font_name(font)
                l, b, r, t = obj.get_bounds()
                st.text_top = t if st.text_top is None else max(st.text_top, t)
                st.text_bottom = b if st.text_bottom is None else min(st.text_bottom, b)
            text_objs[ctypes.addressof(obj.raw.contents)] = (visible, symbolic)
    # one pass over the text layer's characters, each attributed to the object that drew it (FPDFTextObj_GetText
    # per object searches the whole page each time: quadratic, 0.1 s on a dense contract page)
    symbolic_chars: dict[str, list[str]] = {}
    last = None  # (object, font) of the previous symbolic character: a new object or a gap separates words
    for i in range(textpage.count_chars()):
        handle = _char_text_object(textpage.raw, i)
        owner = text_objs.get(handle)
        if owner is None:  # generated spaces and line breaks belong to no object
            last = None
            continue
        visible, symbolic = owner
        if not visible:
            st.invisible_chars += 1
            continue
        st.visible_chars += 1
        if symbolic is not None:
            chars = symbolic_chars.setdefault(symbolic, [])
            if chars and last != (handle, symbolic):
                chars.append(" ")
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
            chars.append(chr(code) if code else "")
            last = (handle, symbolic)
    if symbolic_chars:
        st.symbolic_text = {name: "".join(chars) for name, chars in symbolic_chars.items()}
    text = textpage.get_text_range()
    st.unmapped_chars = unmapped_count(text)
    return st


_ASCII_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # _bad_char's ASCII characters
_NON_ASCII = re.compile("[^\x00-\x7f]")


def unmapped_count(text: str) -> int:
    """How many characters of `text` `_bad_char` refuses: its ASCII ones found by a regex, the rest asked one by
    one (every native page's text; a Python test per character cost 0.5 ms on a page of 1,800)."""
    return len(_ASCII_BAD.findall(text)) + sum(1 for ch in _NON_ASCII.findall(text) if _bad_char(ch))


def _font_name(font) -> str:
    buf = ctypes.create_string_buffer(256)
    pdfium_c.FPDFFont_GetBaseFontName(font, buf, 256)
    return _strip_subset(buf.value.decode("latin-1", "replace"))


def _strip_subset(name: str) -> str:
    """'ABCDEF+Futura' -> 'Futura' (the subset tag differs between readers)."""
    name = name.lstrip("/")
    return name.split("+", 1)[1] if len(name) > 7 and name[6] == "+" else name


class FontMaps:
    """Which fonts of a PDF have no way to Unicode: no /ToUnicode and, for simple fonts, no /Encoding, or an
    Identity CMap for composite ones. pdfium guesses text for those from raw codes, which gives garbage;
    pdfium cannot tell us, so the font dictionaries are read with pdfminer, lazily and only for pages that use
    an embedded symbolic font."""

    def __init__(self, source):
        self.source = source
        self._pages = None

    def unmapped(self, page_index: int) -> set[str]:
        try:
            if self._pages is None:
                from pdfminer.pdfdocument import PDFDocument
                from pdfminer.pdfpage import PDFPage
                from pdfminer.pdfparser import PDFParser

                fh = open(self.source, "rb") if isinstance(self.source, str) else __import__("io").BytesIO(self.source)
                self._pages = list(PDFPage.create_pages(PDFDocument(PDFParser(fh))))
            return _unmapped_fonts(self._pages[page_index])
        except Exception:  # an unreadable font dictionary must not fail the document; trust pdfium then
            return set()


def _unmapped_fonts(page) -> set[str]:
    from pdfminer.pdftypes import resolve1

    out: set[str] = set()
    fonts = resolve1((page.resources or {}).get("Font")) or {}
    for ref in fonts.values():
        d = resolve1(ref) or {}
        if "ToUnicode" in d:
            continue
        subtype = str(getattr(d.get("Subtype"), "name", d.get("Subtype")))
        enc = d.get("Encoding")
        enc = str(getattr(enc, "name", "")) if enc is not None and not isinstance(enc, dict) else enc
        if subtype == "Type0" and (enc is None or str(enc).startswith("Identity")) or subtype != "Type0" and not enc:
            out.add(_strip_subset(str(getattr(d.get("BaseFont"), "name", d.get("BaseFont") or ""))))
    return out


def classify_pages(pdf: pdfium.PdfDocument, source=None) -> list[PageInfo]:
    """Every page's kind. `source` (path or bytes of the same PDF) lets us read font dictionaries to catch
    text without a Unicode map. A blank page inside a document whose other pages are all native is reported
    native: it is part of a born-digital document (its empty text layer is the truth, nothing to OCR)."""
    fonts = FontMaps(source) if source is not None else None
    infos = [classify_page(pdf[i], i + 1, fonts) for i in range(len(pdf))]
    kinds = {p.kind for p in infos}
    if PageKind.native in kinds and PageKind.scanned not in kinds:
        infos = [p.model_copy(update={"kind": PageKind.native, "reason": "blank page of a born-digital document"})
                 if p.kind == PageKind.blank else p for p in infos]
    return infos


def classify_page(page: pdfium.PdfPage, page_no: int, fonts: FontMaps | None = None) -> PageInfo:
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
    if st.symbolic_text and fonts is not None:
        # pdfium often recovers text of map-less symbolic fonts from the font's own tables; when it cannot,
        # what comes out are glyph ids of a small subset read as codes: digits, punctuation and controls, no
        # words (a table of numbers still has a heading with words in it)
        bad = fonts.unmapped(page_no - 1)
        suspect = "".join(t for name, t in st.symbolic_text.items() if name in bad)
        chars = [ch for ch in suspect if not ch.isspace()]
        if chars and not _WORDLIKE.search(suspect):
            unmapped_ratio = max(unmapped_ratio, len(chars) / max(1, st.visible_chars))
    info = dict(page_no=page_no, width=w, height=h, rotation=rotation, text_chars=visible_good,
                image_coverage=round(coverage, 3))
    if visible_good >= 1 and unmapped_ratio > 0.3:
        return PageInfo(kind=PageKind.scanned, reason="text layer has no Unicode mapping", **info)
    if visible_good >= MIN_NATIVE_CHARS or (visible_good >= 1 and coverage < PAGE_SIZED_IMAGE):
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


def text_layer_words(page: pdfium.PdfPage, geometry_out: array | None = None) -> list[Word]:
    """Words with boxes from the PDF text layer, in reading order as stored, PDF points origin top-left.
    `geometry_out` (an empty array of doubles) receives what `char_geometry` read: size and angle at 2i and 2i+1,
    NaN where character i was not read; `plumber_chars` of the same page then need not read it again."""
    textpage = page.get_textpage()
    rotation = page.get_rotation()
    # unrotated size: pdfium reports the displayed size, so undo /Rotate
    w, h = page.get_size()
    w0, h0 = (h, w) if rotation in (90, 270) else (w, h)
    words: list[Word] = []
    cur: list[str] = []
    box: list[float] | None = None
    run: list[float] | None = None  # the word's box in its own writing direction (see _along_text)
    matrix = pdfium_c.FS_MATRIX()
    turn = 0
    line = 0  # pdfium inserts generated newlines between lines; each one starts a new line number

    def flush():
        nonlocal cur, box, run
        if cur and box is not None:
            x0, y0, x1, y1 = _to_top_left(tuple(box), rotation, w0, h0)
            words.append(Word(text="".join(cur), bbox=(round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2)),
                              conf=1.0, line=line))
        cur, box, run = [], None, None

    # the loop runs once per character of every native page: PDFium's functions, the out-parameters and the
    # math are bound once here (20 % less CPU over the corpus PDFs' pages; the same calls, the same words)
    raw = textpage.raw
    get_unicode, get_char_box = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_GetCharBox
    geometry = char_geometry_reader(textpage, matrix)
    cl, cr, cb, ct = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    quarter_turn = math.pi / 2
    try:
        n = textpage.count_chars()
        if geometry_out is not None:
            geometry_out.extend(_NAN_PAIR * n)
        for i in range(n):
            code = get_unicode(raw, i)
            ch = "-" if code == 2 else chr(code) if code else ""  # 2: pdfium's mark for a hyphen at a line end
            if not ch or ch.isspace() or _bad_char(ch):
                flush()
                if ch == "\n":
                    line += 1
                continue
            get_char_box(raw, i, cl, cr, cb, ct)
            l, r, b, t = cl.value, cr.value, cb.value, ct.value
            size, angle = geometry(i)
            if geometry_out is not None:
                geometry_out[2 * i], geometry_out[2 * i + 1] = size, angle
            size = size or (t - b) or 10.0
            quarter = round(angle / quarter_turn) % 4
            fl, fb, fr, ft = _along_text((l, b, r, t), quarter) if quarter else (l, b, r, t)
            # pdfium puts (generated) spaces between words; a wide gap without one is a column break, while
            # tight glyph boxes of narrow letters leave small gaps that must not split a word. Gaps are measured
            # along the writing direction, so a sideways table's words hold together too
            if run is not None and (quarter != turn or fl - run[2] > size * 0.6 or abs(fb - run[1]) > size * 0.8):
                flush()
            cur.append(ch)
            turn = quarter
            if box is None:
                box, run = [l, b, r, t], [fl, fb, fr, ft]
            else:
                _grow(box, l, b, r, t)
                _grow(run, fl, fb, fr, ft)
        flush()
    finally:
        textpage.close()
    return words


def _grow(box: list[float], l: float, b: float, r: float, t: float) -> None:
    """Widen `box` ([l, b, r, t]) in place to hold another box: plain comparisons, as it runs per character."""
    if l < box[0]:
        box[0] = l
    if b < box[1]:
        box[1] = b
    if r > box[2]:
        box[2] = r
    if t > box[3]:
        box[3] = t


def _along_text(box: tuple[float, float, float, float], quarter: int) -> tuple[float, float, float, float]:
    """(l, b, r, t) of a box (PDF user space, y up) in a frame turned so that text at `quarter` x 90 degrees of
    PDFium's character angle (clockwise, as FPDFText_GetCharAngle) runs left to right."""
    l, b, r, t = box
    if quarter == 1:  # turned clockwise: runs down the page
        return -t, l, -b, r
    if quarter == 2:  # upside down
        return -r, -t, -l, -b
    if quarter == 3:  # turned anticlockwise: runs up the page
        return b, -r, t, -l
    return box


def char_geometry(textpage, i: int, matrix=None) -> tuple[float, float]:
    """(size on the page in points, angle in radians 0..2pi) of a character, from one look at its matrix. The
    size is the font size times the scale of the character's text and graphics matrix: FPDFText_GetFontSize alone
    is the `Tf` operand, and many writers set `1 Tf` and scale the text matrix (a 10-point body then reads as 1
    point and every gap between two letters looks like a word break). The angle is FPDFText_GetCharAngle's."""
    return char_geometry_reader(textpage, matrix)(i)


def char_geometry_reader(textpage, matrix=None) -> Callable[[int], tuple[float, float]]:
    """`char_geometry` for the characters of one text page, with PDFium's functions and the matrix bound once
    (the per-character loops of text_layer_words and plumber_chars call it for every character of a page)."""
    m = matrix if matrix is not None else pdfium_c.FS_MATRIX()
    raw, get_font_size, get_matrix = textpage.raw, pdfium_c.FPDFText_GetFontSize, pdfium_c.FPDFText_GetMatrix
    sqrt, atan2, two_pi = math.sqrt, math.atan2, 2 * math.pi

    def read(i: int) -> tuple[float, float]:
        size = get_font_size(raw, i)
        if not get_matrix(raw, i, m):
            return size, 0.0
        return size * sqrt(abs(m.a * m.d - m.b * m.c)), -atan2(m.b, m.a) % two_pi

    return read


SIDEWAYS_SAMPLE = 400  # characters looked at per page to tell a sideways page; the share is all that matters
MAX_PATH_SEGMENTS = 20_000  # more vector drawing than this (charts, maps): assume a grid may be there


def _upright(angle: float) -> bool:
    """pdfminer's `upright` for a character angle in radians [0, 2pi): at 0, or just under 2pi."""
    return min(angle, 2 * math.pi - angle) <= 0.05


def sideways_share(textpage: pdfium.PdfTextPage) -> float:
    """Share of the page's characters not set upright (0..1): near 1 for a table printed sideways. The same test
    as pdfminer's `upright`, read through PDFium in a millisecond: pdfplumber's character list costs a full
    pdfminer parse of the page (0.01 to 0.2 s)."""
    n = textpage.count_chars()
    step = max(1, n // SIDEWAYS_SAMPLE)
    seen = sideways = 0
    raw, get_unicode, get_angle = textpage.raw, pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_GetCharAngle
    for i in range(0, n, step):  # every native page: the functions and the handle bound once (as item 64)
        code = get_unicode(raw, i)
        if not code or chr(code).isspace():
            continue  # pdfium's generated spaces and line breaks carry no angle of their own
        angle = get_angle(raw, i)
        if angle < 0:
            continue
        seen += 1
        sideways += not _upright(angle)
    return sideways / seen if seen else 0.0


@dataclass
class RuledLook:
    """What a page's vector rulings say about its ruled tables (`ruled_look`)."""

    possible: bool  # they may make a grid of 2 x 2 cells for pdfplumber's lines strategy; False is exact
    # pdfplumber's cell groups (one per table, cells as (x0, top, x1, bottom) in points from the top-left of the
    # unrotated page) when every ruling was read exactly: straight, axis-parallel segments of page-level paths
    tables: list[list[BBox]] | None = None
    # bounds of the page's image objects, (x0, top, x1, bottom) like the cells; None when the walk stopped early
    images: list[BBox] | None = None


def ruled_look(page: pdfium.PdfPage) -> RuledLook:
    """Every straight segment of every path becomes an edge, as pdfminer's lines, rectangles and curves become
    pdfplumber's edges, then pdfplumber's own snapping, intersection and cell grouping (its lines strategy) run on
    them. Slanted and curved segments count as both a horizontal and a vertical edge over their extent (a
    superset: `possible` only sends the page to pdfplumber), and then no `tables` are given."""
    height = page.get_size()[1]
    edges: list[dict] = []
    images: list[BBox] = []
    segments = 0
    exact = True
    for obj in page.get_objects(max_depth=16):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:  # in the same walk: layout_native's figures
            images.append(_image_box(obj, height))
        if obj.type != pdfium_c.FPDF_PAGEOBJ_PATH:
            continue
        if obj.level > 0:
            return RuledLook(True)  # a path inside a form XObject: its points are in the form's space
        n = pdfium_c.FPDFPath_CountSegments(obj.raw)
        segments += n
        if segments > MAX_PATH_SEGMENTS:
            return RuledLook(True)
        m = obj.get_matrix()
        start = prev = None
        x, y = ctypes.c_float(), ctypes.c_float()
        for i in range(n):
            seg = pdfium_c.FPDFPath_GetPathSegment(obj.raw, i)
            pdfium_c.FPDFPathSegment_GetPoint(seg, x, y)
            pt = (m.a * x.value + m.c * y.value + m.e, height - (m.b * x.value + m.d * y.value + m.f))  # y down
            kind = pdfium_c.FPDFPathSegment_GetType(seg)
            if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
                start = pt
            elif prev is not None:
                exact = exact and kind == pdfium_c.FPDF_SEGMENT_LINETO
                edges += _segment_edges(prev, pt)
            if pdfium_c.FPDFPathSegment_GetClose(seg) and start is not None:
                edges += _segment_edges(pt, start)
            prev = pt
    exact = exact and all(e["orientation"] for e in edges)
    if not edges:
        return RuledLook(False, [], images)
    st = plumber_table.TableSettings.resolve({"vertical_strategy": "lines", "horizontal_strategy": "lines"})
    edges = plumber_utils.filter_edges([dict(e, orientation=e["orientation"] or e["side"]) for e in edges],
                                       min_length=st.edge_min_length_prefilter)
    edges = plumber_table.merge_edges(edges, st.snap_x_tolerance, st.snap_y_tolerance, st.join_x_tolerance,
                                      st.join_y_tolerance)
    edges = plumber_utils.filter_edges(edges, min_length=st.edge_min_length)
    points = plumber_table.edges_to_intersections(edges, st.intersection_x_tolerance, st.intersection_y_tolerance)
    groups = plumber_table.cells_to_tables(plumber_table.intersections_to_cells(points))
    possible = any(len({c[0] for c in g}) >= 2 and len({c[1] for c in g}) >= 2 for g in groups)
    return RuledLook(possible, [[tuple(c) for c in g] for g in groups] if exact else None, images)


def image_boxes(page: pdfium.PdfPage) -> list[BBox]:
    """Bounds of the page's image objects, (x0, top, x1, bottom) in points from the top-left, as `ruled_look`
    gives them when its walk runs to the end."""
    height = page.get_size()[1]
    return [_image_box(obj, height) for obj in page.get_objects(max_depth=16)
            if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE]


def _image_box(obj, height: float) -> BBox:
    l, b, r, t = obj.get_bounds()
    return l, height - t, r, height - b


def _segment_edges(p0: tuple[float, float], p1: tuple[float, float]) -> list[dict]:
    """A segment as pdfplumber edges; a slanted one as four, each marked with no orientation of its own."""
    x0, x1 = sorted((p0[0], p1[0]))
    top, bottom = sorted((p0[1], p1[1]))
    h = {"x0": x0, "x1": x1, "top": top, "bottom": top, "width": x1 - x0, "height": 0.0, "orientation": "h"}
    v = {"x0": x0, "x1": x0, "top": top, "bottom": bottom, "width": 0.0, "height": bottom - top, "orientation": "v"}
    if abs(p0[1] - p1[1]) < 1e-6:
        return [h]
    if abs(p0[0] - p1[0]) < 1e-6:
        return [v]
    # slanted: pdfplumber keeps a two-point line as an edge at its left or top side; count all four sides
    h = dict(h, orientation=None, side="h")
    v = dict(v, orientation=None, side="v")
    return [h, v, dict(h, top=bottom, bottom=bottom), dict(v, x0=x1, x1=x1)]


def plumber_chars(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, known_geometry: array | None = None
                  ) -> list[dict]:
    """The page's characters as pdfplumber's character dicts, read through PDFium: enough for pdfplumber's text
    and table extraction functions without pdfminer's parse. x0/x1 are the advance box (as pdfminer's); the
    vertical box is pdfminer's too, from the baseline and font size (one font's taller ascent must not lift its
    characters onto a line of their own: pdfplumber groups lines by `top`). y runs down from the top of the
    unrotated page. PDFium's generated spaces and line breaks are left out (pdfminer has none), its
    end-of-line hyphen marker is the hyphen it stands for, and sideways characters are marked not upright."""
    height = page.get_size()[1]
    chars = []
    rect = pdfium_c.FS_RECTF()
    matrix = pdfium_c.FS_MATRIX()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    raw = textpage.raw  # PDFium's functions bound once: this loop runs per character (as text_layer_words)
    get_unicode, is_generated = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_IsGenerated
    get_loose_box, get_origin = pdfium_c.FPDFText_GetLooseCharBox, pdfium_c.FPDFText_GetCharOrigin
    geometry = char_geometry_reader(textpage, matrix)
    n = textpage.count_chars()
    # what text_layer_words already read of this page's characters (PageMemo): the same index, the same values
    known = known_geometry if known_geometry is not None and len(known_geometry) == 2 * n else _NAN_PAIR * n
    for i in range(n):
        code = get_unicode(raw, i)
        if not code or code in (10, 13) or is_generated(raw, i) == 1:
            continue
        if not get_loose_box(raw, i, rect):
            continue
        get_origin(raw, i, ox, oy)
        size, angle = known[2 * i], known[2 * i + 1]
        if size != size:  # NaN: not read yet
            size, angle = geometry(i)
        size = size or (rect.top - rect.bottom)
        upright = _upright(angle)
        if upright:  # pdfminer: from the baseline, a typical descent (0.2 em) below it, one em tall
            bottom = height - oy.value + 0.2 * size
            top = bottom - size
        else:
            top, bottom = height - rect.top, height - rect.bottom
        chars.append({"text": "-" if code == 2 else chr(code), "x0": rect.left, "x1": rect.right, "top": top,
                      "bottom": bottom, "doctop": top, "width": rect.right - rect.left, "height": bottom - top,
                      "size": size, "upright": upright})
    return chars


T = TypeVar("T")
_MISSING = object()  # PageMemo: nothing remembered under the key


class PageMemo:
    """What the steps of a run learn about a native page from PDFium, kept per process: layout_blocks reads the
    text-layer words, the sideways share and the rulings to lay the page out; ocr_text gives the same words as the
    page's text and tables reads the same look to decide which pages pdfplumber parses. Keyed by the raw file's
    SHA-256, the page and what was read, so a changed file never gets a stale answer (a step in another process
    reads afresh). Values are shared: treat them as read-only."""

    def __init__(self, max_items: int = 12_000):
        self.max_items = max_items
        self._items: OrderedDict[tuple[str, int, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def _remembered(self, key: tuple[str, int, str]) -> Any:
        with self._lock:
            if key[0] and key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        return _MISSING

    def get(self, sha256: str, page_no: int, what: str, compute: Callable[[], T]) -> T:
        key = (sha256, page_no, what)
        value = self._remembered(key)
        if value is not _MISSING:
            return value
        value = compute()
        self._remember(key, value)
        return value

    def _remember(self, key: tuple[str, int, str], value: Any) -> None:
        if key[0]:  # no digest: never kept
            with self._lock:
                self.misses += 1
                self._items[key] = value
                while len(self._items) > self.max_items:
                    self._items.popitem(last=False)

    def known(self, sha256: str, page_no: int, what: str) -> Any | None:
        """The remembered value, or None: lets a caller skip loading the page (and opening the PDF) at all."""
        value = self._remembered((sha256, page_no, what))
        return None if value is _MISSING else value

    def words(self, page: pdfium.PdfPage, sha256: str, page_no: int) -> list[Word]:
        def compute() -> list[Word]:
            geometry = array("d")
            words = text_layer_words(page, geometry)
            self._remember((sha256, page_no, "geometry"), geometry)  # for plumber_chars (the tables step)
            return words
        return self.get(sha256, page_no, "words", compute)

    def sideways(self, page: pdfium.PdfPage, sha256: str, page_no: int) -> float:
        def compute() -> float:
            textpage = page.get_textpage()
            try:
                return sideways_share(textpage)
            finally:
                textpage.close()
        return self.get(sha256, page_no, "sideways", compute)

    def ruled(self, page: pdfium.PdfPage, sha256: str, page_no: int) -> RuledLook:
        return self.get(sha256, page_no, "ruled", lambda: ruled_look(page))


PAGE_MEMO = PageMemo()
