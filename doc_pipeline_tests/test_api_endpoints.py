"""Status, result, retry, flagged queue, review, search, metrics, health and the 503 path, on the embedded default."""

from __future__ import annotations

import re

from sqlalchemy import select

from doc_pipeline.db import AuditLog, Document, ReprocessTask, Review, TableRow
from doc_pipeline_tests.test_api_support import (auth, client, ctx, embedded_env, reset_caches,  # noqa: F401
                                                 seed_document, seed_field, seed_steps)

A, B = "a" * 32, "b" * 32


def test_status_reports_steps_percent_and_runs(client):
    seed_document(A, status="processing", current_step="ocr_text", page_count=2)
    seed_steps(A, {"raw_pdf": "done", "page_images": "done", "layout_blocks": "done", "ocr_text": "running"},
               run_id="run-42")
    r = client.get(f"/status/{A}", headers=auth("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "processing" and body["current_step"] == "ocr_text"
    assert body["percent_done"] == round(300 / 7, 1) and body["run_ids"] == ["run-42"]
    assert [s["step"] for s in body["steps"]] == ["raw_pdf", "page_images", "layout_blocks", "ocr_text", "tables",
                                                  "fields", "index_docs"]
    assert [s["status"] for s in body["steps"]][3:5] == ["running", "pending"]
    assert body["dagster_runs"] is None
    # Dagster look-up is optional and never breaks the status
    r = client.get(f"/status/{A}?dagster=true", headers=auth("alice"))
    assert r.status_code == 200 and (r.json()["dagster_runs"] == [] or r.json()["dagster_error"])
    # other uploaders cannot even learn it exists; admins can read it
    assert client.get(f"/status/{A}", headers=auth("mallory")).status_code == 404
    assert client.get(f"/status/{A}", headers=auth("root", "admin")).status_code == 200
    assert client.get(f"/status/{'z' * 32}", headers=auth("root", "admin")).status_code == 404


def test_status_lists_dagster_runs_of_the_partition(client):
    from dagster import DagsterInstance, DagsterRun

    c = seed_document(A)
    c.settings.dagster_home.mkdir(parents=True)
    inst = DagsterInstance.from_config(str(c.settings.dagster_home))
    inst.add_run(DagsterRun(job_name="document_job", run_id="11111111-2222-4333-8444-555555555555",
                            tags={"dagster/partition": A, "docpipe/trigger": "raw"}))
    inst.add_run(DagsterRun(job_name="document_job", run_id="99999999-2222-4333-8444-555555555555",
                            tags={"dagster/partition": B}))
    body = client.get(f"/status/{A}?dagster=true", headers=auth("alice")).json()
    assert body["dagster_error"] is None
    assert [(r["run_id"], r["status"], r["tags"]["docpipe/trigger"]) for r in body["dagster_runs"]] == [
        ("11111111-2222-4333-8444-555555555555", "NOT_STARTED", "raw")]
    h = client.get("/health").json()
    assert h["dagster"]["ok"] is True and h["status"] == "ok"


def test_result_masks_account_numbers_for_uploaders_and_is_audited(client):
    from doc_pipeline.core.models import ExtractedField, FieldsResult

    c = seed_document(A, doc_type="bank_statement")
    from doc_pipeline.core.models import OcrResult, Page, PageKind

    fields = [ExtractedField(name="iban", value="DE89370400440532013000", confidence=0.9),
              ExtractedField(name="total", value="120.00", confidence=0.9)]
    # the pipeline's assets leave their output here; build_result reads it
    c.store.put_text(f"derived/fields/{A}.json", FieldsResult(doc_id=A, fields=fields).model_dump_json())
    page = Page(page_no=1, kind=PageKind.native, width=612, height=792,
                text="IBAN DE89 3704 0044 0532 0130 00 total 120.00")
    c.store.put_text(f"derived/ocr_text/{A}.json", OcrResult(doc_id=A, pages=[page]).model_dump_json())
    r = client.get(f"/result/{A}", headers=auth("alice"))
    assert r.status_code == 200, r.text
    fields = {f["name"]: f["value"] for f in r.json()["fields"]}
    assert fields["total"] == "120.00"
    assert fields["iban"].endswith("3000") and "3704" not in fields["iban"]
    text = r.json()["pages"][0]["text"]
    assert "3704" not in text and "00 total 120.00" in text
    r = client.get(f"/result/{A}", headers=auth("root", "admin"))
    assert {f["name"]: f["value"] for f in r.json()["fields"]}["iban"] == "DE89370400440532013000"
    with ctx().db.session() as s:
        reads = s.scalars(select(AuditLog).where(AuditLog.action == "result.read").order_by(AuditLog.id)).all()
    assert [(a.actor, a.role, a.doc_id) for a in reads] == [("alice", "uploader", A), ("root", "admin", A)]


def test_table_csv_and_pdf_downloads(client):
    c = seed_document(A)
    c.store.put_text(f"tables/{A}/0.csv", "a,b\n1,2\n")
    with c.db.session() as s:
        s.add(TableRow(doc_id=A, table_index=0, page_no=1, n_rows=2, n_cols=2, csv_key=f"tables/{A}/0.csv"))
    r = client.get(f"/result/{A}/tables/0.csv", headers=auth("alice"))
    assert r.status_code == 200 and r.text == "a,b\n1,2\n" and r.headers["content-type"].startswith("text/csv")
    assert client.get(f"/result/{A}/tables/1.csv", headers=auth("alice")).status_code == 404
    assert client.get(f"/result/{A}/pdf", headers=auth("alice")).status_code == 404
    c.store.put_bytes(f"out/{A}.pdf", b"%PDF-1.7 searchable")
    r = client.get(f"/result/{A}/pdf", headers=auth("alice"))
    assert r.status_code == 200 and r.content == b"%PDF-1.7 searchable"
    assert client.get(f"/result/{A}/pdf", headers=auth("mallory")).status_code == 404


def test_retry_does_not_pile_up_and_rejects_unknown_steps(client):
    seed_document(A, status="failed")
    r = client.post(f"/retry/{A}", json={"step": "warp_drive"}, headers=auth("alice"))
    assert r.status_code == 422 and "raw_pdf, page_images" in r.json()["detail"]
    r1 = client.post(f"/retry/{A}", json={"step": "ocr_text"}, headers=auth("alice"))
    assert r1.status_code == 202 and r1.json()["created"] is True
    r2 = client.post(f"/retry/{A}", json={"step": "ocr_text"}, headers=auth("alice"))
    r3 = client.post(f"/retry/{A}", headers=auth("alice"))  # default raw_pdf: widens the pending request
    assert r2.json()["task_id"] == r1.json()["task_id"] == r3.json()["task_id"] and r2.json()["created"] is False
    with ctx().db.session() as s:
        tasks = s.scalars(select(ReprocessTask)).all()
        assert [(t.step, t.status, t.reason, t.requested_by) for t in tasks] == [("raw_pdf", "pending", "retry",
                                                                                   "alice")]
        tasks[0].status = "done"
    assert client.post(f"/retry/{A}", json={"step": "fields"}, headers=auth("alice")).json()["created"] is True
    assert client.post(f"/retry/{A}", json={"step": "fields"}, headers=auth("mallory")).status_code == 404


def test_flagged_queue_and_human_review(client):
    seed_document(A, flagged=True, flag_reasons=[{"code": "low_confidence", "reason": "net_pay 0.4", "field": "net_pay"}])
    seed_document(B, flagged=False)
    seed_field(A, "net_pay", "1,234.50", confidence=0.4)
    assert client.get("/flagged", headers=auth("alice")).status_code == 403
    r = client.get("/flagged", headers=auth("rita", "reviewer"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 1 and [d["doc_id"] for d in page["items"]] == [A]
    assert page["items"][0]["fields"][0]["confidence"] == 0.4
    assert page["items"][0]["flag_reasons"][0]["code"] == "low_confidence"
    # reviewers see documents in the queue, not others
    assert client.get(f"/status/{A}", headers=auth("rita", "reviewer")).status_code == 200
    assert client.get(f"/status/{B}", headers=auth("rita", "reviewer")).status_code == 404

    decision = {"decisions": [{"name": "net_pay", "action": "correct", "value": "1,243.50\x00"}],
                "comment": "digits swapped"}
    assert client.post(f"/human_review/{A}", json=decision, headers=auth("alice")).status_code == 403
    bad = {"decisions": [{"name": "net_pay", "action": "correct"}]}
    assert client.post(f"/human_review/{A}", json=bad, headers=auth("rita", "reviewer")).status_code == 422
    r = client.post(f"/human_review/{A}", json=decision, headers=auth("rita", "reviewer"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["reprocess"]["step"] == "fields" and out["reprocess"]["reason"] == "review"
    with ctx().db.session() as s:
        review = s.get(Review, out["review_id"])
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "review.submit")).one()
        task = s.get(ReprocessTask, out["reprocess"]["task_id"])
    assert review.reviewer == "rita" and review.decisions[0]["value"] == "1,243.50"  # NUL stripped
    assert audit.actor == "rita" and audit.doc_id == A and audit.detail["review_id"] == out["review_id"]
    assert (task.step, task.status, task.requested_by) == ("fields", "pending", "rita")


def test_search_isolates_owners(client):
    from doc_pipeline.search import SearchDoc
    from api.routers.search import backend

    seed_document(A, owner="alice", flagged=True)
    seed_document(B, owner="bob")
    idx = backend(ctx())
    idx.index(SearchDoc(doc_id=A, text="invoice total due for alice", doc_type="invoice", owner="alice"))
    idx.index(SearchDoc(doc_id=B, text="invoice total due for bob", doc_type="invoice", owner="bob"))
    hits = lambda who, role="uploader", q="invoice": [h["doc_id"] for h in client.get(  # noqa: E731
        "/search", params={"q": q}, headers=auth(who, role)).json()["hits"]]
    assert hits("alice") == [A]
    assert hits("bob") == [B]
    assert hits("mallory") == []
    assert sorted(hits("root", "admin")) == [A, B]
    assert hits("rita", "reviewer") == [A]  # only the flagged one
    r = client.get("/search", params={"q": "invoice", "doc_type": "receipt"}, headers=auth("root", "admin"))
    assert r.json()["total"] == 0
    assert client.get("/search", params={"q": "x", "date_from": "2024-02-01", "date_to": "2024-01-01"},
                      headers=auth()).status_code == 422


def _metric(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    assert m, f"{name} missing from\n{text}"
    return float(m.group(1))


def test_metrics_move_with_the_database(client, monkeypatch):
    assert client.get("/metrics").status_code == 401
    before = client.get("/metrics", headers=auth("root", "admin")).text
    assert _metric(before, "docs_processed_total") == 0
    seed_document(A, status="done", processing_seconds=4.0, flagged=True)
    seed_document(B, status="done", processing_seconds=8.0)
    seed_document("c" * 32, status="failed", current_step="ocr_text")
    seed_steps("c" * 32, {"ocr_text": "failed"})
    monkeypatch.setenv("DOCPIPE_METRICS_PUBLIC", "true")
    reset_caches()
    after = client.get("/metrics").text
    assert _metric(after, "docs_processed_total") == 2
    assert _metric(after, "ocr_failures_total") == 1
    assert _metric(after, "avg_processing_seconds") == 6.0
    assert _metric(after, "percent_flagged_for_review") == 50.0
    assert _metric(after, 'docpipe_processing_seconds_bucket{le="5.0"}') == 1
    assert _metric(after, 'docpipe_processing_seconds_bucket{le="10.0"}') == 2
    assert _metric(after, "docpipe_processing_seconds_sum") == 12.0


def test_health_reports_components(client):
    r = client.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["database"] == {"ok": True, "detail": "sqlite"} and body["object_store"]["ok"] is True
    assert body["status"] in ("ok", "degraded")


def test_worker_opens_and_migrates_the_metadata_db_before_its_first_request(embedded_env):
    """A worker's first requests must not queue behind the engine set-up and Alembic's migration check (0.3-1 s):
    the API's start-up does it. (With the DB down the API still starts: test_db_down_is_503_not_500.)"""
    import sqlite3

    from fastapi.testclient import TestClient

    from api.main import app

    db_file = embedded_env / "docpipe.db"
    assert not db_file.exists()
    with TestClient(app):
        assert db_file.exists()  # no request made yet
        tables = {r[0] for r in sqlite3.connect(db_file).execute("select name from sqlite_master where type='table'")}
        assert {"docpipe_alembic_version", "documents", "step_checkpoints"} <= tables


def test_db_down_is_503_not_500(embedded_env, monkeypatch):
    from fastapi.testclient import TestClient

    from api.main import app

    monkeypatch.setenv("DOCPIPE_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
    reset_caches()
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get(f"/status/{A}", headers=auth())
        assert r.status_code == 503 and "metadata database unavailable" in r.json()["detail"]
        assert c.post(f"/retry/{A}", headers=auth()).status_code == 503
        assert c.get("/metrics", headers=auth()).status_code == 503
        h = c.get("/health")
        assert h.status_code == 503 and h.json()["database"]["ok"] is False and h.json()["status"] == "down"


def test_status_p95_with_10k_documents(client):
    """GET /status stays fast with 10k documents and 70k checkpoints (primary-key reads only)."""
    import statistics
    import time
    from datetime import datetime, timezone

    from sqlalchemy import insert

    from doc_pipeline.core.models import STEPS
    from doc_pipeline.db import StepCheckpoint

    now = datetime.now(timezone.utc)
    ids = [f"{i:032x}" for i in range(10_000)]
    with ctx().db.session() as s:
        s.execute(insert(Document), [dict(doc_id=d, raw_key=f"raw/{d}.pdf", source="api", status="done",
                                          owner=f"user{i % 50}", flagged=i % 7 == 0, created_at=now, updated_at=now)
                                     for i, d in enumerate(ids)])
        s.execute(insert(StepCheckpoint), [dict(doc_id=d, step=st, status="done", run_id=f"run-{d[:8]}",
                                                started_at=now, finished_at=now, seconds=0.1, attempts=1)
                                           for d in ids for st in STEPS])
    headers = auth("root", "admin")
    for d in ids[:20]:  # warm-up
        client.get(f"/status/{d}", headers=headers)
    times = []
    for d in ids[::50]:
        t0 = time.perf_counter()
        r = client.get(f"/status/{d}", headers=headers)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200 and r.json()["percent_done"] == 100.0
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"GET /status p95 over {len(times)} calls with 10k docs: {p95 * 1000:.1f} ms")
    assert p95 < 0.1


def test_flagged_queue_masks_bank_numbers_for_reviewers(client):
    seed_document("f1", owner="alice", flagged=True, doc_type="bank_statement",
                  flag_reasons=[{"code": "low_confidence", "reason": "iban", "field": "iban"}])
    seed_field("f1", "iban", "DE89370400440532013000", confidence=0.4)
    item = client.get("/flagged", headers=auth("rita", "reviewer")).json()["items"][0]
    iban = next(f for f in item["fields"] if f["name"] == "iban")
    assert iban["value"].endswith("3000") and "37040044" not in iban["value"]
    full = client.get("/flagged", headers=auth("root", "admin")).json()["items"][0]
    assert next(f for f in full["fields"] if f["name"] == "iban")["value"] == "DE89370400440532013000"
