"""Audit trail: who read or changed which document or decision, when, and from where."""

from __future__ import annotations

from fastapi import Request

from doc_pipeline.auth import Principal
from doc_pipeline.db import Database
from doc_pipeline.db.repo import audit, clean_text

from api.deps import client_ip


def sanitise(value, limit: int = 500):
    """Control characters out, lengths capped, nesting kept small: audit details are for people to read."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, dict):
        return {clean_text(str(k), 64): sanitise(v, limit) for k, v in list(value.items())[:50]}
    if isinstance(value, (list, tuple)):
        return [sanitise(v, limit) for v in list(value)[:100]]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return clean_text(str(value), limit)


def record(db: Database, request: Request, principal: Principal, action: str, doc_id: str | None = None,
           detail: dict | None = None) -> None:
    audit(db, actor=clean_text(principal.sub, 128), action=action, doc_id=doc_id,
          detail=sanitise(detail) if detail else None, role=principal.role, ip=client_ip(request))
