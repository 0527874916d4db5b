"""Drop every hostile case into raw/ of the configured store, tick the real raw/ sensor, execute the runs it asks
for (in this process, as the in-process executor does), and print one JSON report with each document's outcome
and this process's peak RSS. Run in a subprocess so that peak memory is the batch's own:

    DOCPIPE_HOME=/tmp/h DOCPIPE_MAX_PAGES=50 python -m doc_pipeline_tests.hostile.run_batch REPORT.json [URL]
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict

from doc_pipeline.core.doc_ids import doc_id_for_key
from doc_pipeline_tests.bench.measure import own_peak_rss_bytes


def main(report_path: str, callback_url: str = "http://127.0.0.1:9") -> None:
    from dagster import DagsterInstance

    from doc_pipeline.db.models import Document, PageRow
    from doc_pipeline.resources import DocPipelineResource
    from doc_pipeline_tests.hostile.generate import build_cases
    from doc_pipeline_tests.pipeline_harness import Harness

    t0 = time.perf_counter()
    dp = DocPipelineResource()
    store, db = dp.store(), dp.db()
    cases = build_cases(callback_url)
    for case, data in cases:
        store.put_bytes(f"raw/{case.name}", data)
    h = Harness()
    if os.environ.get("HOSTILE_EPHEMERAL_DAGSTER") == "1":
        # in-memory Dagster storage: the same sensor and runs without an fsync per event (twice as fast)
        h.instance = DagsterInstance.ephemeral()
    reqs = h.tick()
    results = h.execute(reqs)
    second_tick = h.tick()  # nothing may be picked up twice
    runs = {}
    for rr, res in zip(reqs, results):
        runs.setdefault(rr.partition_key, []).append(res.success)

    out = []
    with db.session() as s:
        for case, _ in cases:
            doc_id = doc_id_for_key(f"raw/{case.name}")
            doc = s.get(Document, doc_id)
            pages = s.query(PageRow).filter(PageRow.doc_id == doc_id).order_by(PageRow.page_no).all()
            try:
                imgs = json.loads(store.get_bytes(f"derived/page_images/{doc_id}.json"))["images"]
            except KeyError:
                imgs = []
            out.append({**asdict(case), "doc_id": doc_id,
                        "status": doc.status if doc else None, "error": doc.error if doc else None,
                        "page_count": doc.page_count if doc else None,
                        "pages": [(p.width, p.height, p.kind) for p in pages],
                        "max_image_px": max((i["width_px"] * i["height_px"] for i in imgs), default=0),
                        "text": " ".join(p.text or "" for p in pages)[:500],
                        "runs": runs.get(doc_id, [])})
    report = {"documents": out, "run_requests": len(reqs), "second_tick_requests": len(second_tick),
              "seconds": round(time.perf_counter() - t0, 2),
              "max_rss_mb": own_peak_rss_bytes() >> 20}
    with open(report_path, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
