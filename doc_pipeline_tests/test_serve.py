"""`doc-pipeline serve` as a user runs it: webserver + daemon + API; a file copied into raw/ is processed by the
sensor within a minute; Ctrl-C/TERM stops every child."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from doc_pipeline.samples import native_invoice_pdf

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(pred, timeout: float, what: str):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = map(int, line.split())
        children.setdefault(pp, []).append(p)
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.add(c)
            todo.append(c)
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's PID 1 may never reap orphans, so their /proc entries linger)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_serve_processes_dropped_file_and_stops_cleanly(tmp_path):
    home = tmp_path / "home"
    api_port, dagster_port = _free_port(), _free_port()
    env = {**os.environ, "DOCPIPE_HOME": str(home), "OMP_THREAD_LIMIT": "1", "DOCPIPE_JWT_SECRET": "test-secret-" + "x" * 32}
    env.pop("DAGSTER_HOME", None)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([str(BIN / "doc-pipeline"), "serve", "--api-port", str(api_port), "--dagster-port",
                             str(dagster_port)], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        _wait(lambda: httpx.get(f"http://127.0.0.1:{dagster_port}/server_info", timeout=2).status_code == 200, 120,
              "the Dagster webserver")
        _wait(lambda: httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=2).status_code in (200, 503), 60, "the API")
        children = _descendants(proc.pid)
        assert len(children) >= 3

        raw = home / "store" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        (raw / "dropped invoice.pdf").write_bytes(native_invoice_pdf())

        def done() -> bool:
            with sqlite3.connect(home / "docpipe.db") as c:
                row = c.execute("SELECT status FROM documents WHERE source_name='dropped invoice.pdf'").fetchone()
            return row is not None and row[0] == "done"

        try:
            _wait(done, 120, "the dropped file to be processed")
        except AssertionError:
            tail = (tmp_path / "serve.log").read_text(errors="replace")[-4000:]
            raise AssertionError(f"not processed in time; serve log tail:\n{tail}")
        assert time.time() - t0 < 120
        children |= _descendants(proc.pid)  # now with the run launcher's forkserver
        _assert_run_forked_warm(home)

        # the asset graph and the partition are visible to the UI (its GraphQL API)
        q = '{ partitionSetsOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "doc_pipeline.definitions"}, pipelineName: "process_document") { __typename } }'
        r = httpx.post(f"http://127.0.0.1:{dagster_port}/graphql", json={"query": q}, timeout=30)
        assert r.status_code == 200
        q2 = '{ assetNodes { assetKey { path } } }'
        keys = {tuple(n["assetKey"]["path"]) for n in httpx.post(f"http://127.0.0.1:{dagster_port}/graphql",
                                                                   json={"query": q2}, timeout=30).json()["data"]["assetNodes"]}
        assert {("raw_pdf",), ("ocr_text",), ("index_docs",)} <= keys
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("serve did not stop within 40 s of SIGTERM")
    time.sleep(1)
    alive = [p for p in children if _running(p)]
    assert not alive, f"children still running after serve stopped: {alive}"
    assert proc.returncode == 0


def _assert_run_forked_warm(home) -> None:
    """The daemon launched the run with doc_pipeline.run_launcher (a child of its warm forkserver, not a new
    interpreter from the code server): the run carries the pid the launcher started, and Dagster's own
    "Started process for run" event names the same process."""
    from dagster import DagsterEventType, DagsterInstance

    from doc_pipeline.run_launcher import PID_TAG, ForkingRunLauncher

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert isinstance(instance.run_launcher, ForkingRunLauncher)
        (run,) = instance.get_runs()
        started = [e.message for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
                   if (e.message or "").startswith("Started process for run")]
        assert started == [f"Started process for run (pid: {run.tags[PID_TAG]})."], (started, run.tags)
