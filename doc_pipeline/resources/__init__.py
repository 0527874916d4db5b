"""Dagster resources wrapping the object store, metadata DB, search index and engines.

Every field defaults to the DOCPIPE_* settings, so the same definitions run on the embedded default and in
production; tests and deployments can also override fields explicitly.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from dagster import ConfigurableResource

from doc_pipeline.db.session import Database, get_database
from doc_pipeline.search import SearchBackend, make_search_backend
from doc_pipeline.settings import Settings, get_settings
from doc_pipeline.storage import ObjectStore, make_object_store


class DocPipelineResource(ConfigurableResource):
    """One handle on everything a stage needs. Empty fields mean "from settings"."""

    home: str = ""
    database_url: str = ""
    storage: str = ""
    s3_bucket: str = ""
    s3_endpoint_url: str = ""

    def settings(self) -> Settings:
        base = get_settings()
        overrides = {k: v for k, v in (("home", self.home), ("database_url", self.database_url),
                                       ("storage", self.storage), ("s3_bucket", self.s3_bucket),
                                       ("s3_endpoint_url", self.s3_endpoint_url)) if v}
        return base.model_copy(update={**overrides, **({"home": Path(self.home)} if self.home else {})})

    def db(self) -> Database:
        s = self.settings()
        return get_database(s.db_url, connect_retry_s=s.db_connect_retry_s)

    def store(self) -> ObjectStore:
        return _cached_store(self.settings())

    def search(self) -> SearchBackend:
        return _cached_search(self.settings())

    def local_raw_copy(self, key: str, version: str | None = None) -> str:
        """A local path for the raw object: the file itself for the local store, else a cached download named by
        the object's version (its sha256 or etag), so a file rewritten under the same key is downloaded again."""
        import hashlib

        store = self.store()
        if store.name == "local":
            return str(store.path(key))  # type: ignore[attr-defined]
        cache = Path(tempfile.gettempdir()) / "docpipe-cache"
        cache.mkdir(exist_ok=True)
        name = hashlib.sha256(f"{key}\0{version or store.stat(key).etag}".encode()).hexdigest() + Path(key).suffix
        dest = cache / name
        if not dest.exists():
            tmp = dest.with_suffix(dest.suffix + f".{os.getpid()}.part")
            store.download_to(key, str(tmp))
            os.replace(tmp, dest)
            _prune(cache, keep=RAW_CACHE_FILES)
        return str(dest)


RAW_CACHE_FILES = 64  # downloads kept per worker machine: enough for the documents of a few concurrent runs


def _prune(cache: Path, keep: int) -> None:
    """Drop the least recently written downloads beyond `keep` (a long-running worker must not fill its disk)."""
    def written(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except FileNotFoundError:  # pruned meanwhile by another document's thread or another worker
            return 0.0

    files = sorted((p for p in cache.iterdir() if not p.name.endswith(".part")), key=written)
    for old in files[:-keep]:
        old.unlink(missing_ok=True)


_STORES: dict[str, ObjectStore] = {}
_STORE_LOCK = threading.Lock()
# a forked worker (doc_pipeline/forked.py) makes its own clients: boto3's connection pools must not be shared
os.register_at_fork(after_in_child=_STORES.clear)


_SEARCHES: dict[str, SearchBackend] = {}
# a forked worker makes its own backend (OpenSearch's HTTP connection pool must not be shared)
os.register_at_fork(after_in_child=_SEARCHES.clear)


def _cached_search(settings: Settings) -> SearchBackend:
    """One search backend per configuration and process, as the store: index_docs asked for a new one for every
    document (the embedded index ran its schema script each time; OpenSearch got a new client)."""
    key = settings.model_dump_json(include={"search_backend", "home", "opensearch_url", "opensearch_index"})
    with _STORE_LOCK:
        if key not in _SEARCHES:
            _SEARCHES[key] = make_search_backend(settings)
        return _SEARCHES[key]


def _cached_store(settings: Settings) -> ObjectStore:
    key = settings.model_dump_json(include={"storage", "storage_path", "home", "s3_bucket", "s3_endpoint_url", "s3_prefix"})
    with _STORE_LOCK:
        if key not in _STORES:
            _STORES[key] = make_object_store(settings)
        return _STORES[key]
