"""Audit callback: every paid call, decision and LLM prompt/response is recorded; secrets never are."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

AuditFn = Callable[[str, dict], None]
SECRET_KEYS = {"api_key", "apikey", "authorization", "password", "secret", "token", "access_token",
               "aws_secret_access_key", "azure_key", "llm_api_key", "ocp-apim-subscription-key"}
REDACTED = "***"


def redact(value: Any, secrets: list[str] | tuple[str, ...] = ()) -> Any:
    """Deep copy with secret-named keys blanked and any occurrence of a known secret string replaced."""
    secrets = [s for s in secrets if s and len(s) >= 4]
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in SECRET_KEYS else redact(v, secrets)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        for s in secrets:
            value = value.replace(s, REDACTED)
        return value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def safe_audit(audit: AuditFn | None, secrets: list[str] | tuple[str, ...] = ()) -> AuditFn:
    """Wrap a callback so details are redacted and an audit failure never breaks processing."""

    def call(action: str, detail: dict) -> None:
        if audit is None:
            return
        try:
            audit(action, redact(detail, secrets))
        except Exception as exc:  # auditing must not take the pipeline down; it is logged instead
            log.error("audit %s failed: %s", action, type(exc).__name__)

    return call


def db_audit(database, actor: str = "pipeline", role: str | None = None) -> AuditFn:
    """An audit callback writing doc_pipeline.db.models.AuditLog rows (doc_id taken from detail['doc_id'])."""
    from doc_pipeline.db.models import AuditLog

    def audit(action: str, detail: dict) -> None:
        with database.session() as s:
            s.add(AuditLog(actor=actor, role=role, action=action, doc_id=detail.get("doc_id"), detail=detail))

    return audit
