"""Turn one (ground truth, DocumentResult) pair into metric ratios, per dataset.

This is the glue between the corpus formats (see each dataset's README in the corpus) and the pure
functions in :mod:`metrics`. Every scorer returns ``{metric column: Ratio}``; the runner aggregates them.
Datasets are recognised by name; an unknown dataset is scored by what its ground truth holds
(``text``, ``fields``, ``tables``, ``blocks``, ``kind``/``input_kind``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from doc_pipeline.core.models import DocumentResult, DocStatus, FieldSource
from doc_pipeline.evaluation import metrics as m
from doc_pipeline.evaluation.corpus import CorpusDocument

Scores = dict[str, m.Ratio]

# Metric columns, in CSV order. cer*/wer* are error rates (lower is better); everything else higher is better.
METRIC_COLUMNS: tuple[str, ...] = (
    "cer",
    "cer_ci",
    "cer_ci_rows",
    "wer",
    "wer_ci",
    "word_f1",
    "word_f1_ci",
    "word_f1_norm",
    "field_f1",
    "kv_f1",
    "kv_f1_fuzzy",
    "table_det_recall",
    "table_det_precision",
    "table_det_f1",
    "table_cell_f1",
    "table_adj_f1",
    "layout_f1",
    *(f"layout_f1_{c}" for c in m.PUBLAYNET_CLASSES),
    "token_label_acc",
    "kind_doc_acc",
    "kind_page_acc",
)
LOWER_IS_BETTER = frozenset({"cer", "cer_ci", "cer_ci_rows", "wer", "wer_ci"})

# Our field name (ExtractedField.name) -> ground-truth field name, per dataset. Our extractor follows the
# ground-truth names where it can; the entries that differ are invoices (we say `total`, invoice2data says
# `amount`) and contracts (we say `parties`, Kleister says `party`). Names not listed are not scored.
FIELD_NAME_MAP: dict[str, dict[str, str]] = {
    "sroie": {"company": "company", "date": "date", "address": "address", "total": "total"},
    "invoices_invoice2data": {
        "total": "amount",
        "amount": "amount",
        "invoice_number": "invoice_number",
        "date": "date",
        "currency": "currency",
        "issuer": "issuer",
    },
    "kleister_nda": {
        "parties": "party",
        "party": "party",
        "effective_date": "effective_date",
        "jurisdiction": "jurisdiction",
        "term": "term",
    },
}
# Ground-truth fields scored per dataset (None = the document's own `keys_asked`). invoice2data's `issuer` is a
# template name that often is not in the document (its README), so it is left out of the score.
SCORED_FIELDS: dict[str, tuple[str, ...] | None] = {
    "sroie": ("company", "date", "address", "total"),
    "invoices_invoice2data": ("amount", "date", "invoice_number", "currency"),
    "kleister_nda": None,
}
MULTI_VALUED_DATASETS = frozenset({"kleister_nda"})  # all predicted values count; else the most confident one
DAYFIRST_DATASETS = frozenset({"sroie"})  # SROIE prints dates as dd/mm/yyyy
FIELD_KINDS = {
    "date": "date",
    "effective_date": "date",
    "total": "amount",
    "amount": "amount",
    "currency": "currency",
    "term": "term",
}

# pdf_kind_ocrmypdf labels -> our PageKind values that count as right. An OCR text layer over a scan may be
# taken as native (the text is usable) or re-OCRed; text we cannot use (no Unicode map, curves) must be OCRed.
PAGE_KIND_ACCEPTED: dict[str, frozenset[str]] = {
    "scanned": frozenset({"scanned"}),
    "native": frozenset({"native"}),
    "scanned_ocr_layer": frozenset({"native", "scanned"}),
    "native_unusable_text": frozenset({"scanned"}),
    "vector_text": frozenset({"scanned"}),
    "empty": frozenset({"blank"}),
}
DOC_KIND_ACCEPTED: dict[str, frozenset[str | None]] = {
    **PAGE_KIND_ACCEPTED,
    "mixed": frozenset({"mixed"}),
    "empty": frozenset({"native", "scanned", "mixed", None}),  # all-blank: page labels carry the score
    "invalid": frozenset({"error"}),  # a broken file must end as a clear error, not a result
}
# Implicit labels from the corpus `input_kind`: born-digital PDFs are native, images are scanned.
INPUT_KIND_TO_KIND = {"native_pdf": "native", "scanned_image": "scanned", "rendered_image": "scanned"}

# DocBank token labels -> PubLayNet classes (our block types).
DOCBANK_TO_PUBLAYNET = {
    "abstract": "text",
    "author": "text",
    "caption": "text",
    "date": "text",
    "equation": "text",
    "footer": "text",
    "paragraph": "text",
    "reference": "text",
    "section": "title",
    "title": "title",
    "list": "list",
    "table": "table",
    "figure": "figure",
}


# ------------------------------------------------------------------------------------------ helpers


def predicted_text(result: DocumentResult) -> str:
    """All page texts, pages in order; a page with no `text` falls back to its words."""
    parts = []
    for page in sorted(result.pages, key=lambda p: p.page_no):
        parts.append(page.text if page.text.strip() else " ".join(w.text for w in page.words))
    return "\n".join(parts)


def pdf_page_boxes(path: Path) -> list[tuple[float, float, float, float]] | None:
    """MediaBox (x0, y0, x1, y1) of each page of a PDF, or None when it is not a readable PDF."""
    if path.suffix.lower() != ".pdf":
        return None
    try:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            return [tuple(pdf[i].get_mediabox()) for i in range(len(pdf))]  # type: ignore[misc]
        finally:
            pdf.close()
    except Exception:  # noqa: BLE001 - an unreadable file simply has no known pages
        return None


def _page_fraction_blocks(result: DocumentResult, page_no: int = 1) -> list[tuple[str, tuple[float, ...]]]:
    """Blocks of one page with bboxes as fractions of the page size (0..1)."""
    page = next((p for p in result.pages if p.page_no == page_no), None)
    if page is None or not page.width or not page.height:
        return []
    return [(b.type, m.scale_box(b.bbox, 1 / page.width, 1 / page.height)) for b in page.blocks]


# ------------------------------------------------------------------------------------------ scorers


def score_text(reference: str, result: DocumentResult, bag_reference: str | None = None) -> Scores:
    """CER/WER (case-sensitive and -insensitive) and order-free word F1 against the predicted text.

    word_f1: whitespace tokens, case-sensitive; word_f1_ci: the same casefolded; word_f1_norm: casefolded and
    punctuation split into its own tokens on both sides (:func:`metrics.word_tokens`)."""
    hyp = predicted_text(result)
    bag = bag_reference if bag_reference is not None else reference
    return {
        "cer": m.cer_ratio(reference, hyp),
        "cer_ci": m.cer_ratio(reference, hyp, casefold=True),
        "wer": m.wer_ratio(reference, hyp),
        "wer_ci": m.wer_ratio(reference, hyp, casefold=True),
        "word_f1": m.word_bag_counts(bag, hyp).f1,
        "word_f1_ci": m.word_bag_counts(bag, hyp, casefold=True).f1,
        "word_f1_norm": m.word_bag_counts(bag, hyp, casefold=True, split_punct=True).f1,
    }


def _gt_field_sets(dataset: str, gt: dict[str, Any]) -> dict[str, set[Any]]:
    fields = gt.get("fields") or {}
    scored = SCORED_FIELDS.get(dataset, "unset")
    if scored is None:  # the task's own keys; absent key = no answer
        names = list(gt.get("keys_asked") or fields.keys())
    elif scored == "unset":
        names = list(fields.keys())
    else:
        names = [n for n in scored if n in fields]
    dayfirst = dataset in DAYFIRST_DATASETS
    out: dict[str, set[Any]] = {}
    for name in names:
        raw = fields.get(name)
        values = raw if isinstance(raw, list) else ([] if raw is None else [raw])
        out[name] = {m.normalize_field(v, FIELD_KINDS.get(name, "text"), dayfirst) for v in values}
    return out


def _pred_field_sets(dataset: str, result: DocumentResult) -> dict[str, set[Any]]:
    name_map = FIELD_NAME_MAP.get(dataset)
    by_name: dict[str, list[Any]] = {}
    for f in result.fields:
        gt_name = name_map.get(f.name) if name_map is not None else f.name
        if gt_name is not None:
            by_name.setdefault(gt_name, []).append(f)
    out: dict[str, set[Any]] = {}
    for name, found in by_name.items():
        if dataset not in MULTI_VALUED_DATASETS:
            found = [max(found, key=lambda f: f.confidence)]
        kind = FIELD_KINDS.get(name, "text")
        values = set()
        for f in found:
            # typed fields compare their normalised value (ISO date, amount); free text compares the text read
            raw = f.normalized if kind != "text" and f.normalized not in (None, "") else f.value
            values.add(m.normalize_field(raw, kind, dataset in DAYFIRST_DATASETS))
        out[name] = values
    return out


def field_details(dataset: str, gt: dict[str, Any], result: DocumentResult) -> dict[str, m.PRCounts]:
    """Per-field counts (for the per-field breakdown in the report)."""
    g, p = _gt_field_sets(dataset, gt), _pred_field_sets(dataset, result)
    return {name: m.field_counts({name: values}, p) for name, values in g.items()}


def score_fields(dataset: str, gt: dict[str, Any], result: DocumentResult) -> Scores:
    """Key-field F1 over (field, normalised value) pairs."""
    return {"field_f1": m.field_counts(_gt_field_sets(dataset, gt), _pred_field_sets(dataset, result)).f1}


_SPACE_AT_PUNCT = re.compile(r"\s*([^\w\s])\s*")


def kv_compare_form(text: str) -> str:
    """FUNSD transcriptions are word tokens joined by spaces, so a printed "12/10/98" or "(614) 466-5087" is
    stored as "12 /10 /98" / "(614) 466- 5087"; no reader (OCR or text layer) produces those spaces. Spaces next
    to punctuation are dropped on both sides before pairs are compared; letters and digits are untouched."""
    return _SPACE_AT_PUNCT.sub(r"\1", text)


def kv_counts(gt_pairs: list[tuple[str, str]], pred_pairs: list[tuple[str, str]], min_similarity: float = 1.0):
    """Question->answer pair counts (FUNSD) on :func:`kv_compare_form` texts."""
    def form(pairs):
        return [(kv_compare_form(k), kv_compare_form(v)) for k, v in pairs]

    return m.kv_pair_counts(form(gt_pairs), form(pred_pairs), min_similarity)


def score_kv_pairs(gt: dict[str, Any], result: DocumentResult) -> Scores:
    """FUNSD question->answer pairs vs our key-value fields (source 'kv'; all fields if none has that source)."""
    gt_pairs = [(kv.get("key", ""), kv.get("value", "")) for kv in gt.get("key_values") or []]
    kv_fields = [f for f in result.fields if f.source == FieldSource.kv] or list(result.fields)
    pred_pairs = [(f.name, f.value) for f in kv_fields]
    return {
        "kv_f1": kv_counts(gt_pairs, pred_pairs).f1,
        "kv_f1_fuzzy": kv_counts(gt_pairs, pred_pairs, min_similarity=0.8).f1,
    }


def _pred_grids(result: DocumentResult, with_pages: bool) -> list[tuple[int | None, list[list[str]]]]:
    return [(t.page_no if with_pages else None, t.rows) for t in result.tables]


def score_tables(gt_grids: list[tuple[int | None, Any]], result: DocumentResult, with_pages: bool) -> Scores:
    counts = m.tables_counts(gt_grids, _pred_grids(result, with_pages))
    return {"table_cell_f1": counts["cell"].f1, "table_adj_f1": counts["adjacency"].f1}


def icdar_regions(gt: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for t in gt.get("tables") or [] for r in t.get("regions") or []]


def score_icdar(doc: CorpusDocument, result: DocumentResult) -> Scores:
    """Table detection (IoU >= 0.5 on the same page) + structure; each region counts as one table."""
    regions = icdar_regions(doc.gt)
    boxes = pdf_page_boxes(doc.path)
    pred_heights = {p.page_no: p.height for p in result.pages}
    gt_boxes = []
    for r in regions:
        page = int(r["page"])
        if not r.get("table_bbox"):  # a few continuation regions have no bbox: structure only
            continue
        if boxes and page <= len(boxes):
            left, top = boxes[page - 1][0], boxes[page - 1][3]
        else:  # the PDF cannot be read here: trust the page height the pipeline measured
            left, top = 0.0, pred_heights.get(page, 0.0)
        gt_boxes.append((page, m.bottom_left_to_top_left(r["table_bbox"], top, left)))
    det = m.detection_counts(gt_boxes, [(t.page_no, t.bbox) for t in result.tables])
    scores = {"table_det_recall": det.recall, "table_det_precision": det.precision, "table_det_f1": det.f1}
    scores.update(score_tables([(int(r["page"]), r.get("grid") or []) for r in regions], result, with_pages=True))
    return scores


def score_publaynet(gt: dict[str, Any], doc: CorpusDocument, result: DocumentResult) -> Scores:
    """Layout blocks at IoU >= 0.5 per class; both sides scaled to fractions of the page."""
    size = gt.get("image_size")
    if not size:
        from PIL import Image

        with Image.open(doc.path) as im:
            size = im.size
    w, h = float(size[0]), float(size[1])
    gt_blocks = [(b["category"], m.scale_box(b["bbox"], 1 / w, 1 / h)) for b in gt.get("blocks") or []]
    per_class = m.layout_counts(gt_blocks, _page_fraction_blocks(result))
    scores: Scores = {f"layout_f1_{c}": counts.f1 for c, counts in per_class.items()}
    scores["layout_f1"] = sum(per_class.values(), m.PRCounts()).f1
    return scores


def docbank_scored_tokens(gt: dict[str, Any]) -> list[dict[str, Any]]:
    """DocBank tokens that carry a label worth scoring: words and figures, not ruling lines (##LTLine##)."""
    return [t for t in gt.get("tokens") or [] if t.get("text") != "##LTLine##"]


def score_docbank_tokens(gt: dict[str, Any], result: DocumentResult) -> Scores:
    tokens = [
        (DOCBANK_TO_PUBLAYNET.get(t.get("label", ""), "text"), m.scale_box(t["bbox_1000"], 1 / 1000, 1 / 1000))
        for t in docbank_scored_tokens(gt)
    ]
    return {"token_label_acc": m.token_label_ratio(tokens, _page_fraction_blocks(result))}


def predicted_doc_label(result: DocumentResult, errored: bool) -> str | None:
    if errored or result.status in (DocStatus.failed, DocStatus.rejected):
        return "error"
    return result.kind.value if result.kind is not None else None


def score_kind(doc: CorpusDocument, result: DocumentResult, errored: bool) -> Scores:
    """Native/scanned/mixed: per document and per page, from explicit (`kind`) or implicit (`input_kind`) labels."""
    gt = doc.gt
    if gt.get("kind") in DOC_KIND_ACCEPTED:
        doc_expected = DOC_KIND_ACCEPTED[gt["kind"]]
        page_expected = [PAGE_KIND_ACCEPTED.get(k, frozenset({k})) for k in gt.get("page_kinds") or []]
    elif gt.get("input_kind") in INPUT_KIND_TO_KIND:
        kind = INPUT_KIND_TO_KIND[gt["input_kind"]]
        doc_expected = frozenset({kind})
        boxes = pdf_page_boxes(doc.path)
        page_expected = [frozenset({kind})] * (len(boxes) if boxes is not None else 1)
    else:
        return {}
    pages = sorted(result.pages, key=lambda p: p.page_no)
    page_labels: list[str | None] = [None] * len(page_expected)
    for p in pages:
        if 1 <= p.page_no <= len(page_labels):
            page_labels[p.page_no - 1] = None if errored else p.kind.value
    return {
        "kind_doc_acc": m.kind_ratio([doc_expected], [predicted_doc_label(result, errored)]),  # type: ignore[list-item]
        "kind_page_acc": m.kind_ratio(page_expected, page_labels),
    }


# ------------------------------------------------------------------------------------------ dispatch

DatasetScorer = Callable[[CorpusDocument, DocumentResult], Scores]


def sroie_row_order_reference(gt: dict[str, Any]) -> str | None:
    """SROIE's annotated lines in row order (from their quads), or None without lines: the reference of
    ``cer_ci_rows``. SROIE's ``text`` follows the annotation order, which reads item tables column by column."""
    lines = []
    for ln in gt.get("lines") or []:
        quad = ln.get("quad") or []
        if not quad:
            return None
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        lines.append((ln.get("text", ""), (min(xs), min(ys), max(xs), max(ys))))
    return m.row_order_text(lines) if lines else None


def _sroie(doc: CorpusDocument, r: DocumentResult) -> Scores:
    scores = {**score_text(doc.gt.get("text", ""), r), **score_fields("sroie", doc.gt, r)}
    rows_ref = sroie_row_order_reference(doc.gt)
    if rows_ref is not None:
        scores["cer_ci_rows"] = m.cer_ratio(rows_ref, predicted_text(r), casefold=True)
    return scores


def _funsd(doc: CorpusDocument, r: DocumentResult) -> Scores:
    # word F1 against the annotated words (no reading order needed); CER/WER against the heuristic order
    words = " ".join(w.get("text", "") for w in doc.gt.get("words") or [])
    return {**score_text(doc.gt.get("text", ""), r, bag_reference=words), **score_kv_pairs(doc.gt, r)}


def _docbank(doc: CorpusDocument, r: DocumentResult) -> Scores:
    return {**score_text(doc.gt.get("text", ""), r), **score_docbank_tokens(doc.gt, r)}


def _camelot(doc: CorpusDocument, r: DocumentResult) -> Scores:
    return score_tables([(None, t.get("grid") or []) for t in doc.gt.get("tables") or []], r, with_pages=False)


def _pubtabnet(doc: CorpusDocument, r: DocumentResult) -> Scores:
    return score_tables([(None, m.html_table_to_grid(doc.gt.get("html", "")))], r, with_pages=False)


DATASET_SCORERS: dict[str, DatasetScorer] = {
    "sroie": _sroie,
    "funsd": _funsd,
    "docbank_layout": _docbank,
    "icdar2013_tables": score_icdar,
    "camelot_tables": _camelot,
    "pubtabnet_tables": _pubtabnet,
    "publaynet_layout": lambda d, r: score_publaynet(d.gt, d, r),
    "kleister_nda": lambda d, r: score_fields("kleister_nda", d.gt, r),
    "invoices_invoice2data": lambda d, r: score_fields("invoices_invoice2data", d.gt, r),
    "pdf_kind_ocrmypdf": lambda d, r: {},  # kind scores only, added for every dataset
}


def _infer_scores(doc: CorpusDocument, r: DocumentResult) -> Scores:
    """An unknown dataset: score what its ground truth holds."""
    gt, scores = doc.gt, {}
    if isinstance(gt.get("text"), str):
        scores.update(score_text(gt["text"], r))
    if isinstance(gt.get("fields"), dict):
        scores.update(score_fields(doc.dataset, gt, r))
    tables = gt.get("tables")
    if isinstance(tables, list) and tables:
        if "regions" in tables[0]:
            scores.update(score_icdar(doc, r))
        elif "grid" in tables[0]:
            scores.update(_camelot(doc, r))
    if isinstance(gt.get("html"), str):
        scores.update(_pubtabnet(doc, r))
    if isinstance(gt.get("blocks"), list) and gt.get("image_size"):
        scores.update(score_publaynet(gt, doc, r))
    return scores


def score_document(doc: CorpusDocument, result: DocumentResult, errored: bool = False) -> Scores:
    """All metrics that apply to this document's dataset (plus native/scanned labels wherever known)."""
    scorer = DATASET_SCORERS.get(doc.dataset, _infer_scores)
    return {**scorer(doc, result), **score_kind(doc, result, errored)}
