"""The production configuration on this machine, end to end in one test: Postgres for Dagster storage and the
metadata DB, S3 over HTTP (moto's server), the raw/ and reprocess sensors, the runs, and the API."""

from dagster import DagsterInstance

from doc_pipeline.samples import native_invoice_pdf, scanned_paystub_pdf
from doc_pipeline.settings import get_settings
from doc_pipeline_tests.pipeline_harness import Harness
from doc_pipeline_tests.test_api_support import auth


def test_production_configuration_end_to_end(production_home, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("DOCPIPE_JWT_SECRET", "production-e2e-secret-" + "s" * 32)
    monkeypatch.setenv("DOCPIPE_RATE_LIMIT_PER_SECOND", "0")
    from doc_pipeline_tests.conftest import _reset_caches

    _reset_caches()
    s = get_settings()
    assert s.storage == "s3" and s.db_url.startswith("postgresql")
    from api.main import app

    with TestClient(app) as api:
        alice, rita = auth("alice", "uploader"), auth("rita", "reviewer")
        up = api.post("/upload", files=[("files", ("invoice.pdf", native_invoice_pdf(), "application/pdf")),
                                        ("files", ("paystub.pdf", scanned_paystub_pdf(), "application/pdf"))],
                      data={"applicant_id": "A-42"}, headers=alice)
        assert up.status_code == 201, up.text
        inv_id, stub_id = (d["doc_id"] for d in up.json())
        assert api.get(f"/status/{inv_id}", headers=alice).json()["status"] == "queued"

        h = Harness()  # DAGSTER_HOME holds the Postgres-backed dagster.yaml
        assert type(DagsterInstance.get().run_storage).__name__ == "PostgresRunStorage"
        reqs, runs = h.run_sensor_and_runs()
        assert sorted(h.keys_of(reqs)) == sorted([inv_id, stub_id])  # uploads keep their doc_id
        assert all(r.success for r in runs)

        st = api.get(f"/status/{inv_id}", headers=alice).json()
        assert st["status"] == "done" and st["percent_done"] == 100
        res = api.get(f"/result/{inv_id}", headers=alice).json()
        assert res["kind"] == "native" and res["tables"]
        iban = next(f for f in res["fields"] if f["name"] == "iban")
        assert "DE89370400440532013000" not in str(iban) and iban["value"].replace(" ", "").endswith("3000")
        csv = api.get(f"/result/{inv_id}/tables/0.csv", headers=alice)
        assert csv.status_code == 200 and csv.text.startswith("Item,Qty,Unit price,Amount")
        hits = api.get("/search", params={"q": "Northwind"}, headers=alice).json()
        assert [x["doc_id"] for x in hits["hits"]] == [inv_id]
        assert api.get("/search", params={"q": "Northwind"}, headers=auth("bob", "uploader")).json()["total"] == 0

        # retry ocr_text through the API: the reprocess sensor launches one run on Postgres-backed Dagster
        r = api.post(f"/retry/{stub_id}", json={"step": "ocr_text"}, headers=alice)
        assert r.status_code in (200, 201, 202), r.text
        assert api.post(f"/retry/{stub_id}", json={"step": "ocr_text"}, headers=alice).json()["task_id"] == r.json()["task_id"]
        reqs = h.tick("reprocess_sensor")
        assert len(reqs) == 1 and reqs[0].partition_key == stub_id
        (run,) = h.execute(reqs)
        assert run.success
        runs = DagsterInstance.get().get_run_records()
        assert any(rec.dagster_run.tags.get("docpipe/reprocess_task") for rec in runs)

        metrics = api.get("/metrics", headers=auth("ops", "admin")).text
        assert "docs_processed_total" in metrics
        health = api.get("/health").json()
        assert health["status"] in ("ok", "degraded")
