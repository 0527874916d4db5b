"""Optional look-up of Dagster runs for a document partition. Importing dagster and opening an instance is
slow (seconds), so the instance is opened once per DAGSTER_HOME and only when someone asks for runs."""

from __future__ import annotations

import threading
from pathlib import Path

_lock = threading.Lock()
_instances: dict[str, object] = {}


def _instance(home: Path):
    key = str(home)
    with _lock:
        inst = _instances.get(key)
        if inst is None:
            if not home.is_dir():
                raise FileNotFoundError(f"DAGSTER_HOME {home} does not exist yet (no pipeline has run)")
            from dagster import DagsterInstance

            inst = _instances[key] = DagsterInstance.from_config(key)
        return inst


def runs_for_partition(home: Path, doc_id: str, limit: int = 10) -> list[dict]:
    from dagster import RunsFilter

    records = _instance(home).get_run_records(RunsFilter(tags={"dagster/partition": doc_id}), limit=limit)
    out = []
    for r in records:
        run = r.dagster_run
        out.append({"run_id": run.run_id, "status": run.status.value, "created_at": r.create_timestamp,
                    "tags": {k: str(v) for k, v in run.tags.items() if k.startswith(("docpipe/", "dagster/"))}})
    return out


def check_storage(home: Path) -> str:
    """Raise when Dagster's run storage cannot be read; a short description otherwise."""
    inst = _instance(home)
    inst.get_runs_count()
    return f"run storage reachable ({type(inst.run_storage).__name__})"
