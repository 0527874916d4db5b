"""doc_pipeline/run_launcher.py: runs launched as children of a warm forkserver (the embedded instance's launcher;
the daemon path through it is test_serve.py)."""

from __future__ import annotations

import time
from pathlib import Path

from dagster import DagsterRunStatus
from dagster._core.launcher.base import WorkerStatus

from doc_pipeline.core.doc_ids import doc_id_for_key
from doc_pipeline.resources import DocPipelineResource

REPO = Path(__file__).resolve().parents[1]


def _launch(h, doc_id: str):
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    recon = ReconstructableRepository.for_module("doc_pipeline.definitions", "defs", working_directory=str(REPO))
    origin = recon.get_reconstructable_job("process_document").get_python_origin()
    run = h.instance.create_run_for_job(job_def=h.job, job_code_origin=origin,
                                        tags={"dagster/partition": doc_id, "docpipe/doc_id": doc_id})
    h.instance.launch_run(run.run_id, workspace=None)
    return run.run_id


def _wait_status(instance, run_id: str, done, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if done(run):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {instance.get_run_by_id(run_id).status}")


def test_a_run_is_forked_warm_executes_and_can_be_terminated(docpipe_home):
    from doc_pipeline.db import repo
    from doc_pipeline.run_launcher import PID_TAG, ForkingRunLauncher
    from doc_pipeline.samples import native_invoice_pdf, scanned_paystub_pdf
    from doc_pipeline_tests.bench.inputs import repeat_pages
    from doc_pipeline_tests.pipeline_harness import Harness

    dp = DocPipelineResource()
    store = dp.store()
    store.put_bytes("raw/invoice.pdf", native_invoice_pdf())
    store.put_bytes("raw/long scan.pdf", repeat_pages(scanned_paystub_pdf(), 12))
    h = Harness()
    assert isinstance(h.instance.run_launcher, ForkingRunLauncher)
    h.tick()
    invoice, scan = doc_id_for_key("raw/invoice.pdf"), doc_id_for_key("raw/long scan.pdf")

    # a run to its end: the document is done, in a process the launcher started (not this one)
    run_id = _launch(h, invoice)
    run = _wait_status(h.instance, run_id, lambda r: r.is_finished, 180)
    assert run.status == DagsterRunStatus.SUCCESS
    assert repo.get_document(dp.db(), invoice).status == "done"
    pid = int(run.tags[PID_TAG])
    assert pid != __import__("os").getpid()
    # for run monitoring: the process is gone once it has finished (it reports the run's end, then tears down,
    # which takes a moment on a loaded machine)
    deadline = time.monotonic() + 60
    while (health := h.instance.run_launcher.check_run_worker_health(run)).status == WorkerStatus.RUNNING:
        assert time.monotonic() < deadline, health
        time.sleep(0.1)
    assert health.status in (WorkerStatus.NOT_FOUND, WorkerStatus.FAILED), health

    # terminate (the UI's "Terminate run"): the run ends canceled while a step works
    run_id = _launch(h, scan)
    started = _wait_status(h.instance, run_id, lambda r: r.status == DagsterRunStatus.STARTED, 120)
    time.sleep(1.0)
    assert h.instance.run_launcher.check_run_worker_health(started).status == WorkerStatus.RUNNING
    assert h.instance.run_launcher.terminate(run_id)
    run = _wait_status(h.instance, run_id, lambda r: r.is_finished, 60)
    assert run.status == DagsterRunStatus.CANCELED, run.status
    assert not h.instance.run_launcher.terminate(run_id)  # finished: nothing to terminate

    # the step it stopped in leaves the document `processing` with the step `running`, until the daemon's
    # canceled_runs_sensor marks it failed as stopped (retryable)
    from dagster import DagsterEventType, build_run_status_sensor_context

    from doc_pipeline.sensors import canceled_runs_sensor

    assert repo.get_document(dp.db(), scan).status == "processing"
    canceled = next(e.dagster_event for e in h.instance.all_logs(run_id)
                    if e.dagster_event and e.dagster_event.event_type == DagsterEventType.RUN_CANCELED)
    canceled_runs_sensor(build_run_status_sensor_context("canceled_runs_sensor", canceled, h.instance, run,
                                                         resources={"docpipe": dp}))
    doc = repo.get_document(dp.db(), scan)
    assert doc.status == "failed" and doc.error.startswith("stopped: ") and run_id in doc.error, doc.error
    with dp.db().session() as s:
        from sqlalchemy import func, select

        from doc_pipeline.db import StepCheckpoint

        assert not s.scalar(select(func.count()).select_from(StepCheckpoint).where(
            StepCheckpoint.doc_id == scan, StepCheckpoint.status == "running"))
    assert repo.get_document(dp.db(), invoice).status == "done"  # another run's document: untouched
