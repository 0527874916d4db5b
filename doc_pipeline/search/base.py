from __future__ import annotations

import abc
from datetime import date, datetime

from pydantic import BaseModel


class SearchDoc(BaseModel):
    """What goes into the index for one document. Sensitive values are already masked."""

    doc_id: str
    text: str
    doc_type: str | None = None
    applicant_id: str | None = None
    owner: str | None = None
    source_name: str | None = None
    created_at: datetime | None = None
    fields: dict[str, str] = {}


class SearchQuery(BaseModel):
    q: str
    doc_type: str | None = None
    applicant_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    owner: str | None = None  # when set, only this owner's documents are returned
    limit: int = 20
    offset: int = 0


class SearchHit(BaseModel):
    doc_id: str
    score: float
    doc_type: str | None = None
    applicant_id: str | None = None
    source_name: str | None = None
    highlights: list[str] = []  # snippets with matches wrapped in <mark>...</mark>


class SearchResults(BaseModel):
    total: int
    hits: list[SearchHit]


class SearchBackend(abc.ABC):
    name = "base"

    @abc.abstractmethod
    def index(self, doc: SearchDoc) -> None:
        """Insert or replace by doc_id (idempotent)."""

    def index_many(self, docs: list[SearchDoc]) -> None:
        for d in docs:
            self.index(d)

    @abc.abstractmethod
    def delete(self, doc_id: str) -> None: ...

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResults: ...

    @abc.abstractmethod
    def count(self) -> int: ...

    def health(self) -> None:
        self.count()
