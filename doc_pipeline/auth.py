"""JWT tokens shared by the API and the CLI (`doc-pipeline token`).

HS256 with a shared secret (DOCPIPE_JWT_SECRET) by default, or RS256 tokens from an identity provider whose public
keys are fetched from a JWKS URL (DOCPIPE_JWT_JWKS_URL). Audience and issuer are always checked, and only the one
configured algorithm is accepted, so `alg=none` and HS/RS confusion tokens are refused.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jwt
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from doc_pipeline.settings import Settings, get_settings

ROLES: tuple[str, ...] = ("uploader", "reviewer", "admin")
UPLOAD_PURPOSE = "upload"
_SECRET_FILE = "jwt_secret"


class AuthError(Exception):
    """The token is missing, malformed, forged, expired or meant for someone else."""


class AuthConfigError(RuntimeError):
    """The service cannot check tokens (no secret configured): refuse to start."""


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCPIPE_", extra="ignore")

    jwt_secret: str = ""
    jwt_algorithm: str = Field(default="HS256", description="HS256 (shared secret) or RS256 (JWKS)")
    jwt_jwks_url: str = ""
    jwt_audience: str = "doc-pipeline"
    jwt_issuer: str = "doc-pipeline"
    jwt_leeway_s: int = 30
    # None = on for the embedded default (no DOCPIPE_DATABASE_URL), off otherwise
    auth_dev_secret: bool | None = None
    upload_token_ttl_s: int = 900
    # rate limit per token subject: a token bucket of `burst` requests refilled at `per_second`; 0 = off
    rate_limit_per_second: float = 20.0
    rate_limit_burst: int = 100
    metrics_public: bool = False
    trust_forwarded_for: bool = False


@lru_cache(maxsize=1)
def get_auth_settings() -> AuthSettings:
    return AuthSettings()


def reload_auth_settings() -> AuthSettings:
    get_auth_settings.cache_clear()
    _jwks_client.cache_clear()
    return get_auth_settings()


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str
    claims: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _dev_secret_enabled(auth: AuthSettings, settings: Settings) -> bool:
    if auth.auth_dev_secret is not None:
        return auth.auth_dev_secret
    return not settings.database_url


def resolve_secret(auth: AuthSettings | None = None, settings: Settings | None = None) -> str:
    """The HS256 signing secret: DOCPIPE_JWT_SECRET, else (dev mode) one generated once under settings.home."""
    auth = auth or get_auth_settings()
    settings = settings or get_settings()
    if auth.jwt_secret:
        return auth.jwt_secret
    path = Path(settings.home) / _SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    if not _dev_secret_enabled(auth, settings):
        raise AuthConfigError(
            "no JWT secret: set DOCPIPE_JWT_SECRET (HS256), or DOCPIPE_JWT_ALGORITHM=RS256 with DOCPIPE_JWT_JWKS_URL, "
            "or DOCPIPE_AUTH_DEV_SECRET=true to generate a local development secret")
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together agree on one secret (the loser reads the winner's)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret)
    return secret


def check_auth_config(auth: AuthSettings | None = None, settings: Settings | None = None) -> None:
    """Raise AuthConfigError with a clear message when tokens cannot be verified."""
    auth = auth or get_auth_settings()
    if auth.jwt_algorithm == "RS256":
        if not auth.jwt_jwks_url:
            raise AuthConfigError("DOCPIPE_JWT_ALGORITHM=RS256 needs DOCPIPE_JWT_JWKS_URL")
        return
    if auth.jwt_algorithm != "HS256":
        raise AuthConfigError(f"DOCPIPE_JWT_ALGORITHM must be HS256 or RS256, not {auth.jwt_algorithm!r}")
    resolve_secret(auth, settings)


def mint_token(sub: str, role: str, ttl: int = 3600, *, extra: dict | None = None,
               auth: AuthSettings | None = None, settings: Settings | None = None) -> str:
    """An HS256 access token for `sub` with `role` (uploader | reviewer | admin), valid for `ttl` seconds."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    auth = auth or get_auth_settings()
    now = int(time.time())
    claims = {"sub": sub, "role": role, "iat": now, "nbf": now, "exp": now + int(ttl), "aud": auth.jwt_audience,
              "iss": auth.jwt_issuer, "jti": uuid.uuid4().hex, **(extra or {})}
    return jwt.encode(claims, resolve_secret(auth, settings), algorithm="HS256")


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)


def _decode(token: str, auth: AuthSettings, settings: Settings | None) -> dict:
    options = {"require": ["exp", "sub", "aud", "iss"]}
    try:
        if auth.jwt_algorithm == "RS256":
            key = _jwks_client(auth.jwt_jwks_url).get_signing_key_from_jwt(token).key
            algorithms = ["RS256"]
        else:
            key = resolve_secret(auth, settings)
            algorithms = ["HS256"]
        return jwt.decode(token, key, algorithms=algorithms, audience=auth.jwt_audience, issuer=auth.jwt_issuer,
                          leeway=auth.jwt_leeway_s, options=options)
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthError("token audience is not this service") from exc
    except jwt.InvalidIssuerError as exc:
        raise AuthError("token issuer is not trusted") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise AuthError("token algorithm not allowed") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthError("token signature is invalid") from exc
    except jwt.PyJWKClientError as exc:
        raise AuthError(f"token signing key not found: {exc}") from exc
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {exc}") from exc


_VERIFIED: "OrderedDict[str, tuple[AuthSettings, Principal, float]]" = OrderedDict()
_VERIFIED_LOCK = threading.Lock()
VERIFIED_CACHE_SIZE = 4096
VERIFIED_CACHE_TTL_S = 60.0  # a verified token is trusted again without re-checking for at most this long


def verify_token(token: str, *, auth: AuthSettings | None = None, settings: Settings | None = None) -> Principal:
    """Check signature, expiry, audience and issuer; return who the token speaks for.

    A token that passed is remembered for up to a minute (never past its `exp`, and only under the same auth
    settings object): pollers send the same token many times a second, and PyJWT's decode costs ~0.25 ms."""
    auth = auth or get_auth_settings()
    now = time.time()
    if settings is None:
        with _VERIFIED_LOCK:
            hit = _VERIFIED.get(token)
        if hit is not None and hit[0] is auth and now < hit[2]:
            return hit[1]
    principal = _verify_uncached(token, auth, settings)
    exp = principal.claims.get("exp")
    until = min(now + VERIFIED_CACHE_TTL_S, float(exp)) if isinstance(exp, (int, float)) else now + VERIFIED_CACHE_TTL_S
    if settings is None:
        with _VERIFIED_LOCK:
            _VERIFIED[token] = (auth, principal, until)
            _VERIFIED.move_to_end(token)
            while len(_VERIFIED) > VERIFIED_CACHE_SIZE:
                _VERIFIED.popitem(last=False)
    return principal


def _verify_uncached(token: str, auth: AuthSettings, settings: Settings | None) -> Principal:
    claims = _decode(token, auth, settings)
    if claims.get("purpose") == UPLOAD_PURPOSE:
        raise AuthError("an upload token cannot be used as an access token")
    role = claims.get("role")
    if role is None and isinstance(claims.get("roles"), list):
        # identity providers often send a list: take the most powerful known role
        known = [r for r in ROLES if r in claims["roles"]]
        role = known[-1] if known else None
    if role not in ROLES:
        raise AuthError(f"token has no known role (one of {', '.join(ROLES)})")
    sub = str(claims["sub"])
    if not sub:
        raise AuthError("token has an empty subject")
    return Principal(sub=sub, role=role, claims=claims)


def mint_upload_token(doc_id: str, sub: str, role: str, ttl: int | None = None,
                      auth: AuthSettings | None = None) -> str:
    """A short-lived token that allows one thing: PUT the bytes of `doc_id` (local object store presign)."""
    auth = auth or get_auth_settings()
    now = int(time.time())
    claims = {"sub": sub, "role": role, "doc_id": doc_id, "purpose": UPLOAD_PURPOSE, "iat": now,
              "exp": now + int(ttl or auth.upload_token_ttl_s), "aud": auth.jwt_audience, "iss": auth.jwt_issuer}
    # upload tokens are always signed by this service (HS256), even when access tokens come from an IdP
    return jwt.encode(claims, resolve_secret(auth), algorithm="HS256")


def verify_upload_token(token: str, doc_id: str, auth: AuthSettings | None = None) -> Principal:
    auth = auth or get_auth_settings()
    try:
        claims = jwt.decode(token, resolve_secret(auth), algorithms=["HS256"], audience=auth.jwt_audience,
                            issuer=auth.jwt_issuer, leeway=auth.jwt_leeway_s,
                            options={"require": ["exp", "sub", "doc_id", "purpose"]})
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("upload token expired") from exc
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid upload token: {exc}") from exc
    if claims.get("purpose") != UPLOAD_PURPOSE or claims.get("doc_id") != doc_id:
        raise AuthError("upload token is not for this document")
    return Principal(sub=str(claims["sub"]), role=str(claims.get("role", "uploader")), claims=claims)
