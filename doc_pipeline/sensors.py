"""Sensors: new or rewritten files under raw/, and reprocess requests (retries, review corrections) from the API."""


import hashlib
import json
import time

from dagster import (AssetKey, DagsterRunStatus, DefaultSensorStatus, PartitionKeyRange, RunRequest, RunsFilter,
                     RunStatusSensorContext, SensorEvaluationContext, SensorResult, SkipReason, run_status_sensor,
                     sensor)
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.errors import DagsterInvalidInvocationError
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from sqlalchemy import select

from doc_pipeline.assets._step import shared_cores_tags
from doc_pipeline.assets.partitions import documents_partitions
from doc_pipeline.core.doc_ids import doc_id_for_key
from doc_pipeline.core.models import STEPS
from doc_pipeline.core.sniff import describe_unsupported, sniff_media_type
from doc_pipeline.db import repo
from doc_pipeline.db.models import ReprocessTask
from doc_pipeline.escalation.dagster_tags import likely_to_escalate, paid_ocr_run_tags
from doc_pipeline.jobs import document_job
from doc_pipeline.resources import DocPipelineResource

RAW_PREFIX = "raw/"
# objects whose mtime lies this far behind the cursor are still checked against the DB, for stores whose
# listings become consistent late or clocks that disagree a little
LOOKBACK_SECONDS = 120
MAX_RUNS_PER_TICK = 500
# Dagster's sensor daemon wakes every 5 s (dagster._daemon.sensor.MIN_INTERVAL_LOOP_TIME) and skips a sensor whose
# last tick started less than its minimum interval ago. With an interval of 5 the tick a loop marks is a few ms
# younger than 5 s at the next wake-up, so the sensor ran every other loop: a dropped file or a retry waited 5-10 s
# (measured: ticks 9-10 s apart). 1 s lets every loop evaluate it; a tick with nothing new costs 0.02-0.16 s.
SENSOR_MIN_INTERVAL_SECONDS = 1


def plan_raw_files(listing, cursor_ts: float, known: dict) -> tuple[list, float]:
    """Pure part of the raw/ sensor: which listed objects are new or rewritten.

    `known` maps raw_key -> (doc_id, raw_version) for candidates already in the DB. Returns the objects to
    act on and the new cursor timestamp."""
    todo, max_ts = [], cursor_ts
    for obj in listing:
        max_ts = max(max_ts, obj.last_modified)
        if obj.last_modified < cursor_ts - LOOKBACK_SECONDS:
            continue
        prev = known.get(obj.key)
        if prev is not None and prev[1] == obj.etag:
            continue  # this exact version was already taken
        todo.append(obj)
    return todo, max_ts


@sensor(job=document_job, minimum_interval_seconds=SENSOR_MIN_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Watches the object store's raw/ prefix: adds a partition per new document and requests its "
                    "run; rewritten files are processed again; unsupported files are recorded as rejected.")
def raw_files_sensor(context: SensorEvaluationContext, docpipe: DocPipelineResource):
    t0 = time.perf_counter()
    cursor = json.loads(context.cursor) if context.cursor else {"ts": 0.0}
    store, db = docpipe.store(), docpipe.db()
    listing = [o for o in store.list(RAW_PREFIX) if not o.key.endswith("/")]
    candidates = [o for o in listing if o.last_modified >= cursor["ts"] - LOOKBACK_SECONDS]
    rows = repo.find_by_raw_keys(db, [o.key for o in candidates])
    known = {k: (d.doc_id, d.raw_version) for k, d in rows.items()}
    todo, max_ts = plan_raw_files(candidates, cursor["ts"], known)
    todo = todo[:MAX_RUNS_PER_TICK]
    if len(todo) == MAX_RUNS_PER_TICK:
        max_ts = cursor["ts"]  # more next tick; do not skip past what we have not taken
    taken: list[tuple[str, str]] = []  # (doc_id, etag) of files to process, in listing order
    sizes: dict[str, int] = {}
    for obj in todo:
        row = rows.get(obj.key)
        doc_id = row.doc_id if row is not None else doc_id_for_key(obj.key)
        head = store.get_range(obj.key, 0, 1024) if obj.size else b""
        media = sniff_media_type(head)
        name = row.source_name if row is not None and row.source_name else obj.key[len(RAW_PREFIX):]
        if media is None:
            reason = describe_unsupported(head)
            repo.register_document(db, doc_id, obj.key, obj.etag, source=row.source if row else "drop",
                                   source_name=name, status="rejected", error=reason)
            repo.audit(db, "sensor", "document_rejected", doc_id, {"key": obj.key, "reason": reason})
            context.log.warning(f"rejected {obj.key}: {reason}")
            continue
        repo.register_document(db, doc_id, obj.key, obj.etag, source=row.source if row else "drop",
                               source_name=name, status="queued", media_type=media)
        taken.append((doc_id, obj.etag))
        sizes[doc_id] = obj.size
    new_cursor = json.dumps({"ts": max_ts})
    context.log.info(f"raw/ tick: {len(listing)} listed, {len(todo)} new, {time.perf_counter() - t0:.3f}s")
    if not taken:
        return SensorResult(skip_reason=SkipReason(f"no new files among {len(listing)} under raw/"), cursor=new_cursor)
    existing = set(context.instance.get_dynamic_partitions(documents_partitions.name))
    add = list(dict.fromkeys(d for d, _ in taken if d not in existing))
    paid = {d for d, _ in taken if likely_to_escalate(_doc_meta(db, d))}
    settings = docpipe.settings()
    run_requests = plan_runs(taken, add, settings.run_batch_size, paid, sizes, settings.run_batch_max_bytes,
                             settings.run_slots_resolved, share_cores=settings.runs_share_cores)
    return SensorResult(run_requests=run_requests, cursor=new_cursor,
                        dynamic_partitions_requests=[documents_partitions.build_add_request(add)] if add else [])


def _batches(doc_ids: list[str], batch_size: int, sizes: dict[str, int], max_bytes: int,
             spread: int = 1) -> list[list[str]]:
    """Consecutive groups of at most batch_size documents and (when max_bytes) about max_bytes of input, so a
    burst of big scans does not end up serialised in one run. With `spread` (the runs that can run at once), a
    burst is cut into at least that many even groups: every run slot gets work, and no more runs start (each one
    a new process loading the models) than the batch size requires."""
    n = len(doc_ids)
    groups = max(-(-n // batch_size), min(spread, n)) if n and spread > 1 else 0
    # group i holds quota[i] documents, sizes differing by at most one (200 over 3 runs: 67/67/66)
    quota = [n // groups + (i < n % groups) for i in range(groups)] if groups else []
    out: list[list[str]] = []
    cur: list[str] = []
    cur_bytes = 0
    for d in doc_ids:
        size = sizes.get(d, 0)
        limit = quota[len(out)] if len(out) < len(quota) else batch_size
        if cur and (len(cur) >= limit or (max_bytes and cur_bytes + size > max_bytes)):
            out.append(cur)
            cur, cur_bytes = [], 0
        cur.append(d)
        cur_bytes += size
    if cur:
        out.append(cur)
    return out


def _doc_tags(doc_id: str, paid: set[str]) -> dict[str, str]:
    return {"docpipe/doc_id": doc_id, "docpipe/trigger": "raw", **(paid_ocr_run_tags() if doc_id in paid else {})}


def plan_runs(taken: list[tuple[str, str]], added: list[str], batch_size: int,
              paid: set[str] = frozenset(), sizes: dict[str, int] | None = None,
              max_batch_bytes: int = 0, spread: int = 1, share_cores: bool = True) -> list[RunRequest]:
    """One run per document, except that partitions added together in this tick (a burst of new files) go in
    runs over ranges of up to `batch_size` consecutive partitions: Dagster pays a run's start-up once per batch,
    and still records a materialisation, status and lineage per document partition."""
    etag = dict(taken)
    added_set = set(added)
    requests = [RunRequest(run_key=f"{d}:{etag[d]}", partition_key=d, tags=_doc_tags(d, paid))
                for d in dict.fromkeys(d for d, _ in taken) if d not in added_set]
    chunks = _batches(added, max(1, batch_size), sizes or {}, max_batch_bytes, spread)
    # runs of one burst run side by side: each gets its share of the cores (where they share a host)
    side_by_side = shared_cores_tags(min(len(chunks), spread)) if share_cores else {}
    for chunk in chunks:
        if len(chunk) == 1 or any(d in paid for d in chunk):
            # runs that may pay for cloud OCR stay single, so the paid-OCR tag limit bounds just them
            requests.extend(RunRequest(run_key=f"{d}:{etag[d]}", partition_key=d, tags=_doc_tags(d, paid))
                            for d in chunk)
            continue
        digest = hashlib.sha1("|".join(f"{d}:{etag[d]}" for d in chunk).encode()).hexdigest()[:16]
        requests.append(RunRequest(run_key=f"batch:{digest}", tags={
            ASSET_PARTITION_RANGE_START_TAG: chunk[0], ASSET_PARTITION_RANGE_END_TAG: chunk[-1],
            "docpipe/batch_size": str(len(chunk)), "docpipe/trigger": "raw", **side_by_side}))
    return requests


def _doc_meta(db, doc_id: str) -> dict:
    doc = repo.get_document(db, doc_id)
    return {"doc_type_hint": doc.doc_type_hint, "applicant_id": doc.applicant_id} if doc else {}


def downstream_steps(step: str) -> list[str]:
    """The step and everything downstream of it, in the lineage of DESIGN.md."""
    downstream = {
        "raw_pdf": STEPS, "page_images": STEPS[1:], "layout_blocks": STEPS[2:],
        "ocr_text": ("ocr_text", "tables", "fields", "index_docs"), "tables": ("tables", "fields", "index_docs"),
        "fields": ("fields", "index_docs"), "index_docs": ("index_docs",),
    }
    return list(downstream[step])


@sensor(job=document_job, minimum_interval_seconds=SENSOR_MIN_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Launches one run per pending reprocess request (POST /retry, reviews) that re-materialises "
                    "the step and everything downstream of it for that document; closes requests whose run ended.")
def reprocess_sensor(context: SensorEvaluationContext, docpipe: DocPipelineResource):
    db = docpipe.db()
    requests = []
    with db.session() as s:
        for task in s.scalars(select(ReprocessTask).where(ReprocessTask.status == "launched")):
            runs = context.instance.get_run_records(RunsFilter(tags={"docpipe/reprocess_task": str(task.id)}), limit=1)
            if runs and runs[0].dagster_run.is_finished:
                task.status = "done" if runs[0].dagster_run.is_success else "failed"
                task.run_id = runs[0].dagster_run.run_id
        pending = s.scalars(select(ReprocessTask).where(ReprocessTask.status == "pending").order_by(ReprocessTask.id)).all()
        by_doc: dict[str, list[ReprocessTask]] = {}
        for task in pending:
            by_doc.setdefault(task.doc_id, []).append(task)
        for doc_id, tasks in by_doc.items():
            # several requests for one document become one run from the earliest step asked for
            first = min((t.step for t in tasks), key=STEPS.index)
            steps = downstream_steps(first)
            lead = tasks[0]
            requests.append(RunRequest(
                run_key=f"reprocess-{lead.id}", partition_key=doc_id,
                asset_selection=[AssetKey(x) for x in steps],
                tags={"docpipe/doc_id": doc_id, "docpipe/trigger": lead.reason or "retry",
                      "docpipe/reprocess_task": str(lead.id)}))
            for t in tasks:
                t.status = "launched" if t is lead else "merged"
    if not requests:
        return SkipReason("no pending reprocess requests")
    return requests


def run_doc_ids(instance, run) -> list[str]:
    """The documents a run worked on: its partition, or every document partition of its range."""
    tags = run.tags
    if tags.get("dagster/partition"):
        return [tags["dagster/partition"]]
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if not start or not end:
        return []
    try:  # Dagster's own range resolution (from the remembered key list: dagster_storage.PartitionKeysCache)
        with partition_loading_context(dynamic_partitions_store=instance):
            return list(documents_partitions.get_partition_keys_in_range(PartitionKeyRange(start, end)))
    except DagsterInvalidInvocationError:  # a partition of the range was deleted since
        return []


@run_status_sensor(run_status=DagsterRunStatus.CANCELED, default_status=DefaultSensorStatus.RUNNING,
                   minimum_interval_seconds=SENSOR_MIN_INTERVAL_SECONDS,
                   description="A run terminated in the UI (or by `dagster run terminate`) stops inside a step: its "
                               "unfinished documents are marked failed as stopped, so none stays `processing`.")
def canceled_runs_sensor(context: RunStatusSensorContext, docpipe: DocPipelineResource):
    run, db = context.dagster_run, docpipe.db()
    marked = repo.run_stopped(db, run_doc_ids(context.instance, run),
                              f"stopped: its run {run.run_id} was canceled; retry it (POST /retry/<doc_id>)",
                              run_id=run.run_id)
    for doc_id in marked:
        repo.audit(db, "pipeline", "document_stopped", doc_id, {"run_id": run.run_id})
