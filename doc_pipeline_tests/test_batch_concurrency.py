"""Documents of one multi-document run processed side by side (DOCPIPE_DOC_WORKERS, assets/_step.py): the same
results as one at a time, and the steps really overlap. Native pages (PDFium, camelot) and scanned pages mixed,
so the PDFium lock is exercised from two threads."""

import io
from datetime import datetime

from doc_pipeline.db import get_database, repo
from doc_pipeline.db.models import StepCheckpoint
from doc_pipeline.settings import get_settings
from doc_pipeline_tests import make_docs
from doc_pipeline_tests.conftest import _reset_caches
from doc_pipeline_tests.pipeline_harness import Harness


def _scanned_pdf(lines: list[str], pages: int = 2) -> bytes:
    imgs = [make_docs.text_image([f"{line} page {p + 1}" for line in lines]) for p in range(pages)]
    buf = io.BytesIO()
    imgs[0].save(buf, format="PDF", resolution=200, save_all=True, append_images=imgs[1:])
    return buf.getvalue()


FILES = {
    "scan_a.pdf": lambda: _scanned_pdf(["Invoice number 4711", "Total due 120.50"]),
    "native_table.pdf": make_docs.table_pdf_ruled,
    "scan_b.pdf": lambda: _scanned_pdf(["Statement for March", "Closing balance 88.10"]),
    "native_text.pdf": lambda: make_docs.text_pdf(["Plain text letter", "Kind regards"], pages=2),
}


def _burst(home, monkeypatch, doc_workers: int) -> tuple[dict, dict]:
    from doc_pipeline.core.doc_ids import doc_id_for_key
    from doc_pipeline.results import build_result
    from doc_pipeline.resources import _cached_store

    monkeypatch.setenv("DOCPIPE_HOME", str(home))
    monkeypatch.setenv("DOCPIPE_DOC_WORKERS", str(doc_workers))
    monkeypatch.setenv("DOCPIPE_RUN_BATCH_SIZE", "10")
    monkeypatch.setenv("DOCPIPE_RUN_SLOTS", "1")  # all four in one run, whatever the cores
    monkeypatch.setenv("DOCPIPE_LAYOUT_ENGINE", "none")  # keeps the test quick; the layout stage is image-only
    _reset_caches()
    s = get_settings()
    raw = s.storage_root / "raw"
    raw.mkdir(parents=True)
    for name, make in FILES.items():
        (raw / name).write_bytes(make())
    h = Harness()
    reqs = h.tick()
    assert len(reqs) == 1 and reqs[0].partition_key is None  # one run over the range of all four
    (res,) = h.execute(reqs)
    assert res.success
    db, store = get_database(s.db_url), _cached_store(s)
    results, spans = {}, {}
    for name in FILES:
        doc_id = doc_id_for_key(f"raw/{name}")
        r = build_result(doc_id, store, db)
        results[name] = (r.status.value, [p.text for p in r.pages], [t.rows for t in r.tables])
        with db.session() as sess:
            cp = sess.get(StepCheckpoint, (doc_id, "ocr_text"))
            spans[name] = (cp.started_at, cp.finished_at)
    _reset_caches()
    return results, spans


def _overlapping(spans: dict[str, tuple[datetime, datetime]]) -> bool:
    items = list(spans.values())
    return any(a0 < b1 and b0 < a1 for i, (a0, a1) in enumerate(items) for (b0, b1) in items[i + 1:])


def test_two_documents_at_once_give_the_same_results_as_one_at_a_time(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for var in ("DOCPIPE_DATABASE_URL", "DOCPIPE_STORAGE", "DOCPIPE_S3_BUCKET", "DOCPIPE_S3_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    together, spans_together = _burst(tmp_path / "two", monkeypatch, doc_workers=2)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the harness set one for the first home
    alone, spans_alone = _burst(tmp_path / "one", monkeypatch, doc_workers=1)
    assert {n: r[0] for n, r in together.items()} == dict.fromkeys(FILES, "done")
    assert together == alone
    assert "4711" in " ".join(together["scan_a.pdf"][1])
    assert together["native_table.pdf"][2], "the ruled table on the native page is found"
    assert _overlapping(spans_together), "with DOCPIPE_DOC_WORKERS=2 two documents are OCRed at the same time"
    assert not _overlapping(spans_alone)


def test_a_failing_document_among_concurrent_ones_fails_alone(docpipe_home, monkeypatch):
    from doc_pipeline.core.doc_ids import doc_id_for_key

    monkeypatch.setenv("DOCPIPE_DOC_WORKERS", "2")
    monkeypatch.setenv("DOCPIPE_LAYOUT_ENGINE", "none")
    monkeypatch.setenv("DOCPIPE_RUN_SLOTS", "1")  # the three in one run
    _reset_caches()
    raw = get_settings().storage_root / "raw"
    raw.mkdir(parents=True)
    (raw / "good1.pdf").write_bytes(_scanned_pdf(["First good one"], pages=1))
    # a PNG that decodes in raw_pdf's sniffing but is cut short: page_images fails on it, inside the batch
    png = make_docs.png_bytes(make_docs.text_image(["Truncated scan"]), 200)
    (raw / "cut.png").write_bytes(png[: len(png) // 2])
    (raw / "good2.pdf").write_bytes(_scanned_pdf(["Second good one"], pages=1))
    h = Harness()
    from dagster._core.execution.context.system import StepExecutionContext

    def public_check(*a, **k):  # reads every known partition per call: assets/_step.add_partition_metadata skips it
        raise AssertionError("add_partition_metadata fell back to Dagster's checked add_asset_metadata")

    monkeypatch.setattr(StepExecutionContext, "add_asset_metadata", public_check)
    (res,) = h.execute(h.tick())
    assert res.success  # the run goes on; the bad document is recorded and re-run alone
    db = get_database(get_settings().db_url)
    status = {n: repo.get_document(db, doc_id_for_key(f"raw/{n}")) for n in ("good1.pdf", "cut.png", "good2.pdf")}
    assert status["good1.pdf"].status == "done" and status["good2.pdf"].status == "done"
    assert status["cut.png"].status == "failed" and status["cut.png"].error
    # the later steps of the run skip it (asked once per step): no checkpoints after the step that failed it
    from sqlalchemy import select

    from doc_pipeline.db import StepCheckpoint

    with db.session() as s:
        steps = set(s.scalars(select(StepCheckpoint.step).where(
            StepCheckpoint.doc_id == doc_id_for_key("raw/cut.png"), StepCheckpoint.run_id == res.run_id)))
    assert steps and steps <= {"raw_pdf", "page_images"}, steps
    # each partition's materialization carries its own document's metadata (not a table of the whole batch, which
    # Dagster would copy into every partition's event), and the failed one says why
    events = {(e.asset_key.to_user_string(), e.partition): e.materialization.metadata
              for e in res.get_asset_materialization_events()}
    good1, cut = doc_id_for_key("raw/good1.pdf"), doc_id_for_key("raw/cut.png")
    meta = events[("page_images", good1)]
    assert meta["pages"].value == 1 and meta["seconds"].value > 0 and meta["batch_documents"].value == 3
    assert "per_document" not in meta and cut not in str(meta)
    assert "failed" in events[("page_images", cut)] and "pages" not in events[("page_images", cut)]
    ocr = events[("ocr_text", good1)]
    assert ocr["words"].value > 0 and ocr["pages"].value == 1


def test_a_run_sharing_the_cores_reads_its_pages_in_one_thread(docpipe_home, monkeypatch):
    """A burst's runs side by side (tagged with their share of the cores, here 1) do not start a page pool of
    DOCPIPE_OCR_WORKERS threads each: every page of the run is rendered, laid out and OCRed in one thread, so each
    engine loads once per run. Without the tag the pages of a document spread over the page pool."""
    from doc_pipeline.assets._step import DOC_WORKERS_TAG, page_workers_for
    from doc_pipeline.core.ocr.tesseract import TesseractEngine

    assert page_workers_for({DOC_WORKERS_TAG: "1"}, 0) == 1 and page_workers_for({}, 3) == 3
    assert page_workers_for({DOC_WORKERS_TAG: "4"}, 2) == 2  # never more threads than DOCPIPE_OCR_WORKERS
    monkeypatch.setenv("DOCPIPE_OCR_WORKERS", "2")
    monkeypatch.setenv("DOCPIPE_LAYOUT_ENGINE", "none")
    monkeypatch.setenv("DOCPIPE_RUN_SLOTS", "1")
    _reset_caches()
    threads: list[str] = []
    real = TesseractEngine.recognize

    def recognize(self, image, dpi):  # observes the thread; the real engine still reads the page
        import threading

        threads.append(threading.current_thread().name)
        return real(self, image, dpi)

    monkeypatch.setattr(TesseractEngine, "recognize", recognize)
    raw = get_settings().storage_root / "raw"
    raw.mkdir(parents=True)
    (raw / "a.pdf").write_bytes(_scanned_pdf(["Invoice number 4711"], pages=3))
    (raw / "b.pdf").write_bytes(_scanned_pdf(["Closing balance 88.10"], pages=3))
    h = Harness()
    (req,) = h.tick()
    # the tag the sensor puts on a burst's runs side by side (test_sensor: 3 runs on 2 cores get "1")
    (res,) = h.execute([req._replace(tags={**req.tags, DOC_WORKERS_TAG: "1"})])
    assert res.success
    assert len(threads) >= 6 and len(set(threads)) == 1, threads
