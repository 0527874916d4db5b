"""extract_fields: pages (+ tables) -> FieldsResult. Orchestrates classification, candidate generation by
rules / spaCy NER / layout key-value pairing, selection, confidence calibration, corrections and review flags."""

from __future__ import annotations

from collections import defaultdict

from doc_pipeline.core.models import ExtractedField, FieldSource, FieldsResult, Page, Table

from . import typed
from .calibration import calibrate
from .candidates import Candidate, to_field
from .classify import classify_doc_type
from .layout_text import DocText
from .schema import MULTI_VALUED, REQUIRED_FIELDS

ENGINE = "docpipe-fields/1"
KV_DOC_TYPES = frozenset({"form", "other", "report", "id_document"})


def raw_confidence(c: Candidate, ocr_conf: float) -> float:
    """Uncalibrated score from features (method prior/position, label, validity, agreement, OCR confidence);
    calibration.py maps it to a probability."""
    s = 0.25 + 0.45 * c.prior
    s += 0.15 if c.label else 0.0
    s += 0.05 * min(2, c.agree - 1)
    s *= 0.5 + 0.5 * ocr_conf
    if not c.valid:
        s *= 0.3
    return max(0.01, min(0.99, s))


def select(cands: list[Candidate], doc: DocText) -> list[tuple[Candidate, float]]:
    """Best candidate per field name (all distinct values, in document order, for multi-valued names).
    Candidates with the same normalized value from different methods agree, which raises the score."""
    by_name: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_name[c.name].append(c)
    chosen: list[tuple[Candidate, float]] = []
    for name, cs in by_name.items():
        groups: dict[str, list[Candidate]] = defaultdict(list)
        for c in cs:
            groups[repr(c.normalized)].append(c)
        for g in groups.values():
            methods = {c.source for c in g} | ({"label"} if any(c.label for c in g) else set())
            for c in g:
                c.agree = max(1, len(methods))
                if len(g) > 1:  # the same value proposed by several rules/positions: keep the best features
                    c.label = any(x.label for x in g)
        scored = []
        for c in cs:
            ocr = doc.provenance(c.start, c.end)[2] if c.start >= 0 else 1.0
            scored.append((c, calibrate(raw_confidence(c, ocr), name)))
        scored.sort(key=lambda x: (-x[1], x[0].start))
        if name in MULTI_VALUED:
            seen: set[str] = set()
            keep = []
            for c, s in scored:
                if repr(c.normalized).lower() not in seen:
                    seen.add(repr(c.normalized).lower())
                    keep.append((c, s))
            chosen += sorted(keep, key=lambda x: x[0].start)
        else:
            chosen.append(scored[0])
    return chosen


def extract_fields(
    pages: list[Page],
    tables: list[Table] | None = None,
    doc_type_hint: str | None = None,
    corrections: list[dict] | None = None,
    model: object | None = None,
) -> FieldsResult:
    """Typed fields of one document, each with page, bbox, source, evidence and a calibrated confidence.

    ``doc_type_hint`` (from upload) wins over classification; ``model`` is an optional trained spaCy field
    model (``load_field_model``) whose entities join the rule candidates; ``corrections`` (review decisions,
    see ``apply_corrections``) are applied last, so a human value always wins. Flags for review are set with
    the default thresholds (``field_flags``).
    """
    from .review import apply_corrections, field_flags

    doc = DocText(pages)
    doc_type, type_conf = classify_doc_type(pages, doc.text, doc_type_hint)
    cands = typed.EXTRACTORS.get(doc_type, typed.generic)(doc)
    if model is not None:
        from .ner import ner_candidates

        wanted = set(REQUIRED_FIELDS.get(doc_type, [])) | {c.name for c in cands}
        cands += [c for c in ner_candidates(model, doc) if c.name in wanted or not wanted]
    fields: list[ExtractedField] = [
        ExtractedField(name="doc_type", value=doc_type, normalized=doc_type, confidence=type_conf,
                       source=FieldSource.human if doc_type_hint == doc_type else FieldSource.rule,
                       evidence="hint given at upload" if doc_type_hint == doc_type else "text and layout cues",
                       engine=ENGINE)
    ]
    for c, score in select(cands, doc):
        f = to_field(c, doc, score)
        f.engine = f.engine or ENGINE
        fields.append(f)
    if doc_type in KV_DOC_TYPES:
        from .kv import kv_pairs, table_pairs

        fields += kv_pairs(pages) + table_pairs(tables or [])
    result = FieldsResult(doc_id="", doc_type=doc_type, fields=fields)
    if corrections:
        result = apply_corrections(result, corrections)
    try:
        from doc_pipeline.settings import get_settings

        default = get_settings().flag_min_confidence
    except Exception:  # settings are optional for pure use of core
        default = 0.5
    result.flags = field_flags(result, default=default)
    return result
