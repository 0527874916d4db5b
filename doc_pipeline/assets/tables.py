
from dagster import AssetExecutionContext, MaterializeResult, asset

from doc_pipeline.assets._step import load_derived, pipeline_step, save_derived
from doc_pipeline.assets.partitions import documents_partitions
from doc_pipeline.core.models import OcrResult, RawDocument, TablesResult
from doc_pipeline.core.table_stage import extract_document_tables
from doc_pipeline.core.tables import table_to_csv
from doc_pipeline.db import repo
from doc_pipeline.resources import DocPipelineResource


@asset(partitions_def=documents_partitions, group_name="understand", deps=["layout_blocks", "ocr_text"],
       kinds={"python"},
       description="Tables as rows of cells (JSON) and CSV files: ruled and layout-detected tables from the text "
                   "layer on native pages (pdfplumber), word grids inside layout table regions on scanned pages.")
def tables(context: AssetExecutionContext, docpipe: DocPipelineResource) -> MaterializeResult:
    doc_id = context.partition_key
    store = docpipe.store()
    with pipeline_step(context, docpipe, "tables") as timer:
        raw = load_derived(docpipe, "raw_pdf", doc_id, RawDocument)
        ocr = load_derived(docpipe, "ocr_text", doc_id, OcrResult)
        found = extract_document_tables(docpipe.local_raw_copy(raw.raw_key, raw.sha256), raw, ocr.pages)
        store.delete_prefix(f"tables/{doc_id}/")
        for i, t in enumerate(found):
            t.index = i
            t.csv_key = f"tables/{doc_id}/{i}.csv"
            store.put_bytes(t.csv_key, table_to_csv(t).encode(), "text/csv")
        save_derived(docpipe, "tables", doc_id, TablesResult(doc_id=doc_id, tables=found))
        repo.replace_tables(docpipe.db(), doc_id, found)
    return MaterializeResult(metadata={"tables": len(found), "seconds": round(timer.seconds, 3)})
