from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from doc_pipeline.search.base import SearchBackend, SearchDoc, SearchHit, SearchQuery, SearchResults

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY, doc_type TEXT, applicant_id TEXT, owner TEXT, source_name TEXT,
    created_at TEXT, fields TEXT
);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(doc_id UNINDEXED, body, tokenize='porter unicode61');
"""


def _fts_query(q: str) -> str:
    # every user term quoted: FTS5 syntax in user input must never raise
    terms = [t.replace('"', '""') for t in q.split() if t.strip()]
    return " ".join(f'"{t}"' for t in terms)


class EmbeddedSearch(SearchBackend):
    """SQLite FTS5 in one file: BM25 ranking, porter stemming, snippets with highlights."""

    name = "embedded"

    def __init__(self, path: str | Path):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._conn() as c:
            c.executescript(_SCHEMA)

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        c = sqlite3.connect(self.path, timeout=30)
        try:
            c.execute("PRAGMA journal_mode=WAL")
            with c:  # commits, or rolls back on an error
                yield c
        finally:
            c.close()  # sqlite3's own `with` only ends the transaction; closed here, not left to the collector

    def index(self, doc: SearchDoc) -> None:
        import json

        body = doc.text + "\n" + "\n".join(f"{k}: {v}" for k, v in doc.fields.items())
        with self._lock, self._conn() as c:
            c.execute("DELETE FROM docs WHERE doc_id=?", (doc.doc_id,))
            c.execute("DELETE FROM docs_fts WHERE doc_id=?", (doc.doc_id,))
            c.execute("INSERT INTO docs VALUES (?,?,?,?,?,?,?)",
                      (doc.doc_id, doc.doc_type, doc.applicant_id, doc.owner, doc.source_name,
                       (doc.created_at or datetime.utcnow()).isoformat(), json.dumps(doc.fields)))
            c.execute("INSERT INTO docs_fts(doc_id, body) VALUES (?,?)", (doc.doc_id, body))

    def delete(self, doc_id: str) -> None:
        with self._lock, self._conn() as c:
            c.execute("DELETE FROM docs WHERE doc_id=?", (doc_id,))
            c.execute("DELETE FROM docs_fts WHERE doc_id=?", (doc_id,))

    def search(self, query: SearchQuery) -> SearchResults:
        match = _fts_query(query.q)
        if not match:
            return SearchResults(total=0, hits=[])
        where, params = ["docs_fts MATCH ?"], [match]
        for col, val in (("d.doc_type", query.doc_type), ("d.applicant_id", query.applicant_id),
                         ("d.owner", query.owner)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        if query.date_from:
            where.append("substr(d.created_at,1,10) >= ?")
            params.append(query.date_from.isoformat())
        if query.date_to:
            where.append("substr(d.created_at,1,10) <= ?")
            params.append(query.date_to.isoformat())
        sql_where = " AND ".join(where)
        with self._conn() as c:
            total = c.execute(f"SELECT count(*) FROM docs_fts JOIN docs d USING(doc_id) WHERE {sql_where}",
                              params).fetchone()[0]
            rows = c.execute(
                f"SELECT d.doc_id, bm25(docs_fts), d.doc_type, d.applicant_id, d.source_name, "
                f"snippet(docs_fts, 1, '<mark>', '</mark>', '…', 12) "
                f"FROM docs_fts JOIN docs d USING(doc_id) WHERE {sql_where} ORDER BY bm25(docs_fts) LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset]).fetchall()
        hits = [SearchHit(doc_id=r[0], score=-float(r[1]), doc_type=r[2], applicant_id=r[3], source_name=r[4],
                          highlights=[r[5]]) for r in rows]
        return SearchResults(total=total, hits=hits)

    def count(self) -> int:
        with self._conn() as c:
            return c.execute("SELECT count(*) FROM docs").fetchone()[0]
