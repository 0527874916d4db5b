"""ocr_text's core: the words of every page, from the text layer where it can be trusted, else from OCR."""

from __future__ import annotations

import os
from typing import Callable

import pypdfium2 as pdfium
from PIL import Image

from doc_pipeline.core.models import LayoutResult, Page, PageImages, PageKind, RawDocument
from doc_pipeline.core.ocr import get_engine
from doc_pipeline.core.ocr.base import words_to_points
from doc_pipeline.core.ocr.checkboxes import add_checkbox_words
from doc_pipeline.core.ocr.reading_order import order_words
from doc_pipeline.core.page_cache import open_page
from doc_pipeline.core.parallel import ordered_map
from doc_pipeline.core.pdf_pages import PAGE_MEMO, PDFIUM_LOCK
from doc_pipeline.core.preprocess import baseline_script
from doc_pipeline.core.text import mean_conf, words_to_text

def engine_options(name: str, lang: str = "eng", tessdata: str | None = None, recheck_below: float = 0.8,
                   escalate_below: float = 0.9) -> dict:
    tess = {"lang": lang, **({"tessdata": tessdata} if tessdata else {})}
    if name == "tesseract":
        return tess
    if name == "fusion":
        return {**tess, "recheck_below": recheck_below}
    if name == "auto":
        return {**tess, "recheck_below": recheck_below, "escalate_below": escalate_below}
    return {}


def rotation_applied(steps: list[str]) -> int:
    """Degrees (clockwise) preprocessing turned the page, from its recorded steps (rotate_<deg>)."""
    return sum(int(s.split("_", 1)[1]) for s in steps if s.startswith("rotate_")) % 360


class PageTextReader:
    def __init__(self, ocr_engine: str = "fusion", lang: str = "eng", workers: int = 0, tessdata: str | None = None,
                 recheck_below: float = 0.8, layout_order: bool = True, escalate_below: float = 0.9,
                 checkboxes: bool = True):
        self.engine_name = ocr_engine
        self.lang = lang
        self.checkboxes = checkboxes
        self.engine_opts = engine_options(ocr_engine, lang, tessdata, recheck_below, escalate_below)
        self.workers = workers or os.cpu_count() or 1
        self.layout_order = layout_order

    def ocr_image(self, image: Image.Image, dpi: int, regions_pt: list | None = None):
        """Words in points (origin top-left of this image) in reading order; regions_pt: layout blocks in
        reading order, read one after the other (columns)."""
        engine = get_engine(self.engine_name, **self.engine_opts)
        s = dpi / 72.0
        regions = [tuple(v * s for v in b) for b in regions_pt or []]
        words = engine.recognize(image, dpi)
        if self.checkboxes:
            words = add_checkbox_words(words, image, latin_script=baseline_script(self.lang))
        return words_to_points(order_words(words, regions), dpi), engine.name

    def read_document(self, path: str, raw: RawDocument, imgs: PageImages, layout: LayoutResult,
                      load_image: Callable[[str], bytes]) -> list[Page]:
        img_by_page = {i.page_no: i for i in imgs.images}
        pages: dict[int, Page] = {}
        native = [p for p in raw.pages if p.kind == PageKind.native] if raw.media_type == "application/pdf" else []
        unread = []
        for info in native:  # layout_blocks read them already in this process: no page to load, no PDF to open
            words = PAGE_MEMO.known(raw.sha256, info.page_no, "words")
            if words is None:
                unread.append(info)
            else:
                pages[info.page_no] = self._page(info, words, "text_layer", img_by_page, layout)
        if unread:  # a retry in another process reads them here
            with PDFIUM_LOCK:  # documents of a batch may run on two threads (assets/_step.py)
                pdf = pdfium.PdfDocument(path)
                try:
                    for info in unread:
                        words = PAGE_MEMO.words(pdf[info.page_no - 1], raw.sha256, info.page_no)
                        pages[info.page_no] = self._page(info, words, "text_layer", img_by_page, layout)
                finally:
                    pdf.close()

        def ocr_one(info):
            pi = img_by_page[info.page_no]
            regions = [b.bbox for b in sorted(layout.pages.get(info.page_no, []), key=lambda b: b.order)
                       if b.type != "figure"] if self.layout_order else None
            with open_page(load_image(pi.key)) as img:
                words, engine = self.ocr_image(img, pi.dpi, regions)
            return self._page(info, words, engine, img_by_page, layout)

        scanned = [p for p in raw.pages if p.kind == PageKind.scanned]
        # long-lived threads, each with its own loaded engine; at most 2 x workers page images decoded at once
        for page in ordered_map(ocr_one, scanned, self.workers, name="ocr"):
            pages[page.page_no] = page
        for info in raw.pages:
            if info.kind == PageKind.blank:
                pages[info.page_no] = self._page(info, [], "none", img_by_page, layout)
        return [pages[p.page_no] for p in raw.pages]

    @staticmethod
    def _page(info, words, engine, img_by_page, layout) -> Page:
        pi = img_by_page.get(info.page_no)
        width, height, rotation = info.width, info.height, info.rotation
        if pi is not None and info.kind == PageKind.scanned:
            # the page as displayed = the (possibly turned / rescaled) image: its size in points follows its DPI
            width, height = round(pi.width_px * 72.0 / pi.dpi, 2), round(pi.height_px * 72.0 / pi.dpi, 2)
            rotation = (info.rotation + rotation_applied(pi.preprocessing)) % 360
        return Page(page_no=info.page_no, kind=info.kind, width=width, height=height,
                    rotation=rotation, text=words_to_text(words), words=words,
                    blocks=layout.pages.get(info.page_no, []), engine=engine,
                    mean_conf=mean_conf(words) if info.kind == PageKind.scanned else None,
                    preprocessing=pi.preprocessing if pi else [])
