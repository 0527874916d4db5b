"""The same API against production-shaped services: a throwaway Postgres database on 127.0.0.1:5432 and S3 over
HTTP (moto's server), served by uvicorn on a real socket."""

from __future__ import annotations


import httpx
import pytest
from sqlalchemy import select

from doc_pipeline.db import AuditLog, Document, ReprocessTask
from doc_pipeline_tests.test_api_support import SECRET, UvicornThread, auth, ctx, make_pdf, reset_caches



@pytest.fixture
def production_env(tmp_path, monkeypatch, pg_url, s3_server):
    monkeypatch.setenv("DOCPIPE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCPIPE_DATABASE_URL", pg_url)
    monkeypatch.setenv("DOCPIPE_STORAGE", "s3")
    monkeypatch.setenv("DOCPIPE_S3_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("DOCPIPE_S3_BUCKET", "docpipe-test")
    monkeypatch.setenv("DOCPIPE_JWT_SECRET", SECRET)
    monkeypatch.setenv("DOCPIPE_RATE_LIMIT_PER_SECOND", "0")
    monkeypatch.delenv("DOCPIPE_METRICS_PUBLIC", raising=False)
    reset_caches()
    ctx().store.ensure_bucket()
    yield
    monkeypatch.undo()
    reset_caches()


def test_upload_status_retry_presign_on_postgres_and_s3(production_env):
    from api.main import app

    with UvicornThread(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        pdf = make_pdf(2)
        r = http.post("/uploads", files={"file": ("stub.pdf", pdf, "application/pdf")}, headers=auth("alice"))
        assert r.status_code == 201, r.text
        doc_id = r.json()["doc_id"]
        c = ctx()
        assert c.store.get_bytes(f"raw/{doc_id}.pdf") == pdf
        with c.db.session() as s:
            assert s.get(Document, doc_id).owner == "alice"
        assert c.db.engine.dialect.name == "postgresql"

        # refused uploads leave nothing in the bucket
        assert http.post("/uploads", files={"file": ("x.pdf", b"<html>")}, headers=auth("alice")).status_code == 415
        assert [o.key for o in c.store.list("raw/")] == [f"raw/{doc_id}.pdf"]

        st = http.get(f"/status/{doc_id}", headers=auth("alice")).json()
        assert st["status"] == "queued" and st["percent_done"] == 0.0

        t1 = http.post(f"/retry/{doc_id}", json={"step": "tables"}, headers=auth("alice")).json()
        t2 = http.post(f"/retry/{doc_id}", json={"step": "tables"}, headers=auth("alice")).json()
        assert t1["task_id"] == t2["task_id"] and t2["created"] is False
        with c.db.session() as s:
            assert s.scalar(select(ReprocessTask.step).where(ReprocessTask.doc_id == doc_id)) == "tables"

        # S3 presign: the client PUTs straight to the bucket; the row exists first so the doc_id is kept
        p = http.post("/uploads/presign", json={"filename": "scan.pdf"}, headers=auth("bob")).json()
        assert p["url"].startswith(c.settings.s3_endpoint_url)
        put = httpx.put(p["url"], content=pdf, headers=p["headers"])
        assert put.status_code == 200, put.text
        assert c.store.get_bytes(p["raw_key"]) == pdf
        with c.db.session() as s:
            row = s.get(Document, p["doc_id"])
            assert (row.owner, row.raw_key) == ("bob", p["raw_key"])
            actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert actions[:2] == ["document.upload", "document.retry"] and "document.presign" in actions

        h = http.get("/health").json()
        assert h["database"] == {"ok": True, "detail": "postgresql"} and h["object_store"] == {"ok": True,
                                                                                              "detail": "s3"}
        m = http.get("/metrics", headers=auth("root", "admin"))
        assert m.status_code == 200 and 'docpipe_documents{status="queued"} 2.0' in m.text
