"""`doctor` checks: a good configuration passes every check; a broken one fails the right check with a fix."""

from __future__ import annotations

import socket

import pytest

from doc_pipeline.doctor import CHECKS, run_checks
from doc_pipeline.settings import reload_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _by_name(results):
    return {r.name: r for r in results}


def test_good_embedded_config_passes_every_check(docpipe_home):
    from doc_pipeline.db import get_database

    s = reload_settings()
    get_database(s.db_url)  # migrated, as `doc-pipeline migrate` does
    results = run_checks(s)
    assert [r.name for r in results] == [n for n, _ in CHECKS]
    failed = [r for r in results if not r.ok]
    assert not failed, failed
    r = _by_name(results)
    assert "eng+osd" in r["tesseract"].detail
    assert "rapidocr" in r["onnx_models"].detail and "rapid_layout" in r["onnx_models"].detail
    assert "migrations at head" in r["database"].detail
    assert not list((s.storage_root / "__doctor__").glob("*"))  # the probe object was deleted


def test_unmigrated_sqlite_says_run_migrate(docpipe_home):
    r = _by_name(run_checks(reload_settings(), only=["database"]))["database"]
    assert not r.ok and r.fix == "run `doc-pipeline migrate`"


def test_bad_database_url_fails_with_fix_and_hides_password(docpipe_home, monkeypatch):
    monkeypatch.setenv("DOCPIPE_DATABASE_URL", f"postgresql+psycopg2://app:s3cret@127.0.0.1:{_free_port()}/docpipe")
    results = _by_name(run_checks(reload_settings()))
    db = results["database"]
    assert not db.ok and "cannot connect" in db.detail and "DOCPIPE_DATABASE_URL" in db.fix
    assert "s3cret" not in db.detail + db.fix
    assert results["object_store"].ok and results["search"].ok  # one failure does not stop the others


def test_postgres_behind_head_says_run_migrate(docpipe_home, pg_url, monkeypatch):
    monkeypatch.setenv("DOCPIPE_DATABASE_URL", pg_url)
    r = _by_name(run_checks(reload_settings(), only=["database"]))["database"]
    assert not r.ok and "migration none" in r.detail and r.fix == "run `doc-pipeline migrate`"


def test_missing_bucket_fails_with_fix(docpipe_home, s3_server, monkeypatch):
    monkeypatch.setenv("DOCPIPE_STORAGE", "s3")
    monkeypatch.setenv("DOCPIPE_S3_BUCKET", "no-such-bucket-here")
    monkeypatch.setenv("DOCPIPE_S3_ENDPOINT_URL", s3_server)
    r = _by_name(run_checks(reload_settings(), only=["object_store"]))["object_store"]
    assert not r.ok and "no-such-bucket-here" in r.detail
    assert "aws s3 mb s3://no-such-bucket-here" in r.fix


def test_existing_bucket_passes(docpipe_home, s3_bucket, monkeypatch):
    endpoint, bucket = s3_bucket
    monkeypatch.setenv("DOCPIPE_STORAGE", "s3")
    monkeypatch.setenv("DOCPIPE_S3_BUCKET", bucket)
    monkeypatch.setenv("DOCPIPE_S3_ENDPOINT_URL", endpoint)
    r = _by_name(run_checks(reload_settings(), only=["object_store"]))["object_store"]
    assert r.ok, r


def test_missing_ocr_language_names_the_package(docpipe_home, monkeypatch):
    monkeypatch.setenv("DOCPIPE_OCR_LANG", "eng+xyz")
    r = _by_name(run_checks(reload_settings(), only=["tesseract"]))["tesseract"]
    assert not r.ok and "xyz" in r.detail and "tesseract-ocr-xyz" in r.fix


def test_broken_dagster_storage_fails_with_fix(docpipe_home, tmp_path, monkeypatch):
    from doc_pipeline.instance import postgres_dagster_yaml

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(postgres_dagster_yaml(f"postgresql://u@127.0.0.1:{_free_port()}/dagster"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    r = _by_name(run_checks(reload_settings(), only=["dagster"]))["dagster"]
    assert not r.ok and "does not load" in r.detail and "dagster.yaml" in r.fix
