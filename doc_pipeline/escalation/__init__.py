"""Paid cloud OCR escalation (Textract, Document AI, Azure Document Intelligence) with routing, budget, cache,
rate limiting and an optional LLM fallback. See docs/ESCALATION.md."""

from doc_pipeline.escalation.adapters import (AzureAdapter, CloudOcrAdapter, DocumentAIAdapter, TextractAdapter,
                                              make_adapter)
from doc_pipeline.escalation.audit import db_audit
from doc_pipeline.escalation.dagster_tags import (PAID_OCR_POOL, PAID_OCR_TAG, PAID_OCR_TAG_VALUE, likely_to_escalate,
                                                  paid_ocr_run_tags)
from doc_pipeline.escalation.errors import (EscalationError, MockNotAllowedError, OptionalDependencyError,
                                            ThrottledError, TransientVendorError, VendorError)
from doc_pipeline.escalation.escalate import STILL_DOUBTFUL, CloudCall, EscalationOutcome, maybe_escalate
from doc_pipeline.escalation.ledger import BudgetLedger, EscalationSpend, MemoryLedger
from doc_pipeline.escalation.mapper import map_result
from doc_pipeline.escalation.policy import EscalationDecision, decide_escalation
from doc_pipeline.escalation.settings import EscalationSettings, get_escalation_settings, reload_escalation_settings

__all__ = ["PAID_OCR_POOL", "PAID_OCR_TAG", "PAID_OCR_TAG_VALUE", "STILL_DOUBTFUL", "AzureAdapter", "BudgetLedger",
           "CloudCall", "CloudOcrAdapter", "DocumentAIAdapter", "EscalationDecision", "EscalationError",
           "EscalationOutcome", "EscalationSettings", "EscalationSpend", "MemoryLedger", "MockNotAllowedError",
           "OptionalDependencyError", "TextractAdapter", "ThrottledError", "TransientVendorError", "VendorError",
           "db_audit", "decide_escalation", "get_escalation_settings", "likely_to_escalate", "make_adapter",
           "map_result", "maybe_escalate", "paid_ocr_run_tags", "reload_escalation_settings"]
