"""maybe_escalate: what the `fields` asset calls after local extraction.

decide -> send the chosen pages (one page per call) -> replace those pages' words/text with the cloud result ->
re-extract -> merge cloud key-values for required fields still weak -> optional LLM fallback -> flag what is still
doubtful. Every decision and call is audited; only real, non-cached calls are charged to the ledger.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from doc_pipeline.core.models import ExtractedField, FieldsResult, Flag, Page, PageKind, Table
from doc_pipeline.escalation.adapters import CloudOcrAdapter, make_adapter, sniff_mime
from doc_pipeline.escalation.audit import AuditFn, safe_audit
from doc_pipeline.escalation.cache import cache_key
from doc_pipeline.escalation.errors import EscalationError, MockNotAllowedError, OptionalDependencyError
from doc_pipeline.escalation.ledger import BudgetLedger, Ledger, MemoryLedger, utc_today
from doc_pipeline.escalation.mapper import map_result
from doc_pipeline.escalation.policy import EscalationDecision, decide_escalation, doubtful_fields
from doc_pipeline.escalation.settings import EscalationSettings, get_escalation_settings
from doc_pipeline.storage.base import ObjectStore

log = logging.getLogger(__name__)

STILL_DOUBTFUL = "escalated_still_doubtful"
ESCALATION_FAILED = "escalation_failed"


@dataclass
class CloudCall:
    page_no: int
    engine: str
    mock: bool
    cached: bool
    pages_billed: int
    cost_usd: float
    content_hash: str


@dataclass
class EscalationOutcome:
    doc_id: str
    decision: EscalationDecision
    fields_result: FieldsResult
    pages: list[Page]
    escalated: bool = False
    tables: list[Table] = field(default_factory=list)
    cloud_fields: list[ExtractedField] = field(default_factory=list)
    llm_fields: list[ExtractedField] = field(default_factory=list)
    calls: list[CloudCall] = field(default_factory=list)
    still_doubtful: list[str] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return round(sum(c.cost_usd for c in self.calls), 6)

    @property
    def pages_paid(self) -> int:
        return sum(c.pages_billed for c in self.calls)

    def metadata(self) -> dict[str, Any]:
        """Compact summary for Dagster asset metadata / the document's meta."""
        return {"escalated": self.escalated, "reason": self.decision.reason, "pages": self.decision.pages,
                "engines": sorted({c.engine for c in self.calls}), "pages_paid": self.pages_paid,
                "cost_usd": self.cost_usd, "cached_pages": sum(c.cached for c in self.calls),
                "mock": any(c.mock for c in self.calls), "llm_fields": [f.name for f in self.llm_fields],
                "still_doubtful": self.still_doubtful}


def split_pdf_pages(pdf: bytes, page_nos: list[int]) -> dict[int, bytes]:
    """Single-page PDFs for the chosen pages (the synchronous vendor APIs bill and accept per page)."""
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(pdf)
    out = {}
    try:
        for n in page_nos:
            if not 1 <= n <= len(src):
                continue
            dst = pdfium.PdfDocument.new()
            dst.import_pages(src, [n - 1])
            buf = io.BytesIO()
            dst.save(buf)
            dst.close()
            out[n] = buf.getvalue()
    finally:
        src.close()
    return out


def page_payloads(page_images: dict[int, bytes] | bytes | None, page_nos: list[int]) -> dict[int, bytes]:
    if page_images is None:
        return {}
    if isinstance(page_images, dict):
        return {n: page_images[n] for n in page_nos if n in page_images}
    if sniff_mime(page_images) == "application/pdf":
        return split_pdf_pages(page_images, page_nos)
    return {1: page_images} if 1 in page_nos else {}  # a single image is page 1


def _available_pages(pages: list[Page], page_images: dict[int, bytes] | bytes | None) -> list[int]:
    nos = [p.page_no for p in pages if p.kind != PageKind.blank]
    if isinstance(page_images, dict):
        return [n for n in nos if n in page_images]
    if isinstance(page_images, (bytes, bytearray)) and sniff_mime(bytes(page_images)) != "application/pdf":
        return [n for n in nos if n == 1]
    return nos


def _merge_cloud_fields(result: FieldsResult, cloud: list[ExtractedField], thresholds: dict[str, float],
                        default_threshold: float) -> FieldsResult:
    """For each required field still under its threshold, a stronger cloud key-value of the same name wins."""
    fields = list(result.fields)
    for name, threshold in thresholds.items():
        best_local = max((f.confidence for f in fields if f.name == name), default=0.0)
        if best_local >= threshold:
            continue
        candidates = [f for f in cloud if f.name == name and f.confidence > best_local]
        if candidates:
            best = max(candidates, key=lambda f: f.confidence)
            fields = [f for f in fields if f.name != name] + [best]
    return result.model_copy(update={"fields": fields})


def maybe_escalate(doc_id: str, fields_result: FieldsResult, pages: list[Page],
                   page_images: dict[int, bytes] | bytes | None, doc_meta: dict[str, Any] | None,
                   store: ObjectStore | None, database, reextract: Callable[[list[Page]], FieldsResult],
                   audit: AuditFn | None = None, *, settings: EscalationSettings | None = None,
                   adapter: CloudOcrAdapter | None = None, ledger: Ledger | None = None,
                   llm=None, today: date | None = None) -> EscalationOutcome:
    s = settings or get_escalation_settings()
    secrets = [x.get_secret_value() for x in (s.llm_api_key, s.azure_key, s.aws_secret_access_key) if x]
    audit = safe_audit(audit, secrets)
    ledger = ledger or (BudgetLedger(database) if database is not None else MemoryLedger())
    today = today or utc_today()
    meta = {"doc_id": doc_id, "doc_type": fields_result.doc_type, **(doc_meta or {})}

    decision = decide_escalation(fields_result, meta, _available_pages(pages, page_images), ledger, s, today)
    audit("escalation.decision", {"doc_id": doc_id, "escalate": decision.escalate, "reason": decision.reason,
                                  "pages": decision.pages, "doubtful_fields": decision.doubtful_fields,
                                  "vendor": s.vendor})
    log.info("escalation %s: %s", doc_id, decision.reason)
    outcome = EscalationOutcome(doc_id=doc_id, decision=decision, fields_result=fields_result, pages=list(pages))
    flags: list[Flag] = []

    if decision.escalate:
        adapter = adapter or make_adapter(s, store=store)  # MockNotAllowedError surfaces here, loudly
        by_no = {p.page_no: p for p in pages}
        payloads = page_payloads(page_images, decision.pages)
        for n in decision.pages:
            content = payloads.get(n)
            if content is None:
                continue
            digest = adapter.request_digest("docpipe", f"pages/{doc_id}/{n}", content)
            will_pay = not adapter.mock and not (store is not None and store.exists(cache_key(adapter.vendor, digest)))
            if will_pay and (ledger.pages_spent_for(doc_id) >= s.per_document_page_budget
                             or ledger.pages_spent_on(today) >= s.daily_page_budget):
                audit("escalation.skipped", {"doc_id": doc_id, "page_no": n, "reason": "page budget spent"})
                break
            try:
                result = adapter.analyze_document("docpipe", f"pages/{doc_id}/{n}", content, hint_pages=[by_no[n]])
            except (MockNotAllowedError, OptionalDependencyError):
                raise
            except EscalationError as exc:
                audit("escalation.error", {"doc_id": doc_id, "page_no": n, "vendor": adapter.vendor, "error": str(exc)})
                flags.append(Flag(code=ESCALATION_FAILED, reason=f"page {n}: {exc}"))
                continue
            rmeta = result.get("meta", {})
            billed = max(1, int(rmeta.get("page_count") or 1))
            real = not rmeta.get("mock") and not rmeta.get("cached")
            cost = billed * adapter.price_per_page if real else 0.0
            if real:
                ledger.record(doc_id, adapter.vendor, billed, cost, digest, today)
            new_pages, tables, kv_fields = map_result(result, {n: by_no[n]}, {1: n}, s.kv_aliases)
            for p in new_pages[:1]:  # one page sent, one page back
                by_no[n] = p
            outcome.tables.extend(t.model_copy(update={"index": len(outcome.tables) + i}) for i, t in enumerate(tables))
            outcome.cloud_fields.extend(kv_fields)
            call = CloudCall(n, adapter.engine, bool(rmeta.get("mock")), bool(rmeta.get("cached")),
                             billed if real else 0, cost, digest)
            outcome.calls.append(call)
            audit("escalation.call", {"doc_id": doc_id, "page_no": n, "vendor": adapter.vendor, "engine": call.engine,
                                      "mock": call.mock, "cached": call.cached, "pages_billed": call.pages_billed,
                                      "cost_usd": cost, "content_hash": digest, "attempts": rmeta.get("attempts"),
                                      "words": len(new_pages[0].words) if new_pages else 0})
        if outcome.calls:
            outcome.escalated = True
            outcome.pages = [by_no.get(p.page_no, p) for p in pages]
            refreshed = reextract(outcome.pages)
            thresholds = s.threshold_map(refreshed.doc_type or fields_result.doc_type)
            outcome.fields_result = _merge_cloud_fields(refreshed, outcome.cloud_fields, thresholds, s.default_threshold)

    doc_type = outcome.fields_result.doc_type or fields_result.doc_type
    still = doubtful_fields(outcome.fields_result, s, doc_type)
    if still and s.llm_enabled and (outcome.escalated or decision.escalate):
        from doc_pipeline.escalation.llm import LlmFallback

        llm = llm or LlmFallback(s, audit)
        outcome.llm_fields = llm.extract(doc_id, doc_type, sorted(still), outcome.pages)
        if outcome.llm_fields:
            outcome.fields_result = _merge_cloud_fields(outcome.fields_result, outcome.llm_fields,
                                                        {n: s.threshold_map(doc_type).get(n, s.default_threshold)
                                                         for n in still}, s.default_threshold)
            still = doubtful_fields(outcome.fields_result, s, doc_type)

    outcome.still_doubtful = sorted(still)
    if outcome.escalated and still:
        flags.extend(Flag(code=STILL_DOUBTFUL, field=n,
                          reason=f"{n} confidence {c:.2f} still under its threshold after cloud OCR ({decision.reason})")
                     for n, c in sorted(still.items()))
    if flags:
        outcome.fields_result = outcome.fields_result.model_copy(
            update={"flags": [*outcome.fields_result.flags, *flags]})
    audit("escalation.outcome", {"doc_id": doc_id, **outcome.metadata()})
    return outcome
