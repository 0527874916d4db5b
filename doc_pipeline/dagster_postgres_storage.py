"""Dagster's Postgres event log for deployments, with the documents' partition keys remembered.

Named in the production dagster.yaml (and the one `postgres_dagster_yaml` writes) as `event_log_storage`; its
config is that of `storage: postgres`. Why: `dagster_storage.PartitionKeysCache`.
"""

from __future__ import annotations

from dagster_postgres import PostgresEventLogStorage
from dagster_postgres.utils import pg_url_from_config

from doc_pipeline.dagster_storage import PartitionKeysCache


class CachedPostgresEventLogStorage(PartitionKeysCache, PostgresEventLogStorage):
    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, inst_data=None):
        self._init_partition_keys_cache()
        super().__init__(postgres_url, should_autocreate_tables=should_autocreate_tables, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> CachedPostgresEventLogStorage:
        # the parent builds a PostgresEventLogStorage by name
        return cls(postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True), inst_data=inst_data)
