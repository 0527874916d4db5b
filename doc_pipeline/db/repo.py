"""The writes the pipeline makes to the metadata DB. Every function replaces what a step owns for one document
in one transaction, so re-running a step never duplicates rows."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import bindparam, delete, func, insert, select, update

from doc_pipeline.core.models import ExtractedField, Flag, Page, Table
from doc_pipeline.db.models import AuditLog, Document, FieldRow, PageRow, ReprocessTask, StepCheckpoint, TableRow
from doc_pipeline.db.session import Database

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str | None, limit: int = 100_000) -> str | None:
    """Strip control characters (NUL breaks Postgres) and cap the length."""
    if value is None:
        return None
    return _CONTROL.sub("", value)[:limit]


def now() -> datetime:
    return datetime.now(timezone.utc)


# The hot per-document writes (every step of every document) are Core statements built once, with bound
# parameters: SQLAlchemy memoises a built statement's cache key and reuses its compiled form, where a statement
# built per call is walked for its key every time (~0.35 of the 0.5 ms a started/finished pair cost; the ORM's
# get-modify-flush was ~1 ms: docs/PERFORMANCE.md items 56 and 66)
_CP, _DOC = StepCheckpoint.__table__, Document.__table__
_STEP_RESTART = update(_CP).where(_CP.c.doc_id == bindparam("b_doc"), _CP.c.step == bindparam("b_step")).values(
    status="running", run_id=bindparam("b_run"), started_at=bindparam("b_t"), finished_at=None, error=None,
    attempts=func.coalesce(_CP.c.attempts, 0) + 1)
_STEP_FIRST = insert(_CP).values(doc_id=bindparam("b_doc"), step=bindparam("b_step"), status="running",
                                 run_id=bindparam("b_run"), started_at=bindparam("b_t"), attempts=1)
_DOC_AT_STEP = update(_DOC).where(_DOC.c.doc_id == bindparam("b_doc")).values(
    current_step=bindparam("b_step"), status="processing", updated_at=bindparam("b_t"))
_STEP_END = update(_CP).where(_CP.c.doc_id == bindparam("b_doc"), _CP.c.step == bindparam("b_step")).values(
    status=bindparam("b_status"), finished_at=bindparam("b_t"), seconds=bindparam("b_seconds"),
    error=bindparam("b_error"))


def get_document(db: Database, doc_id: str) -> Document | None:
    with db.session() as s:
        return s.get(Document, doc_id)


def done_documents(db: Database, doc_ids: list[str]) -> set[str]:
    """Those of `doc_ids` whose status is done (one query per 500, not a session per document)."""
    out: set[str] = set()
    with db.begin() as conn:
        for i in range(0, len(doc_ids), 500):
            out.update(conn.scalars(select(_DOC.c.doc_id).where(_DOC.c.doc_id.in_(doc_ids[i:i + 500]),
                                                                _DOC.c.status == "done")))
    return out


def find_by_raw_keys(db: Database, keys: list[str]) -> dict[str, Document]:
    out: dict[str, Document] = {}
    with db.session() as s:
        for i in range(0, len(keys), 500):
            for d in s.scalars(select(Document).where(Document.raw_key.in_(keys[i:i + 500]))):
                out[d.raw_key] = d
    return out


def register_document(db: Database, doc_id: str, raw_key: str, raw_version: str | None, source: str,
                      source_name: str | None = None, status: str = "queued", error: str | None = None,
                      **extra) -> Document:
    """Insert the document, or reset an existing one for a new version of its raw file."""
    with db.session() as s:
        doc = s.get(Document, doc_id)
        if doc is None:
            doc = Document(doc_id=doc_id, raw_key=raw_key, source=source, flagged=False, created_at=now())
            s.add(doc)
        doc.raw_version = raw_version
        doc.status = status
        doc.error = clean_text(error, 2000)
        if source_name:
            doc.source_name = clean_text(source_name, 512)
        for k, v in extra.items():
            if v is not None:
                setattr(doc, k, v)
        doc.updated_at = now()
    return doc


def update_document(db: Database, doc_id: str, **values) -> None:
    """Set columns of a document (a Core UPDATE: no ORM load and flush); a missing document is left alone."""
    if "error" in values:
        values["error"] = clean_text(values["error"], 2000)
    with db.begin() as conn:
        conn.execute(update(_DOC).where(_DOC.c.doc_id == doc_id).values(**values, updated_at=now()))


def run_stopped(db: Database, doc_ids: list[str], reason: str, run_id: str | None = None) -> list[str]:
    """The documents of a run that was stopped (Ctrl-C, SIGTERM, a terminated run, its worker process killed) and
    had not ended: failed with the reason, so they can be retried and none stays `processing` with a step
    `running` for ever. A document that already ended (done, or failed on its content) keeps its outcome. With `run_id` (a report that may come late)
    a document another run has taken up since (its current step started by that run) is left to that run.
    Returns the documents marked."""
    t = now()
    cp, doc = StepCheckpoint.__table__, Document.__table__
    with db.begin() as conn:
        rows = conn.execute(select(doc.c.doc_id, doc.c.status, doc.c.current_step, cp.c.run_id).select_from(
            doc.outerjoin(cp, (cp.c.doc_id == doc.c.doc_id) & (cp.c.step == doc.c.current_step))).where(
            doc.c.doc_id.in_(doc_ids), doc.c.status.in_(("queued", "processing"))))
        open_ = [d for d, status, step, last_run in rows
                 if run_id is None or (last_run == run_id if step else status == "queued")]
        if open_:
            conn.execute(update(cp).where(cp.c.doc_id.in_(open_), cp.c.status == "running").values(
                status="failed", finished_at=t, error=clean_text(reason, 2000)))
            conn.execute(update(doc).where(doc.c.doc_id.in_(open_)).values(
                status="failed", error=clean_text(reason, 2000), current_step=None, updated_at=t))
    return open_


def step_started(db: Database, doc_id: str, step: str, run_id: str | None) -> None:
    p = {"b_doc": doc_id, "b_step": step, "b_run": run_id, "b_t": now()}
    with db.begin() as conn:
        if not conn.execute(_STEP_RESTART, p).rowcount:
            conn.execute(_STEP_FIRST, p)
        conn.execute(_DOC_AT_STEP, p)


def step_finished(db: Database, doc_id: str, step: str, seconds: float, error: str | None = None) -> None:
    with db.begin() as conn:
        conn.execute(_STEP_END, {"b_doc": doc_id, "b_step": step, "b_status": "failed" if error else "done",
                                 "b_t": now(), "b_seconds": round(seconds, 4), "b_error": clean_text(error, 2000)})


def replace_pages(db: Database, doc_id: str, pages: list[Page], image_keys: dict[int, str]) -> None:
    rows = [{"doc_id": doc_id, "page_no": p.page_no, "kind": p.kind.value, "width": p.width, "height": p.height,
             "rotation": p.rotation, "image_key": image_keys.get(p.page_no), "text": clean_text(p.text),
             "word_count": len(p.words), "mean_conf": p.mean_conf, "engine": p.engine} for p in pages]
    _replace_rows(db, PageRow.__table__, doc_id, rows)


def replace_tables(db: Database, doc_id: str, tables: list[Table]) -> None:
    rows = [{"doc_id": doc_id, "table_index": t.index, "page_no": t.page_no, "bbox": list(t.bbox) if t.bbox else None,
             "n_rows": len(t.rows), "n_cols": max((len(r) for r in t.rows), default=0), "csv_key": t.csv_key,
             "method": t.method} for t in tables]
    _replace_rows(db, TableRow.__table__, doc_id, rows)


def replace_fields(db: Database, doc_id: str, fields: list[ExtractedField], run_id: str | None,
                   doc_type: str | None, flags: list[Flag]) -> None:
    ordinals: dict[str, int] = {}
    rows = []
    for f in fields:
        n = ordinals.get(f.name, 0)
        ordinals[f.name] = n + 1
        rows.append({"doc_id": doc_id, "name": f.name, "ordinal": n, "value": clean_text(f.value, 10_000) or "",
                     "normalized": f.normalized, "confidence": f.confidence, "page_no": f.page_no,
                     "bbox": list(f.bbox) if f.bbox else None, "source": f.source.value,
                     "evidence": clean_text(f.evidence, 2000), "run_id": run_id})
    _replace_rows(db, FieldRow.__table__, doc_id, rows, _DOC.update().where(_DOC.c.doc_id == doc_id).values(
        doc_type=doc_type, flagged=bool(flags), flag_reasons=[f.model_dump() for f in flags] or None))


def _replace_rows(db: Database, table, doc_id: str, rows: list[dict], also=None) -> None:
    """A document's rows of a table replaced in one transaction: one DELETE, one multi-row INSERT (Core: the ORM's
    unit of work cost ~0.1 ms an object), and `also`, a statement that belongs to the same change."""
    with db.begin() as conn:
        conn.execute(delete(table).where(table.c.doc_id == doc_id))
        if rows:
            conn.execute(insert(table), rows)
        if also is not None:
            conn.execute(also)


def audit(db: Database, actor: str, action: str, doc_id: str | None = None, detail: dict | None = None,
          role: str | None = None, ip: str | None = None) -> None:
    with db.session() as s:
        s.add(AuditLog(ts=now(), actor=actor, role=role, action=action, doc_id=doc_id, detail=detail, ip=ip))


def failed_in_run_docs(db: Database, run_id: str) -> set[str]:
    """The documents an earlier step of this run already failed (later steps skip them): one query per step of a
    multi-document run instead of one per document."""
    with db.session() as s:
        return set(s.scalars(select(StepCheckpoint.doc_id).where(
            StepCheckpoint.run_id == run_id, StepCheckpoint.status == "failed").distinct()))


def close_reprocess_requests(db: Database, doc_id: str, reason: str, status: str = "done") -> None:
    """Mark the open reprocess requests of a document with this reason as handled (by someone other than the
    reprocess sensor, e.g. the CLI re-running a document that failed inside a batch)."""
    with db.session() as s:
        for task in s.scalars(select(ReprocessTask).where(
                ReprocessTask.doc_id == doc_id, ReprocessTask.reason == reason,
                ReprocessTask.status.in_(("pending", "launched")))):
            task.status = status


def request_reprocess(db: Database, doc_id: str, step: str, reason: str, requested_by: str) -> None:
    """Queue a reprocess request for the reprocess sensor, unless one is already open for the document."""
    with db.session() as s:
        open_task = s.scalar(select(ReprocessTask.id).where(
            ReprocessTask.doc_id == doc_id, ReprocessTask.status.in_(("pending", "launched"))).limit(1))
        if open_task is None:
            s.add(ReprocessTask(doc_id=doc_id, step=step, status="pending", reason=reason, requested_by=requested_by))
