"""Execute the document job for one partition in this process, as a run worker does; the fault tests start it as
a subprocess so that they can SIGKILL a run mid-way.

    python -m doc_pipeline_tests.hostile.run_partition DOC_ID     # exit 0 when the run succeeded
"""

from __future__ import annotations

import sys


def main(partition: str) -> int:
    from dagster import DagsterInstance

    from doc_pipeline.definitions import defs
    from doc_pipeline.instance import ensure_dagster_home

    ensure_dagster_home()
    job = defs.resolve_job_def("process_document")
    res = job.execute_in_process(partition_key=partition, instance=DagsterInstance.get(), raise_on_error=False,
                                 tags={"docpipe/doc_id": partition, "docpipe/trigger": "fault-test"})
    return 0 if res.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
