"""FastAPI dependencies: settings/DB/store context, the caller (JWT), roles, rate limit, document access."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from doc_pipeline.auth import AuthError, AuthSettings, Principal, get_auth_settings, verify_token
from doc_pipeline.db import Database, Document, get_database
from doc_pipeline.settings import Settings, get_settings
from doc_pipeline.storage import ObjectStore, make_object_store

from api.ratelimit import TokenBucketLimiter

bearer = HTTPBearer(auto_error=False, description="JWT access token: `Authorization: Bearer <token>`")


@lru_cache(maxsize=8)
def _store_for(storage: str, root: str, bucket: str, endpoint: str | None, region: str, prefix: str) -> ObjectStore:
    # one store (one boto3 client) per configuration, not per request
    return make_object_store(get_settings())


def object_store(settings: Settings) -> ObjectStore:
    return _store_for(settings.storage, str(settings.storage_root), settings.s3_bucket, settings.s3_endpoint_url,
                      settings.s3_region, settings.s3_prefix)


@dataclass
class Ctx:
    """What a request works with. DB and store are opened lazily so a route only touches what it needs."""

    settings: Settings
    auth: AuthSettings

    @cached_property
    def db(self) -> Database:
        return get_database(self.settings.db_url)

    @cached_property
    def store(self) -> ObjectStore:
        return object_store(self.settings)


def make_ctx() -> Ctx:
    return Ctx(settings=get_settings(), auth=get_auth_settings())


async def get_ctx() -> Ctx:
    # async (no I/O here): FastAPI runs sync dependencies in its thread pool, a hop per dependency per request
    return make_ctx()


def client_ip(request: Request) -> str | None:
    if get_auth_settings().trust_forwarded_for:
        fwd = request.headers.get("x-forwarded-for")
        if fwd:
            return fwd.split(",")[0].strip()[:64]
    return request.client.host if request.client else None


def _limiter(request: Request, auth: AuthSettings) -> TokenBucketLimiter:
    cfg = (auth.rate_limit_per_second, auth.rate_limit_burst)
    lim = getattr(request.app.state, "limiter", None)
    if lim is None or (lim.per_second, lim.burst) != cfg:
        lim = request.app.state.limiter = TokenBucketLimiter(*cfg)
    return lim


def unauthorized(reason: str) -> HTTPException:
    return HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def current_principal(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    if creds is None or not creds.credentials:
        raise unauthorized("missing bearer token")
    auth = get_auth_settings()
    try:
        principal = verify_token(creds.credentials, auth=auth)
    except AuthError as exc:
        raise unauthorized(str(exc)) from exc
    wait = _limiter(request, auth).take(principal.sub)
    if wait > 0:
        raise HTTPException(status_code=429, detail="rate limit exceeded for this token",
                            headers={"Retry-After": str(max(1, round(wait)))})
    request.state.principal = principal
    return principal


def require_roles(*roles: str):
    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status_code=403, detail=f"this needs the role {' or '.join(roles)}")
        return principal

    return check


def can_read(principal: Principal, doc: Document) -> bool:
    """Uploaders see their own documents, reviewers the flagged queue (and their own), admins everything."""
    if principal.role == "admin":
        return True
    if doc.owner is not None and doc.owner == principal.sub:
        return True
    return principal.role == "reviewer" and bool(doc.flagged)


def load_document(ctx: Ctx, principal: Principal, doc_id: str) -> Document:
    """The document if this caller may see it; 404 otherwise (no hint whether it exists)."""
    doc = None
    if 0 < len(doc_id) <= 64:
        with ctx.db.session() as s:
            doc = s.get(Document, doc_id)
    if doc is None or not can_read(principal, doc):
        raise HTTPException(status_code=404, detail="document not found")
    return doc
