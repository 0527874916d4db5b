"""Faults (issue 10): a run SIGKILLed mid-way, the object store going away, a full disk, Postgres restarted.
Each time: a readable reason, no half-written output read as complete, and re-running the partition (what a
Dagster run retry or POST /retry does) completes the document with no duplicate rows and no orphaned objects.

The Postgres restart test starts a private cluster from /usr/lib/postgresql/*/bin (as the postgres user when run
as root; never the machine's shared server) and takes about 10 s; it is skipped where no binaries exist.
"""

from __future__ import annotations

import glob
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from doc_pipeline.core.doc_ids import doc_id_for_key
from doc_pipeline.core.models import STEPS
from doc_pipeline.db import FieldRow, PageRow, StepCheckpoint, TableRow
from doc_pipeline.db.models import Document
from doc_pipeline.resources import DocPipelineResource
from doc_pipeline.samples import scanned_paystub_pdf
from doc_pipeline.settings import reload_settings
from doc_pipeline.storage import StorageError
from doc_pipeline_tests.make_docs import text_pdf
from doc_pipeline_tests.pipeline_harness import Harness

from doc_pipeline_tests.conftest import _free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DERIVED = ("raw_pdf", "page_images", "layout_blocks", "ocr_text", "tables", "fields")


@pytest.fixture(autouse=True)
def _one_run_per_document(monkeypatch):
    # the faults are injected into one document's run at a time (batched runs: test_sensor.py)
    monkeypatch.setenv("DOCPIPE_RUN_BATCH_SIZE", "1")


def _reset_resources():
    from doc_pipeline import resources
    from doc_pipeline.db.session import get_database

    get_database.cache_clear()
    resources._STORES.clear()
    reload_settings()


def _checkpoint(dp: DocPipelineResource, doc_id: str, step: str) -> StepCheckpoint | None:
    with dp.db().session() as s:
        return s.get(StepCheckpoint, (doc_id, step))


def _wait_for_step(dp, doc_id, step, timeout=120, alive=lambda: True):
    """Block until `step` of the document is running (its checkpoint row says so)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        cp = _checkpoint(dp, doc_id, step)
        if cp is not None and cp.status == "running":
            return
        assert alive(), f"the run ended before {step} started"
        time.sleep(0.05)
    raise AssertionError(f"{step} did not start within {timeout}s")


def assert_consistent(dp: DocPipelineResource, doc_id: str, store_root: Path | None = None) -> dict:
    """The document is done, every DB row matches the derived JSON exactly once, and the store holds exactly
    the objects the derived JSON names (no orphans, nothing half-written)."""
    store, db = dp.store(), dp.db()
    derived = {a: json.loads(store.get_bytes(f"derived/{a}/{doc_id}.json")) for a in DERIVED}
    with db.session() as s:
        doc = s.get(Document, doc_id)
        assert doc.status == "done" and not doc.error, (doc.status, doc.error)
        pages = s.scalars(select(PageRow).where(PageRow.doc_id == doc_id)).all()
        fields = s.scalars(select(FieldRow).where(FieldRow.doc_id == doc_id)).all()
        tables = s.scalars(select(TableRow).where(TableRow.doc_id == doc_id)).all()
        cps = {c.step: c for c in s.scalars(select(StepCheckpoint).where(StepCheckpoint.doc_id == doc_id))}
    assert sorted(p.page_no for p in pages) == list(range(1, len(derived["raw_pdf"]["pages"]) + 1))
    assert len(fields) == len(derived["fields"]["fields"])
    assert max(Counter((f.name, f.ordinal) for f in fields).values(), default=1) == 1
    assert len(tables) == len(derived["tables"]["tables"])
    assert set(cps) == set(STEPS) and all(c.status == "done" for c in cps.values()), {k: c.status for k, c in cps.items()}
    expected = {f"derived/{a}/{doc_id}.json" for a in DERIVED}
    expected |= {i["key"] for i in derived["page_images"]["images"]}
    expected |= {t["csv_key"] for t in derived["tables"]["tables"] if t.get("csv_key")}
    actual = {o.key for o in store.list("") if doc_id in o.key and not o.key.startswith("raw/")}
    assert actual == expected, (actual ^ expected)
    for key in (i["key"] for i in derived["page_images"]["images"]):
        Image.open(io.BytesIO(store.get_bytes(key))).load()  # complete images, not truncated ones
    if store_root is not None:
        assert not [p for p in store_root.rglob(".tmp-*")], "temp files left behind"
    assert dp.search().count() >= 1
    return {"pages": len(pages), "fields": len(fields), "tables": len(tables), "attempts": {k: c.attempts for k, c in cps.items()}}


# ---------------------------------------------------------------- (a) a run's process SIGKILLed during ocr_text

def test_sigkill_during_ocr_then_rerun_completes(docpipe_home, monkeypatch):
    monkeypatch.setenv("DOCPIPE_OCR_WORKERS", "1")
    _reset_resources()
    dp = DocPipelineResource()
    store = dp.store()
    key = "raw/killed scan.pdf"
    store.put_bytes(key, scanned_paystub_pdf())
    h = Harness()  # sets DAGSTER_HOME for this test's embedded instance; the subprocess inherits it
    reqs = h.tick()
    doc_id = doc_id_for_key(key)
    assert [r.partition_key for r in reqs] == [doc_id]

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "doc_pipeline_tests.hostile.run_partition", doc_id], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_step(dp, doc_id, "ocr_text", alive=lambda: proc.poll() is None)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    # what the kill left: a step marked running forever, no ocr_text output
    assert _checkpoint(dp, doc_id, "ocr_text").status == "running"
    assert not store.exists(f"derived/ocr_text/{doc_id}.json")
    assert _doc(dp, doc_id).status == "processing"

    res = h.job.execute_in_process(partition_key=doc_id, instance=h.instance, raise_on_error=False)
    assert res.success
    summary = assert_consistent(dp, doc_id, docpipe_home / "store")
    assert summary["attempts"]["ocr_text"] == 2 and summary["attempts"]["index_docs"] == 1
    # a second re-run changes nothing: same rows, same objects
    res = h.job.execute_in_process(partition_key=doc_id, instance=h.instance, raise_on_error=False)
    assert res.success
    again = assert_consistent(dp, doc_id, docpipe_home / "store")
    assert {k: again[k] for k in ("pages", "fields", "tables")} == {k: summary[k] for k in ("pages", "fields", "tables")}


def _doc(dp, doc_id) -> Document:
    with dp.db().session() as s:
        return s.get(Document, doc_id)


# ---------------------------------------------------------------- (b) the object store failing

def test_unreachable_s3_endpoint_bounded_retries_then_readable_error(monkeypatch):
    from doc_pipeline.storage.s3 import S3ObjectStore

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = S3ObjectStore("docpipe", endpoint_url=f"http://127.0.0.1:{_free_port()}")
    sends = []
    store.client.meta.events.register("before-send.s3", lambda **kw: sends.append(time.monotonic()))
    t0 = time.monotonic()
    with pytest.raises(StorageError, match="Could not connect to the endpoint URL"):
        store.put_bytes("derived/x.json", b"{}")
    assert time.monotonic() - t0 < 30
    assert 2 <= len(sends) <= 6  # retried, but a bounded number of times
    gaps = [b - a for a, b in zip(sends, sends[1:])]
    assert sum(gaps) > 0.05  # with backoff between attempts, not a tight loop


def test_s3_server_stopped_mid_run_fails_step_then_rerun_completes(docpipe_home, monkeypatch):
    from moto.server import ThreadedMotoServer

    import boto3

    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DOCPIPE_STORAGE", "s3")
    monkeypatch.setenv("DOCPIPE_S3_BUCKET", "faults")
    monkeypatch.setenv("DOCPIPE_S3_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("DOCPIPE_OCR_WORKERS", "1")
    _reset_resources()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="faults")
        dp = DocPipelineResource()
        store = dp.store()
        key = "raw/s3 outage.pdf"
        store.put_bytes(key, scanned_paystub_pdf())
        h = Harness()
        (req,) = h.tick()
        doc_id = req.partition_key
        out = {}
        run = threading.Thread(target=lambda: out.setdefault("res", h.execute([req])[0]))
        run.start()
        _wait_for_step(dp, doc_id, "ocr_text", alive=run.is_alive)
        server.stop()  # the store goes away while Tesseract works; the step's next write meets a dead endpoint
        t_stop = time.monotonic()
        run.join(180)
        assert not run.is_alive()
        assert time.monotonic() - t_stop < 90  # bounded retries, not a hang
        assert not out["res"].success
        doc = _doc(dp, doc_id)
        assert doc.status == "failed" and "ocr_text failed: StorageError" in doc.error and "connect" in doc.error.lower()
        cp = _checkpoint(dp, doc_id, "ocr_text")
        assert cp.status == "failed" and "endpoint" in cp.error

        # the store comes back (moto keeps its state in this process): nothing half-written is there
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        assert not store.exists(f"derived/ocr_text/{doc_id}.json")
        for o in store.list("derived/"):
            json.loads(store.get_bytes(o.key))  # every object present is complete
        res = h.execute([req])[0]  # the retry
        assert res.success
        assert_consistent(dp, doc_id)
    finally:
        server.stop()


# ---------------------------------------------------------------- (c) local disk full (embedded default)

def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_disk_full_fails_step_cleanly_then_rerun_completes(docpipe_home, tmp_path, monkeypatch):
    """A 2 MiB tmpfs as the local store (root only; otherwise a store whose writes raise ENOSPC): page_images
    runs out of space, the step fails with the OS's reason, no temp file or derived JSON is left, and once
    there is room the re-run completes."""
    store_dir = tmp_path / "small-disk"
    mounted = _mount_tmpfs(store_dir, "2m")
    monkeypatch.setenv("DOCPIPE_STORAGE_PATH", str(store_dir))
    monkeypatch.setenv("DOCPIPE_RENDER_DPI", "300")
    monkeypatch.setenv("DOCPIPE_NATIVE_RENDER_DPI", "0")  # these native pages too: big images fill the disk
    monkeypatch.setenv("DOCPIPE_NATIVE_PAGE_IMAGES", "always")
    _reset_resources()
    budget = {"left": 2 << 20}
    if not mounted:
        from doc_pipeline import resources
        from doc_pipeline.storage.local import LocalObjectStore

        class SmallDisk(LocalObjectStore):
            def _atomic_write(self, key, writer):
                def limited(fh):
                    n = writer(io.BytesIO())
                    budget["left"] -= n
                    if budget["left"] < 0:
                        raise OSError(28, "No space left on device")
                    return writer(fh)
                return super()._atomic_write(key, limited)

        monkeypatch.setattr(resources, "make_object_store", lambda s: SmallDisk(s.storage_root))
    try:
        dp = DocPipelineResource()
        store = dp.store()
        lines = [f"Line {i} of a long native document with words enough to fill the page" for i in range(40)]
        key = "raw/disk full.pdf"
        store.put_bytes(key, text_pdf(lines, pages=8))
        h = Harness()
        (req,) = h.tick()
        doc_id = req.partition_key
        (res,) = h.execute([req])
        assert not res.success
        doc = _doc(dp, doc_id)
        assert doc.status == "failed" and "page_images failed: StorageError" in doc.error
        assert "No space left on device" in doc.error
        assert not list(store_dir.rglob(".tmp-*")), "a temp file was left on the full disk"
        assert not store.exists(f"derived/page_images/{doc_id}.json")  # never marked complete
        for o in store.list(f"pages/{doc_id}/"):
            Image.open(io.BytesIO(store.get_bytes(o.key))).load()  # what was written is whole
        # make room, then re-run
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", str(store_dir)], check=True)
        else:
            budget["left"] = 1 << 30
        (res,) = h.execute([req])
        assert res.success
        assert assert_consistent(dp, doc_id, store_dir)["pages"] == 8
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(store_dir)], capture_output=True)


# ---------------------------------------------------------------- (d) Postgres restarted while processing

@pytest.fixture()
def private_pg():
    """A throwaway Postgres cluster of our own (never the machine's shared server), as the postgres user."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not bins:
        pytest.skip("no local Postgres binaries")
    bindir = Path(bins[-1]).parent
    data = Path(tempfile.mkdtemp(prefix="docpipe-faults-pg-"))
    port = _free_port()
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(data, "postgres")
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)

    def ctl(*args):
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-o", f"-p {port} -k {data} -h 127.0.0.1",
                        "-l", str(data / "log"), "-w", *args], check=True, capture_output=True)

    ctl("start")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres", ctl
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def test_postgres_restarted_while_processing(docpipe_home, private_pg, monkeypatch):
    url, ctl = private_pg
    monkeypatch.setenv("DOCPIPE_DATABASE_URL", url)
    monkeypatch.setenv("DOCPIPE_OCR_WORKERS", "1")
    _reset_resources()
    dp = DocPipelineResource()
    store = dp.store()
    store.put_bytes("raw/restart.pdf", scanned_paystub_pdf())
    store.put_bytes("raw/outage.pdf", scanned_paystub_pdf())
    h = Harness()
    reqs = {r.partition_key: r for r in h.tick()}
    restart_id, outage_id = doc_id_for_key("raw/restart.pdf"), doc_id_for_key("raw/outage.pdf")

    # 1. restart (fast shutdown, start again) while Tesseract works: pooled connections die; pool_pre_ping
    #    replaces them on the next checkout, so the run itself finishes
    out = {}
    run = threading.Thread(target=lambda: out.setdefault("res", h.execute([reqs[restart_id]])[0]))
    run.start()
    _wait_for_step(dp, restart_id, "ocr_text", alive=run.is_alive)
    ctl("-m", "fast", "restart")
    run.join(180)
    assert out["res"].success
    assert_consistent(dp, restart_id)

    # 2. down while a step wants to write: the step fails with the driver's reason; when Postgres is back the
    #    re-run (Dagster run retry / POST /retry) completes the document. The API, started while Postgres was up,
    #    answers 503 with a reason during the outage and recovers by itself afterwards.
    from fastapi.testclient import TestClient

    from api.main import app
    from doc_pipeline_tests.test_api_support import SECRET, auth, reset_caches

    monkeypatch.setenv("DOCPIPE_JWT_SECRET", SECRET)
    monkeypatch.setenv("DOCPIPE_RATE_LIMIT_PER_SECOND", "0")
    reset_caches()
    api = TestClient(app).__enter__()
    admin = auth("root", "admin")
    assert api.get(f"/status/{restart_id}", headers=admin).status_code == 200
    out = {}
    run = threading.Thread(target=lambda: out.setdefault("res", h.execute([reqs[outage_id]])[0]))
    run.start()
    _wait_for_step(dp, outage_id, "ocr_text", alive=run.is_alive)
    ctl("-m", "fast", "stop")
    run.join(180)
    assert not out["res"].success
    failure = next(e for e in out["res"].all_events if e.event_type_value == "STEP_FAILURE")
    assert "OperationalError" in str(failure.event_specific_data.error)
    down = api.get(f"/status/{restart_id}", headers=admin)
    assert down.status_code == 503 and down.json()["detail"]
    assert api.get("/health").status_code == 503
    ctl("start")
    assert api.get(f"/status/{restart_id}", headers=admin).status_code == 200  # no API restart needed
    api.__exit__(None, None, None)
    res = h.execute([reqs[outage_id]])[0]
    assert res.success
    summary = assert_consistent(dp, outage_id)
    assert summary["attempts"]["ocr_text"] == 2
