"""GET /metrics (Prometheus) and GET /health."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from doc_pipeline.auth import get_auth_settings
from doc_pipeline.db import get_database
from doc_pipeline.settings import get_settings

from api.deps import Ctx, current_principal, get_ctx, object_store
from api.metrics import PipelineCollector
from api.schemas import ComponentHealth, HealthResponse
from api.services import dagster_runs

router = APIRouter(tags=["operations"])

_registry = CollectorRegistry(auto_describe=False)
_registry.register(PipelineCollector(lambda: get_database(get_settings().db_url)))


async def _metrics_auth(request: Request):
    if get_auth_settings().metrics_public:
        return None
    from fastapi.security import HTTPAuthorizationCredentials

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    creds = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if scheme.lower() == "bearer" else None
    return await current_principal(request, creds)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"example": "docs_processed_total 42.0\n"}}}})
def metrics(_=Depends(_metrics_auth)) -> Response:
    """docs_processed_total, ocr_failures_total, avg_processing_seconds, percent_flagged_for_review and the
    docpipe_processing_seconds histogram, computed from the metadata DB at scrape time. Needs a token unless
    DOCPIPE_METRICS_PUBLIC=true."""
    return Response(generate_latest(_registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}},
            summary="Reachability of the DB, the object store and Dagster's storage (no auth)")
def health(ctx: Ctx = Depends(get_ctx)):
    """200 when the metadata DB and the object store answer (status `degraded` when only Dagster's storage does
    not), 503 otherwise."""
    s = ctx.settings
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = ComponentHealth(ok=True, detail=ctx.db.engine.dialect.name)
    except Exception as exc:
        database = ComponentHealth(ok=False, detail=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    try:
        store = object_store(s)
        store.health()
        store_h = ComponentHealth(ok=True, detail=store.name)
    except Exception as exc:
        store_h = ComponentHealth(ok=False, detail=f"{type(exc).__name__}: {str(exc)[:200]}")
    try:
        dagster = ComponentHealth(ok=True, detail=dagster_runs.check_storage(s.dagster_home))
    except Exception as exc:
        dagster = ComponentHealth(ok=False, detail=f"{type(exc).__name__}: {str(exc)[:200]}")
    ok = database.ok and store_h.ok
    body = HealthResponse(status=("ok" if dagster.ok else "degraded") if ok else "down", database=database,
                          object_store=store_h, dagster=dagster)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
