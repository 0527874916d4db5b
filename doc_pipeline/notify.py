"""Webhook notifications for document events (`done`, `failed`, `flagged`).

One signed JSON POST per event. Delivery is best effort: retried with exponential backoff and jitter on
connection errors, 5xx and 429, bounded by max_attempts, and it never raises into the pipeline step that
called it - the caller gets a DeliveryResult. URLs that resolve to loopback, private, link-local or other
non-public addresses are refused unless allow_private is set (a webhook URL must not become a way to reach
cloud metadata endpoints or internal services).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

log = logging.getLogger(__name__)

EVENTS = ("done", "failed", "flagged")
SIGNATURE_HEADER = "X-DocPipe-Signature"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCPIPE_WEBHOOK_", extra="ignore")

    url: str = ""  # empty = notifications off
    secret: SecretStr = SecretStr("")  # HMAC-SHA256 key; empty = unsigned (receivers should refuse that)
    timeout: float = 5.0  # seconds per attempt
    max_attempts: int = 4  # including the first
    backoff_initial: float = 0.5  # seconds before the first retry; doubles each time, plus jitter
    backoff_max: float = 10.0
    allow_private: bool = False  # True only for tests / trusted internal receivers


@dataclass
class DeliveryResult:
    delivered: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None
    url: str = ""  # scheme://host[:port]/path only: no credentials, no query string
    payload: dict = field(default_factory=dict)


class _RetryableDelivery(Exception):
    def __init__(self, reason: str, status_code: int | None = None):
        super().__init__(reason)
        self.status_code = status_code


class _Rejected(Exception):
    """The receiver answered 4xx (other than 429): retrying the same request will not help."""


class UnsafeWebhookURL(ValueError):
    pass


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str, secret: str) -> bool:
    """For receivers: does `header` (X-DocPipe-Signature) match the raw request body? Constant-time."""
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(body, secret), header.strip())


def build_payload(event: str, doc_id: str, status: str, reasons: list[str] | None = None,
                  ts: datetime | None = None) -> dict:
    return {"event": event, "doc_id": doc_id, "status": status, "reasons": list(reasons or []),
            "ts": (ts or datetime.now(timezone.utc)).isoformat()}


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable url>"
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url_is_public(url: str) -> None:
    """Raise UnsafeWebhookURL unless the URL is http(s) and EVERY address its host resolves to is public.

    Checked before each attempt. (A DNS answer that changes between this check and the connect is not covered;
    put receivers behind an egress proxy where that matters.)
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeWebhookURL(f"webhook URL must be http(s)://host/...: {redact_url(url)!r}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise UnsafeWebhookURL(f"webhook host {parts.hostname!r} does not resolve: {e}") from e
    addrs = {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos}
    blocked = sorted(str(a) for a in addrs if not _is_public(a))
    if blocked:
        raise UnsafeWebhookURL(f"webhook host {parts.hostname!r} resolves to non-public address(es) "
                               f"{', '.join(blocked)}; set DOCPIPE_WEBHOOK_ALLOW_PRIVATE=true to allow")


def deliver(payload: dict, settings: WebhookSettings, client: httpx.Client | None = None) -> DeliveryResult:
    """POST one signed payload with bounded retries. Never raises."""
    url = settings.url
    safe_url = redact_url(url)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "doc-pipeline-webhook/1"}
    secret = settings.secret.get_secret_value()
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    result = DeliveryResult(delivered=False, attempts=0, url=safe_url, payload=payload)

    def attempt(http: httpx.Client) -> None:
        result.attempts += 1
        if not settings.allow_private:
            check_url_is_public(url)
        try:
            resp = http.post(url, content=body, headers=headers)
        except httpx.TransportError as e:  # connection refused/reset, DNS, timeouts
            raise _RetryableDelivery(f"{type(e).__name__}") from e
        result.status_code = resp.status_code
        if resp.status_code in RETRY_STATUSES:
            raise _RetryableDelivery(f"HTTP {resp.status_code}", resp.status_code)
        if resp.status_code >= 300:  # 4xx other than 429, or a redirect we do not follow: retrying will not help
            raise _Rejected(f"HTTP {resp.status_code}")

    retrying = Retrying(
        stop=stop_after_attempt(max(1, settings.max_attempts)),
        # initial, 2x initial, 4x ... capped at backoff_max, each plus up to `initial` of random jitter so many
        # workers retrying against one recovering receiver do not arrive in lock-step
        wait=wait_exponential(multiplier=settings.backoff_initial, max=settings.backoff_max)
        + wait_random(0, settings.backoff_initial),
        retry=retry_if_exception_type(_RetryableDelivery),
        reraise=False,
    )
    own_client = client is None
    # follow_redirects off: a redirect to an internal address would bypass the SSRF check
    http = client or httpx.Client(timeout=settings.timeout, follow_redirects=False)
    started = time.monotonic()
    try:
        retrying(attempt, http)
        result.delivered = True
    except RetryError as e:
        last = e.last_attempt.exception()
        result.error = f"gave up after {result.attempts} attempts: {last}"
    except Exception as e:  # noqa: BLE001 - a notification must never break the pipeline
        result.error = f"{type(e).__name__}: {e}"
    finally:
        if own_client:
            http.close()
    elapsed = time.monotonic() - started
    if result.delivered:
        log.info("webhook %s for %s delivered to %s (HTTP %s, %d attempt(s), %.2fs)", payload.get("event"),
                 payload.get("doc_id"), safe_url, result.status_code, result.attempts, elapsed)
    else:
        log.warning("webhook %s for %s NOT delivered to %s: %s", payload.get("event"), payload.get("doc_id"),
                    safe_url, result.error)
    return result


def webhook_settings() -> WebhookSettings:
    """The webhook settings of the environment now: built again only when a DOCPIPE_WEBHOOK_* variable changed
    (every document calls this at its end; reading the settings anew was ~0.3 ms of validation each time)."""
    return _webhook_settings_for(tuple(sorted((k, v) for k, v in os.environ.items()
                                              if k.upper().startswith("DOCPIPE_WEBHOOK_"))))


@functools.lru_cache(maxsize=8)
def _webhook_settings_for(_env: tuple) -> WebhookSettings:
    return WebhookSettings()


def notify_document_event(event: str, doc_id: str, status: str, reasons: list[str] | None = None,
                          settings: WebhookSettings | None = None) -> DeliveryResult | None:
    """Send one document event to the configured webhook; None when no webhook URL is configured."""
    s = settings or webhook_settings()
    if not s.url:
        return None
    if event not in EVENTS:
        log.warning("unknown webhook event %r for %s: not sent (expected one of %s)", event, doc_id, EVENTS)
        return DeliveryResult(delivered=False, attempts=0, error=f"unknown event {event!r}", url=redact_url(s.url))
    return deliver(build_payload(event, doc_id, status, reasons), s)
