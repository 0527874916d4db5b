"""The one result schema, shared by the pipeline, the CLI and the API.

Coordinates: every bbox in this schema is ``[x0, y0, x1, y1]`` in PDF points (1/72 inch) with the origin at
the TOP-LEFT corner of the page as displayed (after /Rotate and any rotation we applied), x to the right,
y downwards. Image inputs are converted from pixels with the image's DPI (72 / dpi points per pixel), so a
300-DPI scan and a native PDF of the same page give the same numbers.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

BBox = tuple[float, float, float, float]

STEPS: tuple[str, ...] = ("raw_pdf", "page_images", "layout_blocks", "ocr_text", "tables", "fields", "index_docs")


class DocStatus(str, Enum):
    queued = "queued"
    processing = "processing"
    done = "done"
    failed = "failed"
    rejected = "rejected"


class PageKind(str, Enum):
    native = "native"
    scanned = "scanned"
    blank = "blank"


class DocKind(str, Enum):
    native = "native"
    scanned = "scanned"
    mixed = "mixed"


class Word(BaseModel):
    text: str
    bbox: BBox
    conf: float = Field(ge=0.0, le=1.0, description="0..1; 1.0 for text-layer words")
    line: int = 0
    block: int = 0


class Block(BaseModel):
    type: str = Field(description="PubLayNet class: text, title, list, table, figure")
    bbox: BBox
    score: float
    order: int = 0


class PageInfo(BaseModel):
    """What raw_pdf learns about each page before anything is rendered."""

    page_no: int = Field(ge=1)
    kind: PageKind
    width: float
    height: float
    rotation: int = 0
    text_chars: int = 0
    image_coverage: float = 0.0
    reason: str = ""


class PageImage(BaseModel):
    page_no: int
    key: str = Field(description="object-store key of the PNG")
    dpi: int
    width_px: int
    height_px: int
    preprocessing: list[str] = []


class Page(BaseModel):
    page_no: int
    kind: PageKind
    width: float
    height: float
    rotation: int = 0
    text: str = ""
    words: list[Word] = []
    blocks: list[Block] = []
    engine: str = ""
    mean_conf: float | None = None
    preprocessing: list[str] = []


class FieldSource(str, Enum):
    rule = "rule"
    ner = "ner"
    kv = "kv"
    llm = "llm"
    cloud = "cloud"
    human = "human"


class ExtractedField(BaseModel):
    name: str
    value: str
    normalized: Any = None
    confidence: float = Field(ge=0.0, le=1.0)
    page_no: int | None = None
    bbox: BBox | None = None
    source: FieldSource = FieldSource.rule
    evidence: str = ""
    engine: str = ""


class Table(BaseModel):
    page_no: int
    bbox: BBox | None = None
    rows: list[list[str]]
    csv_key: str = ""
    method: str = ""
    index: int = 0


class Flag(BaseModel):
    code: str
    reason: str
    field: str | None = None


class StepInfo(BaseModel):
    step: str
    status: str
    run_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float | None = None
    error: str | None = None


# ---- per-asset outputs (what each stage writes to derived/<asset>/<doc_id>.json) ----


class RawDocument(BaseModel):
    doc_id: str
    raw_key: str
    raw_version: str = ""  # the object's etag/mtime version this output was made from
    media_type: str
    sha256: str
    size: int
    kind: DocKind
    pages: list[PageInfo]
    source_name: str = ""


class PageImages(BaseModel):
    doc_id: str
    images: list[PageImage]


class LayoutResult(BaseModel):
    doc_id: str
    pages: dict[int, list[Block]]
    engine: str
    text_layer_pages: list[int] = Field(default_factory=list, description="native pages laid out from their text layer")


class OcrResult(BaseModel):
    doc_id: str
    pages: list[Page]

    @property
    def mean_conf(self) -> float | None:
        confs = [w.conf for p in self.pages if p.kind == PageKind.scanned for w in p.words]
        return sum(confs) / len(confs) if confs else None


class TablesResult(BaseModel):
    doc_id: str
    tables: list[Table]


class FieldsResult(BaseModel):
    doc_id: str
    doc_type: str = "other"
    fields: list[ExtractedField]
    flags: list[Flag] = []


class DocumentResult(BaseModel):
    """The public result of one document (CLI `result`, API `GET /result/{doc_id}`)."""

    doc_id: str
    status: DocStatus
    kind: DocKind | None = None
    doc_type: str | None = None
    source_name: str | None = None
    error: str | None = None
    pages: list[Page] = []
    fields: list[ExtractedField] = []
    tables: list[Table] = []
    flags: list[Flag] = []
    steps: list[StepInfo] = []
    bbox_units: str = "pt, origin top-left"
    meta: dict[str, Any] = {}
