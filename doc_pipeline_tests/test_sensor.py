"""The raw/ sensor: one run per new file, none on a quiet tick, again for a rewritten file, rejected with a
reason for an unsupported one; API uploads keep their doc_id."""

import os
import time

from doc_pipeline.core.doc_ids import doc_id_for_key
from doc_pipeline.db import get_database, repo
from doc_pipeline.settings import get_settings
from doc_pipeline.sensors import downstream_steps, plan_raw_files
from doc_pipeline.storage.base import ObjectInfo
from doc_pipeline_tests import make_docs
from doc_pipeline_tests.pipeline_harness import Harness


def test_plan_raw_files_cursor_logic():
    objs = [ObjectInfo("raw/a.pdf", 10, 1000.0, "e1"), ObjectInfo("raw/b.pdf", 10, 2000.0, "e2"),
            ObjectInfo("raw/old.pdf", 10, 10.0, "e0")]
    todo, ts = plan_raw_files(objs, 0.0, {})
    assert [o.key for o in todo] == ["raw/a.pdf", "raw/b.pdf", "raw/old.pdf"] and ts == 2000.0
    todo, _ = plan_raw_files(objs, 2000.0, {"raw/a.pdf": ("a", "e1"), "raw/b.pdf": ("b", "e2")})
    assert todo == []  # old.pdf is far behind the cursor: not even looked up
    todo, _ = plan_raw_files([ObjectInfo("raw/b.pdf", 11, 2001.0, "e3")], 2000.0, {"raw/b.pdf": ("b", "e2")})
    assert [o.etag for o in todo] == ["e3"]  # rewritten under the same key


def test_doc_ids_are_stable_and_safe():
    a = doc_id_for_key("raw/My Scan (1).pdf")
    assert a == doc_id_for_key("raw/My Scan (1).pdf") != doc_id_for_key("raw/My Scan (1).png")
    assert a.startswith("my-scan-1-") and all(c.isalnum() or c == "-" for c in a)


def test_downstream_steps_match_the_asset_graph():
    from dagster import AssetKey, AssetSelection

    from doc_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    for step in ("raw_pdf", "layout_blocks", "ocr_text", "tables", "fields"):
        want = {k.to_user_string() for k in AssetSelection.assets(step).downstream().resolve(graph)}
        assert set(downstream_steps(step)) == want, step


def test_sensor_ticks(docpipe_home, monkeypatch):
    monkeypatch.setenv("DOCPIPE_RUN_BATCH_SIZE", "1")
    from doc_pipeline.settings import reload_settings

    reload_settings()
    h = Harness()
    raw = get_settings().storage_root / "raw"
    raw.mkdir(parents=True)
    (raw / "letter.pdf").write_bytes(make_docs.text_pdf(["Hello"]))
    (raw / "notes.txt").write_bytes(b"just some text")
    reqs = h.tick()
    assert [r.partition_key for r in reqs] == [doc_id_for_key("raw/letter.pdf")]
    assert doc_id_for_key("raw/letter.pdf") in h.instance.get_dynamic_partitions("documents")
    db = get_database(get_settings().db_url)
    rejected = repo.get_document(db, doc_id_for_key("raw/notes.txt"))
    assert rejected.status == "rejected" and "unsupported file type" in rejected.error

    assert h.tick() == []  # nothing new

    time.sleep(0.05)
    (raw / "letter.pdf").write_bytes(make_docs.text_pdf(["Hello again"]))
    os.utime(raw / "letter.pdf", (time.time() + 1, time.time() + 1))
    again = h.tick()
    assert [r.partition_key for r in again] == [doc_id_for_key("raw/letter.pdf")]
    assert again[0].run_key != reqs[0].run_key

    # an API upload: the row exists before the file, so the sensor keeps its doc_id
    repo.register_document(db, "0123456789abcdef0123456789abcdef", "raw/0123456789abcdef0123456789abcdef.pdf",
                           None, source="api", source_name="upload.pdf")
    (raw / "0123456789abcdef0123456789abcdef.pdf").write_bytes(make_docs.text_pdf(["Uploaded"]))
    up = h.tick()
    assert [r.partition_key for r in up] == ["0123456789abcdef0123456789abcdef"]


def test_burst_runs_cover_ranges_of_partitions(docpipe_home, monkeypatch):
    """A burst of new files becomes runs over ranges of partitions (DOCPIPE_RUN_BATCH_SIZE); each document still
    gets its own materialisations; a bad file in a batch fails alone and is re-run alone so Dagster shows it."""
    from dagster import AssetKey
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_START_TAG

    from doc_pipeline.settings import reload_settings

    monkeypatch.setenv("DOCPIPE_RUN_BATCH_SIZE", "3")
    monkeypatch.setenv("DOCPIPE_RUN_SLOTS", "1")  # batches by size alone (spreading: test_a_burst_is_spread...)
    reload_settings()
    h = Harness()
    raw = get_settings().storage_root / "raw"
    raw.mkdir(parents=True)
    for i in range(4):
        (raw / f"doc{i}.pdf").write_bytes(make_docs.text_pdf([f"Document number {i}"]))
    (raw / "doc2.pdf").write_bytes(b"%PDF-1.4 broken beyond repair")
    reqs = h.tick()
    assert len(reqs) == 2  # 3 + 1
    batch = next(r for r in reqs if r.partition_key is None)
    assert ASSET_PARTITION_RANGE_START_TAG in batch.tags and batch.tags["docpipe/batch_size"] == "3"
    results = h.execute(reqs)
    assert all(r.success for r in results)
    db = get_database(get_settings().db_url)
    statuses = {d: repo.get_document(db, doc_id_for_key(f"raw/{d}.pdf")).status for d in ("doc0", "doc1", "doc2", "doc3")}
    assert statuses == {"doc0": "done", "doc1": "done", "doc2": "failed", "doc3": "done"}
    parts = h.instance.get_materialized_partitions(AssetKey("index_docs"))
    assert {doc_id_for_key(f"raw/doc{i}.pdf") for i in (0, 1, 3)} <= parts
    # the failed one is re-run on its own: its run fails, so its partition shows the failure in Dagster
    iso = h.tick("reprocess_sensor")
    assert [r.partition_key for r in iso] == [doc_id_for_key("raw/doc2.pdf")]
    (res,) = h.execute(iso)
    assert not res.success


def test_runs_that_may_pay_for_cloud_ocr_are_single_and_tagged():
    from doc_pipeline.escalation.dagster_tags import PAID_OCR_TAG
    from doc_pipeline.sensors import plan_runs

    taken = [(f"d{i}", f"e{i}") for i in range(5)]
    reqs = plan_runs(taken, [d for d, _ in taken], batch_size=8, paid={"d3"})
    assert len(reqs) == 5 and all(r.partition_key for r in reqs)  # the batch holding d3 stays single runs
    assert [r.partition_key for r in reqs if r.tags.get(PAID_OCR_TAG) == "true"] == ["d3"]
    reqs = plan_runs(taken, [d for d, _ in taken], batch_size=8)
    assert len(reqs) == 1 and reqs[0].partition_key is None and not any(PAID_OCR_TAG in r.tags for r in reqs)


def test_batches_are_bounded_by_count_and_bytes():
    from doc_pipeline.sensors import _batches

    ids = [f"d{i}" for i in range(7)]
    assert [len(b) for b in _batches(ids, 3, {}, 0)] == [3, 3, 1]
    sizes = {d: 10 for d in ids} | {"d2": 100}
    assert _batches(ids, 25, sizes, 50) == [["d0", "d1"], ["d2"], ["d3", "d4", "d5", "d6"]]


def test_a_burst_is_spread_evenly_over_the_run_slots():
    """200 new files and 3 run slots: 3 runs of 67/67/66 (not 8 of 25, each a new process loading models; nor
    2 of 100, leaving a slot idle); the batch size still caps a run; a burst smaller than the slots: one each."""
    from doc_pipeline.sensors import _batches

    ids = [f"d{i:03d}" for i in range(200)]
    got = _batches(ids, 100, {}, 0, spread=3)
    assert [len(b) for b in got] == [67, 67, 66] and sum(got, []) == ids
    assert [len(b) for b in _batches(ids, 25, {}, 0, spread=3)] == [25] * 8
    assert [len(b) for b in _batches(ids[:2], 100, {}, 0, spread=3)] == [1, 1]
    assert [len(b) for b in _batches(ids[:10], 100, {}, 0, spread=3)] == [4, 3, 3]
    assert [len(b) for b in _batches(ids[:10], 100, {d: 10 for d in ids}, 25, spread=3)] == [2, 2, 2, 2, 2]


def test_runs_of_a_spread_burst_share_the_cores(monkeypatch):
    """Runs of one burst that run side by side each get cores // runs documents at a time (tag read by the steps);
    a burst in one run, or single-document runs, keep DOCPIPE_DOC_WORKERS."""
    import os

    from doc_pipeline.assets._step import DOC_WORKERS_TAG, doc_workers_for
    from doc_pipeline.sensors import plan_runs

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    taken = [(f"d{i:03d}", f"e{i}") for i in range(200)]
    reqs = plan_runs(taken, [d for d, _ in taken], batch_size=100, spread=2)
    assert [r.tags[DOC_WORKERS_TAG] for r in reqs] == ["2", "2"]
    reqs = plan_runs(taken, [d for d, _ in taken], batch_size=25, spread=5)  # 8 runs, 5 at a time
    assert len(reqs) == 8 and {r.tags[DOC_WORKERS_TAG] for r in reqs} == {"1"}
    reqs = plan_runs(taken, [d for d, _ in taken], batch_size=200, spread=1)
    assert len(reqs) == 1 and DOC_WORKERS_TAG not in reqs[0].tags
    # each run its own pod (Kubernetes): no sharing, the runs keep DOCPIPE_DOC_WORKERS
    reqs = plan_runs(taken, [d for d, _ in taken], batch_size=100, spread=2, share_cores=False)
    assert len(reqs) == 2 and not any(DOC_WORKERS_TAG in r.tags for r in reqs)
    assert doc_workers_for({DOC_WORKERS_TAG: "1"}, 2) == 1 and doc_workers_for({}, 2) == 2
    assert doc_workers_for({DOC_WORKERS_TAG: "x"}, 2) == 2


def test_sensors_are_evaluated_on_every_daemon_loop():
    """Dagster's sensor daemon wakes every MIN_INTERVAL_LOOP_TIME (5 s) and skips a sensor whose last tick started
    less than its minimum interval ago. At the next wake-up the last tick started a little under 5 s ago (the loop
    marks it after waking), so an interval of 5 evaluated the sensors every other loop (dropped files and retries
    waited up to 10 s). Dagster's own check, on a tick that started 4.8 s ago, must find both sensors due."""
    from types import SimpleNamespace

    from dagster._core.scheduler.instigation import SensorInstigatorData
    from dagster._daemon.sensor import MIN_INTERVAL_LOOP_TIME, is_under_min_interval

    from doc_pipeline.sensors import raw_files_sensor, reprocess_sensor

    def state(started: float):  # the part of an InstigatorState that is_under_min_interval reads
        return SimpleNamespace(instigator_data=SensorInstigatorData(last_tick_timestamp=started,
                                                                    last_tick_start_timestamp=started))

    def remote(sensor_def):  # the part of a RemoteSensor that it reads
        return SimpleNamespace(min_interval_seconds=sensor_def.minimum_interval_seconds)

    for sensor_def in (raw_files_sensor, reprocess_sensor):
        assert not is_under_min_interval(state(time.time() - (MIN_INTERVAL_LOOP_TIME - 0.2)), remote(sensor_def))
        # and the check is live: a tick that started a moment ago is still inside the interval
        assert is_under_min_interval(state(time.time()), remote(sensor_def))
