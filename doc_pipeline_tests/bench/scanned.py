"""Target 1: scanned pages end to end (pages/minute) vs the tesseract CLI alone on the same page images."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from doc_pipeline_tests.bench import inputs
from doc_pipeline_tests.bench.measure import TargetResult, host_probe
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


def paired_ratios(pipeline_pages_per_s: list[float], baseline_pages: int, baseline_s: list[float]) -> list[float]:
    """Pipeline throughput of round i over the baseline's, the baseline taken as the mean of its runs just before
    and after round i (baseline_s has one run more than there are rounds)."""
    if len(baseline_s) != len(pipeline_pages_per_s) + 1:
        raise ValueError("one baseline run before each round and one after the last")
    return [pps / (baseline_pages / ((baseline_s[i] + baseline_s[i + 1]) / 2))
            for i, pps in enumerate(pipeline_pages_per_s)]


def run(work: Path, docs: int, pages_each: int, dpi: int, text_only: bool = True,
        rounds: int = 2) -> tuple[list[TargetResult], list]:
    """`rounds` alternations of baseline and pipeline runs (baseline, default, text-only, ..., baseline). Each
    pipeline run is compared with the mean of the baseline runs just before and after it, and a profile's ratio is
    the median over its rounds: the CPU of a shared VM changes speed by minutes (measure.host_probe moved 2x within
    a minute on one host), so only runs close in time compare fairly."""
    folder = work / "input"
    pdfs = inputs.write_scanned_set(folder, docs, pages_each)
    images = [img for pdf in pdfs for img in inputs.render_page_images(pdf, work / "images", dpi)]
    profiles = [("scanned_pages_per_min", "pipeline", {}, "default settings")]
    if text_only:
        profiles.append(("scanned_pages_per_min_text_only", "pipeline-text-only", TEXT_ONLY,
                         "text-only profile, not the default: " + " ".join(f"{k}={v}" for k, v in TEXT_ONLY.items())))
    probes = [host_probe()]
    base_runs = [tesseract_alone(images, os.cpu_count() or 1)]
    by_profile: dict[str, list] = {name: [] for name, *_ in profiles}
    for r in range(max(1, rounds)):
        for name, sub, env, _ in profiles:
            by_profile[name].append(run_pipeline(folder, work / (sub if r == 0 else f"{sub}-{r + 1}"), env=env))
        probes.append(host_probe())
        base_runs.append(tesseract_alone(images, os.cpu_count() or 1))
    results, runs = [], []
    for name, _, _, label in profiles:
        prs = by_profile[name]
        ratios = paired_ratios([pr_.pages / pr_.summary["seconds"] for pr_ in prs], len(images), base_runs)
        ratio = statistics.median(ratios)
        mid = min(range(len(prs)), key=lambda i: abs(ratios[i] - ratio))  # the run the median ratio comes from
        pr = prs[mid]
        base_s = (base_runs[mid] + base_runs[mid + 1]) / 2
        base_ppm = len(images) / base_s * 60
        results.append(TargetResult(
            name, pr.pages / pr.summary["seconds"] * 60, "pages/min", base_ppm, ratio, ratio >= TARGET_RATIO,
            f"ratio >= {TARGET_RATIO} (pipeline / tesseract CLI, {os.cpu_count()} procs, OMP_THREAD_LIMIT=1, "
            f"{dpi} dpi), {label}; median of {len(prs)} rounds",
            {"pages": pr.pages, "docs": docs, "pipeline_s": pr.summary["seconds"], "tesseract_s": round(base_s, 3),
             "ratios": [round(x, 3) for x in ratios],
             "pipeline_s_rounds": [pr_.summary["seconds"] for pr_ in prs],
             "tesseract_s_runs": [round(b, 3) for b in base_runs], "host_probe_s": probes,
             "pipeline_cpu_s": pr.summary["cpu_seconds"], "sampler_cpu_s": pr.sampler_cpu_s}))
        runs.append(pr)
    return results, runs
