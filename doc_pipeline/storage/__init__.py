"""Object stores behind one small interface: a local folder (embedded default) and S3 (AWS, MinIO)."""

from doc_pipeline.storage.base import ObjectInfo, ObjectStore, StorageError
from doc_pipeline.storage.factory import make_object_store

__all__ = ["ObjectInfo", "ObjectStore", "StorageError", "make_object_store"]
