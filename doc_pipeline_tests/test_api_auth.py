"""JWT checks on the real app: every rejection case, RS256 via a JWKS served over HTTP, startup without a secret,
the development secret, roles and the per-token rate limit."""

from __future__ import annotations

import base64
import json
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from doc_pipeline_tests.test_api_support import (SECRET, auth, client, embedded_env, reset_caches,  # noqa: F401
                                                 seed_document, token)

DOC = "d" * 32


def _claims(**over):
    now = int(time.time())
    base = {"sub": "alice", "role": "uploader", "iat": now, "exp": now + 300, "aud": "doc-pipeline",
            "iss": "doc-pipeline"}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _get(client, tok: str):
    return client.get(f"/status/{DOC}", headers={"Authorization": f"Bearer {tok}"})


def test_a_good_token_works(client):
    seed_document(DOC, owner="alice")
    assert _get(client, token("alice")).status_code == 200


@pytest.mark.parametrize("case", ["missing", "garbage", "expired", "forged", "wrong_audience", "wrong_issuer",
                                  "alg_none", "no_role", "unknown_role", "no_exp"])
def test_bad_tokens_are_401(client, case):
    seed_document(DOC, owner="alice")
    toks = {
        "garbage": "not.a.jwt",
        "expired": jwt.encode(_claims(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200), SECRET, "HS256"),
        "forged": jwt.encode(_claims(), "some-other-secret-of-sufficient-length-1234", "HS256"),
        "wrong_audience": jwt.encode(_claims(aud="another-service"), SECRET, "HS256"),
        "wrong_issuer": jwt.encode(_claims(iss="https://evil.example"), SECRET, "HS256"),
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(role='admin'))}.",
        "no_role": jwt.encode(_claims(role=None), SECRET, "HS256"),
        "unknown_role": jwt.encode(_claims(role="superuser"), SECRET, "HS256"),
        "no_exp": jwt.encode(_claims(exp=None), SECRET, "HS256"),
    }
    if case == "missing":
        r = client.get(f"/status/{DOC}")
    else:
        r = _get(client, toks[case])
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_reasons_are_specific(client):
    r = _get(client, jwt.encode(_claims(exp=int(time.time()) - 3600), SECRET, "HS256"))
    assert r.json()["detail"] == "token expired"
    r = _get(client, jwt.encode(_claims(aud="x"), SECRET, "HS256"))
    assert "audience" in r.json()["detail"]


def test_roles_are_enforced(client):
    seed_document(DOC, owner="alice")
    assert client.get("/flagged", headers=auth("alice", "uploader")).status_code == 403
    assert client.get("/flagged", headers=auth("rita", "reviewer")).status_code == 200
    assert client.get("/flagged", headers=auth("root", "admin")).status_code == 200
    assert client.get("/health").status_code == 200  # no auth


def test_rate_limit_per_token(client, monkeypatch):
    monkeypatch.setenv("DOCPIPE_RATE_LIMIT_PER_SECOND", "0.01")
    monkeypatch.setenv("DOCPIPE_RATE_LIMIT_BURST", "3")
    reset_caches()
    seed_document(DOC, owner="alice")
    codes = [client.get(f"/status/{DOC}", headers=auth("alice")).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = client.get(f"/status/{DOC}", headers=auth("alice"))
    assert int(r.headers["retry-after"]) >= 1
    # another subject has its own bucket
    assert client.get(f"/status/{DOC}", headers=auth("root", "admin")).status_code == 200


def test_refuses_to_start_without_a_secret(embedded_env, monkeypatch):
    from fastapi.testclient import TestClient

    from api.main import app
    from doc_pipeline.auth import AuthConfigError

    monkeypatch.delenv("DOCPIPE_JWT_SECRET")
    monkeypatch.setenv("DOCPIPE_AUTH_DEV_SECRET", "false")
    reset_caches()
    with pytest.raises(AuthConfigError, match="DOCPIPE_JWT_SECRET"):
        with TestClient(app):
            pass


def test_dev_secret_is_generated_once_with_0600(embedded_env, monkeypatch):
    from fastapi.testclient import TestClient

    from api.main import app
    from doc_pipeline.auth import mint_token, resolve_secret

    monkeypatch.delenv("DOCPIPE_JWT_SECRET")
    reset_caches()  # embedded default (no DOCPIPE_DATABASE_URL): the dev secret is on
    with TestClient(app) as c:
        path = embedded_env / "jwt_secret"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        first = path.read_text()
        assert len(first) >= 40 and resolve_secret() == first
        seed_document(DOC, owner="alice")
        assert _get(c, mint_token("alice", "uploader", 60)).status_code == 200
    reset_caches()
    assert resolve_secret() == first  # stable across restarts


class _Jwks(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_rs256_via_jwks(embedded_env, monkeypatch):
    from cryptography.hazmat.primitives.asymmetric import rsa
    from fastapi.testclient import TestClient

    from api.main import app

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    handler = type("H", (_Jwks,), {"body": json.dumps({"keys": [jwk]}).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("DOCPIPE_JWT_ALGORITHM", "RS256")
        monkeypatch.setenv("DOCPIPE_JWT_JWKS_URL", f"http://127.0.0.1:{server.server_port}/jwks.json")
        reset_caches()
        with TestClient(app) as c:
            seed_document(DOC, owner="alice")
            good = jwt.encode(_claims(), key, "RS256", headers={"kid": "k1"})
            assert _get(c, good).status_code == 200
            assert _get(c, jwt.encode(_claims(), other, "RS256", headers={"kid": "k1"})).status_code == 401
            assert _get(c, jwt.encode(_claims(), key, "RS256", headers={"kid": "nope"})).status_code == 401
            assert _get(c, jwt.encode(_claims(aud="x"), key, "RS256", headers={"kid": "k1"})).status_code == 401
            # HS256 tokens (even signed with the configured HS secret) are refused in RS256 mode
            assert _get(c, jwt.encode(_claims(), SECRET, "HS256", headers={"kid": "k1"})).status_code == 401
            # an IdP's "roles" list works too
            multi = jwt.encode(_claims(role=None, roles=["uploader", "admin"], sub="idp-user"), key, "RS256",
                               headers={"kid": "k1"})
            assert c.get("/flagged", headers={"Authorization": f"Bearer {multi}"}).status_code == 200
    finally:
        server.shutdown()


def test_verified_token_cache_never_outlives_expiry_or_a_secret_change():
    from doc_pipeline import auth as auth_mod
    from doc_pipeline.auth import AuthError, AuthSettings, mint_token, verify_token

    a = AuthSettings(jwt_secret="s" * 40, jwt_leeway_s=0)
    tok = mint_token("carol", "reviewer", 2, auth=a)
    assert verify_token(tok, auth=a).sub == "carol"
    assert verify_token(tok, auth=a).sub == "carol"  # the cached answer
    # the same token under other settings (a rotated secret) is checked again, and fails
    with pytest.raises(AuthError):
        verify_token(tok, auth=AuthSettings(jwt_secret="t" * 40))
    # past its exp the cached entry is not used: decode runs and says expired
    time.sleep(3.2)
    with pytest.raises(AuthError, match="expired"):
        verify_token(tok, auth=a)
    assert len(auth_mod._VERIFIED) <= auth_mod.VERIFIED_CACHE_SIZE
