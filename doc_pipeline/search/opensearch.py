"""OpenSearch backend: the production twin of the embedded SQLite FTS5 index.

Request bodies (mapping, bulk actions, search query) and response parsing are pure functions so they can be
checked without a server; `OpenSearchBackend` only sends them with opensearch-py.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import NotFoundError

from doc_pipeline.search.base import SearchBackend, SearchDoc, SearchHit, SearchQuery, SearchResults

HIGHLIGHT_PRE, HIGHLIGHT_POST = "<mark>", "</mark>"
# only these small fields come back with hits; the body stays on the server
_HIT_SOURCE_FIELDS = ["doc_id", "doc_type", "applicant_id", "source_name"]


def index_definition(shards: int = 1, replicas: int = 1) -> dict[str, Any]:
    """Settings + mapping for the documents index.

    The body uses English stemming (so "payments" finds "payment", as porter does in the embedded index)
    and ASCII folding (so "Muller" finds "Müller"); ids and facets are keywords so filters are exact.
    """
    return {
        "settings": {
            "index": {"number_of_shards": shards, "number_of_replicas": replicas},
            "analysis": {
                "filter": {
                    "docpipe_english_stop": {"type": "stop", "stopwords": "_english_"},
                    "docpipe_english_stemmer": {"type": "stemmer", "language": "english"},
                    "docpipe_english_possessive": {"type": "stemmer", "language": "possessive_english"},
                },
                "analyzer": {
                    "docpipe_english": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["docpipe_english_possessive", "lowercase", "asciifolding",
                                   "docpipe_english_stop", "docpipe_english_stemmer"],
                    },
                },
            },
        },
        "mappings": {
            # strict: a typo in a field name is an indexing error, not a silently created field
            "dynamic": "strict",
            "properties": {
                "doc_id": {"type": "keyword"},
                # offsets in the postings: the unified highlighter need not re-analyse long OCR text
                # (and so never hits index.highlight.max_analyzed_offset on documents with many pages)
                "body": {"type": "text", "analyzer": "docpipe_english", "index_options": "offsets"},
                "doc_type": {"type": "keyword"},
                "applicant_id": {"type": "keyword"},
                "owner": {"type": "keyword"},
                "source_name": {"type": "keyword", "fields": {"text": {"type": "text", "analyzer": "docpipe_english"}}},
                "created_at": {"type": "date"},
                # kept for display only; their text is already part of `body`
                "fields": {"type": "object", "enabled": False},
            },
        },
    }


def document_body(doc: SearchDoc) -> dict[str, Any]:
    """The _source stored for one document (same body text as the embedded index builds)."""
    body = doc.text + "\n" + "\n".join(f"{k}: {v}" for k, v in doc.fields.items())
    created = doc.created_at or datetime.now(timezone.utc)
    return {
        "doc_id": doc.doc_id,
        "body": body,
        "doc_type": doc.doc_type,
        "applicant_id": doc.applicant_id,
        "owner": doc.owner,
        "source_name": doc.source_name,
        "created_at": created.isoformat(),
        "fields": dict(doc.fields),
    }


def bulk_actions(index: str, docs: list[SearchDoc]) -> list[dict[str, Any]]:
    # `index` with _id = doc_id replaces an existing document: re-indexing never duplicates
    return [{"_op_type": "index", "_index": index, "_id": d.doc_id, "_source": document_body(d)} for d in docs]


def search_body(query: SearchQuery) -> dict[str, Any] | None:
    """The _search request for a query, or None when the query has no terms (nothing can match)."""
    text = " ".join(query.q.split())
    if not text:
        return None
    filters: list[dict[str, Any]] = []
    for field, value in (("doc_type", query.doc_type), ("applicant_id", query.applicant_id),
                         ("owner", query.owner)):
        if value is not None:
            filters.append({"term": {field: value}})
    if query.date_from or query.date_to:
        rng: dict[str, str] = {}
        # whole days, inclusive on both ends, like the embedded backend's date prefix comparison
        if query.date_from:
            rng["gte"] = f"{query.date_from.isoformat()}||/d"
        if query.date_to:
            rng["lte"] = f"{query.date_to.isoformat()}||/d"
        filters.append({"range": {"created_at": rng}})
    return {
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": True,
        "_source": _HIT_SOURCE_FIELDS,
        "query": {
            "bool": {
                # `match` never parses query syntax, so quotes, AND, *, : ... in user input cannot error;
                # operator "and": every term must match, as in the embedded backend
                "must": [{"match": {"body": {"query": text, "operator": "and"}}}],
                "filter": filters,
            }
        },
        "highlight": {
            "pre_tags": [HIGHLIGHT_PRE],
            "post_tags": [HIGHLIGHT_POST],
            "fields": {"body": {"fragment_size": 150, "number_of_fragments": 3}},
        },
    }


def parse_search_response(resp: dict[str, Any]) -> SearchResults:
    hits_part = resp.get("hits", {})
    total = hits_part.get("total", 0)
    total = total.get("value", 0) if isinstance(total, dict) else int(total)
    hits = []
    for h in hits_part.get("hits", []):
        src = h.get("_source", {})
        hits.append(SearchHit(
            doc_id=src.get("doc_id") or h["_id"],
            score=float(h.get("_score") or 0.0),
            doc_type=src.get("doc_type"),
            applicant_id=src.get("applicant_id"),
            source_name=src.get("source_name"),
            highlights=list(h.get("highlight", {}).get("body", [])),
        ))
    return SearchResults(total=total, hits=hits)


class OpenSearchBackend(SearchBackend):
    """Documents in one OpenSearch index; writes are visible to the next search (refresh=wait_for)."""

    name = "opensearch"

    def __init__(self, url: str, index: str, *, client: OpenSearch | None = None, timeout: float = 10.0,
                 refresh: str | bool = "wait_for", shards: int = 1, replicas: int = 1):
        self.url = url
        self.index_name = index
        self.refresh = refresh
        self._shards, self._replicas = shards, replicas
        # credentials may be part of the URL (https://user:pass@host:9200); never logged
        self.client = client or OpenSearch(hosts=[url], timeout=timeout, max_retries=2, retry_on_timeout=True)
        self._ready = False
        self._lock = threading.Lock()

    def ensure_index(self) -> None:
        """Create the index with our mapping when it does not exist yet (once per process)."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            if not self.client.indices.exists(index=self.index_name):
                try:
                    self.client.indices.create(index=self.index_name,
                                               body=index_definition(self._shards, self._replicas))
                except Exception as e:  # another process created it between exists() and create()
                    if "resource_already_exists_exception" not in str(e):
                        raise
            self._ready = True

    def index(self, doc: SearchDoc) -> None:
        self.index_many([doc])

    def index_many(self, docs: list[SearchDoc]) -> None:
        if not docs:
            return
        self.ensure_index()
        # raises BulkIndexError listing the failed doc ids when any item is rejected
        helpers.bulk(self.client, bulk_actions(self.index_name, docs), refresh=self.refresh)

    def delete(self, doc_id: str) -> None:
        self.ensure_index()
        try:
            self.client.delete(index=self.index_name, id=doc_id, refresh=self.refresh)
        except NotFoundError:
            pass  # deleting what is not there is a no-op, as in the embedded backend

    def search(self, query: SearchQuery) -> SearchResults:
        body = search_body(query)
        if body is None:
            return SearchResults(total=0, hits=[])
        self.ensure_index()
        return parse_search_response(self.client.search(index=self.index_name, body=body))

    def count(self) -> int:
        try:
            return int(self.client.count(index=self.index_name)["count"])
        except NotFoundError:
            return 0

    def health(self) -> None:
        self.client.cluster.health(timeout="5s")
