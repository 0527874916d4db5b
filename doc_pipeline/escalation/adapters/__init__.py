"""Cloud OCR adapters, picked by vendor name."""

from __future__ import annotations

from doc_pipeline.escalation.adapters.azure import AzureAdapter, parse_azure
from doc_pipeline.escalation.adapters.base import CloudOcrAdapter, mock_result_from_pages, sniff_mime
from doc_pipeline.escalation.adapters.documentai import DocumentAIAdapter, parse_documentai
from doc_pipeline.escalation.adapters.textract import TextractAdapter, parse_textract
from doc_pipeline.escalation.settings import EscalationSettings, get_escalation_settings

ADAPTERS: dict[str, type[CloudOcrAdapter]] = {"textract": TextractAdapter, "documentai": DocumentAIAdapter,
                                              "azure": AzureAdapter}


def make_adapter(settings: EscalationSettings | None = None, vendor: str | None = None, **kwargs) -> CloudOcrAdapter:
    s = settings or get_escalation_settings()
    name = vendor or s.vendor
    if name not in ADAPTERS:
        raise ValueError(f"unknown escalation vendor {name!r}; known: {sorted(ADAPTERS)}")
    return ADAPTERS[name](s, **kwargs)


__all__ = ["ADAPTERS", "AzureAdapter", "CloudOcrAdapter", "DocumentAIAdapter", "TextractAdapter", "make_adapter",
           "mock_result_from_pages", "parse_azure", "parse_documentai", "parse_textract", "sniff_mime"]
