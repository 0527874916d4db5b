"""Dagster's SQLite event log for the embedded instance, with connections that stay open.

Dagster's `SqliteEventLogStorage` creates an engine with `NullPool` for every statement batch: each event a run
stores opens the run's database and the cross-run index, commits with a WAL fsync and closes them again. Closing
the last connection to a WAL database checkpoints the WAL into the main file and deletes it, so every event paid
two checkpoints. A run over 67 documents stores about 1,000 events (a materialisation per asset and document, step
and check events); in the burst benchmark these writes were a quarter of the run workers' busy time.

This subclass keeps one engine (and its pooled connection) per database file for the life of the process, and
runs the WAL databases with `synchronous=NORMAL`: a commit is durable against a crash of the process, and the
database cannot be corrupted by a power loss, which can only lose the last commits (SQLite's documented WAL
trade-off; the metadata DB runs the same way). Measured on 200 materialisations: 40 -> 2-3 ms wall and 9.7 -> 1.9
ms CPU per event (`doc_pipeline_tests/test_dagster_storage.py` checks the behaviour, docs/PERFORMANCE.md the
figures). Deployments use Postgres storage, where none of this applies.

Processes that read many runs (the webserver) would otherwise hold a connection per run ever viewed, so only the
`MAX_OPEN_SHARDS` most recently used run databases stay open.

Dagster sends some events as batches (a run's planned materialisations, written by the daemon as it creates the
run; a multi-partition step's materialisations) and, with `DAGSTER_EVENT_BATCH_SIZE` > 0, stores each batch with
`store_event_batch`: here one transaction per database instead of a commit per event (docs/PERFORMANCE.md item 58),
and a batch's asset events go in as multi-row statements with each asset's row written once, as Dagster's Postgres
storage does for materialisations (item 66). A new run's database is a copy of an empty one made once per runs
folder and Dagster version (item 66).

Both this storage and the Postgres one deployments use (`dagster_postgres_storage.py`) remember the documents'
partition keys (`PartitionKeysCache`): Dagster reads the whole list about 30 times per run, so without it a run's
cost grew with every document ever known (docs/PERFORMANCE.md item 63).
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import DagsterEventType
from dagster._core.storage.event_log.schema import (AssetKeyTable, DynamicPartitionsTable,
                                                     SqlEventLogStorageMetadata, SqlEventLogStorageTable)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster.version import __version__ as dagster_version
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from watchdog.observers import Observer

MAX_OPEN_SHARDS = 8  # run databases kept open per process (the index database always is)
# Dagster's own batch writing: events it sends as a batch (a run's planned materialisations, one step's
# materialisations of many partitions) reach store_event_batch, up to this many at once. Set for every process that
# uses this storage (the daemon creating runs, run workers, `doc-pipeline process`); a deployment's own value wins.
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "500")


def _wal_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


# Alembic's own version table, as `alembic stamp` creates it on SQLite
_ALEMBIC_VERSION_DDL = ("CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\t"
                        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)")
@functools.cache
def _event_log_head_revision() -> str:
    """The event log schema's Alembic head revision, found once a process."""
    from alembic.script import ScriptDirectory
    from dagster._core.storage.event_log.sqlite import sqlite_event_log
    from dagster._core.storage.sql import get_alembic_config

    return ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__)).as_revision_number("head")


# asset events whose storage is only their rows, their tags and their asset's row (store_event's ASSET_EVENTS
# branch): a batch of them is stored together (PooledSqliteEventLogStorage._store_asset_events)
_BATCHED_TYPES = frozenset({DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION,
                            DagsterEventType.ASSET_MATERIALIZATION_PLANNED})


def _batchable(entry) -> bool:
    dagster_event = entry.dagster_event
    return (dagster_event is not None and dagster_event.event_type in _BATCHED_TYPES and bool(entry.run_id)
            and dagster_event.asset_key is not None)


class _KeyList(list):
    """A definition's keys as remembered, whose `index` is a lookup: Dagster cuts a run's range out of the whole
    list with two `index` calls a read, each a scan of up to every key (370 ms a run with 100,000 documents
    known). Each read gets its own list (a caller may change it: then `index` scans as usual); the key ->
    position map is shared by the reads of one version and built at the first `index`."""

    __slots__ = ("_shared", "_length")

    def __init__(self, keys: tuple[str, ...], shared: list):
        super().__init__(keys)
        self._shared, self._length = shared, len(keys)  # shared: [the map, or None until the first index]

    def index(self, key, *bounds):  # noqa: D102 - list.index
        if bounds or len(self) != self._length:
            return super().index(key, *bounds)
        positions = self._shared[0]
        if positions is None:  # built whole, then published: another thread never sees half a map
            positions = {}
            for i in range(self._length - 1, -1, -1):  # the first of equal keys wins, as in list.index
                positions[self[i]] = i
            self._shared[0] = positions
        try:
            return positions[key]
        except KeyError:
            raise ValueError(f"{key!r} is not in list") from None


class PartitionKeysCache:
    """Remembers each dynamic partitions definition's keys while they have not changed (a mixin for Dagster's SQL
    event log storages).

    Dagster resolves a run's partition range by reading the definition's whole key list, from the run's creation
    (a planned event per asset) to every step (the run's keys, each input's and output's subset): 30 reads for a
    run of the 7 assets. With 10,000 documents known each read fetched 10,000 rows, and a run over two documents
    took 0.9-1.1 CPU s more than with none (docs/PERFORMANCE.md item 63). Here a read first asks for a fingerprint of
    the definition's rows - their count, the highest id and that row's key - and returns the remembered list
    while it is unchanged: an added partition raises the highest id (Postgres never reuses one), a deleted one
    lowers the count, and SQLite, which gives a deleted highest id to the next row, would also have to be given
    the same key back with every deletion balanced by an addition. Other processes' changes are seen at the next
    read, as without the cache; this process's own changes forget the list at once."""

    def _init_partition_keys_cache(self) -> None:
        # no lock: single dict operations are atomic under the GIL, and a lock held by another thread at a
        # fork (the run launcher forks from the daemon) would stay held in the child
        self._partition_keys: dict[str, tuple[tuple, tuple[str, ...], list]] = {}

    def _partition_keys_fingerprint(self, partitions_def_name: str) -> tuple:
        t = DynamicPartitionsTable.c
        of_def = t.partitions_def_name == partitions_def_name
        with self.index_connection() as conn:
            count, top = conn.execute(select(func.count(), func.max(t.id)).where(of_def)).one()
            top_key = conn.execute(select(t.partition).where(t.id == top)).scalar() if top is not None else None
        return count, top, top_key

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        self._check_partitions_table()
        # the fingerprint is read before the keys: a change between the two reads leaves a fingerprint older
        # than the list, so the next read fetches again (the other order could keep a stale list for ever)
        fingerprint = self._partition_keys_fingerprint(partitions_def_name)
        known = self._partition_keys.get(partitions_def_name)
        if known is None or known[0] != fingerprint:
            known = (fingerprint, tuple(super().get_dynamic_partitions(partitions_def_name)), [None])
            self._partition_keys[partitions_def_name] = known
        return _KeyList(known[1], known[2])

    def _forget_partition_keys(self, partitions_def_name: str) -> None:
        self._partition_keys.pop(partitions_def_name, None)

    def add_dynamic_partitions(self, partitions_def_name: str, partition_keys) -> None:
        self._forget_partition_keys(partitions_def_name)
        super().add_dynamic_partitions(partitions_def_name, partition_keys)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        self._forget_partition_keys(partitions_def_name)
        super().delete_dynamic_partition(partitions_def_name, partition_key)

    def wipe(self) -> None:
        self._partition_keys.clear()
        super().wipe()


class PooledSqliteEventLogStorage(PartitionKeysCache, SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose database connections outlive a single event (see the module doc).

    Configured in the embedded dagster.yaml::

        event_log_storage:
          module: doc_pipeline.dagster_storage
          class: PooledSqliteEventLogStorage
          config:
            base_dir: /path/to/dagster_home/history/runs/
    """

    def __init__(self, base_dir: str, inst_data=None):
        self._batch_local = threading.local()
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._tables_present: set[str] = set()
        self._asset_key_index_cols = False
        self._init_partition_keys_cache()
        super().__init__(base_dir, inst_data=inst_data)
        try:  # made with the instance, once per runs folder and Dagster version: not by each run or forked worker
            self._run_shard_template()
        except (OSError, DatabaseError, sqlite3.DatabaseError):
            pass  # each new run database then falls back to Dagster's own set-up

    def has_table(self, table_name: str) -> bool:
        # The parent opens a new engine on the index database for every question, and Dagster asks before each
        # dynamic-partition lookup (`_check_partitions_table`: resolving a run's partition range, checking a key).
        # Tables are only ever added (migrations), so a table found once stays found; `wipe` forgets them.
        if table_name in self._tables_present:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables_present.add(table_name)
        return present

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine_for(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():  # a forked child must not share its parent's sqlite connections
            self._engines, self._engines_pid = OrderedDict(), os.getpid()
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        new_run_shard = shard != INDEX_SHARD_NAME and not os.path.exists(self.path_for_shard(shard))
        engine = create_engine(self.conn_string_for_shard(shard), pool_size=1, max_overflow=4,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
        event.listen(engine, "connect", _wal_pragmas)
        if shard not in self._initialized_dbs:
            if not (new_run_shard and self._init_new_run_shard(shard)):
                self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        run_shards = [k for k in self._engines if k != INDEX_SHARD_NAME]
        while len(run_shards) > MAX_OPEN_SHARDS:
            self._engines.pop(run_shards.pop(0)).dispose()
        return engine

    def _init_new_run_shard(self, shard: str) -> bool:
        """A new run's database as Dagster's `_initdb` would make it - its tables, WAL, stamped with the schema's
        head revision - copied from an empty one made once for this Dagster version (`_run_shard_template`):
        creating the tables cost 13 ms of CPU a run, and every process that made one (each forked worker) asked
        Alembic for the head (it loads every migration script: 27 ms). The copy appears under its name in one
        step (a hard link), so a reader never opens half a file; False when the name is taken (another process -
        the reader of a run's live log - was creating the same database) or the copy cannot be made: Dagster's
        own set-up follows."""
        path = self.path_for_shard(shard)
        part = f"{path}.{os.getpid()}-{threading.get_ident()}.part"
        try:
            shutil.copyfile(self._run_shard_template(), part)
            try:
                os.link(part, path)  # never over a database that appeared meanwhile
            finally:
                os.unlink(part)
            return True
        except (OSError, DatabaseError, sqlite3.DatabaseError):  # FileExistsError included
            return False

    def _run_shard_template(self) -> str:
        """An empty run database for this Dagster version, made once per runs folder (a dot file: not a `*.db`
        that Dagster would list as a run); made aside and renamed into place, so it is whole or absent."""
        path = os.path.join(self._base_dir, f".run-database-dagster-{dagster_version}.sqlite")
        if os.path.exists(path):
            return path
        part = f"{path}.{os.getpid()}-{threading.get_ident()}.part"
        engine = create_engine(f"sqlite:///{part}", poolclass=NullPool)
        try:
            try:
                SqlEventLogStorageMetadata.create_all(engine, checkfirst=False)
                with engine.connect() as conn:
                    conn.execute(text("PRAGMA journal_mode=WAL"))  # kept in the file's header: copies open in WAL
                    conn.execute(text(_ALEMBIC_VERSION_DDL))
                    conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:rev)"),
                                 {"rev": _event_log_head_revision()})
                    conn.commit()
            finally:
                engine.dispose()  # the last connection closed: the WAL is checkpointed into the file and removed
            os.replace(part, path)
        except BaseException:
            for leftover in (part, f"{part}-wal", f"{part}-shm"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
            raise
        return path

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        batch = getattr(self._batch_local, "conns", None)
        if batch is not None:  # inside store_event_batch, in this thread, which holds the lock
            conn = batch.get(shard)
            if conn is None:
                conn = batch[shard] = self._engine_for(shard).connect()
                conn.begin()
            yield conn
            return
        # the same contract as the parent: one connection at a time per storage, in one transaction
        with self._db_lock:
            engine = self._engine_for(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def store_event_batch(self, events) -> None:
        """Dagster's batch writing (DAGSTER_EVENT_BATCH_SIZE > 0, set with this storage: module doc): a run's
        planned materialisations and a multi-partition step's materialisations come as batches. Each shard's
        rows of a batch go in one transaction instead of one commit per event; on any error nothing of the batch
        is kept and Dagster stores the events one by one."""
        with self._db_lock:
            conns: dict[str, Connection] = {}
            self._batch_local.conns = conns
            try:
                # consecutive asset events of one run are stored together, any other event on its own, in order
                # (not `event` for an entry: that name is sqlalchemy's, used for the connect pragmas)
                for run_id, stretch in itertools.groupby(events, key=lambda e: e.run_id if _batchable(e) else None):
                    if run_id is None:
                        for entry in stretch:
                            self.store_event(entry)
                    else:
                        self._store_asset_events(list(stretch))
                # the run shards before the cross-run index: a reader of the index finds its run's rows
                for shard in sorted(conns, key=lambda k: k == INDEX_SHARD_NAME):
                    conns[shard].commit()
            except BaseException:
                for conn in conns.values():
                    conn.rollback()
                raise
            finally:
                self._batch_local.conns = None
                for conn in conns.values():
                    conn.close()

    def watch(self, run_id: str, cursor: str | None, callback) -> None:
        # the parent's watchdog reacts to writes of `<run_id>.db` only; with connections left open, commits go to
        # the WAL file and reach the main file at checkpoints, so the UI's live run log also watches the WAL
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _WalAwareWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def _store_asset_event(self, conn: Connection, event, event_id: int) -> None:
        """Dagster's upsert of the asset's row (its latest materialisation or planned run), the UPDATE first.
        Dagster INSERTs and, as the row exists for every event after an asset's first, catches the IntegrityError
        and UPDATEs: the failed INSERT and SQLAlchemy's wrapping of the error cost twice the update (0.17-0.29 ->
        0.08 ms; two such events per document and step). The same row results; a row another process inserts
        between the two statements is updated as Dagster would."""
        if not (event.dagster_event and event.dagster_event.asset_key):
            return
        values = self._get_asset_entry_values(event, event_id, self._has_asset_key_index_cols_on_connection(conn))
        if not values:
            return
        self._upsert_asset_row(conn, event.dagster_event.asset_key.to_string(), values)

    @staticmethod
    def _upsert_asset_row(conn: Connection, key: str, values: dict) -> None:
        update = AssetKeyTable.update().values(**values).where(AssetKeyTable.c.asset_key == key)
        if conn.execute(update).rowcount:
            return
        try:
            conn.execute(AssetKeyTable.insert().values(asset_key=key, **values))
        except IntegrityError:
            conn.execute(update)

    def _store_asset_events(self, events: list) -> None:
        """What `store_event` does for each of these asset events of one run, in a few statements: the rows go
        into the run's database and the cross-run index as multi-row INSERTs (the index's ids come back in the
        events' order), the indexed tags in one INSERT, and each asset's row is written once with what its events
        set in order (each event's values overwrite the previous one's: the row ends as after them one by one).
        Dagster's Postgres storage batches materialisations the same way; per event, building and running four
        statements cost more than serialising it."""
        rows = [self._event_to_row(e) for e in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        with self.index_transaction() as conn:
            ids = list(conn.scalars(SqlEventLogStorageTable.insert().returning(
                SqlEventLogStorageTable.c.id, sort_by_parameter_order=True), rows))
            if len(ids) != len(events) or any(i is None for i in ids):
                raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
            self._store_asset_event_tags(conn, events, ids)
            index_cols = self._has_asset_key_index_cols_on_connection(conn)
            by_asset: dict[str, dict] = {}
            for e, event_id in zip(events, ids):
                values = self._get_asset_entry_values(e, event_id, index_cols)
                if values:
                    by_asset.setdefault(e.dagster_event.asset_key.to_string(), {}).update(values)
            for key, values in by_asset.items():
                self._upsert_asset_row(conn, key, values)

    def _has_asset_key_index_cols_on_connection(self, conn) -> bool:
        # Dagster reflects the asset_keys table's columns (PRAGMA table_info + SQLAlchemy's inspector) for every
        # asset event it stores; like tables, columns are only ever added (migrations): found once stays found
        if not self._asset_key_index_cols:
            self._asset_key_index_cols = super()._has_asset_key_index_cols_on_connection(conn)
        return self._asset_key_index_cols

    def wipe(self) -> None:
        self._dispose_engines()
        self._tables_present.clear()
        self._asset_key_index_cols = False
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()

    def _dispose_engines(self) -> None:
        with self._db_lock:
            engines, self._engines = list(self._engines.values()), OrderedDict()
        for engine in engines:
            engine.dispose()


class _WalAwareWatchdog(SqliteEventLogStorageWatchdog):
    def __init__(self, event_log_storage, run_id, callback, cursor):
        super().__init__(event_log_storage, run_id, callback, cursor)
        self._patterns = [self._log_path, f"{self._log_path}-wal"]  # PatternMatchingEventHandler's own list

    def on_modified(self, event) -> None:
        if event.src_path in self._patterns:
            self._process_log()
