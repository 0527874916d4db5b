"""`doc-pipeline`: process files, print results, serve the UI + API, migrate, evaluate, mint tokens."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Protocol

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from doc_pipeline.settings import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Document pipeline: PDFs and scans in; text, layout, tables, fields, search and review out.")
console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 160)  # piped output: wide enough for whole doc_ids

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def raw_key_for_path(path: Path) -> str:
    """The raw/ key for a local file: a safe version of its name plus a hash of its absolute path, so the same
    file processed twice is the same document (overwritten, not duplicated)."""
    import hashlib

    stem = _SAFE.sub("_", path.stem)[:80].strip("._") or "file"
    suffix = _SAFE.sub("", path.suffix.lower())[:8]
    return f"raw/{stem}-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}{suffix}"


def _definitions():
    from doc_pipeline.definitions import defs

    return defs


def ingest_path(path: Path, doc_type: str | None = None, applicant_id: str | None = None) -> str:
    """Copy a local file into raw/ and register it; returns the doc_id (the same the raw/ sensor would give)."""
    from doc_pipeline.core.doc_ids import doc_id_for_key
    from doc_pipeline.db import get_database, repo
    from doc_pipeline.resources import _cached_store

    s = get_settings()
    store = _cached_store(s)
    key = raw_key_for_path(path)
    doc_id = doc_id_for_key(key)
    db = get_database(s.db_url)
    # the row first: a running raw/ sensor then sees this version as taken and does not start a second run
    with path.open("rb") as fh:
        store.put_stream(key, fh)
    info = store.stat(key)
    repo.register_document(db, doc_id, key, info.etag if info else None, source="cli", source_name=path.name,
                           status="queued", doc_type_hint=doc_type, applicant_id=applicant_id)
    return doc_id


QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_document(doc_id: str, instance, tags: dict[str, str] | None = None) -> bool:
    """One run for one document; `tags` adds run tags (assets._step.shared_cores_tags when it shares the cores
    with other runs)."""
    from doc_pipeline.assets.partitions import documents_partitions

    if not instance.has_dynamic_partition(documents_partitions.name, doc_id):
        instance.add_dynamic_partitions(documents_partitions.name, [doc_id])
    return _execute_run([doc_id], instance, partition_key=doc_id,
                        tags={"docpipe/doc_id": doc_id, "docpipe/trigger": "cli", **(tags or {})})


class RunStopped(KeyboardInterrupt):
    """A run of `doc-pipeline process` was interrupted (Ctrl-C, SIGTERM): the command stops, it does not go on."""


def _execute_run(doc_ids: list[str], instance, **kwargs) -> bool:
    """One in-process run of the pipeline over `doc_ids`; whether it succeeded. Dagster turns Ctrl-C or SIGTERM
    during a run into a failed run and returns: the caller would then have gone on (re-running the batch's
    documents alone, then the next batches), so a stop was not a stop. Here an interrupted run marks its
    unfinished documents failed with the reason (retryable, none left `processing`) and raises RunStopped."""
    from doc_pipeline.db import get_database, repo
    from doc_pipeline.instance import termination_signal_kept

    job = _definitions().resolve_job_def("process_document")
    with termination_signal_kept():
        res = job.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET_RUN_CONFIG, **kwargs)
    if not res.success and _interrupted(res):
        repo.run_stopped(get_database(get_settings().db_url), doc_ids,
                         f"stopped: its run {res.run_id} was interrupted (Ctrl-C or SIGTERM); process it again")
        raise RunStopped()
    return res.success


def _interrupted(res) -> bool:
    failure = next((e for e in res.all_events if e.is_run_failure), None)
    error = getattr(failure.event_specific_data, "error", None) if failure is not None else None
    return error is not None and error.cls_name == "DagsterExecutionInterruptedError"


@dataclass
class RunGroup:
    """Documents that went through the pipeline together (one Dagster run, plus a run of its own for each document
    that failed inside it), with the group's wall time and, when a worker process ran it, that process's CPU."""
    doc_ids: list[str]
    wall_s: float
    cpu_s: float | None = None


class ChildReporter(Protocol):
    """Lets a caller collect something in each worker process after its runs (the benchmark: CPU per step) and
    have it back in the parent before that group is yielded."""

    def collect(self) -> Any: ...

    def merge(self, report: Any) -> None: ...


def run_documents(doc_ids: list[str], instance, batch_size: int, sizes: dict[str, int] | None = None,
                  max_batch_bytes: int = 0, workers: int | None = None,
                  reporter: ChildReporter | None = None) -> Iterator[RunGroup]:
    """Process documents as the raw/ sensor does: documents that are new partitions go in in-process runs over
    ranges of up to `batch_size` consecutive partitions (Dagster's run start-up and step overhead paid once per
    batch; each document keeps its own partition, materialisations and status), the others one run each. A
    document that fails inside a batch is run again alone, so its own partition shows the failure.

    With `workers` > 1 (default DOCPIPE_PROCESS_WORKERS, 0 = one per core) the runs are spread over that many
    forked worker processes (doc_pipeline/forked.py), as the sensor spreads a burst over run slots; where this
    process cannot fork safely (threads or engines already running in it) they run here one after another.
    Yields a RunGroup as each group ends."""
    from doc_pipeline.assets.partitions import documents_partitions
    from doc_pipeline.core.parallel import resolve_workers
    from doc_pipeline.forked import fork_unsafe_reason
    from doc_pipeline.sensors import _batches

    s = get_settings()
    doc_ids = list(dict.fromkeys(doc_ids))
    existing = set(instance.get_dynamic_partitions(documents_partitions.name))
    new = [d for d in doc_ids if d not in existing]
    if new:  # added together, so they are consecutive in the partition order and a range covers just them
        instance.add_dynamic_partitions(documents_partitions.name, new)
    again = [[d] for d in doc_ids if d in existing]  # known partitions: one run each
    n = resolve_workers(s.process_workers if workers is None else workers)
    forked = n > 1 and fork_unsafe_reason() is None
    groups = again + _batches(new, max(1, batch_size), sizes or {}, max_batch_bytes, spread=n if forked else 1)
    if forked:
        _definitions().resolve_job_def("process_document")  # imported once here, not in every worker
        yield from _run_groups_forked(groups, instance, n, reporter)
        return
    for group in groups:
        t0 = time.perf_counter()
        _run_group(group, instance)
        yield RunGroup(group, time.perf_counter() - t0)


def _run_group(group: list[str], instance, tags: dict[str, str] | None = None) -> None:
    """One run over the group's partition range (one document: a run of its own); documents it did not finish
    are run again alone. `tags` go on every run."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from doc_pipeline.db import get_database, repo

    if len(group) == 1:
        run_document(group[0], instance, tags)
        return
    db = get_database(get_settings().db_url)
    _execute_run(group, instance, tags={
        ASSET_PARTITION_RANGE_START_TAG: group[0], ASSET_PARTITION_RANGE_END_TAG: group[-1],
        "docpipe/batch_size": str(len(group)), "docpipe/trigger": "cli", **(tags or {})})
    for d in _unfinished(db, group):
        repo.close_reprocess_requests(db, d, reason="isolate")  # done here, not by a daemon later
        run_document(d, instance, tags)


def _unfinished(db, doc_ids: list[str]) -> list[str]:
    from doc_pipeline.db import repo

    done = repo.done_documents(db, doc_ids)
    return [d for d in doc_ids if d not in done]


def _run_groups_forked(groups: list[list[str]], instance, workers: int,
                       reporter: ChildReporter | None) -> Iterator[RunGroup]:
    """Each group in a forked worker process, `workers` at once. A worker that dies (a crash in a native library,
    the OOM killer) loses no document: those it left unfinished are run again alone, each in a new worker, and a
    document whose own worker dies too is recorded as failed with how the worker ended."""
    from doc_pipeline.assets._step import shared_cores_tags
    from doc_pipeline.db import get_database, repo
    from doc_pipeline.forked import run_forked

    side_by_side = shared_cores_tags(min(workers, len(groups)))  # the workers share the cores, as a burst's runs
    db = get_database(get_settings().db_url)

    def work(group: list[str]):
        _run_group(group, instance, side_by_side)
        return reporter.collect() if reporter is not None else None

    def outcomes(todo: list[list[str]], n: int):
        for oc in run_forked(work, todo, n):
            if reporter is not None and oc.value is not None:
                reporter.merge(oc.value)
            yield oc

    for oc in outcomes(groups, workers):
        wall, cpu = oc.wall_s, oc.cpu_s
        if not oc.ok:
            _fail_started_runs(instance, oc.item, f"its worker process ended: {oc.reason}")
            for again in outcomes([[d] for d in _unfinished(db, oc.item)], 1):
                wall, cpu = wall + again.wall_s, cpu + again.cpu_s
                if not again.ok:
                    reason = f"the worker process running it ended ({again.reason}), also when run alone"
                    _fail_started_runs(instance, again.item, reason)
                    repo.run_stopped(db, again.item, reason)
        yield RunGroup(oc.item, wall, cpu)


def _fail_started_runs(instance, group: list[str], message: str) -> None:
    """A worker killed mid-run leaves its Dagster run STARTED for ever (in-process runs have no run monitor)."""
    from dagster import DagsterRunStatus, RunsFilter
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    tags = ({ASSET_PARTITION_RANGE_START_TAG: group[0], ASSET_PARTITION_RANGE_END_TAG: group[-1]}
            if len(group) > 1 else {"docpipe/doc_id": group[0]})
    for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED], tags={**tags, "docpipe/trigger": "cli"})):
        instance.report_run_failed(run, message)


@app.command()
def process(paths: list[Path] = typer.Argument(..., exists=True, help="files or folders to process"),
            as_json: bool = typer.Option(False, "--json", help="one JSON line per document instead of a table"),
            show: bool = typer.Option(False, "--show", help="print each document's text, fields and tables"),
            doc_type: Optional[str] = typer.Option(None, help="document type hint (wins over classification)")):
    """Ingest files through raw/ and materialise every asset for them via Dagster (runs show in the UI)."""
    from dagster import DagsterInstance

    from doc_pipeline.db import get_database
    from doc_pipeline.instance import ensure_dagster_home
    from doc_pipeline.results import build_result
    from doc_pipeline.resources import _cached_store

    s = get_settings()
    ensure_dagster_home(s)
    files = sorted(p for arg in paths for p in ([arg] if arg.is_file() else arg.rglob("*")) if p.is_file())
    if not files:
        console.print("[red]no files to process[/red]")
        raise typer.Exit(2)
    instance = DagsterInstance.get()
    db, store = get_database(s.db_url), _cached_store(s)
    rows, failed = [], 0
    # no auto-refresh: its thread would keep run_documents from forking worker processes (doc_pipeline/forked.py)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=as_json, auto_refresh=False) as bar:
        task = bar.add_task("ingesting", total=len(files))
        paths: dict[str, Path] = {}
        for path in files:
            paths.setdefault(ingest_path(path, doc_type=doc_type), path)
            bar.advance(task)
            bar.refresh()
        bar.reset(task, description="processing", total=len(paths))
        bar.refresh()
        sizes = {d: p.stat().st_size for d, p in paths.items()}
        # runs over batches of documents (DOCPIPE_RUN_BATCH_SIZE), like the raw/ sensor: Dagster's per-run cost
        # is paid once per batch; every document keeps its own partition and status
        groups = run_documents(list(paths), instance, s.run_batch_size, sizes, s.run_batch_max_bytes)
        for group in _until_stopped(groups):
            seconds = group.wall_s / len(group.doc_ids)  # a batch's wall time, shared by its documents
            for doc_id in group.doc_ids:
                result = build_result(doc_id, store, db)
                failed += result.status.value != "done"
                rows.append((paths[doc_id], result, seconds))
                bar.advance(task)
                if as_json:
                    print(json.dumps({"doc_id": doc_id, "status": result.status.value, "source": str(paths[doc_id]),
                                      "kind": result.kind.value if result.kind else None,
                                      "pages": len(result.pages), "seconds": round(seconds, 3),
                                      "error": result.error}), flush=True)
            bar.refresh()
    if not as_json:
        if show:
            for _, result, _ in rows:
                _show_result(result)
        table = RichTable(title="doc-pipeline")
        table.add_column("doc_id", no_wrap=True)
        for col in ("status", "kind", "pages", "fields", "tables", "flagged", "seconds"):
            table.add_column(col)
        for path, r, sec in rows:
            table.add_row(r.doc_id, r.status.value if r.status.value == "done" else f"[red]{r.status.value}[/red]",
                          r.kind.value if r.kind else "-", str(len(r.pages)), str(len(r.fields)), str(len(r.tables)),
                          "yes" if r.flags else "no", f"{sec:.1f}")
        out.print(table)
        for path, r, _ in rows:
            if r.error:
                out.print(f"[red]{path.name}: {r.error}[/red]")
    raise typer.Exit(1 if failed else 0)


def _until_stopped(groups: Iterator[RunGroup]) -> Iterator[RunGroup]:
    try:
        yield from groups
    except KeyboardInterrupt:  # RunStopped (a run interrupted in this process), or Ctrl-C while workers ran
        console.print("[red]stopped: the documents of the interrupted run are marked failed (`stopped: ...`); "
                      "run the command again to process them[/red]")
        raise typer.Exit(128 + signal.SIGINT) from None


def _show_result(r) -> None:
    from doc_pipeline.core.masking import mask_fields

    out.rule(f"{r.source_name}  ({r.doc_id}, {r.kind.value if r.kind else '-'}, {r.doc_type or '-'})")
    for p in r.pages:
        text = p.text.strip()
        out.print(f"[bold]page {p.page_no}[/bold] [{p.kind.value}, {p.engine}, {len(p.words)} words]")
        out.print(text[:600] + (" …" if len(text) > 600 else ""), markup=False, highlight=False)
    if r.fields:
        ft = RichTable(title="fields")
        for col in ("name", "value", "normalized", "conf", "page", "source"):
            ft.add_column(col)
        for f in mask_fields(r.fields, role=None):
            ft.add_row(f.name, f.value[:60], str(f.normalized)[:40], f"{f.confidence:.2f}", str(f.page_no or "-"),
                       f.source.value)
        out.print(ft)
    for t in r.tables:
        tt = RichTable(title=f"table {t.index} (page {t.page_no}, {t.method})", show_header=False)
        for row in t.rows[:12]:
            tt.add_row(*row)
        out.print(tt)


@app.command()
def result(doc_id: str, full: bool = typer.Option(False, help="include unmasked bank numbers")):
    """Print the result JSON of one document."""
    from doc_pipeline.core.masking import mask_fields
    from doc_pipeline.db import get_database
    from doc_pipeline.results import DocumentNotFound, build_result
    from doc_pipeline.resources import _cached_store

    s = get_settings()
    try:
        r = build_result(doc_id, _cached_store(s), get_database(s.db_url))
    except DocumentNotFound:
        console.print(f"[red]no document {doc_id}[/red]")
        raise typer.Exit(1)
    if not full:
        r = r.model_copy(update={"fields": mask_fields(r.fields, role=None)})
    print(r.model_dump_json(indent=2))


@app.command()
def samples(folder: Path = typer.Argument(Path("samples"), help="where to write the sample PDFs")):
    """Generate the project's own sample documents (native, scanned and mixed PDFs)."""
    from doc_pipeline.samples import write_samples

    for p in write_samples(folder):
        out.print(str(p))


@app.command()
def migrate():
    """Create or upgrade the metadata DB schema (Alembic migrations in sql/)."""
    from doc_pipeline.db.session import Database

    s = get_settings()
    Database(s.db_url)
    out.print(f"metadata DB at head: {s.db_url.split('@')[-1]}")


@app.command("eval")
def eval_cmd(corpus_dir: Path = typer.Argument(..., exists=True, file_okay=False,
                                               help="a folder laid out like ../shared/corpus"),
             dataset: Optional[list[str]] = typer.Option(None, "--dataset", help="only these datasets (repeatable)"),
             predictions: Optional[Path] = typer.Option(None, help="write each document's result JSON here"),
             out_csv: Optional[Path] = typer.Option(None, "--out", help="one CSV row per document"),
             json_out: Optional[Path] = typer.Option(None, "--json-out", help="also write the summary JSON here"),
             limit: int = typer.Option(0, help="at most this many documents per dataset (0 = all)")):
    """Run the real pipeline (the same Dagster assets, in-process) over a corpus and score it."""
    from dagster import DagsterInstance

    from doc_pipeline.db import get_database
    from doc_pipeline.evaluation import run_eval
    from doc_pipeline.instance import ensure_dagster_home
    from doc_pipeline.results import build_result
    from doc_pipeline.resources import _cached_store

    s = get_settings()
    ensure_dagster_home(s)
    instance = DagsterInstance.get()
    db, store = get_database(s.db_url), _cached_store(s)

    def predict(path: Path, entry: dict):
        doc_id = ingest_path(path, doc_type=entry.get("doc_type_hint"))
        run_document(doc_id, instance)
        return build_result(doc_id, store, db)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("evaluating", total=None)

        def on_document(row) -> None:
            bar.update(task, description=f"{row.dataset}/{row.id}")
            bar.advance(task)

        report = run_eval(corpus_dir, dataset or None, predict, predictions_dir=predictions, out_csv=out_csv,
                          on_document=on_document, limit_per_dataset=limit)
    out.print(report.to_table())
    summary = report.to_json()
    print(summary)
    if json_out:
        json_out.write_text(summary, encoding="utf-8")


@app.command()
def token(sub: str = typer.Option(..., help="the user's name (JWT subject)"),
          role: str = typer.Option(..., help="uploader | reviewer | admin"),
          ttl: int = typer.Option(3600, help="seconds until it expires")):
    """Mint a local HS256 API token (uses DOCPIPE_JWT_SECRET, or the embedded default's generated secret)."""
    from doc_pipeline.auth import mint_token

    try:
        print(mint_token(sub, role, ttl))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2)


@app.command()
def reindex():
    """Rebuild the search index from the derived results of every done document (after a backend change)."""
    from sqlalchemy import select

    from doc_pipeline.db import Document, get_database
    from doc_pipeline.results import build_result, search_doc
    from doc_pipeline.resources import _cached_store
    from doc_pipeline.search import make_search_backend

    s = get_settings()
    db, store, search = get_database(s.db_url), _cached_store(s), make_search_backend(s)
    with db.session() as sess:
        docs = sess.scalars(select(Document).where(Document.status == "done")).all()
    n = 0
    for d in docs:
        r = build_result(d.doc_id, store, db)
        search.index(search_doc(d, r.pages, r.fields, r.doc_type))
        n += 1
    out.print(f"re-indexed {n} documents into the {search.name} index")


@app.command()
def doctor():
    """Check the installation and configuration and say exactly what to fix."""
    from doc_pipeline.doctor import run_checks

    results = run_checks(get_settings())
    table = RichTable(title="doc-pipeline doctor")
    for col in ("check", "ok", "detail", "fix"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(r.name, "[green]ok[/green]" if r.ok else "[red]FAIL[/red]", r.detail, r.fix or "")
    out.print(table)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


def _child_env() -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_THREAD_LIMIT", "1")
    # UTF-8 file I/O whatever the C locale (a native library may set it to "C": OpenVINO's compile_model does)
    env.setdefault("PYTHONUTF8", "1")
    return env


def _spawn(cmd: list[str], env: dict) -> subprocess.Popen:
    # children get default signal handlers and their own process group, so we decide how they stop
    def pre():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setsid()

    return subprocess.Popen(cmd, env=env, preexec_fn=pre)


def proc_stat_fields(stat: str | Path) -> list[str] | None:
    """The fields of a /proc/<pid>/stat (or .../task/<tid>/stat) file after the command name, which may itself hold
    spaces and parentheses: [state, ppid, ..., utime (11), stime (12), ...]; None when the process is gone."""
    try:
        return Path(stat).read_text(encoding="utf-8", errors="replace").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_descendants(pid: int) -> set[int]:
    """pid's descendants, from /proc (code servers started by the webserver and daemon included)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = proc_stat_fields(stat)
        if fields and len(fields) > 1 and fields[1].isdigit():  # None: the process is gone
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _stop_children(procs: list[subprocess.Popen], grace: float = 20.0) -> None:
    """TERM each child's process group, wait, then KILL whatever of the whole tree is left."""
    tree = {pid for p in procs for pid in process_descendants(p.pid)} | {p.pid for p in procs}
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            pass
    for pid in tree:  # grandchildren may sit in their own sessions
        while time.time() < deadline and Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
            time.sleep(0.2)
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for p in procs:
        if p.poll() is None:
            p.wait()


def _is_zombie(pid: int) -> bool:
    fields = proc_stat_fields(f"/proc/{pid}/stat")
    return not fields or fields[0] == "Z"


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="interface for all three servers"),
          api_port: int = typer.Option(8000), dagster_port: int = typer.Option(3000)):
    """Start the Dagster webserver, the daemon (sensors, run queue) and the API on the embedded default."""
    from doc_pipeline.db.session import Database
    from doc_pipeline.instance import ensure_dagster_home

    s = get_settings()
    ensure_dagster_home(s)
    Database(s.db_url)  # migrate once before three processes race to do it
    from dagster import DagsterInstance

    DagsterInstance.get().dispose()  # same for Dagster's own storage: webserver and daemon would race on a fresh home
    root = Path(__file__).resolve().parents[1]
    env = _child_env()
    env["DOCPIPE_HOME"] = str(s.home.resolve())
    bindir = Path(sys.executable).parent
    procs = {
        "dagster-webserver": _spawn([str(bindir / "dagster-webserver"), "-h", host, "-p", str(dagster_port),
                                     "-w", str(root / "workspace.yaml")], env),
        "dagster-daemon": _spawn([str(bindir / "dagster-daemon"), "run", "-w", str(root / "workspace.yaml")], env),
        "api": _spawn([sys.executable, "-m", "uvicorn", "api.main:app", "--host", host, "--port", str(api_port),
                       "--workers", str(max(1, s.api_workers))], env),
    }
    console.print(f"Dagster UI http://{host}:{dagster_port}  API http://{host}:{api_port}/docs  "
                  f"raw folder: {s.storage_root / 'raw'}  (Ctrl-C stops all)")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, p in procs.items():
            if p.poll() is not None:
                console.print(f"[red]{name} exited with {p.returncode}; stopping the others[/red]")
                stopping, code = True, 1
        time.sleep(0.5)
    _stop_children(list(procs.values()))
    console.print("stopped")
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
