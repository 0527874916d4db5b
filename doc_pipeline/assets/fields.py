
from dagster import AssetCheckSpec, AssetExecutionContext, MetadataValue
from sqlalchemy import select

from doc_pipeline.assets._step import StepOutput, document_asset, load_derived, save_derived
from doc_pipeline.assets.field_model import MODEL_KEY, load_model_bytes
from doc_pipeline.core.fields import extract_fields
from doc_pipeline.core.fields.ner import load_field_model
from doc_pipeline.core.fields.review import field_flags
from doc_pipeline.core.models import OcrResult, Page, TablesResult
from doc_pipeline.db import repo
from doc_pipeline.escalation.dagster_tags import PAID_OCR_POOL
from doc_pipeline.db.models import Review
from doc_pipeline.results import derived_key
from doc_pipeline.resources import DocPipelineResource

CHECK_NAME = "fields_confident"


def review_decisions(docpipe: DocPipelineResource, doc_id: str) -> list[dict]:
    """Every reviewer decision for the document, oldest first, so the latest one wins."""
    with docpipe.db().session() as s:
        reviews = s.scalars(select(Review).where(Review.doc_id == doc_id).order_by(Review.id)).all()
        return [d for r in reviews for d in (r.decisions or [])]


_MODEL_CACHE: dict[str, object] = {}


def field_model_for(docpipe: DocPipelineResource):
    """The trained field model (spaCy NER + learned candidate ranker) if `field_model` has been materialised,
    loaded once per process per version (a stat per document, not a download)."""
    info = docpipe.store().stat(MODEL_KEY)
    if info is None:
        return None
    if info.etag not in _MODEL_CACHE:
        data = load_model_bytes(docpipe)
        if data is None:
            return None
        _MODEL_CACHE.clear()
        _MODEL_CACHE[info.etag] = load_field_model(data)
    return _MODEL_CACHE[info.etag]


def escalate_if_worth_it(docpipe: DocPipelineResource, doc_id: str, doc, result, pages: list[Page], extract):
    """Cloud OCR for doubtful high-value documents (off unless DOCPIPE_ESCALATION_ENABLED)."""
    from doc_pipeline.escalation import db_audit, get_escalation_settings, maybe_escalate

    store, db = docpipe.store(), docpipe.db()
    escalated_key = derived_key("escalated_pages", doc_id)
    if not get_escalation_settings().enabled:
        store.delete(escalated_key)  # no stale cloud text from an earlier configuration
        return result, None
    images = {}
    for p in pages:
        try:
            images[p.page_no] = store.get_bytes(f"pages/{doc_id}/{p.page_no}.png")
        except KeyError:
            continue
    meta = {"doc_type_hint": doc.doc_type_hint, "applicant_id": doc.applicant_id, "source": doc.source} if doc else {}
    outcome = maybe_escalate(doc_id, result, pages, images, meta, store, db, reextract=extract, audit=db_audit(db))
    if outcome.escalated:
        store.put_bytes(escalated_key, OcrResult(doc_id=doc_id, pages=outcome.pages).model_dump_json().encode(),
                        "application/json")
    else:
        store.delete(escalated_key)
    return outcome.fields_result, outcome


# the step that may call a paid cloud OCR service runs in a concurrency pool operators can limit
# (`dagster instance concurrency set docpipe_paid_ocr 2`); unlimited unless set
@document_asset(deps=["ocr_text", "tables", "field_model"], group_name="extract", kinds={"spacy"}, pool=PAID_OCR_POOL,
                check_specs=[AssetCheckSpec(CHECK_NAME, asset="fields",
                                            description="required fields present and above their confidence threshold")],
                description="Typed fields with provenance (value, normalized value, confidence, page, bbox, source, "
                            "evidence): document type, dates (ISO 8601), amounts, IBANs and the fields of the "
                            "document type's schema. Reviewer corrections are applied here (human wins).")
def fields(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    db = docpipe.db()
    ocr = load_derived(docpipe, "ocr_text", doc_id, OcrResult)
    tbls = load_derived(docpipe, "tables", doc_id, TablesResult)
    doc = repo.get_document(db, doc_id)
    hint, corrections, model = doc.doc_type_hint if doc else None, review_decisions(docpipe, doc_id) or None, \
        field_model_for(docpipe)

    def extract(pages: list[Page]):
        return extract_fields(pages, tbls.tables, doc_type_hint=hint, corrections=corrections, model=model)

    result, escalation = escalate_if_worth_it(docpipe, doc_id, doc, extract(ocr.pages), ocr.pages, extract)
    s = docpipe.settings()
    flags = field_flags(result, s.flag_thresholds, s.flag_min_confidence) + [
        f for f in result.flags if f.code.startswith("escalat")]
    result = result.model_copy(update={"flags": flags, "doc_id": doc_id})
    save_derived(docpipe, "fields", doc_id, result)
    repo.replace_fields(db, doc_id, result.fields, context.run.run_id, result.doc_type, flags)
    return StepOutput({"fields": len(result.fields), "doc_type": result.doc_type, "flagged": bool(flags),
                       "flags": MetadataValue.json([f.model_dump() for f in flags]),
                       "escalated": bool(escalation and escalation.escalated), "used_field_model": model is not None,
                       "used_candidate_ranker": getattr(model, "ranker", None) is not None},
                      check_passed=not flags, check_metadata={"reasons": [f.reason for f in flags]})
