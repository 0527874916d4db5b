"""Shared fixtures and helpers for the API tests (imported by the other test_api_*.py files)."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest

SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


def make_pdf(pages: int = 1) -> bytes:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(612, 792)
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    return buf.getvalue()


def make_png(w: int = 40, h: int = 30) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), "white").save(buf, format="PNG")
    return buf.getvalue()


def encrypt_pdf(data: bytes, tmp_path) -> bytes:
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.skip("qpdf CLI not installed")
    src, dst = tmp_path / "plain.pdf", tmp_path / "locked.pdf"
    src.write_bytes(data)
    subprocess.run([qpdf, "--encrypt", "userpw", "ownerpw", "256", "--", str(src), str(dst)], check=True)
    return dst.read_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reset_caches() -> None:
    from doc_pipeline.auth import reload_auth_settings
    from doc_pipeline.settings import reload_settings

    from api import deps
    from api.routers import search

    reload_settings()
    reload_auth_settings()
    deps._store_for.cache_clear()
    search._backend.cache_clear()


@pytest.fixture
def embedded_env(tmp_path, monkeypatch):
    """The embedded default (SQLite + local folder store) under tmp_path, with a known HS256 secret."""
    for var in ("DOCPIPE_DATABASE_URL", "DOCPIPE_STORAGE", "DOCPIPE_STORAGE_PATH", "DOCPIPE_METRICS_PUBLIC",
                "DOCPIPE_JWT_ALGORITHM", "DOCPIPE_JWT_JWKS_URL", "DOCPIPE_AUTH_DEV_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCPIPE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCPIPE_JWT_SECRET", SECRET)
    monkeypatch.setenv("DOCPIPE_RATE_LIMIT_PER_SECOND", "0")
    reset_caches()
    yield tmp_path / "home"
    monkeypatch.undo()
    reset_caches()


@pytest.fixture
def client(embedded_env):
    from fastapi.testclient import TestClient

    from api.main import app

    with TestClient(app) as c:
        yield c


def token(sub: str = "alice", role: str = "uploader", ttl: int = 600, **extra) -> str:
    from doc_pipeline.auth import mint_token

    return mint_token(sub, role, ttl, extra=extra or None)


def auth(sub: str = "alice", role: str = "uploader") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, role)}"}


def ctx():
    from api.deps import make_ctx

    return make_ctx()


def seed_document(doc_id: str, owner: str = "alice", status: str = "done", flagged: bool = False, **values):
    """A processed document written straight into the DB, as the pipeline would leave it."""
    from doc_pipeline.db import Document

    c = ctx()
    now = datetime.now(timezone.utc)
    with c.db.session() as s:
        s.add(Document(doc_id=doc_id, raw_key=f"raw/{doc_id}.pdf", source="api", status=status, owner=owner,
                       flagged=flagged, created_at=now, updated_at=now, media_type="application/pdf",
                       source_name=f"{doc_id}.pdf", **values))
    return c


def seed_steps(doc_id: str, statuses: dict[str, str], run_id: str = "run-1") -> None:
    from doc_pipeline.db import StepCheckpoint

    now = datetime.now(timezone.utc)
    with ctx().db.session() as s:
        for step, st in statuses.items():
            s.add(StepCheckpoint(doc_id=doc_id, step=step, status=st, run_id=run_id, started_at=now,
                                 finished_at=now if st != "running" else None, seconds=0.5, attempts=1,
                                 error="boom" if st == "failed" else None))


def seed_field(doc_id: str, name: str, value: str, confidence: float = 0.9, ordinal: int = 0) -> None:
    from doc_pipeline.db import FieldRow

    with ctx().db.session() as s:
        s.add(FieldRow(doc_id=doc_id, name=name, ordinal=ordinal, value=value, confidence=confidence, page_no=1,
                       bbox=[10.0, 10.0, 100.0, 20.0], source="rule"))


class UvicornThread:
    """The real app served by uvicorn on 127.0.0.1 in a thread (for tests that need a real socket)."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 15
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
