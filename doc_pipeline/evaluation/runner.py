"""Run a prediction function over a corpus, score every document, aggregate per dataset.

    report = run_eval(corpus_dir, ["sroie"], predict, predictions_dir=Path("preds"), out_csv=Path("eval.csv"))
    rich.print(report.to_table())

``predict(path, manifest_entry) -> DocumentResult`` is the system under test (the CLI wires it to the Dagster
pipeline). A document whose predict raises (or returns status failed/rejected) is recorded with its error
and scored as an empty result, so it counts as 0 (CER/WER 100); the run goes on.

Aggregation per dataset: *micro* = summed numerators / summed denominators of all documents (corpus CER,
pooled TP/FP/FN for F1, pooled pages for page accuracy) and *macro* = mean of the per-document values
(documents where a metric had nothing to measure are left out of that metric). Micro is the headline number.
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table as RichTable

from doc_pipeline.core.models import STEPS, DocStatus, DocumentResult
from doc_pipeline.evaluation import metrics as m
from doc_pipeline.evaluation.corpus import CorpusDocument, iter_documents
from doc_pipeline.evaluation.scoring import LOWER_IS_BETTER, METRIC_COLUMNS, SCORED_FIELDS, field_details, score_document

PredictFn = Callable[[Path, dict], DocumentResult]


@dataclass
class DocRow:
    """One scored document (one CSV row)."""

    dataset: str
    id: str
    seconds: float
    pages: int
    error: str | None
    scores: dict[str, m.Ratio]
    timings: dict[str, float] = field(default_factory=dict)
    field_counts: dict[str, m.PRCounts] = field(default_factory=dict)

    def value(self, metric: str) -> float | None:
        r = self.scores.get(metric)
        return None if r is None else r.value


def _round(v: float | None, nd: int = 2) -> float | None:
    return None if v is None else round(v, nd)


def _timing_columns(rows: Iterable[DocRow]) -> list[str]:
    seen = {s for r in rows for s in r.timings}
    return [s for s in STEPS if s in seen] + sorted(seen - set(STEPS))


@dataclass
class EvalReport:
    rows: list[DocRow]

    @property
    def datasets(self) -> list[str]:
        return sorted({r.dataset for r in self.rows})

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per dataset: docs, errors, seconds per doc, metrics {micro, macro, n}, per-field counts, s/page per stage."""
        out: dict[str, dict[str, Any]] = {}
        for ds in self.datasets:
            rows = [r for r in self.rows if r.dataset == ds]
            metrics: dict[str, dict[str, Any]] = {}
            for name in METRIC_COLUMNS:
                ratios = [r.scores[name] for r in rows if name in r.scores]
                if not ratios:
                    continue
                values = [v for v in (x.value for x in ratios) if v is not None]
                pooled = sum(ratios[1:], ratios[0])
                metrics[name] = {
                    "micro": _round(pooled.value),
                    "macro": _round(statistics.fmean(values)) if values else None,
                    "n": len(values),
                    "lower_is_better": name in LOWER_IS_BETTER,
                }
            fields: dict[str, dict[str, Any]] = {}
            for r in rows:
                for fname, c in r.field_counts.items():
                    prev = fields.get(fname, {"counts": m.PRCounts()})
                    fields[fname] = {"counts": prev["counts"] + c}
            out[ds] = {
                "docs": len(rows),
                "errors": sum(1 for r in rows if r.error),
                "pages": sum(r.pages for r in rows),
                "seconds_per_doc": _round(statistics.fmean(r.seconds for r in rows), 3),
                "metrics": metrics,
                "fields": {
                    k: {"tp": v["counts"].tp, "fp": v["counts"].fp, "fn": v["counts"].fn, "f1": _round(v["counts"].f1.value)}
                    for k, v in sorted(fields.items())
                },
                "seconds_per_page": self.seconds_per_page(rows),
            }
        return out

    @staticmethod
    def seconds_per_page(rows: list[DocRow]) -> dict[str, float]:
        """Each stage's total seconds / total pages, over documents that reported timings and pages."""
        timed = [r for r in rows if r.timings and r.pages]
        pages = sum(r.pages for r in timed)
        if not pages:
            return {}
        return {s: round(sum(r.timings.get(s, 0.0) for r in timed) / pages, 4) for s in _timing_columns(timed)}

    def to_json(self) -> str:
        """Summary per dataset + overall timing + every document's values."""
        docs = [
            {
                "dataset": r.dataset,
                "id": r.id,
                "pages": r.pages,
                "seconds": round(r.seconds, 3),
                "error": r.error,
                "metrics": {k: _round(v.value) for k, v in r.scores.items()},
                "timings": r.timings,
            }
            for r in self.rows
        ]
        return json.dumps(
            {
                "datasets": self.summary(),
                "overall": {
                    "docs": len(self.rows),
                    "errors": sum(1 for r in self.rows if r.error),
                    "seconds_per_page": self.seconds_per_page(self.rows),
                },
                "documents": docs,
            },
            indent=2,
            default=str,
        )

    def to_table(self) -> RichTable:
        """One line per (dataset, metric): micro and macro values; then seconds per page per stage."""
        table = RichTable(title="doc-pipeline evaluation", caption="cer/wer: lower is better; others 0..100, higher is better")
        for col, justify in (("dataset", "left"), ("docs", "right"), ("errors", "right"), ("metric", "left"), ("micro", "right"), ("macro", "right"), ("n", "right")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        for ds, s in self.summary().items():
            first = True
            for name, agg in s["metrics"].items():
                table.add_row(
                    ds if first else "", str(s["docs"]) if first else "", str(s["errors"]) if first else "",
                    name, fmt(agg["micro"]), fmt(agg["macro"]), str(agg["n"]),
                )
                first = False
            for step, sec in s["seconds_per_page"].items():
                table.add_row(ds if first else "", "", "", f"s/page {step}", f"{sec:.3f}", "", "")
                first = False
            if first:
                table.add_row(ds, str(s["docs"]), str(s["errors"]), "-", "-", "-", "")
            table.add_section()
        return table

    def write_csv(self, path: Path) -> None:
        """One row per document: dataset, id, pages, seconds, each metric (blank = not applicable), t_<stage>, error."""
        timing_cols = _timing_columns(self.rows)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["dataset", "id", "pages", "seconds", *METRIC_COLUMNS, *(f"t_{s}" for s in timing_cols), "error"])
            for r in self.rows:
                vals = [_round(r.value(name), 4) for name in METRIC_COLUMNS]
                times = [r.timings.get(s) for s in timing_cols]
                w.writerow(
                    [r.dataset, r.id, r.pages, round(r.seconds, 3), *("" if v is None else v for v in vals),
                     *("" if t is None else round(t, 4) for t in times), r.error or ""]
                )


def _timings(result: DocumentResult) -> dict[str, float]:
    raw = (result.meta or {}).get("timings") or {}
    out = {}
    for k, v in raw.items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def evaluate_document(doc: CorpusDocument, predict: PredictFn, predictions_dir: Path | None = None) -> DocRow:
    """Predict, time and score one document; any exception is recorded, never raised."""
    error: str | None = None
    start = time.perf_counter()
    try:
        result = predict(doc.path, doc.entry)
    except Exception as exc:  # noqa: BLE001 - one bad document must not stop the run
        error = f"{type(exc).__name__}: {exc}"
        result = DocumentResult(doc_id=doc.id, status=DocStatus.failed, error=error)
    seconds = time.perf_counter() - start
    if error is None and result.status in (DocStatus.failed, DocStatus.rejected):
        error = result.error or f"status {result.status.value}"
    if predictions_dir is not None:
        predictions_dir.mkdir(parents=True, exist_ok=True)
        (predictions_dir / f"{doc.id}.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    try:
        scores = score_document(doc, result, errored=error is not None)
        fcounts = field_details(doc.dataset, doc.gt, result) if doc.dataset in SCORED_FIELDS else {}
    except Exception as exc:  # noqa: BLE001 - a scoring problem is reported on the row, the run goes on
        scores, fcounts = {}, {}
        error = (error + "; " if error else "") + f"scoring failed: {type(exc).__name__}: {exc}"
    return DocRow(
        dataset=doc.dataset,
        id=doc.id,
        seconds=seconds,
        pages=len(result.pages),
        error=error,
        scores=scores,
        timings=_timings(result),
        field_counts=fcounts,
    )


def run_eval(
    corpus_dir: Path | str,
    datasets: list[str] | None,
    predict: PredictFn,
    predictions_dir: Path | None = None,
    out_csv: Path | None = None,
    on_document: Callable[[DocRow], None] | None = None,
    limit_per_dataset: int = 0,
) -> EvalReport:
    """Evaluate ``predict`` on the chosen datasets of a corpus folder (all datasets when ``datasets`` is None).

    ``predictions_dir`` receives ``<id>.json`` (DocumentResult JSON) per document; ``out_csv`` one row per
    document; ``on_document`` is called after each document (progress output).
    """
    rows = []
    taken: dict[str, int] = {}
    for doc in iter_documents(corpus_dir, datasets):
        taken[doc.dataset] = taken.get(doc.dataset, 0) + 1
        if limit_per_dataset and taken[doc.dataset] > limit_per_dataset:
            continue
        row = evaluate_document(doc, predict, predictions_dir)
        rows.append(row)
        if on_document is not None:
            on_document(row)
    report = EvalReport(rows=rows)
    if out_csv is not None:
        report.write_csv(out_csv)
    return report
