"""A Dagster run launcher whose runs start warm: each run is a child forked from a single-threaded process that has
already imported Dagster and the pipeline (a `multiprocessing` forkserver with preloads), instead of a new
interpreter per run.

Dagster's DefaultRunLauncher asks the code server to start a run, and the code server spawns a fresh interpreter
for it (`multiprocessing` spawn, hard-coded in dagster/_grpc/server.py): ~1.3 CPU s of imports and ~0.5 of
instance set-up before the first step, paid by every run of a burst while the others work (docs/PERFORMANCE.md
item 62). Here the forkserver pays the imports once per daemon; a run costs a fork and its own DagsterInstance.
The run itself executes exactly as `dagster api execute_run` does (`_execute_run_command_body`: run status,
engine events with the run's pid, the run's cancellation thread). The embedded instance uses it
(doc_pipeline/instance.py); the runs must be able to import their code location from the daemon's environment
(a Python module or file on this machine: the embedded workspace), so deployments keep their own launcher.

    run_launcher:
      module: doc_pipeline.run_launcher
      class: ForkingRunLauncher
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading

from dagster import Array, Field, StringSource
from dagster._core.launcher.base import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._serdes import ConfigurableClass, ConfigurableClassData

PID_TAG = "docpipe/run_pid"
# what a run imports before its first step; module names only (a forkserver preload)
DEFAULT_PRELOAD = ["dagster", "dagster._cli.api", "doc_pipeline.definitions", "doc_pipeline.dagster_storage",
                   "dagster._core.storage.runs.sqlite.sqlite_run_storage",
                   "dagster._core.storage.schedules.sqlite.sqlite_schedule_storage"]

_LOCK = threading.Lock()
_PRELOADED: list[tuple[str, ...]] = []


def _forkserver(preload: tuple[str, ...]):
    """multiprocessing's forkserver context: one forkserver per process, started at the first launch with the
    first launcher's preload (a process holds one Dagster instance, so one launcher)."""
    ctx = multiprocessing.get_context("forkserver")
    with _LOCK:
        if not _PRELOADED:
            ctx.set_forkserver_preload(list(preload))
            _PRELOADED.append(preload)
    return ctx


def execute_run(run_id: str, instance_ref, environ: dict[str, str]) -> None:
    """The child: the run, as `dagster api execute_run RUN_ID` started by the launching process would execute it
    (its environment, not the one the forkserver started with: settings read from it again)."""
    from dagster import DagsterInstance
    from dagster._cli.api import _execute_run_command_body

    from doc_pipeline import resources
    from doc_pipeline.db.session import get_database
    from doc_pipeline.settings import reload_settings

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as a new interpreter would have it
    os.environ.clear()
    os.environ.update(environ)
    reload_settings()
    get_database.cache_clear()
    resources._STORES.clear()
    with DagsterInstance.from_ref(instance_ref) as instance:
        _execute_run_command_body(run_id, instance, write_stream_fn=lambda event: None,
                                  set_exit_code_on_failure=False)


class ForkingRunLauncher(RunLauncher, ConfigurableClass):
    def __init__(self, inst_data: ConfigurableClassData | None = None, preload: list[str] | None = None):
        self._inst_data = inst_data
        self._preload = tuple(preload or DEFAULT_PRELOAD)
        self._processes: dict[str, multiprocessing.process.BaseProcess] = {}
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls):
        return {"preload": Field(Array(StringSource), is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value):
        return cls(inst_data=inst_data, **config_value)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        self._forget_finished()
        proc = _forkserver(self._preload).Process(target=execute_run, name=f"dagster-run-{run.run_id[:8]}",
                                                  args=(run.run_id, self._instance.get_ref(), dict(os.environ)))
        proc.start()
        self._processes[run.run_id] = proc
        self._instance.add_run_tags(run.run_id, {PID_TAG: str(proc.pid)})

    def _forget_finished(self) -> None:
        for run_id, proc in list(self._processes.items()):
            if not proc.is_alive():
                proc.join(0)
                del self._processes[run_id]

    def terminate(self, run_id: str) -> bool:
        """As the code server cancels a run it started: the run is marked CANCELING and its process gets SIGTERM
        (Dagster's interrupt handling inside the run then stops the step and records the cancellation)."""
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit():
            return False
        self._instance.report_run_canceling(run)
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        """For Dagster's run monitoring (a run whose process died - OOM killer - is marked failed and, with
        run_retries, launched again): is the process the launcher started for the run still there?"""
        from doc_pipeline.cli import proc_stat_fields

        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit():
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "no run process recorded")
        fields = proc_stat_fields(f"/proc/{pid}/stat")
        if not fields:
            return CheckRunHealthResult(WorkerStatus.NOT_FOUND, f"run process {pid} is gone", run_worker_id=pid)
        if fields[0] in ("Z", "X"):
            return CheckRunHealthResult(WorkerStatus.FAILED, f"run process {pid} exited", run_worker_id=pid)
        return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=pid)

    def join(self, timeout: int = 30) -> None:
        for proc in list(self._processes.values()):
            proc.join(timeout)

    def dispose(self) -> None:
        self._forget_finished()
