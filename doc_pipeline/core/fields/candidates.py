"""A candidate value for a field, before selection and calibration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from doc_pipeline.core.models import ExtractedField, FieldSource

from .layout_text import DocText


@dataclass
class Candidate:
    name: str
    value: str
    normalized: Any
    start: int  # char span in DocText.text (-1 when the value has no text position)
    end: int
    source: FieldSource = FieldSource.rule
    engine: str = "rules"
    # features for the confidence model (see calibration.py)
    label: bool = False  # found next to a label/keyword for this field
    valid: bool = True  # passed a validity check (checksum, parseable date/amount)
    prior: float = 0.5  # how typical the method/position is for this field (0..1)
    agree: int = 1  # number of methods that produced the same normalized value
    extra: dict = field(default_factory=dict)

    def key(self) -> str:
        return f"{self.name}:{self.normalized!r}"


def to_field(c: Candidate, doc: DocText, confidence: float) -> ExtractedField:
    if c.start >= 0:
        page_no, bbox, _ = doc.provenance(c.start, c.end)
        line = doc.lines[doc.line_at(c.start)].text if doc.lines else ""
        evidence = line if len(line) <= 200 else doc.text[max(0, c.start - 60): c.end + 60].replace("\n", " ")
    else:
        page_no, bbox, evidence = None, None, ""
    return ExtractedField(
        name=c.name, value=c.value, normalized=c.normalized, confidence=round(max(0.0, min(1.0, confidence)), 4),
        page_no=page_no, bbox=bbox, source=c.source, evidence=evidence.strip(), engine=c.engine,
    )
