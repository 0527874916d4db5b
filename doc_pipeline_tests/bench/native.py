"""Target 2: native pages end to end (pages/second) vs pdfplumber alone extracting text and tables."""

from __future__ import annotations

import time
from pathlib import Path

from doc_pipeline_tests.bench import inputs
from doc_pipeline_tests.bench.measure import TargetResult
from doc_pipeline_tests.bench.pipeline import run_pipeline

TARGET_RATIO = 1.0


def pdfplumber_alone(pdfs: list[Path]) -> tuple[float, int]:
    """Seconds for pdfplumber to extract the text and the tables of every page (one process, as the pipeline
    here handles one document at a time)."""
    import pdfplumber

    pages = 0
    t0 = time.perf_counter()
    for path in pdfs:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_text()
                page.extract_tables()
                pages += 1
    return time.perf_counter() - t0, pages


def run(work: Path, docs: int, pages_each: int) -> tuple[TargetResult, object]:
    folder = work / "input"
    pdfs = inputs.write_native_set(folder, docs, pages_each)
    base_s, base_pages = pdfplumber_alone(pdfs)
    pr = run_pipeline(folder, work / "pipeline")
    pps = pr.pages / pr.summary["seconds"]
    base_pps = base_pages / base_s
    ratio = pps / base_pps
    return TargetResult("native_pages_per_s", pps, "pages/s", base_pps, ratio, ratio >= TARGET_RATIO,
                        f"ratio >= {TARGET_RATIO} (pipeline / pdfplumber text+tables, one process)",
                        {"pages": pr.pages, "docs": docs, "pipeline_s": pr.summary["seconds"],
                         "pdfplumber_s": round(base_s, 3), "pipeline_cpu_s": pr.summary["cpu_seconds"],
                         "sampler_cpu_s": pr.sampler_cpu_s}), pr
