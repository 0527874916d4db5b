"""Request and response models of the REST API (the result itself reuses doc_pipeline.core.models)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from doc_pipeline.core.models import STEPS
from doc_pipeline.search.base import SearchHit

StepName = Literal["raw_pdf", "page_images", "layout_blocks", "ocr_text", "tables", "fields", "index_docs"]
assert set(StepName.__args__) == set(STEPS)  # keep the literal in step with the pipeline

_DOC_ID = "3f2b8c1e9d0a4b6f8e7d6c5b4a392817"


class ErrorBody(BaseModel):
    detail: str | list | dict = Field(examples=["document not found"])


class UploadAccepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "doc_id": _DOC_ID, "status": "queued", "raw_key": f"raw/{_DOC_ID}.pdf", "media_type": "application/pdf",
        "size": 48213, "source_name": "paystub-2024-03.pdf", "status_url": f"/status/{_DOC_ID}"}]})

    doc_id: str
    status: str
    raw_key: str
    media_type: str
    size: int
    source_name: str | None = None
    status_url: str
    result_url: str | None = None


class PresignRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "filename": "statement.pdf", "applicant_id": "A-1001", "doc_type_hint": "bank_statement"}]})

    filename: str | None = Field(default=None, max_length=512)
    applicant_id: str | None = Field(default=None, max_length=128)
    doc_type_hint: str | None = Field(default=None, max_length=32)


class PresignResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "doc_id": _DOC_ID, "method": "PUT", "url": f"http://127.0.0.1:8000/uploads/{_DOC_ID}?token=eyJ...",
        "raw_key": f"raw/{_DOC_ID}.pdf", "expires_in": 900, "headers": {"Content-Type": "application/pdf"}}]})

    doc_id: str
    method: str = "PUT"
    url: str
    raw_key: str
    expires_in: int
    headers: dict[str, str] = {}


class StepStatus(BaseModel):
    step: str
    status: str = Field(description="pending | running | done | failed")
    run_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float | None = None
    attempts: int = 0
    error: str | None = None


class DagsterRun(BaseModel):
    run_id: str
    status: str
    created_at: datetime | None = None
    tags: dict[str, str] = {}


class StatusResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "doc_id": _DOC_ID, "status": "processing", "current_step": "ocr_text", "percent_done": 42.9,
        "source_name": "paystub.pdf", "media_type": "application/pdf", "page_count": 2, "doc_type": None,
        "flagged": False, "error": None, "run_ids": ["c0ffee00-0000-4000-8000-000000000001"],
        "steps": [{"step": "raw_pdf", "status": "done", "run_id": "c0ffee00-0000-4000-8000-000000000001",
                   "seconds": 0.12, "attempts": 1}],
        "dagster_runs": None, "created_at": "2024-03-01T10:00:00Z", "updated_at": "2024-03-01T10:00:05Z"}]})

    doc_id: str
    status: str
    current_step: str | None = None
    percent_done: float
    source_name: str | None = None
    media_type: str | None = None
    page_count: int | None = None
    doc_type: str | None = None
    flagged: bool = False
    flag_reasons: list[dict] | None = None
    error: str | None = None
    processing_seconds: float | None = None
    run_ids: list[str] = []
    steps: list[StepStatus]
    dagster_runs: list[DagsterRun] | None = Field(
        default=None, description="Dagster runs for this partition (only with ?dagster=true)")
    dagster_error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class RetryRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"step": "ocr_text"}]})

    step: str = Field(default="raw_pdf", description=f"one of {', '.join(STEPS)}")


class ReprocessTaskOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "task_id": 7, "doc_id": _DOC_ID, "step": "ocr_text", "status": "pending", "reason": "retry",
        "requested_by": "alice", "run_id": None, "created": True}]})

    task_id: int
    doc_id: str
    step: str
    status: str
    reason: str | None = None
    requested_by: str | None = None
    run_id: str | None = None
    created: bool = Field(description="false when an open request for this document already existed")


class FieldOut(BaseModel):
    name: str
    ordinal: int = 0
    value: str
    normalized: object | None = None
    confidence: float
    page_no: int | None = None
    bbox: list[float] | None = None
    source: str


class FlaggedDocument(BaseModel):
    doc_id: str
    source_name: str | None = None
    doc_type: str | None = None
    applicant_id: str | None = None
    status: str
    flag_reasons: list[dict] = []
    fields: list[FieldOut] = []
    updated_at: datetime | None = None


class FlaggedPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "total": 1, "limit": 20, "offset": 0, "items": [{
            "doc_id": _DOC_ID, "source_name": "paystub.pdf", "doc_type": "pay_stub", "applicant_id": "A-1001",
            "status": "done", "flag_reasons": [{"code": "low_confidence", "reason": "net_pay 0.41 < 0.5",
                                                 "field": "net_pay"}],
            "fields": [{"name": "net_pay", "ordinal": 0, "value": "1,234.50", "normalized": 1234.5,
                        "confidence": 0.41, "page_no": 1, "bbox": [72, 400, 160, 412], "source": "rule"}]}]}]})

    total: int
    limit: int
    offset: int
    items: list[FlaggedDocument]


class Decision(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    ordinal: int | None = Field(default=None, ge=0, le=10_000)
    action: Literal["accept", "correct", "reject"]
    value: str | None = Field(default=None, max_length=10_000)


class ReviewRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "decisions": [{"name": "net_pay", "action": "correct", "value": "1,243.50"},
                      {"name": "iban", "action": "accept"}], "comment": "net pay digits swapped by OCR"}]})

    decisions: list[Decision] = Field(min_length=1, max_length=500)
    comment: str | None = Field(default=None, max_length=4000)


class ReviewAccepted(BaseModel):
    review_id: int
    doc_id: str
    reprocess: ReprocessTaskOut


class SearchResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "total": 1, "limit": 20, "offset": 0, "hits": [{
            "doc_id": _DOC_ID, "score": 3.2, "doc_type": "invoice", "applicant_id": "A-1001",
            "source_name": "invoice-77.pdf", "highlights": ["… total <mark>due</mark> 120.00 …"]}]}]})

    total: int
    limit: int
    offset: int
    hits: list[SearchHit]  # the search backends' own hit model


class ComponentHealth(BaseModel):
    ok: bool
    detail: str = ""


class HealthResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "status": "ok", "database": {"ok": True, "detail": "sqlite"}, "object_store": {"ok": True, "detail": "local"},
        "dagster": {"ok": True, "detail": "run storage reachable"}}]})

    status: Literal["ok", "degraded", "down"]
    database: ComponentHealth
    object_store: ComponentHealth
    dagster: ComponentHealth
