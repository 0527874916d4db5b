"""The REST API: `uvicorn api.main:app` (or `doc-pipeline serve`). It never runs pipeline steps itself: uploads
go to raw/ and reprocess/review requests to the DB, and the pipeline's sensors act on them."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool

from doc_pipeline.auth import check_auth_config, reload_auth_settings
from doc_pipeline.core.errors import DocumentError
from doc_pipeline.settings import get_settings
from doc_pipeline.storage import StorageError

from api.routers import ops, results, retry, review, search, status, uploads
from api.web import install as install_web

log = logging.getLogger("docpipe.api")

UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and form fields around the file
JSON_BODY_LIMIT = 1 << 20

DESCRIPTION = """Upload loan/KYC documents, follow their processing, read the extracted text, fields and tables,
review flagged documents and search.

**Auth**: every endpoint except `/health` (and `/metrics` when `DOCPIPE_METRICS_PUBLIC=true`) needs
`Authorization: Bearer <JWT>`. Roles: `uploader` (own documents), `reviewer` (the flagged queue), `admin` (all).
Mint a token with `doc-pipeline token --sub alice --role uploader`.
"""


class BodyLimitMiddleware:
    """Refuse request bodies over the limit while they stream in (413), not after reading them whole."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        is_upload = scope["path"].startswith("/uploads") and not scope["path"].endswith("/presign")
        limit = get_settings().max_upload_bytes + UPLOAD_OVERHEAD if is_upload else JSON_BODY_LIMIT
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            resp = JSONResponse({"detail": f"request body larger than the limit of {limit} bytes"}, status_code=413)
            return await resp(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # raised inside the endpoint's body reading: FastAPI answers 413
                    raise HTTPException(status_code=413, detail=f"request body larger than the limit of {limit} bytes")
            return message

        return await self.app(scope, limited_receive, send)


def open_metadata_db() -> None:
    """Open the metadata DB (engine, Alembic's check that the schema is at head) before the worker takes requests.
    Done lazily, it fell on a worker's first request: Alembic's import and migration check took 0.3-1 s, during
    which every request queued on that worker waited (the p95 of a load test that starts with cold workers). A DB
    that is down does not stop the API from starting: its routes answer 503 and the DB is opened on a later request."""
    from doc_pipeline.db import get_database

    try:
        get_database(get_settings().db_url)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the DB; requests will report it
        log.warning("metadata DB not opened at start-up (%s: %s); will retry on use", type(exc).__name__,
                    str(exc).splitlines()[0][:300] if str(exc) else "")


@asynccontextmanager
async def lifespan(app: FastAPI):
    # refuse to start without a way to check tokens (clear message instead of 401s for everyone)
    check_auth_config(reload_auth_settings(), get_settings())
    await run_in_threadpool(open_metadata_db)
    yield


def _db_unavailable(request: Request, exc: Exception) -> JSONResponse:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300] if str(exc) else type(exc).__name__
    log.warning("metadata DB unavailable on %s %s: %s", request.method, request.url.path, reason)
    return JSONResponse({"detail": f"metadata database unavailable: {reason}"}, status_code=503,
                        headers={"Retry-After": "5"})


def _store_unavailable(request: Request, exc: StorageError) -> JSONResponse:
    return JSONResponse({"detail": f"object store unavailable: {str(exc)[:300]}"}, status_code=503,
                        headers={"Retry-After": "5"})


def _document_error(request: Request, exc: DocumentError) -> JSONResponse:
    return JSONResponse({"detail": exc.reason, "code": exc.code}, status_code=422)


def create_app() -> FastAPI:
    app = FastAPI(title="doc-pipeline API", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.add_middleware(BodyLimitMiddleware)
    app.add_exception_handler(OperationalError, _db_unavailable)
    app.add_exception_handler(DBAPIError, _db_unavailable)
    app.add_exception_handler(StorageError, _store_unavailable)
    app.add_exception_handler(DocumentError, _document_error)
    for r in (uploads, status, results, retry, review, search, ops):
        app.include_router(r.router)
    install_web(app)  # review UI: /review, /view/{doc_id}, page images, static assets
    return app


app = create_app()
