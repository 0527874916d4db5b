
from dagster import AssetExecutionContext, MaterializeResult, asset
from sqlalchemy import func, select

from doc_pipeline.assets._step import load_derived, notify, pipeline_step
from doc_pipeline.assets.partitions import documents_partitions
from doc_pipeline.core.masking import mask_fields, mask_text
from doc_pipeline.core.models import FieldsResult, OcrResult
from doc_pipeline.db import repo
from doc_pipeline.db.models import StepCheckpoint
from doc_pipeline.search import SearchDoc
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
        text = "\n\n".join(p.text for p in ocr.pages)
        shown = mask_fields(flds.fields, role=None)
        docpipe.search().index(SearchDoc(
            doc_id=doc_id, text=mask_text(text), doc_type=flds.doc_type, applicant_id=doc.applicant_id,
            owner=doc.owner, source_name=doc.source_name, created_at=doc.created_at,
            fields={f.name: f.value for f in shown}))
    with db.session() as s:
        total = s.scalar(select(func.sum(StepCheckpoint.seconds)).where(StepCheckpoint.doc_id == doc_id)) or 0.0
    repo.update_document(db, doc_id, status="done", error=None, current_step=None, processing_seconds=round(total, 3))
    notify("flagged" if flds.flags else "done", doc_id, "done", [f.reason for f in flds.flags])
    return MaterializeResult(metadata={"indexed_chars": len(text), "processing_seconds": round(total, 3),
                                       "seconds": round(timer.seconds, 3)})
