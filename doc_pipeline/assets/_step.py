"""What every stage does around its core call: checkpoint rows, timing, typed failures, derived JSON."""


import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, Failure,
                     MaterializeResult, MetadataValue, asset)
from pydantic import BaseModel

from doc_pipeline.assets.partitions import documents_partitions
from doc_pipeline.core.errors import DocumentError
from doc_pipeline.core.parallel import resolve_workers
from doc_pipeline.db import repo
from doc_pipeline.notify import notify_document_event
from doc_pipeline.results import derived_key
from doc_pipeline.resources import DocPipelineResource

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("doc_pipeline")


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


class DocumentFailed(Exception):
    """A document failed on its content inside a multi-document run: recorded, and the run goes on."""

    def __init__(self, doc_id: str, reason: str):
        super().__init__(reason)
        self.doc_id, self.reason = doc_id, reason


@contextmanager
def pipeline_step(context: AssetExecutionContext, dp: DocPipelineResource, step: str, doc_id: str | None = None,
                  batch: bool = False) -> Iterator[StepTimer]:
    """Record the step in step_checkpoints. A DocumentError fails the document with its reason; in a one-document
    run it stops the run without retries (the input will not get better), in a multi-document run it raises
    DocumentFailed so the other documents carry on. Anything else is recorded and re-raised so Dagster's run
    retries can try again."""
    doc_id = doc_id or context.partition_key
    db = dp.db()
    run_id = context.run.run_id
    repo.step_started(db, doc_id, step, run_id)
    timer = StepTimer()
    try:
        yield timer
    except DocumentError as exc:
        reason = str(exc)
        repo.step_finished(db, doc_id, step, timer.seconds, error=reason)
        repo.update_document(db, doc_id, status="failed", error=reason)
        repo.audit(db, "pipeline", "document_failed", doc_id, {"step": step, "reason": reason, "run_id": run_id})
        notify("failed", doc_id, "failed", [reason])
        if batch:
            raise DocumentFailed(doc_id, reason) from exc
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


class StepOutput:
    """What a stage returns for one document: materialisation metadata and, optionally, a check outcome."""

    def __init__(self, metadata: dict, check_passed: bool | None = None, check_metadata: dict | None = None):
        self.metadata, self.check_passed, self.check_metadata = metadata, check_passed, check_metadata or {}


PerDocument = Callable[[AssetExecutionContext, DocPipelineResource, str], StepOutput]


DOC_WORKERS_TAG = "docpipe/doc_workers"  # set by the raw/ sensor on the runs of a burst that run side by side


def shared_cores_tags(runs_at_once: int) -> dict[str, str]:
    """Run tags for one of `runs_at_once` runs side by side on this host's cores (a burst's runs, the worker
    processes of `doc-pipeline process`): each works on cores // runs documents and page threads at a time, not
    on DOCPIPE_DOC_WORKERS each (3 runs x 2 documents would be 6 documents at once on 2 cores). No tag alone."""
    if runs_at_once <= 1:
        return {}
    return {DOC_WORKERS_TAG: str(max(1, (os.cpu_count() or 1) // runs_at_once))}


def doc_workers_for(run_tags: Mapping[str, str], default: int) -> int:
    """Documents of a run to work on at once: the run's tag when the sensor spread a burst over several
    concurrent runs (they share the cores), else DOCPIPE_DOC_WORKERS."""
    tag = run_tags.get(DOC_WORKERS_TAG, "")
    return max(1, int(tag)) if tag.isdigit() else default


def page_workers_for(run_tags: Mapping[str, str], default: int) -> int:
    """Threads for a document's pages (the page pools of page_images, layout_blocks and ocr_text): at most the
    run's share of the cores when the sensor tagged it as one of a burst's runs side by side, else
    DOCPIPE_OCR_WORKERS (0 = one per core). Each page thread loads its own engines (layout model, Tesseract, OSD,
    RapidOCR on unsure pages): a run sharing the cores needs no more threads, nor engines, than its share."""
    workers = resolve_workers(default)
    tag = run_tags.get(DOC_WORKERS_TAG, "")
    return max(1, min(workers, int(tag))) if tag.isdigit() else workers


def run_for_documents(context: AssetExecutionContext, dp: DocPipelineResource, step: str, fn: PerDocument,
                      check_name: str | None = None, concurrent: bool = False) -> MaterializeResult:
    """Run one stage for every document partition of this run. A run usually holds one document; the raw/ sensor
    groups a burst of new files into runs over a range of partitions, so the per-run start-up cost (a new
    process, models loading) is paid once per batch while each document keeps its own partition and lineage.

    `concurrent` stages work on up to DOCPIPE_DOC_WORKERS documents of a batch at once (threads; their pages
    share the page pools): one document's last pages and sequential parts no longer leave a core idle. Such a
    stage must be thread-safe: PDFium calls hold core.pdf_pages.PDFIUM_LOCK."""
    keys = list(context.partition_keys)
    batch = len(keys) > 1
    db = dp.db()
    outputs: dict[str, StepOutput] = {}
    failed: dict[str, str] = {}
    failed_earlier = repo.failed_in_run_docs(db, context.run.run_id) if batch else set()

    def one(doc_id: str) -> None:
        if doc_id in failed_earlier:
            failed[doc_id] = "failed in an earlier step of this run"
            return
        try:
            with pipeline_step(context, dp, step, doc_id, batch=batch) as timer:
                out = fn(context, dp, doc_id)
            out.metadata["seconds"] = round(timer.seconds, 3)
            outputs[doc_id] = out
        except DocumentFailed as exc:
            failed[doc_id] = exc.reason
            # re-run it alone, so the failure also shows on its own partition in Dagster
            repo.request_reprocess(db, doc_id, "raw_pdf", reason="isolate", requested_by="pipeline")

    workers = min(len(keys), max(1, doc_workers_for(context.run.tags, dp.settings().doc_workers))) if concurrent else 1
    if workers == 1:
        for doc_id in keys:
            one(doc_id)
    else:
        # a fresh small pool per step: leaving the `with` waits for every started document, so an error that
        # fails the step never leaves a thread writing for a run that has ended
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{step}-docs") as pool:
            futures = [pool.submit(one, doc_id) for doc_id in keys]
            try:
                for f in futures:
                    f.result()
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    outputs = {d: outputs[d] for d in keys if d in outputs}  # in partition order, whichever finished first
    checks = []
    if not batch:
        (out,) = outputs.values()
        if check_name is not None and out.check_passed is not None:
            checks.append(AssetCheckResult(check_name=check_name, passed=out.check_passed,
                                           severity=AssetCheckSeverity.WARN,
                                           metadata={k: MetadataValue.json(v) for k, v in out.check_metadata.items()}))
        return MaterializeResult(metadata=out.metadata, check_results=checks)
    if check_name is not None:
        failing = {d: o.check_metadata for d, o in outputs.items() if o.check_passed is False}
        checks.append(AssetCheckResult(check_name=check_name, passed=not failing, severity=AssetCheckSeverity.WARN,
                                       metadata={"failing_documents": MetadataValue.json(failing)}))
    # Each partition's materialization gets its own document's metadata. Metadata on the result itself is copied
    # into every partition's event: a table of the whole batch there made each of a 100-document run's events
    # carry all 100 documents (Dagster serialised it 100 times a step: 8% of a burst's run CPU).
    add_partition_metadata(context, {**{d: o.metadata for d, o in outputs.items()},
                                     **{d: {"failed": reason} for d, reason in failed.items()}})
    return MaterializeResult(metadata={
        "batch_documents": len(keys), "batch_failed_documents": len(failed),
        "batch_seconds": round(sum(o.metadata["seconds"] for o in outputs.values()), 3)}, check_results=checks)


def add_partition_metadata(context: AssetExecutionContext, by_partition: Mapping[str, Mapping]) -> None:
    """`context.add_asset_metadata(metadata, partition_key=p)` for partitions of this run's range, without
    the public method's check that each key lies in the range: that check reads every dynamic partition from the
    instance (two lookups and the whole key list per call), i.e. a 100-document run over 10,000 known documents
    would read a million keys a step. The keys here are the run's own (`context.partition_keys`). Falls back to the
    public method if Dagster's step context no longer has the accumulator it fills (test_batch_concurrency notices)."""
    step = context.get_step_execution_context()
    acc = getattr(step, "_metadata_accumulator", None)
    if acc is None or not hasattr(acc, "with_additional_asset_metadata"):
        for key, metadata in by_partition.items():
            context.add_asset_metadata(metadata, partition_key=key)
        return
    for key, metadata in by_partition.items():
        acc = acc.with_additional_asset_metadata(asset_key=context.asset_key, metadata=metadata, partition_key=key)
    step._metadata_accumulator = acc


def document_asset(*, deps: list[str], group_name: str, description: str, kinds: set[str],
                   check_specs: list[AssetCheckSpec] | None = None, pool: str | None = None,
                   concurrent_documents: bool = False):
    """Declare a stage: `fn(context, docpipe, doc_id) -> StepOutput` becomes a partitioned asset named like fn.
    concurrent_documents: fn is thread-safe; a multi-document run works on several documents at once."""
    check_name = check_specs[0].name if check_specs else None

    def decorate(fn: PerDocument):
        @asset(name=fn.__name__, partitions_def=documents_partitions, deps=deps, group_name=group_name,
               description=description, kinds=kinds, check_specs=check_specs, pool=pool)
        def _stage(context: AssetExecutionContext, docpipe: DocPipelineResource) -> MaterializeResult:
            return run_for_documents(context, docpipe, fn.__name__, fn, check_name,
                                     concurrent=concurrent_documents)

        return _stage

    return decorate


def notify(event: str, doc_id: str, status: str, reasons: list[str]) -> None:
    """The webhook for a document event (a no-op unless DOCPIPE_WEBHOOK_URL is set)."""
    try:
        notify_document_event(event, doc_id, status, reasons)
    except Exception as exc:  # a webhook must never fail a document
        log.warning("webhook for %s failed: %s", doc_id, exc)

