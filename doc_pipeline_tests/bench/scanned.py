"""Target 1: scanned pages end to end (pages/minute) vs the tesseract CLI alone on the same page images."""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from doc_pipeline_tests.bench import inputs
from doc_pipeline_tests.bench.measure import TargetResult
from doc_pipeline_tests.bench.pipeline import run_pipeline

TARGET_RATIO = 0.8
# the fast text-only profile, measured beside the default: no layout model, no orientation detection
TEXT_ONLY = {"DOCPIPE_LAYOUT_ENGINE": "none", "DOCPIPE_OCR_ORIENTATION": "false"}


def tesseract_alone(images: list[Path], workers: int) -> float:
    """Seconds for the tesseract CLI to read every image: one single-threaded process per core at a time."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(img: Path) -> None:
        subprocess.run(["tesseract", str(img), "stdout", "-l", "eng", "tsv"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, images))
    return time.perf_counter() - t0


def run(work: Path, docs: int, pages_each: int, dpi: int, text_only: bool = True) -> tuple[list[TargetResult], list]:
    folder = work / "input"
    pdfs = inputs.write_scanned_set(folder, docs, pages_each)
    images = [img for pdf in pdfs for img in inputs.render_page_images(pdf, work / "images", dpi)]
    base_s = tesseract_alone(images, os.cpu_count() or 1)
    base_ppm = len(images) / base_s * 60
    profiles = [("scanned_pages_per_min", "pipeline", {}, "default settings")]
    if text_only:
        profiles.append(("scanned_pages_per_min_text_only", "pipeline-text-only", TEXT_ONLY,
                         "text-only profile, not the default: " + " ".join(f"{k}={v}" for k, v in TEXT_ONLY.items())))
    results, runs = [], []
    for name, sub, env, label in profiles:
        pr = run_pipeline(folder, work / sub, env=env)
        ppm = pr.pages / pr.summary["seconds"] * 60
        ratio = ppm / base_ppm
        results.append(TargetResult(
            name, ppm, "pages/min", base_ppm, ratio, ratio >= TARGET_RATIO,
            f"ratio >= {TARGET_RATIO} (pipeline / tesseract CLI, {os.cpu_count()} procs, OMP_THREAD_LIMIT=1, "
            f"{dpi} dpi), {label}",
            {"pages": pr.pages, "docs": docs, "pipeline_s": pr.summary["seconds"], "tesseract_s": round(base_s, 3),
             "pipeline_cpu_s": pr.summary["cpu_seconds"]}))
        runs.append(pr)
    return results, runs
