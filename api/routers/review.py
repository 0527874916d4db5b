"""Human review: the flagged queue and reviewers' decisions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import func, select

from doc_pipeline.auth import Principal
from doc_pipeline.db import Document, FieldRow, Review
from doc_pipeline.db.repo import clean_text, now

from api.deps import Ctx, get_ctx, load_document, require_roles
from api.routers.retry import task_out
from doc_pipeline.core.fields.schema import SENSITIVE_FIELDS
from doc_pipeline.core.masking import mask_value, unmasked_roles

from api.schemas import ErrorBody, FieldOut, FlaggedDocument, FlaggedPage, ReviewAccepted, ReviewRequest
from api.services import audit
from api.services.reprocess import request_reprocess

router = APIRouter(tags=["review"])
reviewers = require_roles("reviewer", "admin")


@router.get("/flagged", response_model=FlaggedPage, summary="Documents waiting for human review")
def flagged(request: Request, limit: int = Query(default=20, ge=1, le=200), offset: int = Query(default=0, ge=0, le=1_000_000),
            principal: Principal = Depends(reviewers), ctx: Ctx = Depends(get_ctx)) -> FlaggedPage:
    """Flagged documents, most recently updated first, with why they were flagged and their fields with
    confidences."""
    with ctx.db.session() as s:
        total = s.scalar(select(func.count()).select_from(Document).where(Document.flagged.is_(True)))
        docs = s.scalars(select(Document).where(Document.flagged.is_(True))
                         .order_by(Document.updated_at.desc(), Document.doc_id).limit(limit).offset(offset)).all()
        fields: dict[str, list[FieldOut]] = {d.doc_id: [] for d in docs}
        if docs:
            for f in s.scalars(select(FieldRow).where(FieldRow.doc_id.in_(list(fields)))
                               .order_by(FieldRow.doc_id, FieldRow.name, FieldRow.ordinal)):
                value, normalized = f.value, f.normalized
                if f.name in SENSITIVE_FIELDS and principal.role not in unmasked_roles():
                    value = mask_value(f.name, value)
                    normalized = mask_value(f.name, str(normalized)) if normalized not in (None, "") else normalized
                fields[f.doc_id].append(FieldOut(name=f.name, ordinal=f.ordinal, value=value,
                                                 normalized=normalized, confidence=f.confidence,
                                                 page_no=f.page_no, bbox=f.bbox, source=f.source))
    items = [FlaggedDocument(doc_id=d.doc_id, source_name=d.source_name, doc_type=d.doc_type,
                             applicant_id=d.applicant_id, status=d.status, flag_reasons=d.flag_reasons or [],
                             fields=fields[d.doc_id], updated_at=d.updated_at) for d in docs]
    audit.record(ctx.db, request, principal, "flagged.list", None, {"limit": limit, "offset": offset,
                                                                     "returned": len(items)})
    return FlaggedPage(total=total or 0, limit=limit, offset=offset, items=items)


@router.post("/human_review/{doc_id}", response_model=ReviewAccepted, status_code=201,
             responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}}, summary="Record a review decision")
def human_review(doc_id: str, body: ReviewRequest, request: Request, principal: Principal = Depends(reviewers),
                 ctx: Ctx = Depends(get_ctx)) -> ReviewAccepted:
    """Accept, correct or reject extracted fields. The review is stored and audited, and a reprocess request
    from `fields` is queued: the fields step applies the decisions and the index is refreshed."""
    load_document(ctx, principal, doc_id)
    for d in body.decisions:
        if d.action == "correct" and d.value is None:
            raise HTTPException(status_code=422, detail=f"decision for {d.name!r}: action 'correct' needs a value")
    decisions = [{"name": clean_text(d.name, 64), "ordinal": d.ordinal, "action": d.action,
                  **({"value": clean_text(d.value, 10_000)} if d.value is not None else {})} for d in body.decisions]
    with ctx.db.session() as s:
        review = Review(doc_id=doc_id, reviewer=clean_text(principal.sub, 128), decisions=decisions,
                        comment=clean_text(body.comment, 4000), created_at=now())
        s.add(review)
        s.flush()
        task, created = request_reprocess(s, doc_id, "fields", "review", principal.sub,
                                          open_statuses=("pending",))
        out = ReviewAccepted(review_id=review.id, doc_id=doc_id, reprocess=task_out(task, created))
    audit.record(ctx.db, request, principal, "review.submit", doc_id,
                 {"review_id": out.review_id, "decisions": decisions, "comment": body.comment})
    return out
