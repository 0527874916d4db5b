"""Drive the real Dagster definitions in-process: evaluate the sensors and execute the runs they request."""

from __future__ import annotations

from dagster import DagsterInstance, build_sensor_context

from doc_pipeline.definitions import defs
from doc_pipeline.instance import ensure_dagster_home, termination_signal_kept
from doc_pipeline.resources import DocPipelineResource


class Harness:
    def __init__(self):
        ensure_dagster_home()
        self.instance = DagsterInstance.get()
        self.cursors: dict[str, str | None] = {}
        self.job = defs.resolve_job_def("process_document")

    def tick(self, sensor_name: str = "raw_files_sensor"):
        """One sensor evaluation, as the daemon would do it; returns the run requests."""
        from dagster import RunRequest, SensorResult, SkipReason

        sensor = defs.resolve_sensor_def(sensor_name)
        ctx = build_sensor_context(instance=self.instance, cursor=self.cursors.get(sensor_name),
                                   resources={"docpipe": DocPipelineResource()}, definitions=defs)
        out = sensor(ctx)
        if isinstance(out, SensorResult):
            if out.cursor is not None:
                self.cursors[sensor_name] = out.cursor
            for req in out.dynamic_partitions_requests or []:
                self.instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
            return list(out.run_requests or [])
        if isinstance(out, SkipReason) or out is None:
            return []
        if isinstance(out, RunRequest):
            return [out]
        return [r for r in out if isinstance(r, RunRequest)]

    def keys_of(self, run_requests) -> list[str]:
        """The document partitions the run requests cover (a burst's runs cover ranges of partitions)."""
        from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

        order = self.instance.get_dynamic_partitions("documents")
        keys = []
        for rr in run_requests:
            if rr.partition_key is not None:
                keys.append(rr.partition_key)
            else:
                a, b = order.index(rr.tags[ASSET_PARTITION_RANGE_START_TAG]), order.index(rr.tags[ASSET_PARTITION_RANGE_END_TAG])
                keys.extend(order[a:b + 1])
        return keys

    def execute(self, run_requests) -> list:
        results = []
        for rr in run_requests:
            selection = rr.asset_selection
            with termination_signal_kept():
                res = self.job.execute_in_process(partition_key=rr.partition_key, instance=self.instance,
                                                  tags=rr.tags, raise_on_error=False,
                                                  asset_selection=selection if selection else None)
            results.append(res)
        return results

    def run_sensor_and_runs(self, sensor_name: str = "raw_files_sensor"):
        reqs = self.tick(sensor_name)
        return reqs, self.execute(reqs)
