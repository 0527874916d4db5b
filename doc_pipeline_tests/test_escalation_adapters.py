"""Cloud OCR adapters: request building, response parsing (recorded-shape fixtures), real SDK calls against local
HTTP servers (boto3 Textract, azure-ai-documentintelligence), backoff on throttling, cache, mock mode, rate limit."""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from doc_pipeline.core.models import FieldSource, Page, PageKind, Word
from doc_pipeline.escalation.adapters import (AzureAdapter, DocumentAIAdapter, TextractAdapter, parse_azure,
                                              parse_documentai, parse_textract)
from doc_pipeline.escalation.cache import cache_key
from doc_pipeline.escalation.errors import MockNotAllowedError, ThrottledError, VendorError
from doc_pipeline.escalation.mapper import map_result
from doc_pipeline.escalation.ratelimit import TokenBucket
from doc_pipeline.escalation.settings import DEFAULT_KV_ALIASES, EscalationSettings
from doc_pipeline.storage.local import LocalObjectStore

FIXTURES = Path(__file__).parent / "fixtures" / "cloud"
# word boxes the fixtures were recorded from, in points on a 612x792 page
EXPECTED = {"INVOICE": (72, 72, 180, 96), "INV-1001": (150, 120, 210, 132), "Total:": (72, 150, 110, 162)}


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


class FakeServer:
    """A real HTTP server on 127.0.0.1 whose answers come from `respond(method, path, headers, body)`."""

    def __init__(self, respond):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                req = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body,
                       "t": time.monotonic()}
                outer.requests.append(req)
                status, headers, payload = respond(req, outer)
                payload = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def count(self, method: str | None = None) -> int:
        return sum(1 for r in self.requests if method is None or r["method"] == method)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def textract_server(fail_first: int = 0, code: str = "ThrottlingException", status: int = 400) -> FakeServer:
    fixture = load("textract_analyze_document.json")

    def respond(req, srv):
        if srv.count() <= fail_first:
            return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "r"}, \
                {"__type": code, "message": "Rate exceeded"}
        return 200, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "req-1"}, fixture

    return FakeServer(respond)


def azure_server(fail_first: int = 0, status: int = 429, retry_after: str = "0.3") -> FakeServer:
    fixture = load("azure_analyze_result.json")

    def respond(req, srv):
        if req["method"] == "POST":
            if srv.count("POST") <= fail_first:
                return status, {"Retry-After": retry_after, "Content-Type": "application/json"}, \
                    {"error": {"code": "429", "message": "Rate limit is exceeded."}}
            return 202, {"Operation-Location": f"{srv.url}/documentintelligence/documentModels/prebuilt-layout/"
                                               f"analyzeResults/op-1?api-version=2024-11-30"}, b""
        return 200, {"Content-Type": "application/json"}, fixture

    return FakeServer(respond)


def textract_settings(url: str, **kw) -> EscalationSettings:
    base = dict(mode="real", textract_endpoint_url=url, aws_access_key_id="AKIDTEST",
                aws_secret_access_key="aws-secret-never-logged", backoff_initial_s=0.2, backoff_max_s=1.0,
                max_attempts=4, rate_per_second={"textract": 1000.0, "azure": 1000.0}, request_timeout_s=10)
    base.update(kw)
    return EscalationSettings(**base)


def azure_adapter(url: str, **kw) -> AzureAdapter:
    s = EscalationSettings(**{**dict(mode="real", azure_endpoint=url, azure_key="azure-key-never-logged",
                                     backoff_initial_s=0.2, backoff_max_s=1.0, max_attempts=4,
                                     rate_per_second={"azure": 1000.0}, request_timeout_s=10), **kw})
    a = AzureAdapter(s, store=kw.pop("store", None))
    a.poll_interval = 0.01
    return a


# ---------------- parsing: each vendor's units -> the same points ----------------

@pytest.mark.parametrize("fixture,parse", [("textract_analyze_document.json", parse_textract),
                                           ("documentai_process_response.json", parse_documentai),
                                           ("azure_analyze_result.json", parse_azure)])
def test_fixture_maps_to_points_tables_and_cloud_fields(fixture, parse):
    pages = parse(load(fixture))
    assert len(pages) == 1 and len(pages[0]["words"]) == 10
    assert len(pages[0]["bboxes"]) == len(pages[0]["confidences"]) == 10
    base = Page(page_no=3, kind=PageKind.scanned, width=612, height=792, engine="tesseract")
    out_pages, tables, fields = map_result({"pages": pages, "meta": {"engine": "vendor-x"}}, {3: base}, {1: 3},
                                           DEFAULT_KV_ALIASES)
    page = out_pages[0]
    assert page.page_no == 3 and page.engine == "vendor-x" and page.kind == PageKind.scanned
    words = {w.text: w for w in page.words}
    for text, box in EXPECTED.items():
        assert words[text].bbox == pytest.approx(box, abs=0.5), text
    assert words["INV-1001"].conf == pytest.approx(0.912)
    assert words["INV-1001"].line == words["Invoice"].line == 1 and words["INVOICE"].line == 0
    assert page.text.splitlines()[1] == "Invoice No: INV-1001"
    assert tables[0].rows == [["Item", "Amount"], ["Widget", "12,500.00"]]
    assert tables[0].page_no == 3 and tables[0].bbox == pytest.approx((72, 200, 450, 240), abs=0.5)
    by_name = {f.name: f for f in fields}
    assert by_name["invoice_number"].value == "INV-1001"
    assert by_name["invoice_number"].source == FieldSource.cloud
    assert by_name["invoice_number"].confidence == pytest.approx(0.912, abs=0.001)
    assert by_name["total"].value == "12,500.00" and by_name["total"].page_no == 3
    assert by_name["total"].bbox == pytest.approx((115, 150, 175, 162), abs=0.5)


def test_azure_pixel_units_for_images_use_page_size():
    raw = copy.deepcopy(load("azure_analyze_result.json"))
    page = raw["analyzeResult"]["pages"][0]
    page.update(unit="pixel", width=1700, height=2200)  # a 200-DPI PNG
    for w in page["words"]:
        w["polygon"] = [v * 200 for v in w["polygon"]]
    pages = parse_azure(raw)
    # without our page size: pixels at the assumed 200 DPI
    out, _, _ = map_result({"pages": pages, "meta": {}}, assume_dpi=200)
    assert (out[0].width, out[0].height) == pytest.approx((612, 792))
    assert {w.text: w.bbox for w in out[0].words}["INVOICE"] == pytest.approx((72, 72, 180, 96), abs=0.5)


def test_documentai_snake_case_dict_parses_too():
    doc = load("documentai_process_response.json")["document"]
    tok = doc["pages"][0]["tokens"][0]
    tok["layout"]["text_anchor"] = tok["layout"].pop("textAnchor")
    tok["layout"]["bounding_poly"] = {"normalized_vertices": tok["layout"].pop("boundingPoly")["normalizedVertices"]}
    pages = parse_documentai(doc)
    assert pages[0]["words"][0] == "INVOICE"
    assert pages[0]["bboxes"][0] == pytest.approx([72 / 612, 72 / 792, 180 / 612, 96 / 792])


# ---------------- request building ----------------

def test_textract_request_building():
    s = EscalationSettings(mode="real", textract_features=["FORMS", "TABLES"])
    a = TextractAdapter(s)
    req = a.build_request("bkt", "pages/d/1.png", b"\x89PNG....")
    assert req == {"operation": "analyze_document", "Document": {"Bytes": b"\x89PNG...."},
                   "FeatureTypes": ["FORMS", "TABLES"]}
    assert a.build_request("bkt", "raw/d.pdf", None)["Document"] == {"S3Object": {"Bucket": "bkt", "Name": "raw/d.pdf"}}
    plain = TextractAdapter(EscalationSettings(mode="real", textract_features=[]))
    assert plain.build_request("b", "k", b"x")["operation"] == "detect_document_text"


def test_documentai_request_building():
    s = EscalationSettings(mode="real", gcp_project="proj", gcp_location="eu", gcp_processor_id="abc123",
                           gcp_processor_version="pretrained-form-parser-v2.1-2023-06-26")
    a = DocumentAIAdapter(s)
    req = a.build_request("bkt", "pages/d/1.png", b"\x89PNG\r\n\x1a\n...")
    assert req["name"] == ("projects/proj/locations/eu/processors/abc123/processorVersions/"
                           "pretrained-form-parser-v2.1-2023-06-26")
    assert req["raw_document"] == {"content": b"\x89PNG\r\n\x1a\n...", "mime_type": "image/png"}
    gcs = a.build_request("bkt", "raw/d.pdf", None)
    assert gcs["gcs_document"] == {"gcs_uri": "gs://bkt/raw/d.pdf", "mime_type": "application/pdf"}


def test_azure_request_building():
    a = AzureAdapter(EscalationSettings(mode="real", azure_endpoint="https://x", azure_key="k"))
    req = a.build_request("b", "k", b"%PDF-1.7")
    assert req == {"model_id": "prebuilt-layout", "body": {"bytesSource": b"%PDF-1.7"}, "features": ["keyValuePairs"]}
    assert a.build_request("b", "https://host/presigned?sig=1", None)["body"] == {"urlSource": "https://host/presigned?sig=1"}
    with pytest.raises(VendorError):
        a.build_request("b", "raw/x.pdf", None)
    read = AzureAdapter(EscalationSettings(mode="real", azure_model="prebuilt-read", azure_endpoint="https://x",
                                           azure_key="k"))
    assert "features" not in read.build_request("b", "k", b"x")


# ---------------- real SDK calls against local servers ----------------

def test_textract_boto3_call_against_local_server(tmp_path):
    srv = textract_server()
    try:
        a = TextractAdapter(textract_settings(srv.url))
        result = a.analyze_document("bkt", "pages/d/1.png", b"\x89PNG-page-bytes")
        req = srv.requests[0]
        assert req["headers"]["X-Amz-Target"] == "Textract.AnalyzeDocument"
        body = json.loads(req["body"])
        assert base64.b64decode(body["Document"]["Bytes"]) == b"\x89PNG-page-bytes"
        assert body["FeatureTypes"] == ["FORMS", "TABLES"]
        assert "AKIDTEST" in req["headers"]["Authorization"]  # SigV4-signed ...
        assert "aws-secret-never-logged" not in json.dumps(req["headers"])  # ... without the secret
        assert result["meta"]["engine"] == "textract" and result["meta"]["mock"] is False
        assert result["meta"]["request_id"] == "req-1" and result["pages"][0]["words"][0] == "INVOICE"
    finally:
        srv.close()


def test_azure_sdk_call_against_local_server():
    pytest.importorskip("azure.ai.documentintelligence")
    srv = azure_server()
    try:
        result = azure_adapter(srv.url).analyze_document("b", "k", b"%PDF-1.4 page")
        post = srv.requests[0]
        assert post["path"].startswith("/documentintelligence/documentModels/prebuilt-layout:analyze?")
        assert "features=keyValuePairs" in post["path"]
        assert post["headers"]["Ocp-Apim-Subscription-Key"] == "azure-key-never-logged"
        assert base64.b64decode(json.loads(post["body"])["base64Source"]) == b"%PDF-1.4 page"
        assert srv.count("GET") >= 1  # polled the operation
        assert result["pages"][0]["key_values"][0]["value"] == "INV-1001"
    finally:
        srv.close()


# ---------------- backoff ----------------

def test_textract_throttled_twice_then_ok_backs_off():
    srv = textract_server(fail_first=2, code="ThrottlingException")
    try:
        result = TextractAdapter(textract_settings(srv.url)).analyze_document("b", "k", b"png")
        assert srv.count() == 3 and result["meta"]["attempts"] == 3
        gaps = [b["t"] - a["t"] for a, b in zip(srv.requests, srv.requests[1:])]
        # equal jitter: wait n is in [0.5, 1] x 0.2 * 2**(n-1)
        assert gaps[0] >= 0.1 and gaps[1] >= 0.2
    finally:
        srv.close()


def test_textract_provisioned_throughput_and_5xx_are_retried():
    srv = textract_server(fail_first=1, code="ProvisionedThroughputExceededException")
    try:
        TextractAdapter(textract_settings(srv.url)).analyze_document("b", "k", b"png")
        assert srv.count() == 2
    finally:
        srv.close()
    srv = textract_server(fail_first=1, code="InternalServerError", status=500)
    try:
        TextractAdapter(textract_settings(srv.url)).analyze_document("b", "k", b"png")
        assert srv.count() == 2
    finally:
        srv.close()


def test_textract_bad_document_is_not_retried_and_retries_are_bounded():
    srv = textract_server(fail_first=99, code="UnsupportedDocumentException")
    try:
        with pytest.raises(VendorError, match="UnsupportedDocumentException"):
            TextractAdapter(textract_settings(srv.url)).analyze_document("b", "k", b"png")
        assert srv.count() == 1
    finally:
        srv.close()
    srv = textract_server(fail_first=99)
    try:
        with pytest.raises(ThrottledError):
            TextractAdapter(textract_settings(srv.url, max_attempts=3, backoff_initial_s=0.01)).analyze_document(
                "b", "k", b"png")
        assert srv.count() == 3
    finally:
        srv.close()


def test_azure_429_twice_honours_retry_after():
    pytest.importorskip("azure.ai.documentintelligence")
    srv = azure_server(fail_first=2, retry_after="0.3")
    try:
        t0 = time.monotonic()
        result = azure_adapter(srv.url, backoff_initial_s=0.01).analyze_document("b", "k", b"%PDF-1.4")
        assert srv.count("POST") == 3 and result["meta"]["attempts"] == 3
        assert time.monotonic() - t0 >= 0.6  # two waits of at least Retry-After
    finally:
        srv.close()


# ---------------- cache ----------------

def test_cache_hit_does_not_call_the_server_again(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    srv = textract_server()
    try:
        a = TextractAdapter(textract_settings(srv.url), store=store)
        first = a.analyze_document("b", "k", b"same bytes")
        second = TextractAdapter(textract_settings(srv.url), store=store).analyze_document("b", "other-key", b"same bytes")
        assert srv.count() == 1
        assert first["meta"]["cached"] is False and second["meta"]["cached"] is True
        assert second["pages"] == first["pages"]
        digest = first["meta"]["content_hash"]
        assert store.exists(cache_key("textract", digest)) and cache_key("textract", digest).startswith(
            "cache/escalation/textract/")
        # different bytes or a different feature set is a different request: paid again
        a.analyze_document("b", "k", b"other bytes")
        TextractAdapter(textract_settings(srv.url, textract_features=["TABLES"]), store=store).analyze_document(
            "b", "k", b"same bytes")
        assert srv.count() == 3
    finally:
        srv.close()


# ---------------- mock mode ----------------

def _local_page() -> Page:
    words = [Word(text="Invoice", bbox=(72, 120, 120, 132), conf=0.4, line=0),
             Word(text="No:", bbox=(124, 120, 145, 132), conf=0.4, line=0),
             Word(text="INV-1001", bbox=(150, 120, 210, 132), conf=0.3, line=0)]
    return Page(page_no=1, kind=PageKind.scanned, width=612, height=792, text="Invoice No: INV-1001", words=words)


def test_mock_mode_without_keys_is_marked_and_deterministic(monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "DOCPIPE_ENV"):
        monkeypatch.delenv(var, raising=False)
    a = TextractAdapter(EscalationSettings())
    assert a.mock and a.engine == "textract-mock" and a.price_per_page == 0
    r1 = a.analyze_document("b", "k", b"img", hint_pages=[_local_page()])
    r2 = a.analyze_document("b", "k", b"img", hint_pages=[_local_page()])
    assert r1 == r2 and r1["meta"]["mock"] is True and "MOCK" in r1["meta"]["note"]
    assert r1["pages"][0]["words"] == ["Invoice", "No:", "INV-1001"]
    assert r1["pages"][0]["key_values"][0]["key"] == "Invoice No" and r1["pages"][0]["key_values"][0]["value"] == "INV-1001"
    pages, _, fields = map_result(r1, aliases=DEFAULT_KV_ALIASES)
    assert pages[0].engine == "textract-mock" and pages[0].words[2].bbox == pytest.approx((150, 120, 210, 132))
    assert fields[0].name == "invoice_number"


def test_mock_from_fixture_runs_the_vendor_parser(monkeypatch):
    monkeypatch.delenv("DOCPIPE_ENV", raising=False)
    a = AzureAdapter(EscalationSettings(vendor="azure", mock_fixture=FIXTURES / "azure_analyze_result.json"))
    r = a.analyze_document("b", "k", b"%PDF")
    assert r["meta"]["engine"] == "azure-mock" and r["pages"][0]["words"][0] == "INVOICE"


def test_mock_refused_in_production_or_when_disallowed(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("DOCPIPE_ENV", "production")
    with pytest.raises(MockNotAllowedError, match="production"):
        TextractAdapter(EscalationSettings())
    monkeypatch.delenv("DOCPIPE_ENV")
    with pytest.raises(MockNotAllowedError):
        DocumentAIAdapter(EscalationSettings(allow_mock=False))
    # configured credentials mean a real adapter, allowed in production
    monkeypatch.setenv("DOCPIPE_ENV", "production")
    assert not AzureAdapter(EscalationSettings(azure_endpoint="https://x", azure_key="k")).mock


# ---------------- rate limit ----------------

def test_token_bucket_spaces_calls():
    bucket = TokenBucket(rate_per_s=10, capacity=1)
    t0 = time.monotonic()
    for _ in range(4):
        bucket.acquire()
    assert time.monotonic() - t0 >= 0.28  # first free, then one token every 0.1 s
    assert not bucket.try_acquire()
    with pytest.raises(TimeoutError):
        TokenBucket(rate_per_s=0.1, capacity=1).acquire(2, timeout=0.05)
