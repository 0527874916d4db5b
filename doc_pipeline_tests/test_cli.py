"""The `doc-pipeline` command as a user runs it (subprocesses, embedded default)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from doc_pipeline.samples import native_invoice_pdf

BIN = Path(sys.executable).parent


def _run(args, home, env_extra=None, **kw):
    env = {**os.environ, "DOCPIPE_HOME": str(home), "OMP_THREAD_LIMIT": "1", **(env_extra or {})}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([str(BIN / "doc-pipeline"), *args], env=env, capture_output=True, text=True, timeout=300, **kw)


def test_process_json_result_and_exit_code(tmp_path):
    good = tmp_path / "in" / "invoice.pdf"
    good.parent.mkdir()
    good.write_bytes(native_invoice_pdf())
    (tmp_path / "in" / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    home = tmp_path / "home"
    # in the command's own process: both documents in one batch run (the worker processes are
    # test_process_spreads_runs_over_worker_processes)
    r = _run(["process", str(good.parent), "--json"], home, {"DOCPIPE_PROCESS_WORKERS": "1"})
    assert r.returncode == 1, r.stderr  # one document failed
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    by_name = {Path(x["source"]).name: x for x in lines}
    assert by_name["invoice.pdf"]["status"] == "done" and by_name["invoice.pdf"]["kind"] == "native"
    assert by_name["invoice.pdf"]["pages"] == 1 and by_name["invoice.pdf"]["seconds"] > 0
    assert by_name["broken.pdf"]["status"] == "failed"
    assert set(lines[0]) >= {"doc_id", "status", "source", "kind", "pages", "seconds"}
    _assert_one_batch_run_and_the_failure_alone(home, by_name["invoice.pdf"]["doc_id"], by_name["broken.pdf"]["doc_id"])

    # processing the same file again is the same document: overwritten, not duplicated
    r2 = _run(["process", str(good), "--json"], home)
    assert r2.returncode == 0
    assert json.loads(r2.stdout.splitlines()[-1])["doc_id"] == by_name["invoice.pdf"]["doc_id"]

    res = _run(["result", by_name["invoice.pdf"]["doc_id"]], home)
    assert res.returncode == 0
    result = json.loads(res.stdout)
    assert result["status"] == "done" and result["tables"]
    iban = next(f for f in result["fields"] if f["name"] == "iban")
    assert "DE89370400440532013000" not in res.stdout and iban["value"].replace(" ", "").endswith("3000")

    table = _run(["process", str(good)], home)
    assert table.returncode == 0 and "done" in table.stdout and "native" in table.stdout


def _assert_one_batch_run_and_the_failure_alone(home, good_id, broken_id):
    """Both new documents went in one run over a partition range (Dagster's per-run cost paid once); the broken
    one was then run alone, so its own partition shows the failure; each keeps its own materialisations."""
    from dagster import AssetKey, DagsterInstance, DagsterRunStatus
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs()
        batch = [r for r in runs if ASSET_PARTITION_RANGE_START_TAG in r.tags]
        single = [r for r in runs if r.tags.get(PARTITION_NAME_TAG) == broken_id]
        assert len(batch) == 1 and batch[0].tags.get("docpipe/batch_size") == "2"
        assert len(single) == 1 and single[0].status == DagsterRunStatus.FAILURE
        assert len(runs) == 2  # the good document was not run again
        mats = instance.fetch_materializations(AssetKey("index_docs"), limit=10).records
        assert good_id in {m.partition_key for m in mats}


def test_dagster_definitions_validate(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DOCPIPE_HOME": str(tmp_path / "home")}
    r = subprocess.run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], env=env,
                       capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stdout + r.stderr


def test_serve_children_run_python_in_utf8_mode_unless_told_otherwise(monkeypatch):
    """serve's children (webserver, daemon, API) read and write files as UTF-8 whatever the C locale a native
    library leaves behind; an explicit PYTHONUTF8 / OMP_THREAD_LIMIT from the user is kept."""
    from doc_pipeline.cli import _child_env

    monkeypatch.delenv("PYTHONUTF8", raising=False)
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    env = _child_env()
    assert env["PYTHONUTF8"] == "1" and env["OMP_THREAD_LIMIT"] == "1"
    monkeypatch.setenv("PYTHONUTF8", "0")
    monkeypatch.setenv("OMP_THREAD_LIMIT", "2")
    env = _child_env()
    assert env["PYTHONUTF8"] == "0" and env["OMP_THREAD_LIMIT"] == "2"


def test_embedded_instance_and_proc_reading_do_not_depend_on_the_locale(tmp_path):
    """A native library that switches the process to the C locale (OpenVINO's compile_model does, for a moment)
    makes Python's default file encoding ASCII: the embedded dagster.yaml under a home path with non-ASCII
    characters is still written and read (as UTF-8), and a /proc stat line whose process name is not UTF-8 parses."""
    probe = (
        "import locale, os; from pathlib import Path\n"
        "locale.setlocale(locale.LC_ALL, 'C')\n"
        "assert locale.getpreferredencoding(False) in ('ANSI_X3.4-1968', 'ascii', 'US-ASCII')\n"
        "from doc_pipeline.instance import ensure_dagster_home\n"
        "h = ensure_dagster_home(); ensure_dagster_home()\n"
        "assert os.environ['DOCPIPE_HOME'] in (h / 'dagster.yaml').read_text(encoding='utf-8')\n"
        "from doc_pipeline.cli import proc_stat_fields\n"
        "p = Path(os.environ['PROBE_STAT']); p.write_bytes(b'42 (we\\xffird) name) S 1 2 3')\n"
        "assert proc_stat_fields(p)[:2] == ['S', '1'], proc_stat_fields(p)\n"
        "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_HOME", "LC_", "LANG", "PYTHONUTF8"))}
    env.update(LANG="C.UTF-8", PYTHONUTF8="0", DOCPIPE_HOME=str(tmp_path / "d\u00f6k\u00fcmanlar"),
               PROBE_STAT=str(tmp_path / "stat"))
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120,
                         encoding="utf-8")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_background_process_can_still_be_terminated_after_its_runs(tmp_path):
    """A process that a non-interactive shell starts in the background (`doc-pipeline process ... &`) inherits
    SIGINT ignored; Dagster's in-process execution sets SIGTERM to SIGINT's handler when a run ends, so without
    termination_signal_kept the process ignored `kill` after its first run, and children started later (Dagster's
    compute-log `tail` of a run in another thread) could not be terminated either."""
    probe = (
        "import signal, subprocess, sys, threading, time\n"
        "from pathlib import Path\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a non-interactive shell leaves\n"
        "from dagster import DagsterInstance\n"
        "from doc_pipeline.cli import ingest_path, run_documents\n"
        "from doc_pipeline.instance import ensure_dagster_home\n"
        "from doc_pipeline.samples import native_invoice_pdf\n"
        "ensure_dagster_home(); instance = DagsterInstance.get()\n"
        "ids = []\n"
        "for name in ('a.pdf', 'b.pdf'):\n"
        "    p = Path(sys.argv[1]) / name; p.write_bytes(native_invoice_pdf() + name.encode())\n"
        "    ids.append(ingest_path(p))\n"
        "done = [chunk for chunk in run_documents(ids, instance, batch_size=1)]\n"
        "assert len(done) == 2, done\n"
        "assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, signal.getsignal(signal.SIGTERM)\n"
        "out = {}\n"
        "def child():  # started from another thread, as a threaded run starts Dagster's tail\n"
        "    c = subprocess.Popen(['sleep', '60']); t0 = time.monotonic(); c.terminate()\n"
        "    out['rc'], out['s'] = c.wait(timeout=20), time.monotonic() - t0\n"
        "th = threading.Thread(target=child); th.start(); th.join()\n"
        "assert out['rc'] == -signal.SIGTERM and out['s'] < 5, out\n"
        "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(DOCPIPE_HOME=str(tmp_path / "home"), OMP_THREAD_LIMIT="1", DOCPIPE_PROCESS_WORKERS="1")
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


# ------------------------------------------------------------------ worker processes (doc_pipeline/forked.py)

def _native_folder(folder: Path, docs: int, pages: int = 1) -> None:
    from doc_pipeline_tests.bench.inputs import native_pdf

    folder.mkdir(parents=True)
    for i in range(docs):
        (folder / f"doc{i}.pdf").write_bytes(native_pdf(pages, seed=70 + i))


def _popen_process(folder: Path, home: Path, workers: int):
    env = {**os.environ, "DOCPIPE_HOME": str(home), "OMP_THREAD_LIMIT": "1", "DOCPIPE_PROCESS_WORKERS": str(workers)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen([str(BIN / "doc-pipeline"), "process", str(folder), "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _results(home: Path) -> dict[str, dict]:
    """source file name -> (status, kind, page texts, fields, table rows, error) from the embedded DB and store."""
    import sqlite3

    from doc_pipeline.db import get_database
    from doc_pipeline.resources import _cached_store
    from doc_pipeline.results import build_result
    from doc_pipeline.settings import Settings

    s = Settings(home=home)
    db, store = get_database(s.db_url), _cached_store(s)
    out = {}
    with sqlite3.connect(home / "docpipe.db") as c:
        doc_ids = [row[0] for row in c.execute("SELECT doc_id FROM documents")]
    for doc_id in doc_ids:
        r = build_result(doc_id, store, db)
        out[r.source_name] = {"status": r.status.value, "kind": r.kind.value if r.kind else None, "error": r.error,
                              "text": [p.text for p in r.pages], "tables": [t.rows for t in r.tables],
                              "fields": sorted((f.name, f.value) for f in r.fields), "doc_id": r.doc_id}
    return out


def _step_pids(home: Path) -> dict[str, set[int]]:
    """Dagster run id -> the process ids its step events came from."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        return {run.run_id: {e.dagster_event.pid for e in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)}
                for run in instance.get_runs()}


def test_process_spreads_runs_over_worker_processes(tmp_path):
    """With 2 workers the runs of a folder run in two forked processes, never in the command's own, and give
    exactly the results of one process; a broken file still fails alone with its reason."""
    folder = tmp_path / "in"
    _native_folder(folder, 4, pages=2)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    proc = _popen_process(folder, tmp_path / "forked", workers=2)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err[-3000:]  # the broken file
    pids = _step_pids(tmp_path / "forked")
    workers = set().union(*pids.values())
    assert proc.pid not in workers and len(workers) >= 2, pids
    # side by side, every run (batches, and the broken file's run alone) works on its share of the cores: its page
    # threads, each with its own engines, are cores // workers, not cores each
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(tmp_path / "forked" / "dagster")) as instance:
        tags = [r.tags.get("docpipe/doc_workers") for r in instance.get_runs()]
    assert len(tags) >= 3 and set(tags) == {str(max(1, (os.cpu_count() or 1) // 2))}, tags
    forked = _results(tmp_path / "forked")
    assert forked["broken.pdf"]["status"] == "failed" and forked["broken.pdf"]["error"]
    assert all(forked[f"doc{i}.pdf"]["status"] == "done" for i in range(4)), forked

    single = _popen_process(folder, tmp_path / "single", workers=1)
    single.communicate(timeout=300)
    assert set().union(*_step_pids(tmp_path / "single").values()) == {single.pid}
    assert forked == _results(tmp_path / "single")  # the same files are the same doc_ids in either home


def _steps_running(home: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(home / "docpipe.db", timeout=5) as c:
            return c.execute("SELECT count(*) FROM step_checkpoints WHERE status='running'").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _kill_workers(proc, home: Path, when_running: bool, once: bool, stop) -> list[int]:
    """SIGKILL the command's worker processes: once a step is running (when_running), or each as it appears."""
    import signal
    import time

    from doc_pipeline.cli import process_descendants

    killed: list[int] = []
    while proc.poll() is None and not stop.is_set():
        kids = process_descendants(proc.pid)
        if kids and when_running and not _steps_running(home):
            kids = set()
        for pid in kids - set(killed):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        if killed and once:
            break
        time.sleep(0.01)
    return killed


def _process_while_killing_workers(folder: Path, home: Path, when_running: bool, once: bool):
    """`doc-pipeline process FOLDER` with 2 workers while _kill_workers runs beside it: (process, stdout, stderr,
    the pids killed)."""
    import threading

    proc = _popen_process(folder, home, workers=2)
    stop = threading.Event()
    killed: list[int] = []
    t = threading.Thread(target=lambda: killed.extend(_kill_workers(proc, home, when_running, once, stop)))
    t.start()
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        stop.set()
        t.join()
    return proc, out, err, killed


def _no_run_left_started(home: Path) -> None:
    import sqlite3

    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert not instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
    with sqlite3.connect(home / "docpipe.db") as c:
        assert c.execute("SELECT count(*) FROM step_checkpoints WHERE status='running'").fetchone()[0] == 0


def test_a_worker_killed_mid_run_loses_no_document(tmp_path):
    """The OOM killer (here: SIGKILL) takes a worker mid-run: the documents it had not finished are run again
    alone in new workers and end done; its Dagster run is marked failed with how the worker ended."""
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    folder, home = tmp_path / "in", tmp_path / "home"
    _native_folder(folder, 4, pages=6)
    proc, out, err, killed = _process_while_killing_workers(folder, home, when_running=True, once=True)
    assert killed, "no worker was seen running"
    assert proc.returncode == 0, err[-3000:]
    results = _results(home)
    assert len(results) == 4 and all(r["status"] == "done" for r in results.values()), results
    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        failed = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
        assert failed, "the killed worker's run is not marked failed"
        messages = [e.message for r in failed for e in instance.all_logs(r.run_id) if e.message]
        assert any("killed by signal 9 (SIGKILL)" in m for m in messages), messages[-5:]
    _no_run_left_started(home)


def test_documents_whose_workers_keep_dying_fail_with_the_reason(tmp_path):
    """Every worker dies: each document ends failed with why (never left `processing` or dropped), the command
    exits 1 and nothing stays `running`."""
    folder, home = tmp_path / "in", tmp_path / "home"
    _native_folder(folder, 3)
    proc, out, err, _ = _process_while_killing_workers(folder, home, when_running=False, once=False)
    assert proc.returncode == 1, err[-3000:]
    results = _results(home)
    assert len(results) == 3, results
    for r in results.values():
        assert r["status"] == "failed" and "worker process" in r["error"] and "SIGKILL" in r["error"], r
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert sorted(x["status"] for x in lines) == ["failed"] * 3
    _no_run_left_started(home)


def test_terminating_the_command_stops_its_workers(tmp_path):
    """`kill` (SIGTERM) to `doc-pipeline process` while its workers run: the command stops them and exits; no
    worker is left running on its own."""
    import signal
    import time

    from doc_pipeline.cli import process_descendants

    folder, home = tmp_path / "in", tmp_path / "home"
    _native_folder(folder, 4, pages=6)
    proc = _popen_process(folder, home, workers=2)
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        workers = process_descendants(proc.pid)
        if workers and _steps_running(home):
            break
        time.sleep(0.01)
    assert workers and proc.poll() is None, "no worker was seen running"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    alive = [p for p in workers if os.path.exists(f"/proc/{p}") and "Z" not in open(f"/proc/{p}/stat").read().split(")")[-1][:3]]
    assert not alive, alive
    _stopped_cleanly(home, runs=2)  # the two workers' batch runs, and no document run again alone after them


def _stopped_cleanly(home: Path, runs: int) -> None:
    """After a stop: no more Dagster runs than `runs` (the command did not go on to re-run the stopped documents
    alone, nor start the next batches), every document either done or failed as stopped (none `processing`),
    no step `running`, no run STARTED."""
    import sqlite3

    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert len(instance.get_runs()) <= runs, [r.tags for r in instance.get_runs()]
    with sqlite3.connect(home / "docpipe.db") as c:
        docs = c.execute("SELECT status, error FROM documents").fetchall()
    assert all(st == "done" or (st == "failed" and err.startswith("stopped: ")) for st, err in docs), docs
    assert any(st == "failed" for st, _ in docs), docs  # the stop came while documents were in their steps
    _no_run_left_started(home)


def test_ctrl_c_stops_the_command_instead_of_carrying_on(tmp_path):
    """Ctrl-C (SIGINT) to `doc-pipeline process` running in its own process: Dagster turns it into a failed run
    and returns; the command used to carry on (each document of the batch again alone, then the next batches).
    Now it stops at once, exit status 130, the batch's unfinished documents failed as stopped (retryable)."""
    import signal
    import time

    folder, home = tmp_path / "in", tmp_path / "home"
    _native_folder(folder, 4, pages=6)
    proc = _popen_process(folder, home, workers=1)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not _steps_running(home):
        time.sleep(0.01)
    assert proc.poll() is None, "the command ended before a step was seen running"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    assert "stopped" in err
    _stopped_cleanly(home, runs=1)


def test_workers_with_postgres_and_s3(tmp_path, pg_url, s3_bucket):
    """The production back ends through the worker processes: each worker makes its own Postgres connections
    and S3 clients (their pools are not shared across the fork); every document done, its objects in the
    bucket, its rows in Postgres once."""
    import boto3
    import sqlalchemy

    endpoint, bucket = s3_bucket
    folder = tmp_path / "in"
    _native_folder(folder, 4, pages=2)
    env = {**os.environ, "DOCPIPE_HOME": str(tmp_path / "home"), "OMP_THREAD_LIMIT": "1",
           "DOCPIPE_PROCESS_WORKERS": "2", "DOCPIPE_DATABASE_URL": pg_url, "DOCPIPE_STORAGE": "s3",
           "DOCPIPE_S3_BUCKET": bucket, "DOCPIPE_S3_ENDPOINT_URL": endpoint}
    env.pop("DAGSTER_HOME", None)
    r = subprocess.run([str(BIN / "doc-pipeline"), "process", str(folder), "--json"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 4 and {x["status"] for x in lines} == {"done"}
    keys = {o["Key"] for o in boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            .list_objects_v2(Bucket=bucket).get("Contents", [])}
    for x in lines:
        for asset in ("raw_pdf", "page_images", "layout_blocks", "ocr_text", "tables", "fields"):
            assert f"derived/{asset}/{x['doc_id']}.json" in keys, (asset, x["doc_id"])
        assert sum(k.startswith(f"tables/{x['doc_id']}/") for k in keys) >= 2  # a ruled table on each page
    engine = sqlalchemy.create_engine(pg_url)
    with engine.connect() as c:
        ids = [x["doc_id"] for x in lines]
        rows = c.execute(sqlalchemy.text("SELECT doc_id, count(*) FROM step_checkpoints GROUP BY doc_id")).all()
        assert {d: n for d, n in rows if d in ids} == {d: 7 for d in ids}
    engine.dispose()
