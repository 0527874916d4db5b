"""Uploads through the real app on the embedded default: validation by content, limits while streaming, presign."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from doc_pipeline.db import AuditLog, Document
from doc_pipeline_tests.test_api_support import (UvicornThread, auth, client, ctx, embedded_env,  # noqa: F401
                                                 encrypt_pdf, make_pdf, make_png, reset_caches)


def _raw_keys() -> list[str]:
    return [o.key for o in ctx().store.list("raw/")]


def _doc_count() -> int:
    with ctx().db.session() as s:
        return len(s.scalars(select(Document)).all())


def test_upload_valid_pdf_is_stored_under_raw_with_its_row(client):
    pdf = make_pdf(2)
    r = client.post("/uploads", files={"file": ("../../evil name.pdf", pdf, "text/plain")},
                    data={"applicant_id": "A-1", "doc_type_hint": "pay_stub"}, headers=auth("alice"))
    assert r.status_code == 201, r.text
    body = r.json()
    doc_id = body["doc_id"]
    assert len(doc_id) == 32 and body["raw_key"] == f"raw/{doc_id}.pdf"
    assert body["media_type"] == "application/pdf" and body["size"] == len(pdf)
    c = ctx()
    assert c.store.get_bytes(f"raw/{doc_id}.pdf") == pdf
    with c.db.session() as s:
        doc = s.get(Document, doc_id)
        audits = s.scalars(select(AuditLog).where(AuditLog.doc_id == doc_id)).all()
    assert (doc.owner, doc.source, doc.status, doc.applicant_id, doc.doc_type_hint) == \
        ("alice", "api", "queued", "A-1", "pay_stub")
    assert doc.source_name == "evil name.pdf"  # base name only
    assert [a.action for a in audits] == ["document.upload"] and audits[0].actor == "alice" and audits[0].ip


def test_upload_type_is_judged_by_content_not_name(client):
    r = client.post("/uploads", files={"file": ("scan.pdf", make_png(), "application/pdf")}, headers=auth())
    assert r.status_code == 201 and r.json()["raw_key"].endswith(".png")
    r = client.post("/uploads", files={"file": ("doc.pdf", b"PK\x03\x04 not really a pdf", "application/pdf")},
                    headers=auth())
    assert r.status_code == 415 and "ZIP" in r.json()["detail"]
    assert client.post("/uploads", files={"file": ("e.pdf", b"", "application/pdf")}, headers=auth()).status_code == 422
    assert len(_raw_keys()) == 1 and _doc_count() == 1


def test_encrypted_and_corrupt_pdfs_are_refused(client, tmp_path):
    locked = encrypt_pdf(make_pdf(1), tmp_path)
    r = client.post("/uploads", files={"file": ("locked.pdf", locked)}, headers=auth())
    assert r.status_code == 422
    assert r.json()["detail"] == "encrypted PDF: remove the password and upload again"
    truncated = make_pdf(3)[:200]
    r = client.post("/uploads", files={"file": ("bad.pdf", truncated)}, headers=auth())
    assert r.status_code == 422 and "damaged PDF" in r.json()["detail"]
    assert _raw_keys() == [] and _doc_count() == 0


def test_page_limit_is_413(client, monkeypatch):
    monkeypatch.setenv("DOCPIPE_MAX_PAGES", "2")
    reset_caches()
    r = client.post("/uploads", files={"file": ("long.pdf", make_pdf(3))}, headers=auth())
    assert r.status_code == 413 and "3 pages" in r.json()["detail"]
    assert client.post("/uploads", files={"file": ("ok.pdf", make_pdf(2))}, headers=auth()).status_code == 201


def test_oversize_by_declared_length_is_413_and_leaves_nothing(client, monkeypatch):
    monkeypatch.setenv("DOCPIPE_MAX_UPLOAD_BYTES", "5000")
    reset_caches()
    big = make_pdf(1) + b"%" * 200_000
    r = client.post("/uploads", files={"file": ("big.pdf", big)}, headers=auth())
    assert r.status_code == 413
    # just over the file limit but inside the multipart allowance: caught on the exact file size
    r = client.post("/uploads", files={"file": ("big.pdf", make_pdf(1) + b"%" * 5000)}, headers=auth())
    assert r.status_code == 413
    assert _raw_keys() == [] and _doc_count() == 0


def test_oversize_is_cut_off_while_streaming(embedded_env, monkeypatch):
    """A chunked body (no Content-Length) to a real server: the 413 comes back while the client is still
    sending, i.e. the server neither waits for nor keeps the whole body."""
    import socket

    from api.main import app

    monkeypatch.setenv("DOCPIPE_MAX_UPLOAD_BYTES", "100000")
    reset_caches()
    c = ctx()
    with UvicornThread(app) as srv:
        pr = httpx.post(f"{srv.url}/uploads/presign", json={"filename": "x.pdf"}, headers=auth("alice"))
        assert pr.status_code == 200, pr.text
        path = pr.json()["url"].split("8000", 1)[1]
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                         f"Content-Type: application/pdf\r\n\r\n".encode())
            chunk = make_pdf(1) + b"%" * 65536
            for _ in range(4):  # ~260 KB of a body that never ends
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert [o.key for o in c.store.list("raw/")] == []


def test_presign_local_then_put(client):
    r = client.post("/uploads/presign", json={"filename": "stmt.pdf", "applicant_id": "A-9"}, headers=auth("bob"))
    assert r.status_code == 200, r.text
    p = r.json()
    doc_id = p["doc_id"]
    assert p["url"].startswith(f"http://127.0.0.1:8000/uploads/{doc_id}?token=") and p["raw_key"] == f"raw/{doc_id}.pdf"
    with ctx().db.session() as s:
        doc = s.get(Document, doc_id)
        assert (doc.owner, doc.status, doc.applicant_id) == ("bob", "queued", "A-9")
    path = p["url"].split("8000", 1)[1]
    pdf = make_pdf(1)
    assert client.put(path.replace("token=", "token=x"), content=pdf).status_code == 401
    assert client.put(f"/uploads/{'0' * 32}?{path.split('?')[1]}", content=pdf).status_code == 401  # other doc
    assert client.put(path, content=b"GIF89a....").status_code == 415
    r = client.put(path, content=pdf)
    assert r.status_code == 201, r.text
    assert ctx().store.get_bytes(f"raw/{doc_id}.pdf") == pdf
    assert client.put(path, content=pdf).status_code == 409  # raw files are never replaced
    # the upload token is not an access token
    assert client.get(f"/status/{doc_id}", headers={"Authorization": f"Bearer {path.split('token=')[1]}"}
                      ).status_code == 401


def test_reviewers_cannot_upload(client):
    r = client.post("/uploads", files={"file": ("a.pdf", make_pdf(1))}, headers=auth("rita", "reviewer"))
    assert r.status_code == 403


def test_upload_many_files_with_metadata(client):
    """POST /upload: several files in one request, each with its own doc_id, status_url and result_url; one bad
    file refuses the whole request and stores nothing."""
    files = [("files", ("a.pdf", make_pdf(), "application/pdf")), ("files", ("b.png", make_png(), "image/png"))]
    r = client.post("/upload", files=files, data={"applicant_id": "A-7", "doc_type": "invoice", "source": "portal"},
                    headers=auth("alice"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body) == 2 and body[0]["doc_id"] != body[1]["doc_id"]
    assert body[0]["result_url"] == f"/result/{body[0]['doc_id']}" and body[1]["media_type"] == "image/png"
    with ctx().db.session() as s:
        assert s.get(Document, body[0]["doc_id"]).doc_type_hint == "invoice"
    before = _raw_keys()
    bad = [("files", ("ok.pdf", make_pdf(), "application/pdf")), ("files", ("evil.pdf", b"PK\x03\x04zip", "application/pdf"))]
    r = client.post("/upload", files=bad, headers=auth("alice"))
    assert r.status_code == 415 and "evil.pdf" in r.json()["detail"]
    assert _raw_keys() == before
