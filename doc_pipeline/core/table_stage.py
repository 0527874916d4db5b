"""tables' core: run the right extractor for each page kind."""

from __future__ import annotations

from doc_pipeline.core.models import Page, PageKind, RawDocument, Table
from doc_pipeline.core.tables import native_tables, words_grid_table


def extract_document_tables(path: str, raw: RawDocument, pages: list[Page]) -> list[Table]:
    found: list[Table] = []
    native = [p for p in pages if p.kind == PageKind.native]
    if native and raw.media_type == "application/pdf":
        import pdfplumber

        with pdfplumber.open(path) as pdf:
            for p in native:
                plumber_page = pdf.pages[p.page_no - 1]
                blocks = [b for b in p.blocks if b.type == "table"]
                found.extend(native_tables(plumber_page, p.page_no, blocks, rotation=p.rotation))
                plumber_page.close()
    for p in pages:
        if p.kind == PageKind.scanned:
            for b in p.blocks:
                if b.type == "table":
                    t = words_grid_table(p.words, b.bbox, p.page_no)
                    if t is not None:
                        found.append(t)
    return sorted(found, key=lambda t: (t.page_no, t.bbox[1] if t.bbox else 0))
