"""LLM fallback against a local fake OpenAI-compatible server: strict JSON schema request, validated answers,
invalid answers ignored, retries on 429, audit records (and logs) never holding the API key."""

from __future__ import annotations

import json
import logging

import pytest

from doc_pipeline.core.models import FieldSource
from doc_pipeline.escalation import EscalationSettings, MemoryLedger, maybe_escalate
from doc_pipeline.escalation.audit import redact
from doc_pipeline.escalation.llm import LlmFallback
from doc_pipeline_tests.test_escalation_adapters import FakeServer
from doc_pipeline_tests.test_escalation_policy import reextract, scanned_page

KEY = "sk-test-SECRET-0123456789"


def chat(content: str) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "fake-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}


def answer(*fields) -> str:
    return json.dumps({"fields": [dict(name=n, value=v, evidence=e, confidence=c) for n, v, e, c in fields]})


def openai_server(contents: list, statuses: list[int] | None = None) -> FakeServer:
    statuses = statuses or []

    def respond(req, srv):
        i = srv.count() - 1
        if req["path"] != "/v1/chat/completions":
            return 404, {}, {"error": "not found"}
        if i < len(statuses) and statuses[i] != 200:
            return statuses[i], {"Retry-After": "0"}, {"error": {"message": "rate limited"}}
        return 200, {"Content-Type": "application/json"}, chat(contents[min(i - len(statuses), len(contents) - 1)])

    return FakeServer(respond)


def settings(url: str, **kw) -> EscalationSettings:
    return EscalationSettings(**{**dict(llm_enabled=True, llm_url=f"{url}/v1", llm_model="fake-model",
                                        llm_api_key=KEY, backoff_initial_s=0.01, backoff_max_s=0.05), **kw})


PAGES = [scanned_page(1, ["ACME Corp", "Invoice No: INV-1001", "Issued 2025-03-01", "Total: 12,500.00"], 0.5)]


@pytest.fixture
def audit_log():
    records: list[tuple[str, dict]] = []
    return records


def test_valid_answer_becomes_llm_fields(audit_log):
    srv = openai_server([answer(("date", "2025-03-01", "Issued 2025-03-01", 0.93),
                                ("total", "12,500.00", "Total: 12,500.00", 0.99))])
    try:
        llm = LlmFallback(settings(srv.url), audit=lambda a, d: audit_log.append((a, d)))
        fields = llm.extract("d1", "invoice", ["date", "total"], PAGES)
        req = srv.requests[0]
        assert req["headers"]["Authorization"] == f"Bearer {KEY}"
        body = json.loads(req["body"])
        assert body["model"] == "fake-model" and body["temperature"] == 0
        rf = body["response_format"]
        assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
        item = rf["json_schema"]["schema"]["properties"]["fields"]["items"]
        assert item["properties"]["name"]["enum"] == ["date", "total"]
        assert item["additionalProperties"] is False
        assert "Invoice No: INV-1001" in body["messages"][1]["content"]
        by = {f.name: f for f in fields}
        assert by["date"].value == "2025-03-01" and by["date"].source == FieldSource.llm
        assert by["total"].confidence == 0.75  # capped at llm_max_confidence
        assert by["date"].page_no == 1 and by["date"].bbox is not None
        assert by["date"].engine == "llm:fake-model"
        assert [a for a, _ in audit_log] == ["llm.request", "llm.response"]
        assert audit_log[0][1]["messages"][1]["content"].endswith("</document>")
        assert audit_log[1][1]["valid"] is True and len(audit_log[1][1]["accepted"]) == 2
    finally:
        srv.close()


@pytest.mark.parametrize("content", [
    "this is not json",
    json.dumps({"fields": [{"name": "date", "value": "2025-03-01", "confidence": 1.7, "evidence": ""}]}),
    json.dumps({"fields": [{"name": "date", "value": "2025-03-01", "confidence": 0.9, "evidence": "",
                            "extra": 1}]}),
    json.dumps({"answer": "2025-03-01"}),
], ids=["not_json", "confidence_out_of_range", "extra_key", "wrong_shape"])
def test_invalid_answers_are_ignored_and_audited(content, audit_log):
    srv = openai_server([content])
    try:
        llm = LlmFallback(settings(srv.url), audit=lambda a, d: audit_log.append((a, d)))
        assert llm.extract("d1", "invoice", ["date"], PAGES) == []
        resp = [d for a, d in audit_log if a == "llm.response"][0]
        assert resp["valid"] is False and resp["content"] == content and resp["accepted"] == []
    finally:
        srv.close()


def test_values_not_in_the_text_or_not_requested_are_rejected(audit_log):
    srv = openai_server([answer(("date", "2024-12-31", "made up", 0.9),
                                ("total", None, "", 0.1),
                                ("iban", "DE89370400440532013000", "", 0.9))])
    try:
        llm = LlmFallback(settings(srv.url), audit=lambda a, d: audit_log.append((a, d)))
        assert llm.extract("d1", "invoice", ["date", "total"], PAGES) == []
        rejected = {r["name"]: r["reason"] for r in audit_log[-1][1]["rejected"]}
        assert rejected == {"date": "value not found in the document text", "total": "no value",
                            "iban": "not a requested field"}
    finally:
        srv.close()


def test_throttled_then_answers(audit_log):
    srv = openai_server([answer(("date", "2025-03-01", "", 0.9))], statuses=[429, 503])
    try:
        llm = LlmFallback(settings(srv.url), audit=lambda a, d: audit_log.append((a, d)))
        assert [f.value for f in llm.extract("d1", "invoice", ["date"], PAGES)] == ["2025-03-01"]
        assert srv.count() == 3
    finally:
        srv.close()


def test_unreachable_endpoint_is_audited_not_raised(audit_log):
    srv = openai_server([""], statuses=[500] * 10)
    try:
        llm = LlmFallback(settings(srv.url, llm_max_attempts=2), audit=lambda a, d: audit_log.append((a, d)))
        assert llm.extract("d1", "invoice", ["date"], PAGES) == []
        assert srv.count() == 2 and audit_log[-1][0] == "llm.error"
    finally:
        srv.close()


def test_key_never_in_audit_or_logs(caplog, audit_log):
    caplog.set_level(logging.DEBUG)
    # a document that (maliciously or not) contains the key text, and an error path that logs
    pages = [scanned_page(1, ["Invoice No: INV-1001", f"note {KEY}"], 0.5)]
    srv = openai_server([f"not json {KEY}", answer(("date", "x", "", 0.5))], statuses=[429])
    try:
        llm = LlmFallback(settings(srv.url), audit=lambda a, d: audit_log.append((a, d)))
        llm.extract("d1", "invoice", ["date"], pages)
        assert audit_log and KEY not in json.dumps(audit_log)
        assert KEY not in caplog.text
        assert "***" in json.dumps(audit_log)
    finally:
        srv.close()
    assert redact({"api_key": "abc", "nested": [{"Authorization": "Bearer z"}], "t": f"x{KEY}"}, [KEY]) == \
        {"api_key": "***", "nested": [{"Authorization": "***"}], "t": "x***"}


def test_maybe_escalate_uses_llm_for_fields_still_doubtful(monkeypatch, audit_log):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("DOCPIPE_ENV", raising=False)
    srv = openai_server([answer(("date", "2025-03-01", "Issued 2025-03-01", 0.9))])
    try:
        s = settings(srv.url, enabled=True, mode="mock", thresholds={"invoice": {"date": 0.7,
                                                                                 "total": 0.85}})
        out = maybe_escalate("d1", reextract(PAGES), PAGES, {1: b"png"}, {"priority": "high"}, None, None, reextract,
                             lambda a, d: audit_log.append((a, d)), settings=s, ledger=MemoryLedger())
        assert out.escalated and [f.name for f in out.llm_fields] == ["date"]
        got = {f.name: f for f in out.fields_result.fields}
        assert got["date"].source == FieldSource.llm and got["date"].confidence == 0.75
        assert out.still_doubtful == [] and not out.fields_result.flags
        actions = [a for a, _ in audit_log]
        assert "llm.request" in actions and "llm.response" in actions and KEY not in json.dumps(audit_log)
    finally:
        srv.close()
