from __future__ import annotations

from doc_pipeline.settings import Settings, get_settings
from doc_pipeline.search.base import SearchBackend


def make_search_backend(settings: Settings | None = None) -> SearchBackend:
    s = settings or get_settings()
    if s.search_backend == "embedded":
        from doc_pipeline.search.embedded import EmbeddedSearch

        return EmbeddedSearch(s.search_path)
    if s.search_backend == "opensearch":
        from doc_pipeline.search.opensearch import OpenSearchBackend

        return OpenSearchBackend(s.opensearch_url, s.opensearch_index)
    raise ValueError(f"unknown DOCPIPE_SEARCH_BACKEND {s.search_backend!r}: use 'embedded' or 'opensearch'")
