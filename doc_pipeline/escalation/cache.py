"""Idempotency: a vendor's answer for the same bytes and feature set is stored once and reused, never paid twice."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from doc_pipeline.storage.base import ObjectStore, StorageError

log = logging.getLogger(__name__)

CACHE_PREFIX = "cache/escalation"


def content_hash(vendor: str, features: list[str] | tuple[str, ...], content: bytes | None = None,
                 source: str | None = None) -> str:
    """sha256 over vendor, sorted feature set and the document bytes (or its bucket/key when no bytes)."""
    h = hashlib.sha256()
    h.update(vendor.encode())
    h.update(b"\0" + ",".join(sorted(features)).encode() + b"\0")
    if content is not None:
        h.update(hashlib.sha256(content).digest())
    else:
        h.update(b"src:" + (source or "").encode())
    return h.hexdigest()


def cache_key(vendor: str, digest: str) -> str:
    return f"{CACHE_PREFIX}/{vendor}/{digest}.json"


def cache_get(store: ObjectStore | None, vendor: str, digest: str) -> dict[str, Any] | None:
    if store is None:
        return None
    try:
        return json.loads(store.get_bytes(cache_key(vendor, digest)))
    except KeyError:
        return None
    except (StorageError, ValueError) as exc:  # unreadable cache entry: pay again rather than fail
        log.warning("escalation cache read failed for %s: %s", digest, exc)
        return None


def cache_put(store: ObjectStore | None, vendor: str, digest: str, result: dict[str, Any]) -> None:
    if store is None:
        return
    store.put_bytes(cache_key(vendor, digest), json.dumps(result, sort_keys=True).encode(), "application/json")
