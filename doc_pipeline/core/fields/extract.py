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
RANKER_MIN_EXPANDED = 0.5
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


def base_score(c: Candidate, doc: DocText) -> float:
    """The rules' calibrated score of a candidate (also the ranker's main prior feature)."""
    ocr = doc.provenance(c.start, c.end)[2] if c.start >= 0 else 1.0
    return calibrate(raw_confidence(c, ocr), c.name)


def _agree(cs: list[Candidate]) -> None:
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for c in cs:
        groups[repr(c.normalized)].append(c)
    for g in groups.values():
        methods = {c.source for c in g if not c.extra.get("expanded")} | (
            {"label"} if any(c.label for c in g) else set())
        # the same value found again elsewhere (another labelled line, the payment arithmetic, a date printed
        # twice) is further evidence
        places = {(c.engine, c.extra.get("wording", c.start)) for c in g if not c.extra.get("expanded")}
        for c in g:
            c.agree = max(1, len(methods) + max(0, len(places) - 1))
            if len(g) > 1:  # the same value proposed by several rules/positions: keep the best features
                c.label = any(x.label for x in g)


def select(cands: list[Candidate], doc: DocText, ranker=None, doc_type: str | None = None
           ) -> list[tuple[Candidate, float]]:
    """Best candidate per field name (all distinct values, in document order, for multi-valued names).
    Candidates with the same normalized value from different methods agree, which raises the score.
    With a trained ``ranker`` for (doc_type, name), the ranker chooses among all candidates of a single-valued
    field (its probability is the confidence); otherwise candidates only the ranker may use are dropped."""
    by_name: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_name[c.name].append(c)
    chosen: list[tuple[Candidate, float]] = []
    stats = None
    for name, cs in by_name.items():
        use_ranker = (ranker is not None and doc_type is not None and name not in MULTI_VALUED
                      and ranker.has(doc_type, name))
        if use_ranker:
            # the ranker chooses among the candidates it was trained on (extractors, wider net, memory); spaCy
            # entities are not among them (training rows are built without a model)
            cs = [c for c in cs if c.engine != "spacy-ner"]
        else:
            cs = [c for c in cs if not c.extra.get("expanded")]
            # without a ranker, NER entities only fill a field no rule found (measured: on SROIE a model trained
            # on generated documents lowered F1 when its entities competed with the rules)
            if any(c.engine != "spacy-ner" for c in cs):
                cs = [c for c in cs if c.engine != "spacy-ner"]
        if not cs:
            continue
        _agree(cs)
        if use_ranker:
            from .ranker import _DocStats, rank_candidates

            stats = stats or _DocStats(doc)
            ranked = rank_candidates(ranker, doc_type, name, cs, doc, lambda c: base_score(c, doc), stats)
            if ranked:
                best, p = ranked[0]
                # a value no extractor proposed (only the ranker's wider net) must be likely to be reported:
                # a wrong value costs a false positive where saying nothing costs only the miss
                if not best.extra.get("expanded") or p >= RANKER_MIN_EXPANDED:
                    chosen.append(ranked[0])
            continue
        raw = {id(c): raw_confidence(c, doc.provenance(c.start, c.end)[2] if c.start >= 0 else 1.0) for c in cs}
        scored = [(c, base_score(c, doc)) for c in cs]
        # the isotonic map is a step function: equal calibrated scores are ordered by the raw score
        scored.sort(key=lambda x: (-x[1], -raw[id(x[0])], x[0].start))
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


def candidates_for(doc: DocText, doc_type: str, model: object | None = None) -> list[Candidate]:
    """All candidates for a document of ``doc_type``: the type's extractors, the field model's NER entities and,
    when the model carries a ranker for this type, the expanded candidates the ranker chooses among."""
    cands = typed.EXTRACTORS.get(doc_type, typed.generic)(doc)
    ranker = getattr(model, "ranker", None)
    if ranker is not None and doc_type in ranker.doc_types():
        from .ranker import memory_candidates

        names = [n for n in REQUIRED_FIELDS.get(doc_type, []) if n not in MULTI_VALUED]
        cands += memory_candidates(doc, names, lambda n: ranker.memory(doc_type, n))
        cands += expanded_candidates(doc, doc_type, cands)  # as in training: before any NER entity
    if model is not None and getattr(model, "nlp", model) is not None:
        from .ner import ner_candidates

        wanted = set(REQUIRED_FIELDS.get(doc_type, [])) | {c.name for c in cands}
        cands += [c for c in ner_candidates(model, doc) if c.name in wanted or not wanted]
    return cands


def expanded_candidates(doc: DocText, doc_type: str, cands: list[Candidate]) -> list[Candidate]:
    from .ranker import expand_candidates

    names = [n for n in REQUIRED_FIELDS.get(doc_type, []) if n not in MULTI_VALUED]
    return expand_candidates(doc, names, cands)


def ranker_examples(pages: list[Page], corrected: FieldsResult, model: object | None = None) -> list[dict]:
    """Ranker training rows from one reviewed document: ``corrected`` is its result after ``apply_corrections``;
    every human field (accepted or corrected) marks which candidates are right. Candidates are built exactly as
    at extraction time (same ``DocText`` from the word boxes, same extractors, plus the expanded candidates)."""
    from .calibration import calibrating_for
    from .ranker import ranker_rows

    with calibrating_for(pages):
        return _ranker_examples(pages, corrected, model, ranker_rows)


def _ranker_examples(pages, corrected, model, ranker_rows) -> list[dict]:
    doc = DocText(pages)
    doc_type = corrected.doc_type
    cands = typed.EXTRACTORS.get(doc_type, typed.generic)(doc)
    ranker = getattr(model, "ranker", None)
    if ranker is not None and doc_type in ranker.doc_types():  # an earlier model's memory, as at extraction
        from .ranker import memory_candidates

        names = [n for n in REQUIRED_FIELDS.get(doc_type, []) if n not in MULTI_VALUED]
        cands += memory_candidates(doc, names, lambda n: ranker.memory(doc_type, n))
    cands += expanded_candidates(doc, doc_type, cands)
    from .ranker import kind_of

    # typed kinds compare normalised values (ISO date, amount); free text compares the text the reviewer typed
    truth = {f.name: (f.normalized if kind_of(f.name) in ("money", "date") and f.normalized not in (None, "")
                      else f.value)
             for f in corrected.fields
             if f.source == FieldSource.human and f.name != "doc_type" and f.name not in MULTI_VALUED}
    by_name: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_name[c.name].append(c)
    for cs in by_name.values():
        _agree(cs)
    return ranker_rows(doc, doc_type, cands, truth, lambda c: base_score(c, doc))


def extract_fields(
    pages: list[Page],
    tables: list[Table] | None = None,
    doc_type_hint: str | None = None,
    corrections: list[dict] | None = None,
    model: object | None = None,
) -> FieldsResult:
    """Typed fields of one document, each with page, bbox, source, evidence and a calibrated confidence.

    ``doc_type_hint`` (from upload) wins over classification; ``model`` is an optional trained spaCy field
    model (``load_field_model``) whose entities join the rule candidates and whose learned candidate ranker (if
    trained from corrections for this type) chooses among the candidates; ``corrections`` (review decisions,
    see ``apply_corrections``) are applied last, so a human value always wins. Flags for review are set with
    the default thresholds (``field_flags``).
    """
    from .calibration import calibrating_for

    with calibrating_for(pages):  # confidence maps of the OCR that read the pages
        return _extract_fields(pages, tables, doc_type_hint, corrections, model)


def _extract_fields(pages, tables, doc_type_hint, corrections, model) -> FieldsResult:
    from .review import apply_corrections, field_flags

    doc = DocText(pages)
    doc_type, type_conf = classify_doc_type(pages, doc.text, doc_type_hint)
    cands = candidates_for(doc, doc_type, model)
    fields: list[ExtractedField] = [
        ExtractedField(name="doc_type", value=doc_type, normalized=doc_type, confidence=type_conf,
                       source=FieldSource.human if doc_type_hint == doc_type else FieldSource.rule,
                       evidence="hint given at upload" if doc_type_hint == doc_type else "text and layout cues",
                       engine=ENGINE)
    ]
    for c, score in select(cands, doc, getattr(model, "ranker", None), doc_type):
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
