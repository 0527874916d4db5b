"""Load: 50 concurrent uploads through the API (real uvicorn socket) plus 20 files dropped into raw/ at once —
every document is accounted for: one row, one raw object, one run requested (and, in the slow suite, processed)."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from doc_pipeline.db import Document
from doc_pipeline.resources import DocPipelineResource
from doc_pipeline_tests.make_docs import text_pdf
from doc_pipeline_tests.pipeline_harness import Harness
from doc_pipeline_tests.test_api_support import UvicornThread, auth, embedded_env  # noqa: F401


def _burst(tmp_path) -> tuple[Harness, set[str], list]:
    from api.main import app

    dp = DocPipelineResource()
    headers = auth("alice", "uploader")
    with UvicornThread(app) as server:
        def upload(i: int) -> str:
            r = httpx.post(f"{server.url}/uploads", headers=headers, timeout=60,
                           files={"file": (f"doc {i}.pdf", text_pdf([f"Upload number {i}"]), "application/pdf")})
            assert r.status_code == 201, r.text
            return r.json()["doc_id"]

        with ThreadPoolExecutor(max_workers=50) as pool:
            uploaded = set(pool.map(upload, range(50)))
            # the drops land while uploads are still streaming in
            for i in range(20):
                dp.store().put_bytes(f"raw/dropped/file-{i}.pdf", text_pdf([f"Dropped number {i}"]))
    assert len(uploaded) == 50
    h = Harness()
    reqs = h.tick()
    return h, uploaded, reqs


def test_burst_of_uploads_and_drops_is_fully_accounted_for(embedded_env, tmp_path, monkeypatch):
    from doc_pipeline.settings import reload_settings

    monkeypatch.setenv("DOCPIPE_RUN_SLOTS", "3")
    reload_settings()
    h, uploaded, reqs = _burst(tmp_path)
    dp = DocPipelineResource()
    with dp.db().session() as s:
        docs = s.scalars(select(Document)).all()
    assert len(docs) == 70 and all(d.status == "queued" for d in docs)
    assert uploaded <= {d.doc_id for d in docs}
    assert len(list(dp.store().list("raw/"))) == 70
    assert sorted(h.keys_of(reqs)) == sorted(d.doc_id for d in docs)  # every document in exactly one run
    # a burst is batched: spread over the 3 run slots (DOCPIPE_RUN_SLOTS), up to DOCPIPE_RUN_BATCH_SIZE each
    assert sorted(int(r.tags["docpipe/batch_size"]) for r in reqs) == [23, 23, 24]
    assert set(h.instance.get_dynamic_partitions("documents")) == {d.doc_id for d in docs}
    assert h.tick() == []


@pytest.mark.slow
def test_burst_is_processed_to_the_end(embedded_env, tmp_path):
    h, _, reqs = _burst(tmp_path)
    results = h.execute(reqs)
    assert all(r.success for r in results)
    with DocPipelineResource().db().session() as s:
        assert {d.status for d in s.scalars(select(Document))} == {"done"}
