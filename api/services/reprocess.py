"""Reprocess requests: the API only writes them; the pipeline's reprocess sensor launches the runs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from doc_pipeline.db import ReprocessTask
from doc_pipeline.db.repo import now

OPEN_STATUSES = ("pending", "launched")


def request_reprocess(s: Session, doc_id: str, step: str, reason: str, requested_by: str,
                      open_statuses: tuple[str, ...] = OPEN_STATUSES) -> tuple[ReprocessTask, bool]:
    """(task, created). An open request for the document is returned instead of adding another, so repeated
    calls never pile up runs. A pending request for a later step is moved to the earlier one asked for.
    Reviews pass open_statuses=("pending",): a run already under way started before the review was stored,
    so the review needs a run of its own after it."""
    from doc_pipeline.core.models import STEPS

    open_task = s.scalars(select(ReprocessTask).where(ReprocessTask.doc_id == doc_id,
                                                      ReprocessTask.status.in_(open_statuses))
                          .order_by(ReprocessTask.id).with_for_update()).first()
    if open_task is not None:
        if open_task.status == "pending" and STEPS.index(step) < STEPS.index(open_task.step):
            open_task.step, open_task.updated_at = step, now()
        return open_task, False
    task = ReprocessTask(doc_id=doc_id, step=step, status="pending", reason=reason, requested_by=requested_by,
                         created_at=now(), updated_at=now())
    s.add(task)
    s.flush()
    return task, True
