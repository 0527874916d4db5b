"""Document ids: random for uploads, stable (derived from the object key) for files dropped into raw/."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import PurePosixPath

_SLUG = re.compile(r"[^a-z0-9]+")
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def new_doc_id() -> str:
    return uuid.uuid4().hex


def doc_id_for_key(key: str) -> str:
    """The same key always gives the same id: a readable slug of the file name plus a hash of the whole key."""
    name = PurePosixPath(key).name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    slug = _SLUG.sub("-", stem.lower()).strip("-")[:40] or "doc"
    return f"{slug}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}"
