from dagster import AssetExecutionContext
from sqlalchemy import func, select

from doc_pipeline.assets._step import StepOutput, document_asset, load_derived, notify
from doc_pipeline.core.models import FieldsResult, OcrResult
from doc_pipeline.db import repo
from doc_pipeline.db.models import StepCheckpoint
from doc_pipeline.results import search_doc
from doc_pipeline.resources import DocPipelineResource


@document_asset(deps=["fields"], group_name="publish", kinds={"sqlite"},
                description="The document's entry in the search index (embedded SQLite FTS5 by default, OpenSearch "
                            "in production), with bank numbers masked; marks the document done.")
def index_docs(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    db = docpipe.db()
    ocr = load_derived(docpipe, "ocr_text", doc_id, OcrResult)
    flds = load_derived(docpipe, "fields", doc_id, FieldsResult)
    entry = search_doc(repo.get_document(db, doc_id), ocr.pages, flds.fields, flds.doc_type)
    docpipe.search().index(entry)
    with db.session() as s:
        total = s.scalar(select(func.sum(StepCheckpoint.seconds)).where(StepCheckpoint.doc_id == doc_id)) or 0.0
    repo.update_document(db, doc_id, status="done", error=None, current_step=None, processing_seconds=round(total, 3))
    notify("flagged" if flds.flags else "done", doc_id, "done", [f.reason for f in flds.flags])
    return StepOutput({"indexed_chars": len(entry.text), "processing_seconds": round(total, 3)})
