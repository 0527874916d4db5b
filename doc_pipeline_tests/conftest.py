"""Shared fixtures: a real Postgres (the machine's, or a private throwaway cluster started from the local
binaries), S3 over HTTP (moto's server on 127.0.0.1), and an isolated DOCPIPE_HOME per test."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _isolated_dagster_home(monkeypatch):
    """Each test starts without DAGSTER_HOME (ensure_dagster_home() sets it in os.environ for child processes);
    without this one test's Dagster instance, runs and partitions leak into the next."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    yield
    os.environ.pop("DAGSTER_HOME", None)


@pytest.fixture(autouse=True)
def _sigterm_as_it_was():
    """Tests that execute runs in-process themselves: SIGTERM back as before (instance.termination_signal_kept),
    or a suite started in the background would ignore SIGTERM after its first run and hang on Dagster's
    compute-log tails in later tests."""
    from doc_pipeline.instance import termination_signal_kept

    with termination_signal_kept():
        yield


@pytest.fixture(scope="session")
def pg_server():
    """(host, port, user) of a reachable Postgres: DOCPIPE_TEST_PG_URL's, 127.0.0.1:5432, or a private cluster."""
    if _port_open("127.0.0.1", 5432):
        yield ("127.0.0.1", 5432, "postgres")
        return
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.fail("no Postgres server on 127.0.0.1:5432 and no local Postgres binaries to start one "
                    "(apt-get install postgresql)")
    bindir = Path(bins[-1]).parent
    data = Path(tempfile.mkdtemp(prefix="docpipe-pg-"))
    port = _free_port()
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if run_as:
        shutil.chown(data, "postgres")
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-o", f"-p {port} -k {data} -h 127.0.0.1",
                    "-l", str(data / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        yield ("127.0.0.1", port, "postgres")
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture()
def pg_url(pg_server):
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg2

    host, port, user = pg_server
    name = f"docpipe_test_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(host=host, port=port, user=user, dbname="postgres")
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://{user}@{host}:{port}/{name}"
    finally:
        from doc_pipeline.db.session import get_database

        get_database.cache_clear()
        cur = conn.cursor()
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=%s AND pid<>pg_backend_pid()",
                    (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.close()


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1 (real HTTP, the S3 protocol)."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for _ in range(50):
        if _port_open("127.0.0.1", port):
            break
        time.sleep(0.1)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture()
def s3_bucket(s3_server):
    import boto3

    name = f"docpipe-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=name)
    return s3_server, name


def _reset_caches():
    from doc_pipeline import resources
    from doc_pipeline.db.session import get_database
    from doc_pipeline.settings import reload_settings

    get_database.cache_clear()
    resources._STORES.clear()
    reload_settings()
    from doc_pipeline_tests.test_api_support import reset_caches

    reset_caches()  # the API's own cached settings, store and search handles


@pytest.fixture()
def docpipe_home(tmp_path, monkeypatch):
    """Embedded default in a temp folder: SQLite, local store, embedded search, SQLite Dagster storage."""
    home = tmp_path / "docpipe"
    monkeypatch.setenv("DOCPIPE_HOME", str(home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for var in ("DOCPIPE_DATABASE_URL", "DOCPIPE_STORAGE", "DOCPIPE_S3_BUCKET", "DOCPIPE_S3_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    _reset_caches()
    yield home
    _reset_caches()


@pytest.fixture()
def production_home(tmp_path, monkeypatch, pg_url, s3_bucket):
    """The production configuration on this machine: Postgres for metadata and Dagster storage, S3 over HTTP."""
    from doc_pipeline.instance import postgres_dagster_yaml

    endpoint, bucket = s3_bucket
    home = tmp_path / "docpipe"
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(postgres_dagster_yaml(pg_url))
    monkeypatch.setenv("DOCPIPE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("DOCPIPE_DATABASE_URL", pg_url)
    monkeypatch.setenv("DOCPIPE_STORAGE", "s3")
    monkeypatch.setenv("DOCPIPE_S3_BUCKET", bucket)
    monkeypatch.setenv("DOCPIPE_S3_ENDPOINT_URL", endpoint)
    _reset_caches()
    yield home
    _reset_caches()
