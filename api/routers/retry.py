"""POST /retry/{doc_id}: ask the pipeline to re-run a step (and everything downstream of it)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, HTTPException, Request

from doc_pipeline.auth import Principal
from doc_pipeline.core.models import STEPS

from api.deps import Ctx, get_ctx, load_document, require_roles
from api.schemas import ErrorBody, ReprocessTaskOut, RetryRequest
from api.services import audit
from api.services.reprocess import request_reprocess

router = APIRouter(tags=["reprocess"])


def task_out(task, created: bool) -> ReprocessTaskOut:
    return ReprocessTaskOut(task_id=task.id, doc_id=task.doc_id, step=task.step, status=task.status,
                            reason=task.reason, requested_by=task.requested_by, run_id=task.run_id, created=created)


@router.post("/retry/{doc_id}", response_model=ReprocessTaskOut, status_code=202,
             responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody, "description": "unknown step"}},
             summary="Re-run a step of one document")
def retry(doc_id: str, request: Request, body: RetryRequest | None = Body(default=None),
          principal: Principal = Depends(require_roles("uploader", "reviewer", "admin")),
          ctx: Ctx = Depends(get_ctx)) -> ReprocessTaskOut:
    """Writes a reprocess request that the pipeline's sensor turns into one Dagster run re-materialising `step`
    and its downstream assets. While a request for the document is pending or running, the same request is
    returned (`created: false`) instead of a new one."""
    step = (body or RetryRequest()).step
    if step not in STEPS:
        raise HTTPException(status_code=422, detail=f"unknown step {step[:64]!r}; valid steps: {', '.join(STEPS)}")
    load_document(ctx, principal, doc_id)
    with ctx.db.session() as s:
        task, created = request_reprocess(s, doc_id, step, "retry", principal.sub)
        out = task_out(task, created)
    audit.record(ctx.db, request, principal, "document.retry", doc_id,
                 {"step": step, "task_id": out.task_id, "created": created})
    return out
