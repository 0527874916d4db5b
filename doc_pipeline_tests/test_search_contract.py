"""One behaviour contract for every search backend, plus the OpenSearch wire format.

The contract suite always runs against the embedded SQLite FTS5 backend, and against a real OpenSearch only
when DOCPIPE_TEST_OPENSEARCH_URL is set (e.g. http://127.0.0.1:9200). Without a server, the OpenSearch
backend's requests are checked against a local HTTP server on 127.0.0.1 that records what the real client
sends and answers with OpenSearch-shaped responses.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from opensearchpy.helpers import BulkIndexError

from doc_pipeline.search.base import SearchBackend, SearchDoc, SearchQuery, SearchResults
from doc_pipeline.search.embedded import EmbeddedSearch
from doc_pipeline.search.opensearch import (
    OpenSearchBackend,
    bulk_actions,
    index_definition,
    parse_search_response,
    search_body,
)

OPENSEARCH_URL = os.environ.get("DOCPIPE_TEST_OPENSEARCH_URL")

# ---------------------------------------------------------------------------------------------------------
# contract suite


def _ts(day: int) -> datetime:
    return datetime(2024, 3, day, 12, 0, tzinfo=timezone.utc)


CORPUS = [
    SearchDoc(doc_id="pay-1", text="Pay stub for March. Net pay 2,310.55 EUR. Employer Acme GmbH.",
              doc_type="pay_stub", applicant_id="A1", owner="alice", source_name="paystub.pdf",
              created_at=_ts(1), fields={"net_pay": "2310.55"}),
    SearchDoc(doc_id="bank-1", text="Bank statement: several payments to landlord, rent transfer to Jürgen Müller.",
              doc_type="bank_statement", applicant_id="A1", owner="alice", source_name="statement.pdf",
              created_at=_ts(10)),
    SearchDoc(doc_id="inv-1", text="Invoice 2024-117 for consulting services. Payment due within 30 days.",
              doc_type="invoice", applicant_id="B2", owner="bob", source_name="invoice.pdf",
              created_at=_ts(20), fields={"iban": "DE89 **** **** 3000"}),
]


def _ids(res: SearchResults) -> set[str]:
    return {h.doc_id for h in res.hits}


@pytest.fixture(params=["embedded", "opensearch"])
def backend(request, tmp_path) -> SearchBackend:
    if request.param == "embedded":
        yield EmbeddedSearch(tmp_path / "search.db")
        return
    if not OPENSEARCH_URL:
        pytest.skip("no OpenSearch server: set DOCPIPE_TEST_OPENSEARCH_URL=http://host:9200 to run the contract "
                    "against a real one")
    index = f"docpipe-contract-{uuid.uuid4().hex[:10]}"
    b = OpenSearchBackend(OPENSEARCH_URL, index, replicas=0)
    yield b
    b.client.indices.delete(index=index, params={"ignore_unavailable": "true"})


@pytest.fixture
def loaded(backend) -> SearchBackend:
    backend.index_many(CORPUS)
    return backend


def test_index_and_count(loaded):
    assert loaded.count() == 3


def test_reindex_same_doc_id_replaces_without_duplicate(loaded):
    loaded.index(CORPUS[2].model_copy(update={"text": "Invoice 2024-117 corrected: hourly consulting"}))
    assert loaded.count() == 3
    res = loaded.search(SearchQuery(q="corrected"))
    assert res.total == 1 and _ids(res) == {"inv-1"}
    # the old text is gone with the old version
    assert loaded.search(SearchQuery(q="due")).total == 0


def test_delete(loaded):
    loaded.delete("bank-1")
    assert loaded.count() == 2
    assert "bank-1" not in _ids(loaded.search(SearchQuery(q="landlord rent")))
    loaded.delete("never-indexed")  # no-op, no error
    assert loaded.count() == 2


def test_stemmed_word_matches(loaded):
    # "payments" in the statement and "payment" in the invoice both stem to "payment"
    assert _ids(loaded.search(SearchQuery(q="payment"))) == {"bank-1", "inv-1"}
    assert _ids(loaded.search(SearchQuery(q="services"))) == {"inv-1"}
    assert _ids(loaded.search(SearchQuery(q="service"))) == {"inv-1"}


def test_all_terms_must_match(loaded):
    assert _ids(loaded.search(SearchQuery(q="payment landlord"))) == {"bank-1"}
    assert loaded.search(SearchQuery(q="payment nonexistentword")).total == 0


def test_filters(loaded):
    q = "payment"
    assert _ids(loaded.search(SearchQuery(q=q, doc_type="invoice"))) == {"inv-1"}
    assert _ids(loaded.search(SearchQuery(q=q, applicant_id="A1"))) == {"bank-1"}
    assert _ids(loaded.search(SearchQuery(q=q, owner="bob"))) == {"inv-1"}
    assert loaded.search(SearchQuery(q=q, owner="mallory")).total == 0
    # dates are whole days, inclusive at both ends
    assert _ids(loaded.search(SearchQuery(q=q, date_from=date(2024, 3, 10), date_to=date(2024, 3, 10)))) == {"bank-1"}
    assert _ids(loaded.search(SearchQuery(q=q, date_from=date(2024, 3, 11)))) == {"inv-1"}
    assert _ids(loaded.search(SearchQuery(q=q, date_to=date(2024, 3, 19)))) == {"bank-1"}
    assert _ids(loaded.search(SearchQuery(q="pay", date_from=date(2024, 3, 2)))) == set()


def test_highlights_wrap_matches_in_mark(loaded):
    res = loaded.search(SearchQuery(q="landlord"))
    assert res.total == 1
    hit = res.hits[0]
    assert hit.doc_id == "bank-1" and hit.doc_type == "bank_statement" and hit.applicant_id == "A1"
    assert hit.source_name == "statement.pdf"
    assert any("<mark>landlord</mark>" in h for h in hit.highlights)


def test_limit_offset_and_total(loaded):
    first = loaded.search(SearchQuery(q="payment", limit=1))
    second = loaded.search(SearchQuery(q="payment", limit=1, offset=1))
    assert first.total == second.total == 2
    assert len(first.hits) == len(second.hits) == 1
    assert {first.hits[0].doc_id, second.hits[0].doc_id} == {"bank-1", "inv-1"}


def test_unicode_query(loaded):
    assert _ids(loaded.search(SearchQuery(q="Müller"))) == {"bank-1"}
    assert _ids(loaded.search(SearchQuery(q="Jürgen Müller"))) == {"bank-1"}
    assert loaded.search(SearchQuery(q="東京 ☃ Ωmega")).total == 0


@pytest.mark.parametrize("q", ['invoice"', "(invoice)", "invoice*", "invoice:", "-invoice", "invoice^", "INVOICE!"])
def test_query_syntax_characters_are_plain_text(loaded, q):
    # neither FTS5 nor OpenSearch query syntax in user input may raise; the word inside still matches
    assert _ids(loaded.search(SearchQuery(q=q))) == {"inv-1"}


@pytest.mark.parametrize("q", ['"', "AND OR NOT", 'NEAR(a b', "a:b:c [x TO y] {z} ~ / \\", "   ", "*"])
def test_query_syntax_only_never_errors(loaded, q):
    res = loaded.search(SearchQuery(q=q))
    assert isinstance(res, SearchResults)


# ---------------------------------------------------------------------------------------------------------
# OpenSearch request bodies (pure functions)


def test_index_definition_mapping():
    d = index_definition(shards=1, replicas=0)
    props = d["mappings"]["properties"]
    assert d["mappings"]["dynamic"] == "strict"
    assert props["body"] == {"type": "text", "analyzer": "docpipe_english", "index_options": "offsets"}
    for kw in ("doc_id", "doc_type", "applicant_id", "owner"):
        assert props[kw]["type"] == "keyword"
    assert props["created_at"]["type"] == "date"
    analyzer = d["settings"]["analysis"]["analyzer"]["docpipe_english"]
    filters = d["settings"]["analysis"]["filter"]
    stemmers = [filters[f] for f in analyzer["filter"] if f in filters and filters[f]["type"] == "stemmer"]
    assert {"type": "stemmer", "language": "english"} in stemmers
    assert "lowercase" in analyzer["filter"] and "asciifolding" in analyzer["filter"]
    assert d["settings"]["index"]["number_of_replicas"] == 0


def test_bulk_actions_use_doc_id_as_id():
    acts = bulk_actions("idx", [CORPUS[0], CORPUS[0]])
    assert [a["_id"] for a in acts] == ["pay-1", "pay-1"]
    assert all(a["_op_type"] == "index" and a["_index"] == "idx" for a in acts)
    src = acts[0]["_source"]
    assert src["created_at"] == "2024-03-01T12:00:00+00:00"
    assert "net_pay: 2310.55" in src["body"] and src["body"].startswith("Pay stub for March.")
    assert src["fields"] == {"net_pay": "2310.55"}


def test_search_body_filters_and_highlight():
    body = search_body(SearchQuery(q='  rent  "transfer" ', doc_type="bank_statement", applicant_id="A1",
                                   owner="alice", date_from=date(2024, 3, 1), date_to=date(2024, 3, 31),
                                   limit=5, offset=10))
    assert body["from"] == 10 and body["size"] == 5 and body["track_total_hits"] is True
    must = body["query"]["bool"]["must"]
    assert must == [{"match": {"body": {"query": 'rent "transfer"', "operator": "and"}}}]
    assert body["query"]["bool"]["filter"] == [
        {"term": {"doc_type": "bank_statement"}},
        {"term": {"applicant_id": "A1"}},
        {"term": {"owner": "alice"}},
        {"range": {"created_at": {"gte": "2024-03-01||/d", "lte": "2024-03-31||/d"}}},
    ]
    assert body["highlight"]["pre_tags"] == ["<mark>"] and body["highlight"]["post_tags"] == ["</mark>"]
    assert "body" in body["highlight"]["fields"]
    assert search_body(SearchQuery(q=" \t ")) is None


def test_parse_search_response():
    res = parse_search_response({"hits": {"total": {"value": 7, "relation": "eq"}, "hits": [
        {"_id": "d1", "_score": 2.5, "_source": {"doc_id": "d1", "doc_type": "invoice"},
         "highlight": {"body": ["an <mark>invoice</mark>"]}},
        {"_id": "d2", "_score": None, "_source": {}},
    ]}})
    assert res.total == 7
    assert [h.doc_id for h in res.hits] == ["d1", "d2"]
    assert res.hits[0].score == 2.5 and res.hits[0].highlights == ["an <mark>invoice</mark>"]
    assert res.hits[1].score == 0.0 and res.hits[1].highlights == []


# ---------------------------------------------------------------------------------------------------------
# OpenSearch wire traffic: the real opensearch-py client against a recording HTTP server on 127.0.0.1


class _RecordingOpenSearch(BaseHTTPRequestHandler):
    """Records every request; answers with canned OpenSearch-shaped JSON."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def _handle(self):
        srv = self.server
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        srv.requests.append({"method": self.command, "path": url.path, "query": parse_qs(url.query), "body": raw})
        status, payload = srv.respond(self.command, url.path, raw)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class _FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _RecordingOpenSearch)
        self.requests: list[dict] = []
        self.index_exists = False
        self.bulk_errors = False

    def respond(self, method, path, raw):
        if method == "HEAD" and path == "/docs":
            return (200 if self.index_exists else 404), None
        if method == "PUT" and path == "/docs":
            self.index_exists = True
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": "docs"}
        if method in ("POST", "PUT") and path == "/_bulk":
            lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
            items = [{"index": {"_index": a["index"]["_index"], "_id": a["index"]["_id"],
                                "status": 400 if self.bulk_errors else 201,
                                **({"error": {"type": "strict_dynamic_mapping_exception"}} if self.bulk_errors else {})}}
                     for a in lines[::2]]
            return 200, {"took": 3, "errors": self.bulk_errors, "items": items}
        if method in ("GET", "POST") and path == "/docs/_search":
            return 200, {"took": 2, "timed_out": False, "hits": {"total": {"value": 1, "relation": "eq"},
                         "max_score": 1.3, "hits": [{"_index": "docs", "_id": "bank-1", "_score": 1.3,
                                                     "_source": {"doc_id": "bank-1", "doc_type": "bank_statement",
                                                                 "applicant_id": "A1", "source_name": "s.pdf"},
                                                     "highlight": {"body": ["rent to <mark>landlord</mark>"]}}]}}
        if method in ("GET", "POST") and path == "/docs/_count":
            return (200, {"count": 3}) if self.index_exists else (404, {"error": {"type": "index_not_found_exception"},
                                                                        "status": 404})
        if method == "DELETE" and path.startswith("/docs/_doc/"):
            return 404, {"_index": "docs", "_id": path.rsplit("/", 1)[1], "result": "not_found"}
        return 400, {"error": f"unexpected {method} {path}"}


@pytest.fixture
def fake_os():
    srv = _FakeServer()
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _backend(srv) -> OpenSearchBackend:
    return OpenSearchBackend(f"http://127.0.0.1:{srv.server_address[1]}", "docs", timeout=5)


def test_wire_first_write_creates_index_then_bulk_indexes_by_doc_id(fake_os):
    b = _backend(fake_os)
    b.index(CORPUS[0])
    b.index(CORPUS[0])  # re-index: same _id, index is not created twice
    methods = [(r["method"], r["path"]) for r in fake_os.requests]
    assert methods == [("HEAD", "/docs"), ("PUT", "/docs"), ("POST", "/_bulk"), ("POST", "/_bulk")]
    assert json.loads(fake_os.requests[1]["body"]) == index_definition()
    for bulk in fake_os.requests[2:]:
        lines = bulk["body"].decode().splitlines()
        assert json.loads(lines[0]) == {"index": {"_index": "docs", "_id": "pay-1"}}
        assert json.loads(lines[1])["doc_id"] == "pay-1"
        assert bulk["query"]["refresh"] == ["wait_for"]


def test_wire_existing_index_is_not_recreated(fake_os):
    fake_os.index_exists = True
    _backend(fake_os).index_many(CORPUS)
    assert [(r["method"], r["path"]) for r in fake_os.requests] == [("HEAD", "/docs"), ("POST", "/_bulk")]
    lines = fake_os.requests[1]["body"].decode().splitlines()
    assert [json.loads(x)["index"]["_id"] for x in lines[::2]] == ["pay-1", "bank-1", "inv-1"]


def test_wire_bulk_item_errors_raise(fake_os):
    fake_os.index_exists, fake_os.bulk_errors = True, True
    with pytest.raises(BulkIndexError):
        _backend(fake_os).index(CORPUS[0])


def test_wire_search_sends_body_and_parses_highlights(fake_os):
    fake_os.index_exists = True
    q = SearchQuery(q='landlord "AND* (', applicant_id="A1", limit=3)
    res = _backend(fake_os).search(q)
    req = fake_os.requests[-1]
    assert (req["method"], req["path"]) == ("POST", "/docs/_search")
    assert json.loads(req["body"]) == search_body(q)
    assert res.total == 1 and res.hits[0].doc_id == "bank-1" and res.hits[0].score == 1.3
    assert res.hits[0].highlights == ["rent to <mark>landlord</mark>"]


def test_wire_unicode_query_is_sent_as_utf8_json(fake_os):
    fake_os.index_exists = True
    _backend(fake_os).search(SearchQuery(q="Jürgen Müller 東京"))
    sent = json.loads(fake_os.requests[-1]["body"].decode("utf-8"))
    assert sent["query"]["bool"]["must"][0]["match"]["body"]["query"] == "Jürgen Müller 東京"


def test_wire_empty_query_sends_nothing(fake_os):
    assert _backend(fake_os).search(SearchQuery(q="   ")).total == 0
    assert fake_os.requests == []


def test_wire_delete_missing_doc_is_noop_and_count(fake_os):
    b = _backend(fake_os)
    assert b.count() == 0  # index not there yet: 404 means empty
    fake_os.index_exists = True
    b.delete("gone")
    req = fake_os.requests[-1]
    assert (req["method"], req["path"]) == ("DELETE", "/docs/_doc/gone")
    assert req["query"]["refresh"] == ["wait_for"]
    assert b.count() == 3


def test_factory_builds_opensearch_backend(monkeypatch):
    from doc_pipeline.search.factory import make_search_backend
    from doc_pipeline.settings import Settings

    b = make_search_backend(Settings(search_backend="opensearch", opensearch_url="http://127.0.0.1:1",
                                     opensearch_index="idx"))
    assert isinstance(b, OpenSearchBackend) and b.index_name == "idx"


def test_embedded_index_count_and_search_leave_no_connection_open(tmp_path):
    """Each call opens its own connection and closes it when done (sqlite3's `with` alone only ends the
    transaction)."""
    b = EmbeddedSearch(tmp_path / "search.db")

    def open_handles():
        return sum(1 for fd in os.listdir("/proc/self/fd")
                   if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(tmp_path / "search.db")))

    before = open_handles()
    for i in range(20):
        b.index(SearchDoc(doc_id=f"d{i}", text=f"invoice number {i}", fields={"total": str(i)}))
    assert b.count() == 20 and b.search(SearchQuery(q="invoice")).total == 20
    assert open_handles() == before


def test_the_pipeline_resource_keeps_one_search_backend_per_configuration(docpipe_home, monkeypatch):
    from doc_pipeline.resources import DocPipelineResource

    first = DocPipelineResource().search()
    assert DocPipelineResource().search() is first  # not a new backend (and schema script) per document
    assert isinstance(first, EmbeddedSearch)
    other = DocPipelineResource(home=str(docpipe_home / "elsewhere")).search()
    assert other is not first and other.path != first.path
    pid = os.fork()
    if pid == 0:  # a forked worker makes its own
        os._exit(0 if DocPipelineResource().search() is not first else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
