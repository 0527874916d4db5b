"""Migrations run on SQLite and Postgres; the pipeline's writes replace, never duplicate."""

import pytest
from sqlalchemy import func, inspect, select

from doc_pipeline.core.models import ExtractedField, Flag, Page, PageKind, Table, Word
from doc_pipeline.db import FieldRow, PageRow, TableRow, repo
from doc_pipeline.db.session import Database

TABLES = {"documents", "pages", "fields", "tables", "step_checkpoints", "audit_logs", "reprocess_tasks", "reviews"}


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    if request.param == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'meta.db'}")
    return Database(request.getfixturevalue("pg_url"))


def test_migrations_create_schema_and_are_rerunnable(db):
    assert TABLES <= set(inspect(db.engine).get_table_names())
    db.migrate()  # a second upgrade is a no-op
    with db.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM docpipe_alembic_version").scalar() == 1


def test_rewriting_a_step_replaces_rows(db):
    repo.register_document(db, "d1", "raw/d1.pdf", "v1", source="api", source_name="d1.pdf")
    page = Page(page_no=1, kind=PageKind.native, width=612, height=792, text="hi\x00there",
                words=[Word(text="hi", bbox=(1, 2, 3, 4), conf=1.0)])
    fields = [ExtractedField(name="date", value="2024-01-01", confidence=0.9),
              ExtractedField(name="party", value="A", confidence=0.8), ExtractedField(name="party", value="B", confidence=0.8)]
    for _ in range(3):
        repo.replace_pages(db, "d1", [page], {1: "pages/d1/1.png"})
        repo.replace_fields(db, "d1", fields, "run-x", "contract", [Flag(code="low", reason="why")])
        repo.replace_tables(db, "d1", [Table(page_no=1, rows=[["a"]], csv_key="tables/d1/0.csv", index=0)])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PageRow)) == 1
        assert s.scalar(select(func.count()).select_from(FieldRow)) == 3
        assert s.scalar(select(func.count()).select_from(TableRow)) == 1
        assert sorted(r.ordinal for r in s.scalars(select(FieldRow).where(FieldRow.name == "party"))) == [0, 1]
        assert s.scalar(select(PageRow.text)) == "hithere"  # NUL stripped (Postgres refuses it)
    doc = repo.get_document(db, "d1")
    assert doc.flagged and doc.flag_reasons[0]["code"] == "low" and doc.doc_type == "contract"
    repo.replace_fields(db, "d1", [], "run-y", "invoice", [])  # a re-run that found nothing clears it all
    repo.replace_tables(db, "d1", [])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(FieldRow)) == 0
        assert s.scalar(select(func.count()).select_from(TableRow)) == 0
    doc = repo.get_document(db, "d1")
    assert (doc.flagged, doc.flag_reasons, doc.doc_type) == (False, None, "invoice")


def test_update_document_sets_columns_cleans_the_error_and_skips_unknown_documents(db):
    repo.register_document(db, "d3", "raw/d3.pdf", "v1", source="api")
    before = repo.get_document(db, "d3").updated_at
    repo.update_document(db, "d3", status="failed", error="bad\x00 page " + "x" * 3000, page_count=4)
    doc = repo.get_document(db, "d3")
    assert (doc.status, doc.page_count, len(doc.error)) == ("failed", 4, 2000)
    assert doc.error.startswith("bad page") and doc.updated_at >= before
    repo.update_document(db, "nobody", status="done")  # no row, no error
    assert repo.get_document(db, "nobody") is None


def test_done_documents_answers_for_any_number_of_ids(db):
    for i in range(3):
        repo.register_document(db, f"e{i}", f"raw/e{i}.pdf", "v1", source="api")
    repo.update_document(db, "e0", status="done")
    repo.update_document(db, "e2", status="done")
    asked = [f"x{i}" for i in range(600)] + ["e0", "e1", "e2"]  # past one IN list of 500
    assert repo.done_documents(db, asked) == {"e0", "e2"}
    assert repo.done_documents(db, []) == set()


def test_step_checkpoints(db):
    repo.register_document(db, "d2", "raw/d2.pdf", "v1", source="drop")
    repo.step_started(db, "d2", "ocr_text", "run-1")
    assert repo.get_document(db, "d2").status == "processing"
    assert repo.get_document(db, "d2").current_step == "ocr_text"
    repo.step_finished(db, "d2", "ocr_text", 1.5, error="boom")
    from doc_pipeline.db import StepCheckpoint

    with db.session() as s:
        cp = s.get(StepCheckpoint, ("d2", "ocr_text"))
        assert (cp.status, cp.run_id, cp.attempts, cp.error, cp.seconds) == ("failed", "run-1", 1, "boom", 1.5)
        assert cp.finished_at is not None
    repo.step_started(db, "d2", "ocr_text", "run-2")
    with db.session() as s:
        cp = s.get(StepCheckpoint, ("d2", "ocr_text"))
        assert (cp.status, cp.run_id, cp.attempts, cp.error, cp.finished_at) == ("running", "run-2", 2, None, None)
    repo.step_finished(db, "d2", "ocr_text", 1.0)
    with db.session() as s:
        cp = s.get(StepCheckpoint, ("d2", "ocr_text"))
        assert (cp.status, cp.run_id, cp.attempts, cp.error) == ("done", "run-2", 2, None)
    repo.step_finished(db, "nobody", "ocr_text", 1.0)  # a step never started writes nothing
    with db.session() as s:
        assert s.get(StepCheckpoint, ("nobody", "ocr_text")) is None



def test_a_stopped_run_fails_only_its_own_unfinished_documents(db):
    """run_stopped (Ctrl-C in `doc-pipeline process`, a run canceled in the UI): the run's open documents are
    failed as stopped and their running step closed; a document that ended keeps its outcome; with the run's id
    (the daemon's report can come late) a document a newer run has taken up since is left to that run."""
    from doc_pipeline.db import StepCheckpoint

    for d in ("mid", "done", "bad", "retaken", "waiting"):
        repo.register_document(db, d, f"raw/{d}.pdf", "v1", source="drop")
    for d in ("mid", "done", "bad", "retaken"):
        repo.step_started(db, d, "raw_pdf", "run-1")
    repo.update_document(db, "done", status="done")
    repo.update_document(db, "bad", status="failed", error="encrypted")
    repo.step_started(db, "retaken", "raw_pdf", "run-2")  # retried after the cancel, before its report
    marked = repo.run_stopped(db, ["mid", "done", "bad", "retaken", "waiting"], "stopped: run-1", run_id="run-1")
    assert sorted(marked) == ["mid", "waiting"]
    states = {d: (x.status, x.error) for d in ("mid", "done", "bad", "retaken", "waiting")
              if (x := repo.get_document(db, d))}
    assert states == {"mid": ("failed", "stopped: run-1"), "done": ("done", None), "bad": ("failed", "encrypted"),
                      "retaken": ("processing", None), "waiting": ("failed", "stopped: run-1")}
    with db.session() as s:
        assert s.get(StepCheckpoint, ("mid", "raw_pdf")).status == "failed"
        assert s.get(StepCheckpoint, ("retaken", "raw_pdf")).status == "running"
    # without a run id (the command that ran the run itself): every open document of the run
    assert repo.run_stopped(db, ["retaken"], "stopped: run-2") == ["retaken"]


def test_embedded_sqlite_uses_wal_without_fsync_per_commit(tmp_path):
    """Every connection of the embedded database: WAL journal, synchronous=NORMAL (1), foreign keys on."""
    from sqlalchemy import text

    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    db.migrate()
    with db.engine.connect() as con:
        assert con.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert con.execute(text("PRAGMA synchronous")).scalar() == 1
        assert con.execute(text("PRAGMA foreign_keys")).scalar() == 1
