"""Drop a native and a scanned sample into raw/, run the sensor and the runs, check the results; re-run a step
and check nothing is duplicated. Once on the embedded default, once on Postgres + S3 over HTTP."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from doc_pipeline.core.doc_ids import doc_id_for_key
from doc_pipeline.core.page_cache import decoded_pages
from doc_pipeline.db import FieldRow, PageRow, StepCheckpoint, TableRow, get_database
from doc_pipeline.core.models import LayoutResult, PageImages
from doc_pipeline.results import build_result, read_derived
from doc_pipeline.resources import DocPipelineResource
from doc_pipeline.samples import INVOICE_TOTAL, native_invoice_pdf, scanned_paystub_pdf
from doc_pipeline.search import SearchQuery
from doc_pipeline.settings import get_settings
from doc_pipeline_tests.pipeline_harness import Harness


def _counts(db, doc_id):
    with db.session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m).where(m.doc_id == doc_id))
                for m in (PageRow, FieldRow, TableRow, StepCheckpoint)}


def _object_keys(store, doc_id):
    return sorted(o.key for o in store.list("") if doc_id in o.key)


def run_end_to_end():
    dp = DocPipelineResource()
    store, db = dp.store(), dp.db()
    store.put_bytes("raw/invoice.pdf", native_invoice_pdf())
    store.put_bytes("raw/paystub scan.pdf", scanned_paystub_pdf())
    store.put_bytes("raw/broken.pdf", b"%PDF-1.4\n1 0 obj garbage")

    h = Harness()
    hits_before = decoded_pages().hits
    reqs, results = h.run_sensor_and_runs()
    # the steps after page_images read the pages they just wrote without decoding them again (core/page_cache.py):
    # layout and OCR of the scanned page at least (the native page is laid out from its text layer)
    assert decoded_pages().hits - hits_before >= 3
    ids = {doc_id_for_key(k) for k in ("raw/invoice.pdf", "raw/paystub scan.pdf", "raw/broken.pdf")}
    assert sorted(h.keys_of(reqs)) == sorted(ids)
    inv_id, scan_id, bad_id = (doc_id_for_key(k) for k in ("raw/invoice.pdf", "raw/paystub scan.pdf", "raw/broken.pdf"))

    inv = build_result(inv_id, store, db)
    assert inv.status.value == "done" and inv.kind.value == "native"
    assert "Northwind Paper Services" in inv.pages[0].text
    assert inv.pages[0].words[0].bbox[0] > 0 and inv.pages[0].engine == "text_layer"
    assert inv.pages[0].blocks, "layout blocks expected"
    # laid out from its text layer (its table is ruled, so the layout model had nothing to add)
    assert read_derived(store, "layout_blocks", inv_id, LayoutResult).text_layer_pages == [1]
    # ...and not rendered: nothing needed its image (DOCPIPE_NATIVE_PAGE_IMAGES=on_demand); the scan's page is
    assert read_derived(store, "page_images", inv_id, PageImages).images == []
    assert [i.page_no for i in read_derived(store, "page_images", scan_id, PageImages).images] == [1]
    assert not [o for o in store.list(f"pages/{inv_id}/")]
    assert [b.type for b in inv.pages[0].blocks].count("table") == 1
    assert inv.tables and inv.tables[0].rows[1][0] == "Document scanning service"
    assert store.get_text(inv.tables[0].csv_key).startswith("Item,Qty,Unit price,Amount")
    values = {(f.name, str(f.normalized)) for f in inv.fields}
    assert any(n == "date" and v == "2024-03-15" for n, v in values), values
    assert any(INVOICE_TOTAL in v for n, v in values if n in ("total", "amount")), values
    assert any(f.name == "iban" for f in inv.fields)
    assert all(st.status == "done" and st.run_id for st in inv.steps)

    scan = build_result(scan_id, store, db)
    assert scan.status.value == "done" and scan.kind.value == "scanned"
    assert scan.pages[0].engine in ("tesseract", "rapidocr+tesseract", "rapidocr") and scan.pages[0].mean_conf > 0.6
    assert "Maria Gonzalez" in scan.pages[0].text
    assert any(f.name in ("net_pay", "amount") for f in scan.fields)

    bad = build_result(bad_id, store, db)
    assert bad.status.value == "failed" and "PDF" in bad.error

    hits = dp.search().search(SearchQuery(q="Northwind invoice"))
    assert [h.doc_id for h in hits.hits] == [inv_id]

    # materialisation metadata the UI shows
    ev = h.instance.get_latest_materialization_event(__import__("dagster").AssetKey("ocr_text"))
    assert ev is not None

    # re-materialise ocr_text and its downstream for one document: same rows, no orphans
    before, keys_before = _counts(db, scan_id), _object_keys(store, scan_id)
    from dagster import AssetKey

    res = h.job.execute_in_process(partition_key=scan_id, instance=h.instance,
                                   asset_selection=[AssetKey(k) for k in ("ocr_text", "tables", "fields", "index_docs")])
    assert res.success
    assert {e.asset_key.to_user_string() for e in res.get_asset_materialization_events()} == {
        "ocr_text", "tables", "fields", "index_docs"}
    assert _counts(db, scan_id) == before
    assert _object_keys(store, scan_id) == keys_before
    with db.session() as s:
        names = Counter((r.name, r.ordinal) for r in s.scalars(select(FieldRow).where(FieldRow.doc_id == scan_id)))
    assert max(names.values()) == 1
    assert dp.search().count() == 2
    assert h.tick() == []  # nothing new under raw/


def test_end_to_end_embedded(docpipe_home):
    run_end_to_end()
    assert (get_settings().home / "docpipe.db").exists()


def test_end_to_end_postgres_and_s3(production_home):
    s = get_settings()
    assert s.storage == "s3" and s.db_url.startswith("postgresql")
    run_end_to_end()
    from dagster import DagsterInstance

    inst = DagsterInstance.get()
    assert type(inst.run_storage).__name__ == "PostgresRunStorage"
    assert inst.get_runs_count() >= 2  # the burst run(s) and the re-run
    # nothing of the embedded default was written
    assert not (s.home / "store").exists() and not (s.home / "docpipe.db").exists()


def test_native_page_images_always_renders_every_page_and_on_demand_renders_once(docpipe_home, monkeypatch):
    from doc_pipeline.results import page_image_png
    from doc_pipeline.settings import reload_settings

    monkeypatch.setenv("DOCPIPE_NATIVE_PAGE_IMAGES", "always")
    reload_settings()
    dp = DocPipelineResource()
    store = dp.store()
    store.put_bytes("raw/invoice.pdf", native_invoice_pdf())
    Harness().run_sensor_and_runs()
    doc_id = doc_id_for_key("raw/invoice.pdf")
    images = read_derived(store, "page_images", doc_id, PageImages)
    (meta,) = images.images
    assert meta.dpi == 100 and page_image_png(store, images, 1, 100, 60_000_000) == (store.get_bytes(meta.key), 100)

    # the same page left to be rendered on demand: the same pixels, rendered when first asked for, then kept
    monkeypatch.setenv("DOCPIPE_NATIVE_PAGE_IMAGES", "on_demand")
    reload_settings()
    store.put_bytes("raw/invoice again.pdf", native_invoice_pdf())
    Harness().run_sensor_and_runs()
    other = doc_id_for_key("raw/invoice again.pdf")
    other_images = read_derived(store, "page_images", other, PageImages)
    assert other_images.images == []
    png, dpi = page_image_png(store, other_images, 1, 100, 60_000_000)
    assert dpi == 100 and png == store.get_bytes(meta.key)
    assert [o.key for o in store.list(f"pages/{other}/")] != []
    assert page_image_png(store, other_images, 2, 100, 60_000_000) is None  # no such page
