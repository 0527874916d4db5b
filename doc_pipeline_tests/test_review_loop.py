"""Reprocess requests (retry, review) become one Dagster run each; corrections win when `fields` re-runs; the
field model learns from them and `fields` then uses it."""

from dagster import AssetKey, materialize
from sqlalchemy import select

from doc_pipeline.assets import field_model
from doc_pipeline.db import ReprocessTask, Review
from doc_pipeline.results import build_result
from doc_pipeline.resources import DocPipelineResource
from doc_pipeline.samples import native_invoice_pdf
from doc_pipeline.search import SearchQuery
from doc_pipeline_tests.pipeline_harness import Harness


def _task(db, doc_id, step, reason):
    with db.session() as s:
        s.add(ReprocessTask(doc_id=doc_id, step=step, status="pending", reason=reason, requested_by="tester"))


def test_retry_review_and_learning(docpipe_home):
    dp = DocPipelineResource()
    store, db = dp.store(), dp.db()
    store.put_bytes("raw/inv.pdf", native_invoice_pdf())
    h = Harness()
    (req,), _ = h.run_sensor_and_runs()
    doc_id = req.partition_key

    # two retry requests for the same document: one run, from the earliest step asked for
    _task(db, doc_id, "tables", "retry")
    _task(db, doc_id, "ocr_text", "retry")
    reqs = h.tick("reprocess_sensor")
    assert len(reqs) == 1
    assert set(reqs[0].asset_selection) == {AssetKey(k) for k in ("ocr_text", "tables", "fields", "index_docs")}
    assert h.tick("reprocess_sensor") == []  # no pile-up while it is launched
    (res,) = h.execute(reqs)
    assert res.success
    h.tick("reprocess_sensor")
    with db.session() as s:
        assert sorted(t.status for t in s.scalars(select(ReprocessTask))) == ["done", "merged"]

    # a reviewer corrects the invoice number and rejects the currency
    with db.session() as s:
        s.add(Review(doc_id=doc_id, reviewer="rita", comment="typo",
                     decisions=[{"name": "invoice_number", "action": "correct", "value": "INV-2024-0042-B"},
                                {"name": "issuer", "action": "correct", "value": "Northwind Paper Services Ltd"},
                                {"name": "currency", "action": "reject"}]))
    _task(db, doc_id, "fields", "review")
    reqs = h.tick("reprocess_sensor")
    assert set(reqs[0].asset_selection) == {AssetKey("fields"), AssetKey("index_docs")}
    h.execute(reqs)
    r = build_result(doc_id, store, db)
    inv = next(f for f in r.fields if f.name == "invoice_number")
    assert (inv.value, inv.source.value, inv.confidence) == ("INV-2024-0042-B", "human", 1.0)
    assert not any(f.name == "currency" for f in r.fields)
    assert [x.doc_id for x in dp.search().search(SearchQuery(q="INV-2024-0042-B")).hits] == [doc_id]

    # the learning step: corrections exported as training data and a model that `fields` then loads
    out = materialize([field_model.field_model], resources={"docpipe": dp}, instance=h.instance)
    assert out.success
    lines = store.get_text(field_model.CORRECTIONS_KEY).splitlines()
    # a correction whose value is on the page becomes a labelled span to learn from
    assert any("ISSUER" in line and "Northwind" in line for line in lines)
    assert store.exists(field_model.MODEL_KEY)
    res = h.job.execute_in_process(partition_key=doc_id, instance=h.instance,
                                   asset_selection=[AssetKey("fields"), AssetKey("index_docs")])
    mat = [e for e in res.get_asset_materialization_events() if e.asset_key == AssetKey("fields")][0]
    assert mat.materialization.metadata["used_field_model"].value is True
