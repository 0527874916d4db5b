
from dagster import AssetExecutionContext, MaterializeResult, asset
from sqlalchemy import func, select

from doc_pipeline.assets._step import load_derived, notify, pipeline_step
from doc_pipeline.assets.partitions import documents_partitions
from doc_pipeline.core.models import FieldsResult, OcrResult
from doc_pipeline.db import repo
from doc_pipeline.db.models import StepCheckpoint
from doc_pipeline.results import search_doc
from doc_pipeline.resources import DocPipelineResource


@asset(partitions_def=documents_partitions, group_name="publish", deps=["fields"], kinds={"sqlite"},
       description="The document's entry in the search index (embedded SQLite FTS5 by default, OpenSearch in "
                   "production), with bank numbers masked; marks the document done.")
def index_docs(context: AssetExecutionContext, docpipe: DocPipelineResource) -> MaterializeResult:
    doc_id = context.partition_key
    db = docpipe.db()
    with pipeline_step(context, docpipe, "index_docs") as timer:
        ocr = load_derived(docpipe, "ocr_text", doc_id, OcrResult)
        flds = load_derived(docpipe, "fields", doc_id, FieldsResult)
        doc = repo.get_document(db, doc_id)
        entry = search_doc(doc, ocr.pages, flds.fields, flds.doc_type)
        docpipe.search().index(entry)
    with db.session() as s:
        total = s.scalar(select(func.sum(StepCheckpoint.seconds)).where(StepCheckpoint.doc_id == doc_id)) or 0.0
    repo.update_document(db, doc_id, status="done", error=None, current_step=None, processing_seconds=round(total, 3))
    notify("flagged" if flds.flags else "done", doc_id, "done", [f.reason for f in flds.flags])
    return MaterializeResult(metadata={"indexed_chars": len(entry.text), "processing_seconds": round(total, 3),
                                       "seconds": round(timer.seconds, 3)})
