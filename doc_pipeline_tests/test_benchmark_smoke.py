"""Smoke test of the benchmark tooling: benchmark.py on one tiny document through the real pipeline, the
baselines on the same input, and the suite's pure helpers. Sizes are tiny; the figures are not asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from doc_pipeline_tests.bench import inputs
from doc_pipeline_tests.bench.__main__ import stage_cpu_rows
from doc_pipeline_tests.bench.measure import TargetResult, percentile
from doc_pipeline_tests.bench.native import pdfplumber_alone
from doc_pipeline_tests.bench.pipeline import run_pipeline
from doc_pipeline_tests.bench.runner import STAGES
from doc_pipeline_tests.bench.scanned import tesseract_alone


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 95) == 95
    assert percentile(values, 50) == 50
    assert percentile([7.0], 95) == 7.0
    assert percentile([3, 1, 2], 100) == 3
    with pytest.raises(ValueError):
        percentile([], 50)


def test_result_line_format():
    assert TargetResult("x", 12.345, "s", 10.0, 1.2345, True, "").line() == "x 12.35 1.234 PASS"
    assert TargetResult("y", 3.0, "ms", None, None, False, "").line() == "y 3 - FAIL"


def test_busy_share_counts_runnable_threads_up_to_the_cores():
    from doc_pipeline_tests.bench.measure import RunnableSampler, busy_by_step

    sampler = RunnableSampler(pid=0, cores=2)
    # a step from t=10 to 12: two samples with both cores busy, one with 1, one with 5 threads (capped at 2)
    sampler.samples = [(9.5, 0), (10.0, 2), (10.5, 1), (11.0, 5), (11.5, 2), (12.5, 0)]
    assert sampler.busy_share(10, 12) == pytest.approx((2 + 1 + 2 + 2) / 4 / 2)
    assert sampler.busy_share(20, 30) is None
    busy = busy_by_step(sampler, [["ocr_text", 10, 12], ["fields", 12, 13]])
    assert busy["ocr_text"] == pytest.approx(0.875) and busy["fields"] == 0.0
    assert busy["all_steps"] == pytest.approx(0.875 * 2 / 3, abs=1e-3)  # weighted by the steps' seconds
    assert RunnableSampler.runnable_threads({__import__("os").getpid()}) >= 1  # this thread is running


def test_samplers_see_short_lived_children_and_read_each_process_once(monkeypatch):
    """Reading every process's /proc stat file each 10 ms took 0.46 of a core from the pipeline being measured;
    the watch reads the stat file of a process once, when it first appears, so a worker that lives a fraction of
    a second (doc-pipeline process forks one per group of documents) is still in the tree; the samplers' CPU is
    reported."""
    import os
    import subprocess
    import time

    from doc_pipeline_tests.bench import measure

    watch = measure.ProcessTreeWatch(os.getpid())
    reads: list[str] = []
    stat = watch._stat
    monkeypatch.setattr(watch, "_stat", lambda path: reads.append(path) or stat(path))
    watch.update()
    first = len(reads)
    child = subprocess.Popen(["sleep", "0.3"])
    try:
        assert child.pid in watch.update()
        assert len(reads) <= first + 2  # the new process (and at most one other newcomer), not every process again
        assert child.pid in watch.update() and len(reads) <= first + 2
    finally:
        child.wait()
    assert child.pid not in watch.update()

    sampler = measure.RunnableSampler(os.getpid(), interval=0.01)
    with sampler:
        deadline = time.time() + 5
        while len(sampler.samples) < 5 and time.time() < deadline:
            time.sleep(0.01)
    assert len(sampler.samples) >= 5
    assert 0 < sampler.cpu_seconds < 5


def test_scanned_ratio_pairs_each_round_with_the_baselines_around_it():
    from doc_pipeline_tests.bench.scanned import paired_ratios

    # 30 pages; baseline runs of 10 s, 12 s, 14 s around two rounds of 2 pages/s: the first round is compared with
    # an 11 s baseline (2.727 pages/s), the second with 13 s (2.308 pages/s)
    assert paired_ratios([2.0, 2.0], 30, [10.0, 12.0, 14.0]) == pytest.approx([2.0 / 2.7273, 2.0 / 2.3077], rel=1e-3)
    with pytest.raises(ValueError):
        paired_ratios([2.0], 30, [10.0])


def test_generated_inputs_have_the_pages_asked_for(tmp_path):
    import pypdfium2 as pdfium

    assert len(pdfium.PdfDocument(inputs.native_pdf(3))) == 3
    big = inputs.repeat_pages(inputs.native_pdf(2), 5)
    assert len(pdfium.PdfDocument(big)) == 5


def test_benchmark_on_one_document_writes_stage_figures(tmp_path: Path):
    folder = tmp_path / "in"
    pdf = inputs.write(folder, "one.pdf", inputs.native_pdf(1, seed=3))
    pr = run_pipeline(folder, tmp_path / "work", timeout=120)
    assert pr.summary["documents"] == 1 and pr.summary["failed"] == 0, pr.rows
    (row,) = pr.rows
    assert row["status"] == "done" and row["kind"] == "native" and row["pages"] == "1"
    assert int(row["tables"]) >= 1  # the generated page has a ruled table
    for st in STAGES:  # every stage timed from step_checkpoints and from the event stream
        assert row[f"sec_{st}"] != "" and float(row[f"sec_{st}"]) >= 0, st
        assert row[f"cpu_{st}"] != "" and float(row[f"cpu_{st}"]) >= 0, st
    assert sum(float(row[f"sec_{st}"]) for st in STAGES) <= float(row["seconds_total"])
    assert float(row["cpu_total"]) >= sum(float(row[f"cpu_{st}"]) for st in STAGES) * 0.99
    assert pr.peak_rss_process > 50 * 2 ** 20 and pr.wall > pr.summary["seconds"]
    (agg,) = stage_cpu_rows({"smoke": [pr]})
    assert agg["pages"] == 1 and agg["cpu_per_page_total"] == pytest.approx(float(row["cpu_total"]), abs=1e-3)
    # every step's span came back from the child, and the busy share of the cores was sampled inside it
    assert {step for step, _, _ in pr.summary["step_spans"]} == set(STAGES)
    assert 0 < agg["busy_cores_all_steps"] <= 1
    # a step of a few ms has no sample (a one-page native document's steps take 5-50 ms): the longest, if long enough
    longest = max(pr.summary["step_spans"], key=lambda span: span[2] - span[1])
    if longest[2] - longest[1] > 0.15:
        assert 0 < agg[f"busy_cores_{longest[0]}"] <= 1

    base_s, base_pages = pdfplumber_alone([pdf])
    assert base_pages == 1 and base_s > 0


def test_tesseract_baseline_reads_rendered_pages(tmp_path: Path):
    pdf = inputs.write(tmp_path, "scan.pdf", inputs.scanned_pdf(1, seed=4))
    images = inputs.render_page_images(pdf, tmp_path / "img", 150)
    assert len(images) == 1
    assert tesseract_alone(images, 1) > 0


def test_benchmark_runs_a_batch_and_the_text_only_profile(tmp_path: Path):
    from doc_pipeline_tests.bench.scanned import TEXT_ONLY

    folder = tmp_path / "in"
    inputs.write(folder, "a_native.pdf", inputs.native_pdf(1, seed=5))
    inputs.write(folder, "b_scan.pdf", inputs.scanned_pdf(1, seed=6))
    pr = run_pipeline(folder, tmp_path / "work", timeout=300, env=TEXT_ONLY)
    assert pr.summary["documents"] == 2 and pr.summary["failed"] == 0, pr.rows
    rows = {Path(r["file"]).name: r for r in pr.rows}
    assert rows["b_scan.pdf"]["kind"] == "scanned" and float(rows["b_scan.pdf"]["ocr_confidence"]) > 0.5
    for row in rows.values():  # both documents went in one run; each gets its share of the stages' CPU
        assert all(row[f"cpu_{st}"] != "" for st in STAGES), row
    assert sum(float(r["cpu_ocr_text"]) for r in rows.values()) > 0
    # the scanned document did the OCR: most of ocr_text's CPU is its share
    assert float(rows["b_scan.pdf"]["cpu_ocr_text"]) > float(rows["a_native.pdf"]["cpu_ocr_text"])


def test_own_peak_rss_is_the_childs_not_the_forking_parents():
    """ru_maxrss of an exec'd child carries the parent's peak (the hostile batch read 1.7 GB under a full pytest
    run); the batch and bench report VmHWM instead, which only counts the child's own pages."""
    import subprocess
    import sys

    ballast = bytearray(600 << 20)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # touch every page so it counts in the parent's RSS
    code = ("import resource; from doc_pipeline_tests.bench.measure import own_peak_rss_bytes as f; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10, f())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    inherited, own = map(int, out)
    del ballast
    assert 0 < own < 300 << 20, (inherited, own)  # ru_maxrss here reads >= 600 MB


def test_pdfium_look_check_runs_and_finds_no_miss_on_generated_pages(tmp_path: Path, capsys):
    from doc_pipeline_tests.bench import pdfium_look

    (tmp_path / "native").mkdir()
    inputs.write_native_set(tmp_path / "native", 2, 2)  # pages with ruled tables
    assert pdfium_look.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "misses 0" in out and "native                   grid by pdfplumber       4" in out


def test_text_layer_check_agrees_with_pdfplumber_on_generated_pages(tmp_path: Path, capsys):
    from doc_pipeline_tests.bench import text_layer_check

    (tmp_path / "native").mkdir()
    inputs.write_native_set(tmp_path / "native", 2, 1)
    assert text_layer_check.main([str(tmp_path)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("ALL"))
    assert float(line.split("F1")[1]) > 95


def test_event_log_bench_stores_events_one_by_one_and_in_batches(docpipe_home, monkeypatch):
    from doc_pipeline_tests.bench import event_log

    monkeypatch.setenv("DOCPIPE_HOME", str(docpipe_home))  # the bench picks a fresh home of its own; restored here
    res = event_log.measure(events=20, rounds=1, batch=10)
    assert len(res["single"]) == len(res["batch"]) == 1 and min(res["single"] + res["batch"]) > 0


def test_native_target_reports_the_median_round(tmp_path: Path):
    """The native target alternates pdfplumber alone and the pipeline `rounds` times and reports the round with the
    median ratio, with every round's ratio beside it."""
    from doc_pipeline_tests.bench import native

    results, pr = native.run(tmp_path, 2, 1, rounds=3)
    target = results[0]
    rounds = target.notes["ratio_per_round"]
    assert target.notes["rounds"] == 3 and len(rounds) == 3
    assert round(target.ratio, 3) == sorted(rounds)[1] and pr.pages == 2
