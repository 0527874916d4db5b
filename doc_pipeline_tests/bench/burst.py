"""Target 3: a burst of one-page documents dropped into raw/ at once, processed by the real Dagster machinery
(`doc-pipeline serve`: daemon with the raw/ sensor and queued run coordinator, one run process per document),
against the same documents in a plain process pool (one process per core) calling the core functions."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from doc_pipeline_tests.bench import inputs
from doc_pipeline_tests.bench.measure import TargetResult, free_port, process_tree, stop_process, wait_for_port
from doc_pipeline_tests.bench.pipeline import ROOT, child_env

TARGET_RATIO = 1.5
FINISHED = ("done", "failed", "rejected")


def _pool_init(home: str) -> None:
    os.environ["DOCPIPE_HOME"] = home
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def _direct(path: str) -> dict:
    from doc_pipeline_tests.bench.core_direct import process_one

    return process_one(path)


def process_pool(files: list[Path], warmup: list[Path], workers: int, home: Path) -> float:
    """Seconds for a warmed-up pool (models loaded in every worker) to process `files`."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_pool_init,
                             initargs=(str(home),)) as pool:
        list(pool.map(_direct, [str(p) for p in warmup]))
        t0 = time.perf_counter()
        list(pool.map(_direct, [str(p) for p in files]))
        return time.perf_counter() - t0


def finished_counts(db_path: Path) -> dict[str, int]:
    if not db_path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as con:
            return dict(con.execute("select status, count(*) from documents group by status").fetchall())
    except sqlite3.Error:
        return {}


def drop(files: list[Path], raw: Path, staging: Path) -> None:
    """Copy files into raw/ so each appears whole (rename within one file system)."""
    staging.mkdir(parents=True, exist_ok=True)
    raw.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(f, staging / f.name)
    for f in files:
        os.replace(staging / f.name, raw / f.name)


def wait_finished(db_path: Path, total: int, timeout: float, proc: subprocess.Popen) -> dict[str, int]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        counts = finished_counts(db_path)
        if sum(counts.get(s, 0) for s in FINISHED) >= total:
            return counts
        if proc.poll() is not None:
            raise RuntimeError(f"doc-pipeline serve exited with {proc.returncode}")
        time.sleep(0.5)
    raise TimeoutError(f"not all {total} documents finished in {timeout:.0f}s: {finished_counts(db_path)}")


def daemon_burst(files: list[Path], warmup: Path, work: Path, timeout: float) -> tuple[float, dict]:
    home = work / "serve-home"
    env = child_env(home)
    api_port, ui_port = free_port(), free_port()
    # create the Dagster instance's SQLite storage first: the webserver and the daemon creating it at once on a
    # fresh home race in alembic ("more than one head"), and the code location then fails to load
    subprocess.run([sys.executable, "-c", "from doc_pipeline.instance import ensure_dagster_home as e; e(); "
                    "from dagster import DagsterInstance as D; i = D.get(); i.get_runs(limit=1); "
                    "i.all_instigator_state()"], env=env, cwd=ROOT, check=True, capture_output=True)
    log = (work / "serve.log").open("w")
    # BENCH_PYSPY=out.txt: sample every process of `serve` with py-spy (pip install py-spy; docs/PERFORMANCE.md)
    prof = os.environ.get("BENCH_PYSPY")
    pyspy = [str(Path(sys.executable).parent / "py-spy"), "record", "--subprocesses", "-r", "50", "-f", "raw",
             "-o", prof, "--"] if prof else []
    proc = subprocess.Popen(pyspy + [str(Path(sys.executable).parent / "doc-pipeline"), "serve", "--api-port", str(api_port),
                             "--dagster-port", str(ui_port)], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(ui_port, 180, proc)
        raw, staging, db = home / "store" / "raw", home / "staging", home / "docpipe.db"
        # one document first: the daemon has loaded the code and its sensor ticks before the clock starts
        drop([warmup], raw, staging)
        wait_finished(db, 1, 240, proc)
        t0 = time.perf_counter()
        drop(files, raw, staging)
        counts = wait_finished(db, len(files) + 1, timeout, proc)
        return time.perf_counter() - t0, counts
    finally:
        if prof:  # py-spy writes its samples on SIGINT; `serve` and its children outlive it, so stop them by pid
            import signal

            tree = process_tree(proc.pid)
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(timeout=120)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                for pid in tree:
                    try:
                        os.kill(pid, sig)
                    except (ProcessLookupError, PermissionError):
                        pass
                time.sleep(10 if sig == signal.SIGTERM else 0)
        stop_process(proc)
        log.close()


def run(work: Path, docs: int, timeout: float = 3600) -> TargetResult:
    files = inputs.write_burst_set(work / "input", docs)
    warm = inputs.write_burst_set(work / "warmup", 2, prefix="warmup")  # other names: other documents
    workers = os.cpu_count() or 1
    pool_s = process_pool(files, warm[:workers] if workers <= 2 else warm, workers, work / "pool-home")
    daemon_s, counts = daemon_burst(files, warm[0], work, timeout)
    ratio = daemon_s / pool_s
    return TargetResult("burst_total_wall_s", daemon_s, "s", pool_s, ratio, ratio <= TARGET_RATIO,
                        f"ratio <= {TARGET_RATIO} (Dagster daemon / process pool of {workers}, {docs} one-page docs)",
                        {"docs": docs, "pool_s": round(pool_s, 3), "statuses": counts})
