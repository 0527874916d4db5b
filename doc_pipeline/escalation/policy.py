"""Routing policy: escalate only when a required field is doubtful AND the document is worth paying for, within
the per-document and daily budgets of paid pages. Pure apart from the ledger reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from doc_pipeline.core.models import FieldsResult
from doc_pipeline.escalation.ledger import Ledger, utc_today
from doc_pipeline.escalation.settings import EscalationSettings, get_escalation_settings


@dataclass
class EscalationDecision:
    escalate: bool
    reason: str
    pages: list[int] = field(default_factory=list)
    doubtful_fields: list[str] = field(default_factory=list)


def _meta(doc_meta: Any, key: str) -> Any:
    if doc_meta is None:
        return None
    get = doc_meta.get if isinstance(doc_meta, dict) else (lambda k, d=None: getattr(doc_meta, k, d))
    value = get(key, None)
    if value is None:
        nested = get("metadata", None) or {}
        value = nested.get(key) if isinstance(nested, dict) else None
    return value


def _amount(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict):
        return _amount(value.get("amount", value.get("value")))
    if isinstance(value, str):
        s = re.sub(r"[^\d.,-]", "", value)
        if "," in s and "." in s:
            s = s.replace(",", "") if s.rfind(".") > s.rfind(",") else s.replace(".", "").replace(",", ".")
        elif "," in s:
            s = s.replace(",", "." if len(s.rsplit(",", 1)[1]) == 2 else "")
        try:
            return float(s)
        except ValueError:
            return None
    return None


def doubtful_fields(fields_result: FieldsResult, settings: EscalationSettings,
                    doc_type: str | None = None) -> dict[str, float]:
    """Required fields whose best confidence is under their threshold (a missing field counts as 0)."""
    doc_type = doc_type or fields_result.doc_type
    best: dict[str, float] = {}
    for f in fields_result.fields:
        best[f.name] = max(best.get(f.name, 0.0), f.confidence)
    required = settings.threshold_map(doc_type)
    if not required:  # no rule for this type: any extracted field under the default threshold
        return {n: c for n, c in best.items() if c < settings.default_threshold}
    return {n: best.get(n, 0.0) for n, t in required.items() if best.get(n, 0.0) < t}


def value_reason(fields_result: FieldsResult, doc_meta: Any, settings: EscalationSettings,
                 doc_type: str | None = None) -> str | None:
    """Why the document is worth paid OCR, or None."""
    doc_type = doc_type or fields_result.doc_type
    if str(_meta(doc_meta, "priority") or "").lower() == "high":
        return "upload priority=high"
    if doc_type in settings.high_value_doc_types:
        return f"doc_type {doc_type} is high-value"
    amounts = []
    declared = _amount(_meta(doc_meta, "declared_amount"))
    if declared is not None:
        amounts.append(("declared_amount", declared))
    for f in fields_result.fields:
        if f.name in settings.amount_fields:
            a = _amount(f.normalized) if f.normalized is not None else _amount(f.value)
            if a is not None:
                amounts.append((f.name, a))
    over = [(n, a) for n, a in amounts if a > settings.declared_amount_threshold]
    if over:
        n, a = max(over, key=lambda x: x[1])
        return f"{n} {a:,.2f} > {settings.declared_amount_threshold:,.2f}"
    return None


def decide_escalation(fields_result: FieldsResult, doc_meta: Any, pages_needed: list[int], ledger: Ledger,
                      settings: EscalationSettings | None = None, today: date | None = None) -> EscalationDecision:
    s = settings or get_escalation_settings()
    doc_type = _meta(doc_meta, "doc_type") or fields_result.doc_type
    doc_id = _meta(doc_meta, "doc_id") or fields_result.doc_id
    if not s.enabled:
        return EscalationDecision(False, "escalation disabled (DOCPIPE_ESCALATION_ENABLED=false)")
    doubtful = doubtful_fields(fields_result, s, doc_type)
    if not doubtful:
        return EscalationDecision(False, "all required fields meet their thresholds")
    names = sorted(doubtful)
    why_doubt = ", ".join(f"{n} {doubtful[n]:.2f}<{s.threshold_map(doc_type).get(n, s.default_threshold):.2f}"
                          for n in names)
    why_value = value_reason(fields_result, doc_meta, s, doc_type)
    if not why_value:
        return EscalationDecision(False, f"doubtful ({why_doubt}) but the document is not high-value", [], names)
    if not pages_needed:
        return EscalationDecision(False, "no pages to send", [], names)

    # pages holding a doubtful field first, then the rest in order
    field_pages = [f.page_no for f in fields_result.fields if f.name in doubtful and f.page_no in pages_needed]
    ordered = list(dict.fromkeys([*field_pages, *pages_needed]))
    left_doc = s.per_document_page_budget - ledger.pages_spent_for(doc_id)
    left_day = s.daily_page_budget - ledger.pages_spent_on(today or utc_today())
    allowed = min(left_doc, left_day)
    if allowed <= 0:
        which = "per-document" if left_doc <= 0 else "daily"
        return EscalationDecision(False, f"doubtful ({why_doubt}), {why_value}, but the {which} page budget is spent "
                                         f"(document {left_doc} left, day {left_day} left)", [], names)
    pages = ordered[:allowed]
    cut = f"; budget allows {allowed} of {len(ordered)} pages" if len(pages) < len(ordered) else ""
    return EscalationDecision(True, f"doubtful ({why_doubt}); {why_value}; {len(pages)} page(s){cut}", pages, names)
