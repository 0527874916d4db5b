"""Hostile inputs (issue 10): every generated file ends with exactly one outcome, processed or failed/rejected with
a readable reason, through the real raw/ sensor and runs; the rest of the batch is unaffected and peak memory
stays bounded. The batch runs in a subprocess so that its peak RSS (ru_maxrss) is its own."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from doc_pipeline.core.errors import CorruptDocumentError, EncryptedDocumentError, LimitExceededError
from doc_pipeline.core.ingest import check_pdf_streams, inspect_document
from doc_pipeline_tests.hostile import generate as hg

REPO = Path(__file__).resolve().parents[1]
# limits for the batch: low so that the bombs are refused fast and pages render small
BATCH_ENV = {"DOCPIPE_MAX_PAGES": "50", "DOCPIPE_MAX_PAGE_PIXELS": "8000000", "DOCPIPE_MAX_IMAGE_PIXELS": "20000000",
             "DOCPIPE_MAX_STREAM_BYTES": str(64 << 20), "DOCPIPE_RENDER_DPI": "100", "DOCPIPE_OCR_WORKERS": "1",
             "OMP_THREAD_LIMIT": "1", "HOSTILE_EPHEMERAL_DAGSTER": "1",
             # one run per file, so each outcome is checked per run (batched runs: test_sensor.py)
             "DOCPIPE_RUN_BATCH_SIZE": "1",
             # every page rendered by page_images, hostile ones with a text layer too (the review page renders
             # those on demand through the same bounded render_pdf_page: test_render)
             "DOCPIPE_NATIVE_PAGE_IMAGES": "always"}
# the whole pipeline (Dagster, ONNX layout model, Tesseract) plus the batch; without the stream limit the
# flate bomb alone took 5 GB
MAX_RSS_MB = 1500
JS_MARKER = Path("/tmp/docpipe-hostile-embedded-ran")


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Hits.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def batch_report(tmp_path_factory):
    """Run the whole hostile batch once (sensor + runs) in a subprocess on the embedded default."""
    tmp = tmp_path_factory.mktemp("hostile")
    _Hits.hits = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    JS_MARKER.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCPIPE_", "DAGSTER_HOME"))}
    env.update(BATCH_ENV, DOCPIPE_HOME=str(tmp / "home"), PYTHONPATH=str(REPO))
    report = tmp / "report.json"
    try:
        proc = subprocess.run([sys.executable, "-m", "doc_pipeline_tests.hostile.run_batch", str(report),
                               f"http://127.0.0.1:{srv.server_address[1]}"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=400)
    finally:
        srv.shutdown()
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(report.read_text(encoding="utf-8"))
    data["callback_hits"] = list(_Hits.hits)
    return data


def test_every_file_ends_with_exactly_one_expected_outcome(batch_report):
    docs = batch_report["documents"]
    assert len(docs) == len({d["doc_id"] for d in docs}) == len(hg.build_cases())
    wrong = []
    for d in docs:
        assert d["status"] in ("done", "failed", "rejected"), d  # never left queued/processing
        reason = (d["error"] or "").lower()
        if d["status"] != d["expect"] or d["reason"] not in reason:
            wrong.append((d["name"], d["expect"], d["status"], d["error"]))
        if d["status"] == "done":
            assert not d["error"] and d["runs"] == [True], d
            assert d["page_count"] == len(d["pages"]) >= 1, d  # every page has its row
        else:
            # a person can act on it: a typed code or a sentence, not a traceback
            assert len(reason) > 15 and "traceback" not in reason, d
            assert d["runs"] == ([] if d["status"] == "rejected" else [False]), d
    assert not wrong, "\n".join(map(str, wrong))
    # one run per accepted file, nothing picked up twice
    assert batch_report["run_requests"] == sum(1 for d in docs if d["expect"] != "rejected")
    assert batch_report["second_tick_requests"] == 0


def test_expected_page_counts_and_shapes(batch_report):
    docs = {d["name"]: d for d in batch_report["documents"]}
    for name, case in ((c.name, c) for c, _ in hg.build_cases()):
        if case.expect == "done" and case.pages is not None:
            assert docs[name]["page_count"] == case.pages, name
    # the control document in the batch came out as it does alone
    assert "Northwind Paper Services" in docs["control invoice.pdf"]["text"]
    # EXIF orientation 6: stored landscape, shown portrait
    w, h, _ = docs["exif-rotated.jpg"]["pages"][0]
    assert w < h
    # the 200000-pt page keeps its size in points but is rendered within DOCPIPE_MAX_PAGE_PIXELS
    w, h, _ = docs["huge-mediabox.pdf"]["pages"][0]
    assert (w, h) == (200000, 200000)
    assert 0 < docs["huge-mediabox.pdf"]["max_image_px"] <= int(BATCH_ENV["DOCPIPE_MAX_PAGE_PIXELS"])
    assert "Huge page" in docs["huge-mediabox.pdf"]["text"]
    for name in ("broken-xref.pdf", "truncated-at-xref.pdf", "no-xref.pdf", "encrypted-owner-only.pdf",
                 "deep-nesting.pdf", "name with  spaces .pdf", "ünïcødé – 文件 📄.pdf"):
        assert docs[name]["text"].strip(), name
    assert docs["tiff-12-pages.tif"]["page_count"] == 12


def test_nothing_embedded_was_run(batch_report):
    docs = {d["name"]: d for d in batch_report["documents"]}
    assert docs["javascript and attachment.pdf"]["status"] == "done"
    assert batch_report["callback_hits"] == []  # no launchURL/submitForm reached our server
    assert not JS_MARKER.exists()  # the embedded shell script was not run


def test_peak_memory_bounded(batch_report):
    assert 0 < batch_report["max_rss_mb"] < MAX_RSS_MB, batch_report["max_rss_mb"]


# ---------------------------------------------------------------- the core guards, directly (fast)

def test_stream_limit_refuses_double_flate_bomb_quickly(tmp_path):
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(hg.flate_bomb_pdf())
    assert bomb.stat().st_size < 50_000  # 4 GiB once inflated
    with pytest.raises(LimitExceededError, match="DOCPIPE_MAX_STREAM_BYTES"):
        check_pdf_streams(bomb, 16 << 20)
    ok = tmp_path / "ok.pdf"
    content = hg.text_content("A Flate-compressed content stream")
    ok.write_bytes(hg.simple_pdf(content=zlib.compress(content), content_filters=("FlateDecode",)))
    check_pdf_streams(ok, 1024)  # a small normal content stream passes
    assert inspect_document(ok)[2][0].text_chars > 10
    with pytest.raises(LimitExceededError):
        check_pdf_streams(ok, len(content) - 1)  # and the limit is exact


def test_stale_password_error_does_not_mislabel_a_broken_pdf(tmp_path):
    """pdfium keeps the last error per thread: a broken PDF opened after an encrypted one must not read as
    'encrypted'."""
    enc, broken = tmp_path / "enc.pdf", tmp_path / "broken.pdf"
    enc.write_bytes(hg.qpdf_encrypt(hg.simple_pdf(), "user", "owner"))
    broken.write_bytes(hg.no_pages_pdf())
    with pytest.raises(EncryptedDocumentError):
        inspect_document(enc)
    with pytest.raises(CorruptDocumentError):
        inspect_document(broken)


def test_looping_page_tree_is_a_typed_error(tmp_path):
    p = tmp_path / "loop.pdf"
    p.write_bytes(hg.looping_pages_pdf())
    with pytest.raises(CorruptDocumentError, match="page tree"):
        inspect_document(p)


def test_generator_is_deterministic(tmp_path):
    a, b = hg.generate(tmp_path / "a"), hg.generate(tmp_path / "b")
    assert a == b
    for c in a:
        if not c.name.startswith(("encrypted", "control")):  # AES uses a random IV; reportlab stamps the time
            assert (tmp_path / "a" / c.name).read_bytes() == (tmp_path / "b" / c.name).read_bytes(), c.name


def test_dot_dot_keys_on_s3_stay_inside(docpipe_home, s3_bucket, monkeypatch):
    """S3 keys may hold '../' (the local store cannot): the document is processed, its id is a plain slug and
    everything it writes stays under its own prefixes."""
    from doc_pipeline.core.doc_ids import doc_id_for_key
    from doc_pipeline.db import get_database
    from doc_pipeline.db.models import Document
    from doc_pipeline.resources import DocPipelineResource
    from doc_pipeline.settings import get_settings, reload_settings
    from doc_pipeline.storage import StorageError
    from doc_pipeline.storage.local import LocalObjectStore
    from doc_pipeline_tests.pipeline_harness import Harness

    endpoint, bucket = s3_bucket
    monkeypatch.setenv("DOCPIPE_STORAGE", "s3")
    monkeypatch.setenv("DOCPIPE_S3_BUCKET", bucket)
    monkeypatch.setenv("DOCPIPE_S3_ENDPOINT_URL", endpoint)
    reload_settings()
    dp = DocPipelineResource()
    store = dp.store()
    key = "raw/../../etc/passwd ../x.pdf"
    store.put_bytes(key, hg.simple_pdf("Dot dot key"))
    h = Harness()
    reqs, results = h.run_sensor_and_runs()
    assert [r.success for r in results] == [True]
    doc_id = doc_id_for_key(key)
    assert "/" not in doc_id and ".." not in doc_id
    with get_database(get_settings().db_url).session() as s:
        assert s.get(Document, doc_id).status == "done"
    written = [o.key for o in store.list("") if o.key != key]
    assert written and all(".." not in k for k in written), written
    with pytest.raises(StorageError, match="escapes"):
        LocalObjectStore(docpipe_home / "store").path("raw/../../etc/passwd")
