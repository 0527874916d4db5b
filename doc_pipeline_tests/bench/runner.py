"""Process a folder of documents through the real pipeline, the way `doc-pipeline process` does (ingest through
raw/, one Dagster run per document executed in-process), and measure every stage.

Wall seconds per stage come from step_checkpoints (result.meta["timings"]). CPU seconds per stage come from the
Dagster event stream: the instance's handle_new_event is wrapped (in this process only, no pipeline code changes)
so that at each STEP_START and STEP_SUCCESS/STEP_FAILURE the process CPU time (all threads, e.g. the OCR pool,
plus waited-for children) is read. The in-process executor runs one step at a time, so the delta is the step's.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from doc_pipeline_tests.bench.measure import cpu_seconds, own_peak_rss_bytes

STAGES: tuple[str, ...] = ("raw_pdf", "page_images", "layout_blocks", "ocr_text", "tables", "fields", "index_docs")
DOC_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}


def use_fresh_home(home: Path | None = None) -> Path:
    """Point DOCPIPE_HOME at a new folder (and let DAGSTER_HOME follow it) before anything reads the settings."""
    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="docpipe-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DOCPIPE_HOME"] = str(home.resolve())
    os.environ.pop("DAGSTER_HOME", None)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # as the CLI's children and scripts/*.sh: one thread per OCR call
    from doc_pipeline.settings import reload_settings

    reload_settings()
    return home


class StepCpuRecorder:
    """Wraps instance.handle_new_event to read process CPU at step start/end, per (run_id, step_key)."""

    def __init__(self, instance):
        self.cpu: dict[tuple[str, str], float] = {}
        self.wall: dict[tuple[str, str], float] = {}
        self._open: dict[tuple[str, str], tuple[float, float]] = {}
        self.spans: list[tuple[str, float, float]] = []  # (step, start, end) in time.time(), for busy_cores
        self._started: dict[tuple[str, str], float] = {}
        original = instance.handle_new_event

        def handle_new_event(event, *args, **kwargs):
            self._observe(event)
            return original(event, *args, **kwargs)

        instance.handle_new_event = handle_new_event
        os.register_at_fork(after_in_child=self._forget)  # a worker process reports only its own steps

    def _forget(self) -> None:
        self.cpu, self.wall, self._open, self.spans, self._started = {}, {}, {}, [], {}

    def collect(self) -> dict:
        """In a worker process (cli.run_documents forks them), after its runs: its measurements."""
        return {"cpu": self.cpu, "wall": self.wall, "spans": self.spans}

    def merge(self, report: dict) -> None:
        self.cpu.update(report["cpu"])
        self.wall.update(report["wall"])
        self.spans.extend(report["spans"])

    def _observe(self, event) -> None:
        de = getattr(event, "dagster_event", None)
        if de is None or not event.step_key:
            return
        kind = de.event_type_value
        key = (event.run_id, event.step_key)
        if kind == "STEP_START":
            self._open[key] = (cpu_seconds(), time.perf_counter())
            self._started[key] = time.time()
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and key in self._open:
            self.spans.append((event.step_key, self._started.pop(key), time.time()))
            cpu0, t0 = self._open.pop(key)
            self.cpu[key] = self.cpu.get(key, 0.0) + cpu_seconds() - cpu0
            self.wall[key] = self.wall.get(key, 0.0) + time.perf_counter() - t0

    def for_runs(self, run_ids: set[str]) -> tuple[dict[str, float], dict[str, float]]:
        cpu, wall = {}, {}
        for (run_id, step), v in self.cpu.items():
            if run_id in run_ids:
                cpu[step] = cpu.get(step, 0.0) + v
                wall[step] = wall.get(step, 0.0) + self.wall[(run_id, step)]
        return cpu, wall


@dataclass
class DocRow:
    file: str
    doc_id: str
    status: str
    kind: str
    pages: int
    seconds_total: float
    cpu_total: float
    seconds: dict[str, float] = field(default_factory=dict)  # step_checkpoints
    cpu: dict[str, float] = field(default_factory=dict)  # event-stream CPU
    ocr_confidence: float | None = None
    fields: int = 0
    tables: int = 0
    flagged: bool = False
    error: str | None = None

    def csv_row(self) -> dict:
        row = {"file": self.file, "doc_id": self.doc_id, "status": self.status, "kind": self.kind,
               "pages": self.pages, "seconds_total": round(self.seconds_total, 3),
               "cpu_total": round(self.cpu_total, 3),
               "seconds_outside_stages": round(self.seconds_total - sum(self.seconds.values()), 3)}
        for st in STAGES:
            row[f"sec_{st}"] = _r(self.seconds.get(st))
        for st in STAGES:
            row[f"cpu_{st}"] = _r(self.cpu.get(st))
        for st in STAGES:
            row[f"cpu_per_page_{st}"] = _r(self.cpu[st] / self.pages) if st in self.cpu and self.pages else ""
        row.update({"ocr_confidence": _r(self.ocr_confidence, 4), "fields": self.fields, "tables": self.tables,
                    "flagged": int(self.flagged), "error": (self.error or "")[:300]})
        return row


def _r(v: float | None, nd: int = 3):
    return "" if v is None else round(v, nd)


def list_documents(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES)


def process_folder(folder: Path, progress=None, batch_size: int | None = None,
                   workers: int | None = None) -> tuple[list[DocRow], dict]:
    """Every document of `folder` through the pipeline (DOCPIPE_HOME must already be chosen), in runs over
    batches of `batch_size` documents (default DOCPIPE_RUN_BATCH_SIZE; 1 = one run per document) in `workers`
    worker processes (default DOCPIPE_PROCESS_WORKERS); rows + summary."""
    from dagster import DagsterInstance

    from doc_pipeline.cli import ingest_path, run_documents
    from doc_pipeline.db import get_database
    from doc_pipeline.instance import ensure_dagster_home
    from doc_pipeline.results import build_result
    from doc_pipeline.resources import _cached_store
    from doc_pipeline.settings import get_settings

    s = get_settings()
    ensure_dagster_home(s)
    instance = DagsterInstance.get()
    # the pipeline's code is imported before the clock starts, as the native baseline imports pdfplumber before
    # its clock (interpreter start-up is not throughput; the child's wall time still has it)
    from doc_pipeline.definitions import defs

    defs.resolve_job_def("process_document")
    recorder = StepCpuRecorder(instance)
    db, store = get_database(s.db_url), _cached_store(s)
    files = list_documents(folder)
    rows: list[DocRow] = []
    loop_t0, loop_cpu0 = time.perf_counter(), cpu_seconds()
    paths: dict[str, Path] = {}
    for path in files:  # ingest first, then run in batches as `doc-pipeline process` does
        paths.setdefault(ingest_path(path), path)
    ingest_wall, ingest_cpu = (time.perf_counter() - loop_t0) / max(1, len(paths)), \
        (cpu_seconds() - loop_cpu0) / max(1, len(paths))
    sizes = {d: p.stat().st_size for d, p in paths.items()}
    cpu0 = cpu_seconds()
    for group in run_documents(list(paths), instance, s.run_batch_size if batch_size is None else batch_size,
                               sizes, s.run_batch_max_bytes, workers=workers, reporter=recorder):
        chunk = group.doc_ids
        # a worker process's group: its own CPU; in this process: the CPU since the last group
        wall, cpu = group.wall_s, group.cpu_s if group.cpu_s is not None else cpu_seconds() - cpu0
        results = {d: build_result(d, store, db) for d in chunk}
        run_ids = {rid for r in results.values() for rid in (r.meta.get("run_ids") or [])}
        stage_cpu, stage_wall = recorder.for_runs(run_ids)
        # a batch's wall/CPU (and each stage's wall and CPU) are shared by its documents in proportion to the
        # seconds each document spent in that stage (step_checkpoints; documents of one step may overlap, so
        # their own seconds can add up to more than the step took); one-document runs keep their own figures
        timings = {d: dict(r.meta.get("timings") or {}) for d, r in results.items()}
        total_sec = sum(sum(t.values()) for t in timings.values()) or 1.0
        for d, r in results.items():
            share = sum(timings[d].values()) / total_sec if len(chunk) > 1 else 1.0
            cpu_by_stage, sec_by_stage = {}, dict(timings[d])
            for st in STAGES:
                if st in stage_cpu:
                    st_total = sum(t.get(st, 0.0) for t in timings.values()) or 1.0
                    part = timings[d].get(st, 0.0) / st_total if len(chunk) > 1 else 1
                    cpu_by_stage[st] = stage_cpu[st] * part
                    if len(chunk) > 1:
                        sec_by_stage[st] = stage_wall[st] * part
            confs = [p.mean_conf for p in r.pages if p.mean_conf is not None]
            row = DocRow(file=str(paths[d]), doc_id=d, status=r.status.value, kind=r.kind.value if r.kind else "",
                         pages=len(r.pages) or int(r.meta.get("page_count") or 0),
                         seconds_total=wall * share + ingest_wall, cpu_total=cpu * share + ingest_cpu,
                         seconds=sec_by_stage, cpu=cpu_by_stage,
                         ocr_confidence=sum(confs) / len(confs) if confs else None, fields=len(r.fields),
                         tables=len(r.tables), flagged=bool(r.flags), error=r.error)
            rows.append(row)
            if progress:
                progress(row)
        cpu0 = cpu_seconds()
    summary = {"documents": len(rows), "pages": sum(r.pages for r in rows),
               "done": sum(r.status == "done" for r in rows), "failed": sum(r.status != "done" for r in rows),
               "seconds": round(time.perf_counter() - loop_t0, 3), "cpu_seconds": round(cpu_seconds() - loop_cpu0, 3),
               "maxrss_bytes": own_peak_rss_bytes(),
               "home": os.environ.get("DOCPIPE_HOME"),
               "step_spans": [[step, round(a, 3), round(b, 3)] for step, a, b in recorder.spans]}
    return rows, summary


def write_csv(rows: list[DocRow], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    dicts = [r.csv_row() for r in rows]
    header = list(dicts[0]) if dicts else list(DocRow("", "", "", "", 0, 0.0, 0.0).csv_row())
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(dicts)


def write_summary(summary: dict, out: Path) -> None:
    out.write_text(json.dumps(summary, indent=2))
