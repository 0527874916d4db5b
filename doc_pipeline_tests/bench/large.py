"""Target 4: large scanned documents, page by page: peak memory of any process and time linear in pages."""

from __future__ import annotations

from pathlib import Path

from doc_pipeline_tests.bench import inputs
from doc_pipeline_tests.bench.measure import TargetResult
from doc_pipeline_tests.bench.pipeline import run_pipeline

RSS_LIMIT = 1.5 * 1024 ** 3
LINEARITY_LIMIT = 1.25  # s/page at the largest size over s/page at the smallest


def run(work: Path, sizes: list[int]) -> tuple[list[TargetResult], list]:
    per_size, runs = [], []
    for n in sizes:
        folder = work / f"p{n}" / "input"
        inputs.write(folder, f"large_{n}.pdf", inputs.large_scanned_pdf(n))
        pr = run_pipeline(folder, work / f"p{n}" / "pipeline", timeout=max(600, n * 30))
        peak = max(pr.peak_rss_process, pr.peak_rss_waited)
        per_size.append({"pages": n, "seconds": pr.summary["seconds"], "s_per_page": pr.summary["seconds"] / n,
                         "peak_rss_mb": round(peak / 2 ** 20, 1), "status": pr.rows[0]["status"] if pr.rows else "?"})
        runs.append(pr)
    peak = max(r["peak_rss_mb"] for r in per_size) * 2 ** 20
    lin = per_size[-1]["s_per_page"] / per_size[0]["s_per_page"]
    details = {f"s_per_page_{r['pages']}": round(r["s_per_page"], 3) for r in per_size}
    details.update({f"peak_rss_mb_{r['pages']}": r["peak_rss_mb"] for r in per_size})
    details.update({f"status_{r['pages']}": r["status"] for r in per_size})
    return [TargetResult("large_doc_peak_rss_mb", peak / 2 ** 20, "MB", None, peak / RSS_LIMIT,
                         peak <= RSS_LIMIT and all(r["status"] == "done" for r in per_size),
                         "peak RSS of any process <= 1536 MB (ratio = measured / limit) and every size done", details),
            TargetResult("large_doc_time_linearity", lin, "x", None, lin, lin <= LINEARITY_LIMIT,
                         f"s/page at {sizes[-1]} pages / s/page at {sizes[0]} pages <= {LINEARITY_LIMIT}", details)], runs
