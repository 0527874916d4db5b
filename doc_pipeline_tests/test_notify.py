"""Webhook notifications against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from doc_pipeline.notify import (
    SIGNATURE_HEADER,
    UnsafeWebhookURL,
    WebhookSettings,
    check_url_is_public,
    notify_document_event,
    verify_signature,
)

SECRET = "whsec-test-0123456789"


class _Receiver(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        srv = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        srv.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        n = len(srv.received)
        if n <= len(srv.script):
            status, delay = srv.script[n - 1]
        else:
            status, delay = 200, 0
        if delay:
            time.sleep(delay)
        data = b'{"ok":true}'
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and went away


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script):
        super().__init__(("127.0.0.1", 0), _Receiver)
        self.script = script  # [(status, delay_seconds)] for the first requests; 200 afterwards
        self.received: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/docpipe"


@pytest.fixture
def receiver():
    servers = []

    def start(script=()):
        srv = _ReceiverServer(list(script))
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def _settings(url: str, **kw) -> WebhookSettings:
    base = dict(url=url, secret=SECRET, allow_private=True, timeout=2.0, max_attempts=4,
                backoff_initial=0.01, backoff_max=0.05)
    base.update(kw)
    return WebhookSettings(**base)


def test_retries_two_503s_then_delivers_signed_body(receiver):
    rx = receiver([(503, 0), (503, 0)])
    res = notify_document_event("flagged", "doc-42", "needs_review", ["low OCR confidence", "iban checksum"],
                                settings=_settings(rx.url))
    assert res.delivered is True and res.attempts == 3 and res.status_code == 200 and res.error is None
    assert len(rx.received) == 3
    bodies = {r["body"] for r in rx.received}
    assert len(bodies) == 1  # every retry sends the same bytes (and so the same signature)
    body = rx.received[-1]["body"]
    payload = json.loads(body)
    assert set(payload) == {"event", "doc_id", "status", "reasons", "ts"}
    assert payload["event"] == "flagged" and payload["doc_id"] == "doc-42" and payload["status"] == "needs_review"
    assert payload["reasons"] == ["low OCR confidence", "iban checksum"]
    assert payload["ts"].endswith("+00:00")
    for r in rx.received:
        header = r["headers"][SIGNATURE_HEADER]
        assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
        assert verify_signature(r["body"], header, SECRET)
        assert r["headers"]["Content-Type"] == "application/json"
        assert r["path"] == "/hooks/docpipe"


def test_429_is_retried(receiver):
    rx = receiver([(429, 0)])
    res = notify_document_event("done", "d1", "done", settings=_settings(rx.url))
    assert res.delivered and res.attempts == 2 and len(rx.received) == 2


def test_retries_are_bounded_and_never_raise(receiver):
    rx = receiver([(503, 0)] * 10)
    res = notify_document_event("failed", "d2", "failed", ["ocr crashed"], settings=_settings(rx.url, max_attempts=3))
    assert res.delivered is False and res.attempts == 3 and len(rx.received) == 3
    assert res.status_code == 503 and "503" in res.error


def test_backoff_waits_between_attempts(receiver):
    rx = receiver([(503, 0), (503, 0)])
    t0 = time.monotonic()
    res = notify_document_event("done", "d3", "done", settings=_settings(rx.url, backoff_initial=0.2, backoff_max=1))
    elapsed = time.monotonic() - t0
    # waits 0.2 + 0.4 (+ up to 0.2 jitter each): at least 0.6 s, bounded well below the max
    assert res.delivered and 0.6 <= elapsed < 3.0


@pytest.mark.parametrize("status", [400, 404, 302])
def test_client_errors_and_redirects_are_not_retried(receiver, status):
    rx = receiver([(status, 0)])
    res = notify_document_event("done", "d4", "done", settings=_settings(rx.url))
    assert res.delivered is False and res.attempts == 1 and len(rx.received) == 1 and res.status_code == status


def test_timeouts_are_retried(receiver):
    rx = receiver([(200, 1.0)])  # first answer comes after the client has given up
    res = notify_document_event("done", "d5", "done", settings=_settings(rx.url, timeout=0.2))
    assert res.delivered and res.attempts == 2


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = notify_document_event("done", "d6", "done",
                                settings=_settings(f"http://127.0.0.1:{port}/x", max_attempts=3))
    assert res.delivered is False and res.attempts == 3 and res.status_code is None
    assert "ConnectError" in res.error


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/hook",  # the live receiver: must not be contacted
    "http://localhost:{port}/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata endpoint
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://[::1]:{port}/hook",
    "http://0.0.0.0:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
])
def test_private_addresses_refused_by_default(receiver, url):
    rx = receiver()
    url = url.format(port=rx.server_address[1])
    res = notify_document_event("done", "d7", "done", settings=_settings(url, allow_private=False))
    assert res.delivered is False and res.attempts == 1  # refused, not retried
    assert "non-public" in res.error
    assert rx.received == []
    with pytest.raises(UnsafeWebhookURL):
        check_url_is_public(url)


@pytest.mark.parametrize("url", ["ftp://8.8.8.8/x", "file:///etc/passwd", "http:///nohost"])
def test_non_http_urls_refused(url):
    with pytest.raises(UnsafeWebhookURL):
        check_url_is_public(url)
    res = notify_document_event("done", "d8", "done", settings=_settings(url, allow_private=False))
    assert res.delivered is False and res.attempts == 1


def test_public_ip_literal_passes_the_check():
    check_url_is_public("https://8.8.8.8/hook")  # no DNS needed for an IP literal; nothing is sent
    check_url_is_public("http://[2001:4860:4860::8888]:8443/hook")


def test_no_url_means_no_notification(monkeypatch):
    monkeypatch.delenv("DOCPIPE_WEBHOOK_URL", raising=False)
    assert notify_document_event("done", "d9", "done") is None
    assert notify_document_event("done", "d9", "done", settings=WebhookSettings(url="")) is None


def test_unknown_event_is_not_sent(receiver):
    rx = receiver()
    res = notify_document_event("exploded", "d10", "done", settings=_settings(rx.url))
    assert res.delivered is False and res.attempts == 0 and rx.received == []


def test_settings_from_env_and_secret_hidden(monkeypatch):
    monkeypatch.setenv("DOCPIPE_WEBHOOK_URL", "https://hooks.example.com/docpipe")
    monkeypatch.setenv("DOCPIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("DOCPIPE_WEBHOOK_TIMEOUT", "3.5")
    monkeypatch.setenv("DOCPIPE_WEBHOOK_MAX_ATTEMPTS", "6")
    monkeypatch.setenv("DOCPIPE_WEBHOOK_ALLOW_PRIVATE", "true")
    s = WebhookSettings()
    assert s.url == "https://hooks.example.com/docpipe" and s.timeout == 3.5 and s.max_attempts == 6
    assert s.allow_private is True and s.secret.get_secret_value() == SECRET
    assert SECRET not in repr(s) and SECRET not in str(s.model_dump())
    monkeypatch.delenv("DOCPIPE_WEBHOOK_ALLOW_PRIVATE")
    assert WebhookSettings().allow_private is False


def test_logs_carry_no_secrets(receiver, caplog):
    rx = receiver([(503, 0)])
    url = f"http://hookuser:hookpass@127.0.0.1:{rx.server_address[1]}/hooks?token=querysecret"
    with caplog.at_level(logging.DEBUG, logger="doc_pipeline.notify"):
        ok = notify_document_event("done", "d11", "done", settings=_settings(url))
    with caplog.at_level(logging.DEBUG, logger="doc_pipeline.notify"):
        bad = notify_document_event("done", "d12", "done", settings=_settings(url, allow_private=False))
    assert ok.delivered and not bad.delivered
    text = caplog.text + ok.url + bad.url + (bad.error or "")
    assert "d11" in caplog.text and "d12" in caplog.text
    for leaked in (SECRET, "hookpass", "querysecret"):
        assert leaked not in text
    # the receiver did get the basic-auth credentials from the URL
    assert rx.received[-1]["headers"]["Authorization"].startswith("Basic ")


def test_verify_signature():
    body = b'{"event":"done","doc_id":"x"}'
    from doc_pipeline.notify import sign

    good = sign(body, SECRET)
    assert verify_signature(body, good, SECRET)
    assert verify_signature(body, f"  {good} ", SECRET)
    assert not verify_signature(body + b" ", good, SECRET)
    assert not verify_signature(body, good, "other-secret")
    assert not verify_signature(body, "", SECRET)
    assert not verify_signature(body, good, "")
    assert not verify_signature(body, "sha256=" + "0" * 64, SECRET)


def test_unsigned_when_no_secret(receiver):
    rx = receiver()
    res = notify_document_event("done", "d13", "done", settings=_settings(rx.url, secret=""))
    assert res.delivered and SIGNATURE_HEADER not in rx.received[0]["headers"]


def test_the_environments_settings_are_read_again_only_when_a_webhook_variable_changes(monkeypatch):
    from doc_pipeline.notify import webhook_settings

    monkeypatch.delenv("DOCPIPE_WEBHOOK_URL", raising=False)
    first = webhook_settings()
    assert first.url == "" and webhook_settings() is first  # unchanged: the same object, not a new read
    monkeypatch.setenv("DOCPIPE_WEBHOOK_URL", "https://hooks.example.com/a")
    assert webhook_settings().url == "https://hooks.example.com/a"
    monkeypatch.setenv("DOCPIPE_WEBHOOK_TIMEOUT", "2.5")
    assert webhook_settings().timeout == 2.5
    monkeypatch.setenv("DOCPIPE_OTHER_SETTING", "x")  # not a webhook variable: the same settings
    assert webhook_settings() is webhook_settings()
    monkeypatch.delenv("DOCPIPE_WEBHOOK_URL")
    assert notify_document_event("done", "d13", "done") is None
