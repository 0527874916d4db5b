"""ocr_text's core: the words of every page, from the text layer where it can be trusted, else from OCR."""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import pypdfium2 as pdfium
from PIL import Image

from doc_pipeline.core.models import LayoutResult, Page, PageImages, PageKind, RawDocument
from doc_pipeline.core.ocr import get_engine
from doc_pipeline.core.ocr.base import words_to_points
from doc_pipeline.core.pdf_pages import text_layer_words
from doc_pipeline.core.text import mean_conf, words_to_text

_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(workers: int) -> ThreadPoolExecutor:
    # long-lived threads: each keeps its own loaded engine between pages and documents
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr")
    return _POOLS[workers]


class PageTextReader:
    def __init__(self, ocr_engine: str = "tesseract", lang: str = "eng", workers: int = 0, tessdata: str | None = None):
        self.engine_name = ocr_engine
        self.engine_opts = {"lang": lang, **({"tessdata": tessdata} if tessdata else {})} if ocr_engine == "tesseract" else {}
        self.workers = workers or os.cpu_count() or 1

    def ocr_image(self, image: Image.Image, dpi: int):
        engine = get_engine(self.engine_name, **self.engine_opts)
        return words_to_points(engine.recognize(image, dpi), dpi), engine.name

    def read_document(self, path: str, raw: RawDocument, imgs: PageImages, layout: LayoutResult,
                      load_image: Callable[[str], bytes]) -> list[Page]:
        img_by_page = {i.page_no: i for i in imgs.images}
        pages: dict[int, Page] = {}
        if raw.media_type == "application/pdf" and any(p.kind == PageKind.native for p in raw.pages):
            pdf = pdfium.PdfDocument(path)
            try:
                for info in raw.pages:
                    if info.kind == PageKind.native:
                        words = text_layer_words(pdf[info.page_no - 1])
                        pages[info.page_no] = self._page(info, words, "text_layer", img_by_page, layout)
            finally:
                pdf.close()

        def ocr_one(info):
            pi = img_by_page[info.page_no]
            with Image.open(io.BytesIO(load_image(pi.key))) as img:
                img.load()
                words, engine = self.ocr_image(img, pi.dpi)
            return self._page(info, words, engine, img_by_page, layout)

        scanned = [p for p in raw.pages if p.kind == PageKind.scanned]
        for page in _pool(self.workers).map(ocr_one, scanned):
            pages[page.page_no] = page
        for info in raw.pages:
            if info.kind == PageKind.blank:
                pages[info.page_no] = self._page(info, [], "none", img_by_page, layout)
        return [pages[p.page_no] for p in raw.pages]

    @staticmethod
    def _page(info, words, engine, img_by_page, layout) -> Page:
        pi = img_by_page.get(info.page_no)
        return Page(page_no=info.page_no, kind=info.kind, width=info.width, height=info.height,
                    rotation=info.rotation, text=words_to_text(words), words=words,
                    blocks=layout.pages.get(info.page_no, []), engine=engine,
                    mean_conf=mean_conf(words) if info.kind == PageKind.scanned else None,
                    preprocessing=pi.preprocessing if pi else [])
