"""GET /search: full-text search over processed documents."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import or_, select

from doc_pipeline.auth import Principal
from doc_pipeline.db import Document
from doc_pipeline.db.repo import clean_text
from doc_pipeline.search import SearchBackend, SearchQuery, make_search_backend
from doc_pipeline.settings import get_settings

from api.deps import Ctx, current_principal, get_ctx
from api.schemas import SearchResponse
from api.services import audit

router = APIRouter(tags=["search"])


@lru_cache(maxsize=4)
def _backend(kind: str, where: str) -> SearchBackend:
    return make_search_backend(get_settings())


def backend(ctx: Ctx) -> SearchBackend:
    s = ctx.settings
    return _backend(s.search_backend, str(s.search_path) if s.search_backend == "embedded"
                    else f"{s.opensearch_url}/{s.opensearch_index}")


@router.get("/search", response_model=SearchResponse, summary="Search documents")
def search(request: Request,
           q: str = Query(min_length=1, max_length=500, description="words to find", examples=["net pay"]),
           doc_type: str | None = Query(default=None, max_length=32, examples=["pay_stub"]),
           applicant_id: str | None = Query(default=None, max_length=128),
           date_from: date | None = Query(default=None, description="uploaded on or after (YYYY-MM-DD)"),
           date_to: date | None = Query(default=None, description="uploaded on or before (YYYY-MM-DD)"),
           limit: int = Query(default=20, ge=1, le=100), offset: int = Query(default=0, ge=0, le=10_000),
           principal: Principal = Depends(current_principal), ctx: Ctx = Depends(get_ctx)) -> SearchResponse:
    """Uploaders only ever find their own documents; reviewers find flagged documents (and their own);
    admins find everything. Highlights wrap matches in `<mark>`."""
    if date_from and date_to and date_from > date_to:
        raise HTTPException(status_code=422, detail="date_from is after date_to")
    owner = principal.sub if principal.role == "uploader" else None
    q, doc_type, applicant_id = (clean_text(v, 500) if v is not None else None for v in (q, doc_type, applicant_id))
    query = SearchQuery(q=q, doc_type=doc_type, applicant_id=applicant_id, date_from=date_from, date_to=date_to,
                        owner=owner, limit=limit, offset=offset)
    res = backend(ctx).search(query)
    hits = res.hits
    total = res.total
    if principal.role == "reviewer" and hits:
        # the index does not know about flags; keep what this reviewer may open
        with ctx.db.session() as s:
            allowed = set(s.scalars(select(Document.doc_id).where(
                Document.doc_id.in_([h.doc_id for h in hits]),
                or_(Document.flagged.is_(True), Document.owner == principal.sub))))
        total -= sum(1 for h in hits if h.doc_id not in allowed)
        hits = [h for h in hits if h.doc_id in allowed]
    audit.record(ctx.db, request, principal, "search", None, {"q": q, "returned": len(hits)})
    return SearchResponse(total=max(total, len(hits)), limit=limit, offset=offset,
                          hits=list(hits))
