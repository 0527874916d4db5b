"""A perfect 'prediction' built from the ground truth itself.

Used to check the harness: scoring the oracle on any corpus must give 100 on every higher-is-better metric
and 0 CER/WER (short of documented limits). ``doc-pipeline eval --oracle`` style sanity checks and the
runner tests use it; it never looks at the input file except to read page sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from doc_pipeline.core.models import (
    Block,
    DocKind,
    DocStatus,
    DocumentResult,
    ExtractedField,
    FieldSource,
    Page,
    PageKind,
    Table,
    Word,
)
from doc_pipeline.evaluation import metrics as m
from doc_pipeline.evaluation.scoring import (
    DOCBANK_TO_PUBLAYNET,
    FIELD_NAME_MAP,
    INPUT_KIND_TO_KIND,
    docbank_scored_tokens,
    icdar_regions,
    pdf_page_boxes,
)

_ORACLE_PAGE_KIND = {"scanned_ocr_layer": "native", "native_unusable_text": "scanned", "vector_text": "scanned", "empty": "blank"}


class OracleInvalidInput(ValueError):
    """Raised for ground truth labelled `invalid`: the real pipeline must fail on it too."""


def _page_sizes(gt: dict[str, Any], path: Path) -> list[tuple[float, float]]:
    boxes = pdf_page_boxes(path)
    if boxes:
        return [(b[2] - b[0], b[3] - b[1]) for b in boxes]
    if gt.get("image_size"):
        return [(float(gt["image_size"][0]), float(gt["image_size"][1]))]
    try:
        from PIL import Image

        with Image.open(path) as im:
            return [(float(im.size[0]), float(im.size[1]))]
    except Exception:  # noqa: BLE001
        return [(1000.0, 1000.0)]


def oracle_result(dataset: str, gt: dict[str, Any], path: Path) -> DocumentResult:
    """The DocumentResult a perfect pipeline would return for this ground truth."""
    if gt.get("kind") == "invalid":
        raise OracleInvalidInput("input labelled invalid")
    sizes = _page_sizes(gt, path)
    if gt.get("page_kinds"):
        page_kinds = [_ORACLE_PAGE_KIND.get(k, k) for k in gt["page_kinds"]]
        sizes = (sizes + [sizes[-1]] * len(page_kinds))[: len(page_kinds)]
    else:
        page_kinds = [INPUT_KIND_TO_KIND.get(gt.get("input_kind", ""), "native")] * len(sizes)
    pages = [
        Page(page_no=i + 1, kind=PageKind(k), width=w, height=h) for i, (k, (w, h)) in enumerate(zip(page_kinds, sizes))
    ]
    non_blank = {k for k in page_kinds if k != "blank"}
    kind = DocKind.mixed if len(non_blank) > 1 else DocKind(non_blank.pop() if non_blank else "native")
    if gt.get("kind") == "mixed":
        kind = DocKind.mixed

    first = pages[0]
    if isinstance(gt.get("text"), str):
        first.text = gt["text"]
    if gt.get("words"):
        first.words = [Word(text=w["text"], bbox=tuple(w["box"]), conf=1.0) for w in gt["words"]]
    if gt.get("blocks") and gt.get("image_size"):
        iw, ih = gt["image_size"]
        first.blocks = [
            Block(type=b["category"], bbox=m.scale_box(b["bbox"], first.width / iw, first.height / ih), score=1.0)
            for b in gt["blocks"]
        ]
    if gt.get("tokens"):
        first.blocks = [
            Block(
                type=DOCBANK_TO_PUBLAYNET.get(t.get("label", ""), "text"),
                bbox=m.scale_box(t["bbox_1000"], first.width / 1000, first.height / 1000),
                score=1.0,
            )
            for t in docbank_scored_tokens(gt)
            if t["bbox_1000"][2] > t["bbox_1000"][0] and t["bbox_1000"][3] > t["bbox_1000"][1]
        ]

    fields: list[ExtractedField] = []
    if gt.get("key_values"):
        fields = [
            ExtractedField(name=kv["key"], value=kv["value"], confidence=1.0, source=FieldSource.kv)
            for kv in gt["key_values"]
        ]
    elif isinstance(gt.get("fields"), dict):
        ours = {v: k for k, v in FIELD_NAME_MAP.get(dataset, {}).items()}
        ours.update({"amount": "total", "party": "parties"})  # our canonical names where both map
        readable = gt.get("fields_readable") or gt["fields"]
        for name, raw in readable.items():
            for value in raw if isinstance(raw, list) else [raw]:
                fields.append(ExtractedField(name=ours.get(name, name), value=str(value), confidence=1.0))

    tables: list[Table] = []
    regions = icdar_regions(gt)
    if regions:
        boxes = pdf_page_boxes(path) or []
        for r in regions:
            p = int(r["page"])
            left, top = (boxes[p - 1][0], boxes[p - 1][3]) if p <= len(boxes) else (0.0, pages[min(p, len(pages)) - 1].height)
            rows = [[c or "" for c in row] for row in r.get("grid") or []]
            bbox = m.bottom_left_to_top_left(r["table_bbox"], top, left) if r.get("table_bbox") else None
            tables.append(Table(page_no=p, bbox=bbox, rows=rows))
    elif isinstance(gt.get("tables"), list):
        for t in gt["tables"]:
            tables.append(Table(page_no=1, rows=[[c or "" for c in row] for row in t.get("grid") or []]))
    if isinstance(gt.get("html"), str):
        tables.append(Table(page_no=1, rows=[[c or "" for c in row] for row in m.html_table_to_grid(gt["html"])]))

    return DocumentResult(
        doc_id=str(gt.get("id", path.stem)),
        status=DocStatus.done,
        kind=kind,
        doc_type=gt.get("doc_type"),
        pages=pages,
        fields=fields,
        tables=tables,
        meta={"timings": {"raw_pdf": 0.0}},
    )
