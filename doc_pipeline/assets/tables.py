from dagster import AssetExecutionContext

from doc_pipeline.assets._step import StepOutput, document_asset, load_derived, save_derived
from doc_pipeline.core.models import OcrResult, RawDocument, TablesResult
from doc_pipeline.core.table_stage import extract_document_tables
from doc_pipeline.core.tables import table_to_csv
from doc_pipeline.db import repo
from doc_pipeline.resources import DocPipelineResource


@document_asset(deps=["layout_blocks", "ocr_text"], group_name="understand", kinds={"python"},
                description="Tables as rows of cells (JSON) and CSV files: on native pages, per ruled or "
                            "layout-detected region the most plausible grid of pdfplumber / camelot lattice / stream; "
                            "sideways tables via camelot; word grids inside layout table regions on scanned pages.")
def tables(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    store = docpipe.store()
    raw = load_derived(docpipe, "raw_pdf", doc_id, RawDocument)
    ocr = load_derived(docpipe, "ocr_text", doc_id, OcrResult)
    s = docpipe.settings()
    found = extract_document_tables(docpipe.local_raw_copy(raw.raw_key, raw.sha256), raw, ocr.pages,
                                    methods=tuple(m.strip() for m in s.table_methods.split(",") if m.strip()),
                                    merge_pages=s.table_merge_pages)
    store.delete_prefix(f"tables/{doc_id}/")
    for i, t in enumerate(found):
        t.index = i
        t.csv_key = f"tables/{doc_id}/{i}.csv"
        store.put_bytes(t.csv_key, table_to_csv(t).encode(), "text/csv")
    save_derived(docpipe, "tables", doc_id, TablesResult(doc_id=doc_id, tables=found))
    repo.replace_tables(docpipe.db(), doc_id, found)
    return StepOutput({"tables": len(found)})
