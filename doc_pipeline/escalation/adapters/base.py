"""The cloud OCR adapter contract and everything the three vendors share: mock mode, cache, rate limit, retries.

Every adapter returns one vendor-neutral dict:

    {"pages": [{"page_no": 1, "width": 8.5, "height": 11.0, "unit": "inch",   # vendor's own page size, if it gives one
                "text": "...",
                "words": ["Invoice", ...],                # parallel lists, one entry per word:
                "bboxes": [[x0, y0, x1, y1], ...],        #   fractions of the page, origin top-left
                "confidences": [0.99, ...],               #   0..1
                "word_lines": [0, ...],                   #   index into "lines"
                "lines": [{"text", "bbox", "confidence"}],
                "tables": [{"bbox", "rows": [[str]], "confidence"}],
                "key_values": [{"key", "value", "confidence", "key_bbox", "value_bbox"}]}],
     "meta": {"vendor", "engine", "mock", "cached", "content_hash", "features", "page_count", ...}}

doc_pipeline.escalation.mapper turns it into the project's models (points, origin top-left).
"""

from __future__ import annotations

import abc
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

from doc_pipeline.core.models import Page
from doc_pipeline.core.sniff import sniff_media_type
from doc_pipeline.escalation.cache import cache_get, cache_put, content_hash
from doc_pipeline.escalation.errors import EscalationError, MockNotAllowedError
from doc_pipeline.escalation.ratelimit import bucket_for
from doc_pipeline.escalation.retry import call_with_backoff
from doc_pipeline.escalation.settings import EscalationSettings, get_escalation_settings
from doc_pipeline.storage.base import ObjectStore

log = logging.getLogger(__name__)

_KV_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 .#/&'()-]{0,40}?)\s*[:]\s*(\S.*?)\s*$")


def sniff_mime(content: bytes | None, key: str = "") -> str:
    """The content's media type by magic bytes (core.sniff), else by the key's extension."""
    found = sniff_media_type((content or b"")[:1024])
    if found:
        return found
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    return {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
            "tif": "image/tiff", "tiff": "image/tiff"}.get(ext, "application/octet-stream")


def empty_page(page_no: int, width: float | None = None, height: float | None = None, unit: str = "ratio") -> dict:
    return {"page_no": page_no, "width": width, "height": height, "unit": unit, "text": "", "words": [],
            "bboxes": [], "confidences": [], "word_lines": [], "lines": [], "tables": [], "key_values": []}


def clamp01(v: float) -> float:
    return max(0.0, min(1.0, float(v)))


def union_bbox(boxes: list[list[float]]) -> list[float] | None:
    boxes = [b for b in boxes if b]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def mock_result_from_pages(pages: list[Page]) -> list[dict]:
    """Deterministic 'cloud' output from local OCR: same words and boxes, lines regrouped, `Key: Value` lines as
    key-value pairs, confidences lifted to 0.97 (what a cloud engine typically reports on clean text)."""
    out = []
    for n, p in enumerate(pages, start=1):
        w = p.width or 1.0
        h = p.height or 1.0
        page = empty_page(n, p.width, p.height, "points")
        by_line: dict[tuple[int, int], list[int]] = {}
        for i, word in enumerate(p.words):
            x0, y0, x1, y1 = word.bbox
            page["words"].append(word.text)
            page["bboxes"].append([clamp01(x0 / w), clamp01(y0 / h), clamp01(x1 / w), clamp01(y1 / h)])
            page["confidences"].append(0.97)
            by_line.setdefault((word.block, word.line), []).append(i)
        for idxs in by_line.values():
            page["lines"].append({"text": " ".join(page["words"][i] for i in idxs),
                                  "bbox": union_bbox([page["bboxes"][i] for i in idxs]), "confidence": 0.97})
        order = {i: li for li, (_, idxs) in enumerate(by_line.items()) for i in idxs}
        page["word_lines"] = [order[i] for i in range(len(p.words))]
        texts = [ln["text"] for ln in page["lines"]] if page["lines"] else p.text.splitlines()
        page["text"] = "\n".join(texts) if page["lines"] else p.text
        for ln in (page["lines"] or [{"text": t, "bbox": None} for t in p.text.splitlines()]):
            m = _KV_LINE.match(ln["text"])
            if m:
                page["key_values"].append({"key": m.group(1), "value": m.group(2), "confidence": 0.9,
                                           "key_bbox": ln["bbox"], "value_bbox": ln["bbox"]})
        out.append(page)
    return out


class CloudOcrAdapter(abc.ABC):
    """One vendor. Subclasses implement _call (SDK request), parse (response -> neutral dict), classify (SDK error ->
    ThrottledError / TransientVendorError / VendorError) and build_request (pure, tested without the network)."""

    vendor: str = "base"

    def __init__(self, settings: EscalationSettings | None = None, *, store: ObjectStore | None = None,
                 mock: bool | None = None, client: Any = None):
        self.settings = settings or get_escalation_settings()
        self.store = store
        self.mock = self.settings.uses_mock(self.vendor) if mock is None else mock
        if self.mock and not self.settings.mock_permitted:
            raise MockNotAllowedError(
                f"cloud OCR for {self.vendor} would run in MOCK mode (no credentials configured), which is refused "
                f"here (DOCPIPE_ENV={self.settings.env!r}, allow_mock={self.settings.allow_mock}): configure the "
                f"vendor's credentials or set DOCPIPE_ESCALATION_ENABLED=false")
        self._client = client
        rate = self.settings.rate_per_second.get(self.vendor, 1.0)
        self.bucket = bucket_for(self.vendor, rate, self.settings.burst)

    # ---- per vendor ----
    @property
    @abc.abstractmethod
    def features(self) -> list[str]: ...

    @abc.abstractmethod
    def build_request(self, bucket: str, key: str, content: bytes | None) -> dict[str, Any]: ...

    @abc.abstractmethod
    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        """One vendor request (SDK retries disabled: we own retries), returning the raw response as JSON-ish dict."""

    @abc.abstractmethod
    def parse(self, raw: dict[str, Any]) -> list[dict]: ...

    def classify(self, exc: Exception) -> Exception:
        return exc

    # ---- shared ----
    @property
    def engine(self) -> str:
        return f"{self.vendor}-mock" if self.mock else self.vendor

    @property
    def price_per_page(self) -> float:
        return 0.0 if self.mock else self.settings.price_per_page.get(self.vendor, 0.0)

    def request_digest(self, bucket: str, key: str, content: bytes | None) -> str:
        return content_hash(self.engine, self.features, content, source=f"{bucket}/{key}")

    def analyze_document(self, bucket: str, key: str, content: bytes | None = None, *,
                         hint_pages: list[Page] | None = None) -> dict[str, Any]:
        """Analyse one document (bytes, or the object bucket/key in the vendor's own storage when content is None).
        hint_pages: local OCR of the same pages, used only by mock mode."""
        digest = self.request_digest(bucket, key, content)
        meta: dict[str, Any] = {"vendor": self.vendor, "engine": self.engine, "mock": self.mock, "cached": False,
                                "content_hash": digest, "features": list(self.features), "source": f"{bucket}/{key}"}
        if self.mock:
            pages = self._mock_pages(hint_pages)
            meta.update(page_count=len(pages), note="MOCK: derived from local OCR or a fixture, not a cloud call")
            return {"pages": pages, "meta": meta}

        cached = cache_get(self.store, self.vendor, digest)
        if cached is not None:
            cached.setdefault("meta", {}).update(cached=True)
            log.info("escalation cache hit %s/%s", self.vendor, digest[:12])
            return cached

        request = self.build_request(bucket, key, content)
        attempts = 0

        def attempt() -> dict[str, Any]:
            nonlocal attempts
            attempts += 1
            self.bucket.acquire(timeout=self.settings.total_timeout_s)
            try:
                return self._call(request)
            except Exception as exc:  # SDK error -> our retry classes
                mapped = self.classify(exc)
                if mapped is exc:
                    raise
                raise mapped from exc

        t0 = time.monotonic()
        s = self.settings
        raw = call_with_backoff(attempt, max_attempts=s.max_attempts, initial=s.backoff_initial_s,
                                maximum=s.backoff_max_s, total_timeout=s.total_timeout_s, what=f"{self.vendor} analyze")
        pages = self.parse(raw)
        meta.update(page_count=len(pages), attempts=attempts, latency_s=round(time.monotonic() - t0, 3),
                    request_id=self.request_id(raw))
        result = {"pages": pages, "meta": meta}
        cache_put(self.store, self.vendor, digest, result)
        return result

    def request_id(self, raw: dict[str, Any]) -> str | None:
        return None

    def _mock_pages(self, hint_pages: list[Page] | None) -> list[dict]:
        if hint_pages:
            return mock_result_from_pages(hint_pages)
        if self.settings.mock_fixture:
            return self.parse(json.loads(Path(self.settings.mock_fixture).read_text(encoding="utf-8")))
        raise EscalationError(f"{self.engine}: mock mode needs the local OCR pages (hint_pages) or "
                              f"DOCPIPE_ESCALATION_MOCK_FIXTURE pointing at a {self.vendor} response JSON")
