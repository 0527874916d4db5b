
from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext,
                     MaterializeResult, MetadataValue, asset)
from sqlalchemy import select

from doc_pipeline.assets._step import load_derived, pipeline_step, save_derived
from doc_pipeline.assets.partitions import documents_partitions
from doc_pipeline.core.fields import extract_fields
from doc_pipeline.core.fields.review import field_flags
from doc_pipeline.core.models import OcrResult, TablesResult
from doc_pipeline.db import repo
from doc_pipeline.db.models import Review
from doc_pipeline.resources import DocPipelineResource

CHECK_NAME = "fields_confident"


def review_decisions(docpipe: DocPipelineResource, doc_id: str) -> list[dict]:
    """Every reviewer decision for the document, oldest first, so the latest one wins."""
    with docpipe.db().session() as s:
        reviews = s.scalars(select(Review).where(Review.doc_id == doc_id).order_by(Review.id)).all()
        return [d for r in reviews for d in (r.decisions or [])]


@asset(partitions_def=documents_partitions, group_name="extract", deps=["ocr_text", "tables"], kinds={"spacy"},
       check_specs=[AssetCheckSpec(CHECK_NAME, asset="fields",
                                   description="required fields present and above their confidence threshold")],
       description="Typed fields with provenance (value, normalized value, confidence, page, bbox, source, "
                   "evidence): document type, dates (ISO 8601), amounts, IBANs and the fields of the document "
                   "type's schema. Reviewer corrections are applied here (human wins).")
def fields(context: AssetExecutionContext, docpipe: DocPipelineResource) -> MaterializeResult:
    doc_id = context.partition_key
    db = docpipe.db()
    with pipeline_step(context, docpipe, "fields") as timer:
        ocr = load_derived(docpipe, "ocr_text", doc_id, OcrResult)
        tbls = load_derived(docpipe, "tables", doc_id, TablesResult)
        doc = repo.get_document(db, doc_id)
        result = extract_fields(ocr.pages, tbls.tables, doc_type_hint=doc.doc_type_hint if doc else None,
                                corrections=review_decisions(docpipe, doc_id) or None)
        flags = field_flags(result)
        result = result.model_copy(update={"flags": flags})
        save_derived(docpipe, "fields", doc_id, result)
        repo.replace_fields(db, doc_id, result.fields, context.run.run_id, result.doc_type, flags)
    return MaterializeResult(
        metadata={"fields": len(result.fields), "doc_type": result.doc_type, "flagged": bool(flags),
                  "flags": MetadataValue.json([f.model_dump() for f in flags]), "seconds": round(timer.seconds, 3)},
        check_results=[AssetCheckResult(check_name=CHECK_NAME, passed=not flags, severity=AssetCheckSeverity.WARN,
                                        metadata={"reasons": MetadataValue.json([f.reason for f in flags])})])
