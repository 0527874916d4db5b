from __future__ import annotations

from doc_pipeline.settings import Settings, get_settings
from doc_pipeline.storage.base import ObjectStore


def make_object_store(settings: Settings | None = None) -> ObjectStore:
    s = settings or get_settings()
    if s.storage == "local":
        from doc_pipeline.storage.local import LocalObjectStore

        return LocalObjectStore(s.storage_root)
    if s.storage == "s3":
        from doc_pipeline.storage.s3 import S3ObjectStore

        return S3ObjectStore(s.s3_bucket, endpoint_url=s.s3_endpoint_url, region=s.s3_region, prefix=s.s3_prefix)
    raise ValueError(f"unknown DOCPIPE_STORAGE {s.storage!r}: use 'local' or 's3'")
