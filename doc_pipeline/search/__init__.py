"""Search backends behind one interface: an embedded SQLite FTS5 index (default) and OpenSearch."""

from doc_pipeline.search.base import SearchBackend, SearchDoc, SearchHit, SearchQuery, SearchResults
from doc_pipeline.search.factory import make_search_backend

__all__ = ["SearchBackend", "SearchDoc", "SearchHit", "SearchQuery", "SearchResults", "make_search_backend"]
