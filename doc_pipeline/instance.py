"""The Dagster instance of the embedded default: DAGSTER_HOME under DOCPIPE_HOME, SQLite storage.

A deployment points DAGSTER_HOME at a folder holding the production dagster.yaml (Postgres storage, queued run
coordinator) instead; then nothing here is written.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from doc_pipeline.settings import Settings, get_settings

EMBEDDED_HEADER = "# written by doc-pipeline for the embedded default (SQLite storage under this folder)"
EMBEDDED_DAGSTER_YAML = EMBEDDED_HEADER + """
# rewritten when doc-pipeline's defaults change; delete the first line to keep your own edits
telemetry:
  enabled: false
# Dagster's default SQLite layout, with an event log whose connections stay open (doc_pipeline/dagster_storage.py)
run_storage:
  module: dagster._core.storage.runs
  class: SqliteRunStorage
  config:
    base_dir: "{home}/history/"
event_log_storage:
  module: doc_pipeline.dagster_storage
  class: PooledSqliteEventLogStorage
  config:
    base_dir: "{home}/history/runs/"
schedule_storage:
  module: dagster._core.storage.schedules
  class: SqliteScheduleStorage
  config:
    base_dir: "{home}/schedules"
# runs forked from a warm process that has imported the pipeline, not a new interpreter each
# (doc_pipeline/run_launcher.py)
run_launcher:
  module: doc_pipeline.run_launcher
  class: ForkingRunLauncher
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    # a burst's runs (DOCPIPE_RUN_SLOTS, one per core) plus one, so a retry or a single upload is not queued
    max_concurrent_runs: {max_runs}
    # the default 5 s between dequeues left cores idle between runs of a burst (docs/PERFORMANCE.md)
    dequeue_interval_seconds: 1
    # launch a burst's runs side by side: one at a time, each launch (a spawned process) held up the next ~2 s
    dequeue_use_threads: true
    dequeue_num_workers: 4
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false  # bad documents fail for good; crashed runs are retried
"""


def postgres_dagster_yaml(url: str) -> str:
    """A Postgres instance like the production dagster.yaml's (its event log remembers partition keys)."""
    return f"""\
telemetry:
  enabled: false
run_storage:
  module: dagster_postgres.run_storage
  class: PostgresRunStorage
  config:
    postgres_url: "{url}"
event_log_storage:
  module: doc_pipeline.dagster_postgres_storage
  class: CachedPostgresEventLogStorage
  config:
    postgres_url: "{url}"
schedule_storage:
  module: dagster_postgres.schedule_storage
  class: PostgresScheduleStorage
  config:
    postgres_url: "{url}"
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
"""


def ensure_dagster_home(settings: Settings | None = None) -> Path:
    """Point DAGSTER_HOME at the embedded instance unless the environment already chose one."""
    s = settings or get_settings()
    if os.environ.get("DAGSTER_HOME"):
        home = Path(os.environ["DAGSTER_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        return home
    home = s.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    wanted = EMBEDDED_DAGSTER_YAML.format(max_runs=s.run_slots_resolved + 1, home=home.resolve())
    # our own file follows the current defaults; a file someone wrote (no header line) is left alone
    current = cfg.read_text(encoding="utf-8") if cfg.exists() else None
    if current is None or (current.startswith(EMBEDDED_HEADER) and current != wanted):
        cfg.write_text(wanted, encoding="utf-8")  # the home path may hold any character
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextmanager
def termination_signal_kept() -> Iterator[None]:
    """Around an in-process Dagster run: SIGTERM is put back as it was before the run.

    Dagster's in-process execution maps SIGTERM to SIGINT's handler while a run executes and, when it ends, to
    SIGINT's handler as it was before the run (dagster._utils.interrupts). A process that a non-interactive shell
    started in the background (`doc-pipeline process ... &`, `nohup ... &`, some CI runners) inherits SIGINT
    *ignored*, so after its first run it ignored SIGTERM too: `kill` no longer stopped it, and every child started
    afterwards inherited the ignored SIGTERM - Dagster's own `tail` of a run's compute logs included, which a run
    in another thread then could not terminate (30 s lost per step). Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if before is not None and signal.getsignal(signal.SIGTERM) is not before:
            signal.signal(signal.SIGTERM, before)
