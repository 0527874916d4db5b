"""What every stage does around its core call: checkpoint rows, timing, typed failures, derived JSON."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from dagster import AssetExecutionContext, Failure, MetadataValue
from pydantic import BaseModel

from doc_pipeline.core.errors import DocumentError
from doc_pipeline.db import repo
from doc_pipeline.resources import DocPipelineResource

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("doc_pipeline")


def derived_key(asset: str, doc_id: str) -> str:
    return f"derived/{asset}/{doc_id}.json"


def save_derived(dp: DocPipelineResource, asset: str, doc_id: str, model: BaseModel) -> str:
    key = derived_key(asset, doc_id)
    dp.store().put_bytes(key, model.model_dump_json().encode(), "application/json")
    return key


def load_derived(dp: DocPipelineResource, asset: str, doc_id: str, model: type[M]) -> M:
    try:
        return model.model_validate_json(dp.store().get_bytes(derived_key(asset, doc_id)))
    except KeyError as exc:
        raise Failure(description=f"{asset} has not been materialised for {doc_id}: materialise it first",
                      allow_retries=False) from exc


class StepTimer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.t0


@contextmanager
def pipeline_step(context: AssetExecutionContext, dp: DocPipelineResource, step: str) -> Iterator[StepTimer]:
    """Record the step in step_checkpoints; a DocumentError fails the document with its reason and stops the
    run without retries (the input will not get better); anything else is recorded and re-raised so Dagster's
    run retries can try again."""
    doc_id = context.partition_key
    db = dp.db()
    repo.step_started(db, doc_id, step, context.run.run_id)
    timer = StepTimer()
    try:
        yield timer
    except DocumentError as exc:
        reason = str(exc)
        repo.step_finished(db, doc_id, step, timer.seconds, error=reason)
        repo.update_document(db, doc_id, status="failed", error=reason)
        repo.audit(db, "pipeline", "document_failed", doc_id, {"step": step, "reason": reason, "run_id": context.run.run_id})
        _notify("failed", doc_id, "failed", [reason])
        raise Failure(description=reason, metadata={"doc_id": doc_id, "reason": MetadataValue.text(reason)},
                      allow_retries=False) from exc
    except Failure:
        repo.step_finished(db, doc_id, step, timer.seconds, error="failed")
        raise
    except Exception as exc:
        reason = f"{step} failed: {type(exc).__name__}: {exc}"
        repo.step_finished(db, doc_id, step, timer.seconds, error=reason)
        repo.update_document(db, doc_id, status="failed", error=reason)
        raise
    repo.step_finished(db, doc_id, step, timer.seconds)


def _notify(event: str, doc_id: str, status: str, reasons: list[str]) -> None:
    try:
        from doc_pipeline.notify import notify_document_event
    except ImportError:
        return
    try:
        notify_document_event(event, doc_id, status, reasons)
    except Exception as exc:  # a webhook must never fail a document
        log.warning("webhook for %s failed: %s", doc_id, exc)


notify = _notify
