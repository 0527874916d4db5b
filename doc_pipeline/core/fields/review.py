"""Human review: flags for the review queue, applying reviewers' decisions, and turning decisions into
training examples for the field model."""

from __future__ import annotations

from doc_pipeline.core.models import ExtractedField, FieldSource, FieldsResult, Flag

from .normalize import find_amounts, find_dates, find_ibans, iban_is_valid, money, normalize_iban
from .schema import MULTI_VALUED, REQUIRED_FIELDS

DEFAULT_THRESHOLD = 0.5


def field_flags(result: FieldsResult, thresholds: dict[str, dict[str, float]] | None = None,
                default: float = DEFAULT_THRESHOLD) -> list[Flag]:
    """Flags for missing required fields (per doc type) and fields below their confidence threshold.

    ``thresholds[doc_type][field]`` overrides ``default``; ``thresholds["*"][field]`` applies to every type.
    """
    thresholds = thresholds or {}
    per_type = {**thresholds.get("*", {}), **thresholds.get(result.doc_type, {})}
    flags: list[Flag] = []
    present = {f.name for f in result.fields}
    for name in REQUIRED_FIELDS.get(result.doc_type, []):
        if name not in present:
            flags.append(Flag(code="missing_field", reason=f"required field '{name}' of a {result.doc_type} "
                                                            "was not found", field=name))
    for f in result.fields:
        limit = per_type.get(f.name, default)
        if f.source != FieldSource.human and f.confidence < limit:
            flags.append(Flag(code="low_confidence", reason=f"'{f.name}' confidence {f.confidence:.2f} is below "
                                                            f"{limit:.2f}", field=f.name))
    return flags


def _normalize_like(name: str, value: str, old: ExtractedField | None):
    """Normalise a reviewer's value the way the extractor would for the field's kind."""
    if name == "iban":
        return normalize_iban(value) if iban_is_valid(value) else value
    if old is not None and isinstance(old.normalized, str):
        if find_dates(old.normalized) and len(old.normalized) == 10:
            hits = find_dates(value)
            return hits[0][2] if hits else value
        if find_amounts(old.normalized):
            hits = find_amounts(value)
            if hits:
                cur = old.normalized.split(" ")[1] if " " in old.normalized else hits[0][2]["currency"]
                return money(hits[0][2]["amount"], hits[0][2]["currency"] or cur)
    if "date" in name:
        hits = find_dates(value)
        return hits[0][2] if hits else value
    return value


def apply_corrections(result: FieldsResult, decisions: list[dict]) -> FieldsResult:
    """Apply review decisions ``{name, action: accept|correct|reject, value?, ordinal?}``; the human wins.

    accept: the field becomes source=human, confidence 1.0. correct: its value is replaced (a new field is added
    when none existed). reject: the field is removed. ``ordinal`` (0-based) picks one of several same-named
    fields (multi-valued, e.g. ``parties``); without it a decision applies to every field of that name, except
    ``correct`` on a multi-valued name without an ordinal, which adds a value.
    """
    fields = [f.model_copy(deep=True) for f in result.fields]
    removed: set[int] = set()
    for d in decisions:
        name, action = d.get("name"), d.get("action")
        if not name or action not in ("accept", "correct", "reject"):
            raise ValueError(f"bad review decision {d!r}: needs name and action accept|correct|reject")
        idx = [i for i, f in enumerate(fields) if f.name == name and i not in removed]
        ordinal = d.get("ordinal")
        if ordinal is not None:
            idx = idx[int(ordinal): int(ordinal) + 1]
        if action == "reject":
            removed.update(idx)
        elif action == "accept":
            for i in idx:
                fields[i].source, fields[i].confidence = FieldSource.human, 1.0
        else:
            value = str(d.get("value", ""))
            if idx and not (name in MULTI_VALUED and ordinal is None):
                for i in idx:
                    old = fields[i]
                    fields[i] = old.model_copy(update={"value": value, "normalized": _normalize_like(name, value, old),
                                                       "confidence": 1.0, "source": FieldSource.human,
                                                       "engine": "review"})
            else:
                fields.append(ExtractedField(name=name, value=value, normalized=_normalize_like(name, value, None),
                                             confidence=1.0, source=FieldSource.human, engine="review"))
    kept = [f for i, f in enumerate(fields) if i not in removed]
    doc_type = result.doc_type
    for f in kept:
        if f.name == "doc_type" and f.source == FieldSource.human:
            doc_type = f.value
    return result.model_copy(update={"fields": kept, "doc_type": doc_type}, deep=True)


def corrections_to_training_examples(text: str, result: FieldsResult) -> list[dict]:
    """JSONL-ready rows ``{"text", "entities": [[start, end, label], ...]}`` for the field model.

    ``result`` should be the corrected result: every human-confirmed field whose value occurs in ``text``
    becomes an entity span (labels are field names, upper-cased). Fields whose value cannot be found are
    skipped, since a span is what the NER model learns from.
    """
    ents: list[list] = []
    taken: list[tuple[int, int]] = []
    low = text.lower()
    for f in result.fields:
        if f.source != FieldSource.human or f.name == "doc_type" or not f.value:
            continue
        start = low.find(f.value.lower())
        while start >= 0 and any(start < e and s < start + len(f.value) for s, e in taken):
            start = low.find(f.value.lower(), start + 1)
        if start < 0:
            continue
        end = start + len(f.value)
        taken.append((start, end))
        ents.append([start, end, f.name.upper()])
    return [{"text": text, "entities": sorted(ents)}] if ents else []
