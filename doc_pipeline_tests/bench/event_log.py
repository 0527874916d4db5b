"""Milliseconds an event in the embedded Dagster event log, stored one by one and in batches (docs/PERFORMANCE.md
item 58), alternating so that a slow stretch of the host shows in both columns.

    python -m doc_pipeline_tests.bench.event_log [--events 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def materializations(n: int, run_id: str, asset_key: str | None = None) -> list:
    """`n` materialisation events of a run, of partitions `<run_id>-<i>` (of 7 assets, or of `asset_key`)."""
    from dagster import AssetMaterialization
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.events.log import EventLogEntry

    return [EventLogEntry(error_info=None, level=10, user_message="", run_id=run_id, timestamp=time.time(), job_name="j",
                          dagster_event=DagsterEvent(
                              event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value, job_name="j",
                              event_specific_data=StepMaterializationData(AssetMaterialization(
                                  asset_key=asset_key or f"asset_{i % 7}", partition=f"{run_id}-{i}",
                                  metadata={"i": i}))))
            for i in range(n)]


def measure(events: int, rounds: int, batch: int = 100) -> dict[str, list[float]]:
    """{"single": [...], "batch": [...]} ms an event per round, in a fresh embedded instance."""
    os.environ["DOCPIPE_HOME"] = tempfile.mkdtemp(prefix="docpipe-eventlog-")
    os.environ.pop("DAGSTER_HOME", None)
    from dagster import DagsterInstance

    from doc_pipeline.instance import ensure_dagster_home
    from doc_pipeline.settings import reload_settings

    ensure_dagster_home(reload_settings())
    storage = DagsterInstance.get().event_log_storage
    storage.store_event_batch(materializations(20, "warm-batch"))  # databases created, engines open
    for e in materializations(20, "warm-single"):
        storage.store_event(e)
    out: dict[str, list[float]] = {"single": [], "batch": []}
    for r in range(rounds):
        for mode in ("single", "batch"):
            evs = materializations(events, f"{mode}-{r}")
            t0 = time.perf_counter()
            if mode == "batch":
                for k in range(0, events, batch):
                    storage.store_event_batch(evs[k:k + batch])
            else:
                for e in evs:
                    storage.store_event(e)
            out[mode].append(round((time.perf_counter() - t0) / events * 1000, 3))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    res = measure(args.events, args.rounds)
    for mode, ms in res.items():
        print(f"{mode:6s} ms/event {' '.join(f'{v:.3f}' for v in ms)}  (median {sorted(ms)[len(ms) // 2]:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
