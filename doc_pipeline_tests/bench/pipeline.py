"""Run doc_pipeline_tests/benchmark.py on a folder in a child process (fresh DOCPIPE_HOME) and read its results,
sampling the child's memory while it runs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from doc_pipeline_tests.bench.measure import RunnableSampler, TreeRssSampler, busy_by_step

ROOT = Path(__file__).resolve().parents[2]
BENCHMARK = ROOT / "doc_pipeline_tests" / "benchmark.py"


@dataclass
class PipelineRun:
    rows: list[dict]
    summary: dict  # from benchmark.py: seconds = the processing loop (no interpreter start)
    wall: float  # the child process from start to exit
    peak_rss_process: int  # sampled: the largest single process of the tree
    peak_rss_waited: int  # ru_maxrss of the child from wait4 (covers peaks between samples)
    busy: dict | None = None  # share of the cores kept busy per stage (measure.RunnableSampler), "all_steps"
    sampler_cpu_s: float = 0.0  # CPU the two samplers took from the host while the pipeline ran (the observer's cost)

    @property
    def pages(self) -> int:
        return int(self.summary["pages"])


def child_env(home: Path) -> dict:
    env = dict(os.environ)
    env["DOCPIPE_HOME"] = str(home)
    # the suite measures the embedded default in isolation: no DB, store or Dagster instance from the caller
    for name in ("DAGSTER_HOME", "DOCPIPE_DATABASE_URL", "DOCPIPE_STORAGE", "DOCPIPE_STORAGE_PATH"):
        env.pop(name, None)
    env.setdefault("OMP_THREAD_LIMIT", "1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_pipeline(folder: Path, work: Path, timeout: float = 3600, env: dict[str, str] | None = None,
                 home: Path | None = None) -> PipelineRun:
    """`home`: an existing DOCPIPE_HOME to process in (default: a new one, `work`/home)."""
    work.mkdir(parents=True, exist_ok=True)
    out_csv, summary_json, home = work / "report.csv", work / "summary.json", home or work / "home"
    log = (work / "benchmark.log").open("w")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(BENCHMARK), str(folder), "--out", str(out_csv), "--home", str(home),
                             "--summary", str(summary_json)], env={**child_env(home), **(env or {})}, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    with TreeRssSampler(proc.pid) as sampler, RunnableSampler(proc.pid) as runnable:
        deadline = time.time() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                proc.kill()
                raise TimeoutError(f"benchmark.py on {folder} ran past {timeout:.0f}s (see {work / 'benchmark.log'})")
            time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    log.close()
    if not summary_json.exists():
        tail = (work / "benchmark.log").read_text()[-3000:]
        raise RuntimeError(f"benchmark.py failed (exit {proc.returncode}):\n{tail}")
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    summary = json.loads(summary_json.read_text())
    return PipelineRun(rows=rows, summary=summary, wall=wall, peak_rss_process=sampler.peak_process,
                       peak_rss_waited=usage.ru_maxrss * 1024,
                       busy=busy_by_step(runnable, summary.get("step_spans") or []),
                       sampler_cpu_s=round(sampler.cpu_seconds + runnable.cpu_seconds, 3))
