"""The embedded instance's event log keeps its SQLite connections open (doc_pipeline/dagster_storage.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from dagster import AssetKey, AssetMaterialization, DagsterInstance


@pytest.fixture
def instance(docpipe_home):
    from doc_pipeline.instance import ensure_dagster_home

    ensure_dagster_home()
    inst = DagsterInstance.get()
    yield inst
    inst.dispose()


def test_embedded_instance_uses_the_pooled_event_log_in_dagsters_default_layout(instance):
    from doc_pipeline.dagster_storage import PooledSqliteEventLogStorage

    assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
    home = Path(instance.root_directory)
    instance.report_runless_asset_event(AssetMaterialization(asset_key="a", partition="p"))
    # the same files Dagster's default `storage: sqlite` writes, so existing homes keep their history
    assert (home / "history" / "runs" / "index.db").exists()
    assert (home / "history" / "runs.db").exists()


def test_events_are_stored_and_read_back_per_partition(instance):
    for i in range(30):
        instance.report_runless_asset_event(AssetMaterialization(asset_key="doc", partition=f"d{i}", metadata={"i": i}))
    instance.report_runless_asset_event(AssetMaterialization(asset_key="doc", partition="d3", metadata={"i": 99}))
    latest = instance.get_latest_materialization_event(AssetKey("doc"))
    assert latest.asset_materialization.partition == "d3"
    assert latest.asset_materialization.metadata["i"].value == 99
    assert set(instance.get_materialized_partitions(AssetKey("doc"))) == {f"d{i}" for i in range(30)}


def test_connections_stay_open_and_commits_are_not_fsynced(instance):
    """The point of the class: no connect/checkpoint/close per event (stock Dagster: a NullPool engine per call)."""
    storage = instance.event_log_storage
    instance.report_runless_asset_event(AssetMaterialization(asset_key="a", partition="p0"))
    engine = storage._engines["index"]
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for i in range(5):
        instance.report_runless_asset_event(AssetMaterialization(asset_key="a", partition=f"p{i}"))
    assert storage._engines["index"] is engine
    # the WAL is not checkpointed away after each event (it was, when every event closed the last connection)
    assert Path(storage.path_for_shard("index") + "-wal").exists()


def test_run_databases_beyond_the_limit_are_closed(instance, monkeypatch):
    from doc_pipeline import dagster_storage

    monkeypatch.setattr(dagster_storage, "MAX_OPEN_SHARDS", 3)
    storage = instance.event_log_storage
    for i in range(6):
        with storage.run_connection(f"run{i}") as conn:
            conn.exec_driver_sql("SELECT 1")
    assert [k for k in storage._engines if k != "index"] == ["run3", "run4", "run5"]
    with storage.run_connection("run0") as conn:  # a closed one opens again
        conn.exec_driver_sql("SELECT 1")
    assert "run0" in storage._engines


def test_another_process_sees_each_committed_event_at_once(instance):
    """A commit is visible to other connections (the webserver, the daemon) without a checkpoint."""
    storage = instance.event_log_storage
    instance.report_runless_asset_event(AssetMaterialization(asset_key="seen", partition="p1"))
    other = sqlite3.connect(storage.path_for_shard("index"))
    try:
        n = other.execute("SELECT count(*) FROM event_logs WHERE asset_key LIKE '%seen%'").fetchone()[0]
    finally:
        other.close()
    assert n == 1


def test_live_run_log_watchers_fire_on_wal_writes(instance):
    """The UI's run log follows a run through `watch`: with the connection left open, writes land in the WAL, and
    the stock watchdog (which matches `<run>.db` only) would not fire until a checkpoint."""
    from dagster._core.events.log import EventLogEntry

    storage = instance.event_log_storage
    run_id = "watchedrun"
    seen: list[str] = []
    got = threading.Event()

    def callback(entry, _cursor):
        seen.append(entry.user_message)
        got.set()

    with storage.run_connection(run_id):  # the run's database exists before anyone watches it (as in a run)
        pass
    storage.watch(run_id, None, callback)
    try:
        time.sleep(0.5)  # the observer thread has started
        for i, msg in enumerate(("first", "second", "third")):
            got.clear()
            storage.store_event(EventLogEntry(error_info=None, level="INFO", user_message=msg, run_id=run_id,
                                              timestamp=time.time()))
            deadline = time.time() + 5
            while len(seen) <= i and time.time() < deadline:  # each event reaches the watcher on its own
                got.wait(0.1)
    finally:
        storage.end_watch(run_id, callback)
    assert seen == ["first", "second", "third"]


def test_a_home_written_by_an_older_version_is_brought_up_to_date_but_a_users_own_file_is_kept(docpipe_home):
    import os

    from doc_pipeline.instance import EMBEDDED_HEADER, ensure_dagster_home
    from doc_pipeline.settings import get_settings

    home = get_settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(EMBEDDED_HEADER + "\ntelemetry:\n  enabled: false\n")
    ensure_dagster_home()
    assert "PooledSqliteEventLogStorage" in (home / "dagster.yaml").read_text()
    os.environ.pop("DAGSTER_HOME")
    own = "telemetry:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(own)
    ensure_dagster_home()
    assert (home / "dagster.yaml").read_text() == own


def test_dynamic_partition_lookups_ask_the_database_for_its_tables_once(instance, monkeypatch):
    """Dagster asks `has_table` before every dynamic-partition lookup (a run's partition range, a key check), and
    the stock storage opens a new engine for each question. A table found once is remembered, and the lookups still
    see partitions added later."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    calls = []
    real = SqliteEventLogStorage.has_table
    monkeypatch.setattr(SqliteEventLogStorage, "has_table", lambda self, name: calls.append(name) or real(self, name))
    instance.add_dynamic_partitions("documents", ["a", "b"])
    for _ in range(20):
        assert instance.has_dynamic_partition("documents", "a")
    instance.add_dynamic_partitions("documents", ["c"])
    assert instance.get_dynamic_partitions("documents") == ["a", "b", "c"]
    assert not instance.has_dynamic_partition("documents", "z")
    assert len(calls) == len(set(calls)) <= 2, calls  # each table name asked once (the stock storage: ~25 times)


def test_asset_events_reflect_the_asset_keys_columns_once(instance, monkeypatch):
    """Dagster reflects the asset_keys table's columns for every asset event it stores; found once is remembered,
    and the latest materialisation per asset is still what the index holds. `wipe` forgets it."""
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    calls = []
    real = SqlEventLogStorage._has_asset_key_index_cols_on_connection
    monkeypatch.setattr(SqlEventLogStorage, "_has_asset_key_index_cols_on_connection",
                        lambda self, conn: calls.append(1) or real(self, conn))
    storage = instance.event_log_storage
    for e in _materializations(30, "cols"):
        storage.store_event(e)
    assert len(calls) == 1, len(calls)  # the stock storage: once per event (30)
    record = instance.get_latest_materialization_event(AssetKey("batched"))
    assert record is not None and record.dagster_event.partition == "cols-29"
    storage.wipe()
    storage.store_event(_materializations(1, "after-wipe")[0])
    assert len(calls) == 2


def _materializations(n: int, run_id: str):
    from doc_pipeline_tests.bench.event_log import materializations

    return materializations(n, run_id, asset_key="batched")


def test_a_batch_of_events_goes_in_one_transaction_and_all_or_nothing(instance, monkeypatch):
    import os

    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    assert int(os.environ["DAGSTER_EVENT_BATCH_SIZE"]) > 0  # Dagster's batch writing is on with this storage
    storage = instance.event_log_storage
    commits = []
    monkeypatch.setattr("sqlalchemy.engine.Connection.commit",
                        lambda self, _real=__import__("sqlalchemy").engine.Connection.commit: (commits.append(1),
                                                                                                _real(self))[1])
    storage.store_event(_materializations(1, "run-a")[0])  # the run's database exists (its tables were made)
    commits.clear()
    storage.store_event_batch(_materializations(40, "run-a"))
    assert len(commits) == 2  # the run's database and the cross-run index, once each
    assert len(storage.get_logs_for_run("run-a")) == 41
    assert {f"run-a-{i}" for i in range(40)} <= set(instance.get_materialized_partitions(AssetKey("batched")))

    # a failure anywhere in a batch - here in its asset rows, after its events went into both databases, and in
    # an event stored on its own between two stretches of asset events - keeps nothing of the batch
    from doc_pipeline.dagster_storage import PooledSqliteEventLogStorage

    real_upsert = PooledSqliteEventLogStorage._upsert_asset_row
    monkeypatch.setattr(PooledSqliteEventLogStorage, "_upsert_asset_row",
                        staticmethod(lambda *a: (_ for _ in ()).throw(RuntimeError("disk gone"))))
    with pytest.raises(RuntimeError):
        storage.store_event_batch(_materializations(10, "run-b"))
    monkeypatch.setattr(PooledSqliteEventLogStorage, "_upsert_asset_row", staticmethod(real_upsert))
    real = SqliteEventLogStorage.store_event
    monkeypatch.setattr(SqliteEventLogStorage, "store_event",
                        lambda self, event: (_ for _ in ()).throw(RuntimeError("disk gone")))
    with pytest.raises(RuntimeError):
        storage.store_event_batch(_materializations(4, "run-b") + [_step_event("run-b")] + _materializations(4, "run-b"))
    assert storage.get_logs_for_run("run-b") == []  # nothing of the batch is kept...
    assert not any(p.startswith("run-b") for p in instance.get_materialized_partitions(AssetKey("batched")))
    monkeypatch.setattr(SqliteEventLogStorage, "store_event", real)
    storage.store_event(_materializations(1, "run-c")[0])  # ...and the storage is usable again at once
    assert len(storage.get_logs_for_run("run-c")) == 1


def _step_event(run_id: str):
    """An event that is not an asset event (stored by store_event on its own)."""
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.events.log import EventLogEntry

    return EventLogEntry(error_info=None, level=10, user_message="", run_id=run_id, timestamp=time.time(),
                         job_name="j", dagster_event=DagsterEvent(event_type_value=DagsterEventType.STEP_START.value,
                                                                  job_name="j", step_key="s"))


def test_a_batch_stores_exactly_what_storing_its_events_one_by_one_stores(tmp_path):
    """The batched path (multi-row INSERTs, each asset's row written once) against store_event for every event, on
    the same events: planned materialisations of several assets, materialisations with indexed tags, an event
    stored on its own in between, a second run. Every row of both databases is the same."""
    from dagster._core.events import AssetMaterializationPlannedData, DagsterEvent
    from dagster._core.events.log import EventLogEntry

    from doc_pipeline.dagster_storage import PooledSqliteEventLogStorage
    from doc_pipeline_tests.bench.event_log import materializations

    def planned(run_id, n):
        return [EventLogEntry(error_info=None, level=10, user_message="", run_id=run_id, timestamp=1000.0 + i,
                              job_name="j", dagster_event=DagsterEvent.build_asset_materialization_planned_event(
                                  "j", "s", AssetMaterializationPlannedData(AssetKey(f"asset_{i % 3}"),
                                                                            partition=f"p{i}")))
                for i in range(n)]

    def tagged(run_id, n):
        evs = materializations(n, run_id)
        out = []
        for i, e in enumerate(evs):
            m = e.dagster_event.event_specific_data.materialization
            data = e.dagster_event.event_specific_data._replace(materialization=m._replace(
                tags={"dagster/data_version": f"v{i}", "dagster/code_version": "c"}))
            out.append(e._replace(timestamp=2000.0 + i, dagster_event=e.dagster_event._replace(
                event_specific_data=data)))
        return out

    batch_a = planned("run-1", 9) + tagged("run-1", 10) + [_step_event("run-1")] + tagged("run-1", 4)
    batch_b = tagged("run-2", 6)
    dumps = []
    for name, one_by_one in (("batched", False), ("single", True)):
        st = PooledSqliteEventLogStorage(str(tmp_path / name))
        for batch in (batch_a, batch_b):
            if one_by_one:
                for e in batch:
                    st.store_event(e)
            else:
                st.store_event_batch(batch)
        tables = {}
        for shard in ("run-1", "run-2", "index"):
            with sqlite3.connect(st.path_for_shard(shard)) as c:
                for (table,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                                          "('secondary_indexes', 'alembic_version')"):  # set-up bookkeeping
                    cols = [r[1] for r in c.execute(f"PRAGMA table_info({table})")]
                    keep = [col for col in cols if col not in ("create_timestamp", "update_timestamp")]
                    cols_sql = ", ".join(f'"{col}"' for col in keep)
                    tables[(shard, table)] = sorted(map(repr, c.execute(f'SELECT {cols_sql} FROM "{table}"')))
        st.dispose()
        dumps.append(tables)
    assert dumps[0] == dumps[1]
    assert len(dumps[0][("index", "event_logs")]) == 9 + 14 + 6  # asset events mirrored in the index
    assert len(dumps[0][("index", "asset_event_tags")]) == 14 + 6  # the data version: an indexed tag
    assert len(dumps[0][("index", "asset_keys")]) == 7 and len(dumps[0][("run-1", "event_logs")]) == 9 + 15


def test_a_multi_partition_runs_events_reach_the_storage_in_batches(docpipe_home, monkeypatch):
    """Through Dagster itself: a run over three document partitions stores its planned materialisations and each
    step's three materialisations through store_event_batch."""
    from doc_pipeline.dagster_storage import PooledSqliteEventLogStorage
    from doc_pipeline.samples import native_invoice_pdf
    from doc_pipeline_tests.pipeline_harness import Harness

    sizes = []
    real = PooledSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event_batch",
                        lambda self, events: (sizes.append(len(events)), real(self, events))[1])
    monkeypatch.setenv("DOCPIPE_RUN_BATCH_SIZE", "3")
    monkeypatch.setenv("DOCPIPE_RUN_SLOTS", "1")  # one run of the three
    from doc_pipeline.resources import DocPipelineResource
    from doc_pipeline.settings import reload_settings

    reload_settings()
    store = DocPipelineResource().store()
    for i in range(3):
        store.put_bytes(f"raw/inv{i}.pdf", native_invoice_pdf())
    Harness().run_sensor_and_runs()
    assert sizes.count(3) >= 7  # each of the 7 steps' materialisations of the 3 documents, in one batch
    assert max(sizes) >= 21  # the run's planned materialisations (7 assets x 3 partitions) at its creation


# --- partition keys remembered while unchanged (PartitionKeysCache, docs/PERFORMANCE.md item 63) -----------------

def _counting_full_reads(monkeypatch) -> list[str]:
    """Every read of a definition's whole key list that reaches the database (the cache's parent method)."""
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    reads: list[str] = []
    real = SqlEventLogStorage.get_dynamic_partitions
    monkeypatch.setattr(SqlEventLogStorage, "get_dynamic_partitions",
                        lambda self, name: (reads.append(name), real(self, name))[1])
    return reads


@pytest.fixture(params=["sqlite", "postgres"])
def two_instances(request, tmp_path, monkeypatch):
    """Two instances on one Dagster storage, as two processes (daemon and run worker) would have."""
    if request.param == "sqlite":
        from doc_pipeline.dagster_storage import PooledSqliteEventLogStorage as cls
        from doc_pipeline.instance import EMBEDDED_DAGSTER_YAML

        text = EMBEDDED_DAGSTER_YAML.format(home=tmp_path, max_runs=2)
    else:
        from doc_pipeline.dagster_postgres_storage import CachedPostgresEventLogStorage as cls
        from doc_pipeline.instance import postgres_dagster_yaml

        text = postgres_dagster_yaml(request.getfixturevalue("pg_url"))
    (tmp_path / "dagster.yaml").write_text(text)
    a, b = DagsterInstance.from_config(str(tmp_path)), DagsterInstance.from_config(str(tmp_path))
    assert isinstance(a.event_log_storage, cls)
    yield a, b
    a.dispose()
    b.dispose()


def test_partition_keys_are_read_once_while_unchanged_and_anew_after_any_change(two_instances, monkeypatch):
    a, b = two_instances
    reads = _counting_full_reads(monkeypatch)
    keys = [f"doc-{i:03d}" for i in range(40)]
    a.add_dynamic_partitions("documents", keys)
    for _ in range(5):
        assert a.get_dynamic_partitions("documents") == keys
    assert len(reads) == 1

    b.add_dynamic_partitions("documents", ["doc-new"])  # another process adds one
    assert a.get_dynamic_partitions("documents") == keys + ["doc-new"]
    b.delete_dynamic_partition("documents", "doc-007")  # ...deletes one
    assert a.get_dynamic_partitions("documents") == [k for k in keys if k != "doc-007"] + ["doc-new"]
    # the newest deleted and another added: the same count, and SQLite gives the new row the freed highest id
    b.delete_dynamic_partition("documents", "doc-new")
    b.add_dynamic_partitions("documents", ["doc-other"])
    assert a.get_dynamic_partitions("documents") == [k for k in keys if k != "doc-007"] + ["doc-other"]
    a.add_dynamic_partitions("documents", ["doc-own"])  # this process's own change
    assert a.get_dynamic_partitions("documents")[-1] == "doc-own"
    assert len(reads) == 5
    assert a.get_dynamic_partitions("documents") == b.get_dynamic_partitions("documents")
    assert len(reads) == 6  # b's first read; a's answered from memory
    assert a.get_dynamic_partitions("other_def") == []  # definitions are kept apart


def test_a_runs_cost_does_not_grow_with_the_documents_known(docpipe_home, tmp_path, monkeypatch):
    """Dagster resolves a run's partition range from the whole key list ~30 times a run (planned events, every
    step's keys, inputs and outputs): with 10,000 documents known that was 1.1 CPU s a run. Now the list is read
    from the database once while it does not change."""
    from doc_pipeline.assets.partitions import documents_partitions
    from doc_pipeline.cli import ingest_path, run_documents
    from doc_pipeline.db import get_database, repo
    from doc_pipeline.instance import ensure_dagster_home
    from doc_pipeline.samples import native_invoice_pdf
    from doc_pipeline.settings import get_settings

    ensure_dagster_home()
    instance = DagsterInstance.get()
    try:
        instance.add_dynamic_partitions(documents_partitions.name, [f"older-{i}" for i in range(300)])
        ids = []
        for name in ("a.pdf", "b.pdf"):
            (tmp_path / name).write_bytes(native_invoice_pdf() + name.encode())
            ids.append(ingest_path(tmp_path / name))
        reads = _counting_full_reads(monkeypatch)
        groups = list(run_documents(ids, instance, batch_size=2, workers=1))
        assert [g.doc_ids for g in groups] == [ids]  # one run over the two new partitions
        db = get_database(get_settings().db_url)
        assert all(repo.get_document(db, d).status == "done" for d in ids)
        # before: 30 reads (run creation 7, each step's keys 7, inputs 8, outputs 7, run_documents 1)
        assert len(reads) <= 3, reads
    finally:
        instance.dispose()


def test_remembered_keys_behave_as_a_list_with_a_fast_index():
    from doc_pipeline.dagster_storage import _KeyList

    shared = [None]
    keys = tuple(f"k{i}" for i in range(1000))
    a, b = _KeyList(keys, shared), _KeyList(keys, shared)
    assert a == list(keys) and a[3:5] == ["k3", "k4"]
    assert a.index("k999") == 999 and a.index("k0") == 0
    assert shared[0] is not None and b.index("k500") == 500  # one map for the reads of one version
    with pytest.raises(ValueError):
        a.index("missing")
    assert a.index("k10", 5, 20) == 10
    b.insert(0, "new")  # a caller's own change: its copy scans, the others keep the map
    assert b.index("k999") == 1000 and a.index("k999") == 999


def test_a_new_run_database_is_the_one_dagster_would_make(instance, tmp_path, monkeypatch):
    """New run databases skip Alembic's script loading (60-85 ms a run) but must be exactly what Dagster's own
    `_initdb` makes: the same tables and indexes, WAL, stamped with the schema's head revision."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from dagster._core.storage.sql import check_alembic_revision, get_alembic_config
    from dagster._core.storage.event_log.sqlite import sqlite_event_log
    from sqlalchemy import create_engine

    storage = instance.event_log_storage
    instance.report_runless_asset_event(AssetMaterialization(asset_key="a", partition="p"))  # index db first
    storage._engine_for("fast-run")
    ours = storage.path_for_shard("fast-run")
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    stock._initdb(create_engine(stock.conn_string_for_shard("their-run")))
    theirs = stock.path_for_shard("their-run")

    def schema(path):
        with sqlite3.connect(path) as c:
            return sorted(c.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(), key=str)

    assert schema(ours) == schema(theirs)
    with sqlite3.connect(ours) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with create_engine(f"sqlite:///{ours}").connect() as conn:
        db_rev, head = check_alembic_revision(get_alembic_config(sqlite_event_log.__file__), conn)
    assert db_rev == head and head
    instance.report_runless_asset_event(AssetMaterialization(asset_key="a", partition="q"))
    stock.dispose()

    # and it is made without Alembic reading its scripts (twice, 60-85 ms a run), once the head is known
    from alembic.script import ScriptDirectory

    loads = []
    real = ScriptDirectory.from_config.__func__
    monkeypatch.setattr(ScriptDirectory, "from_config",
                        classmethod(lambda cls, cfg: (loads.append(1), real(cls, cfg))[1]))
    storage._engine_for("another-run")
    assert loads == [] and Path(storage.path_for_shard("another-run")).exists()


def test_new_run_databases_are_copies_of_one_made_once_per_dagster_version(instance, monkeypatch):
    """The first new run database of a runs folder makes the empty template (a dot file Dagster does not list as
    a run); every later one, in this process or another, is a copy that takes events at once. A name already
    taken is never overwritten: Dagster's own set-up handles it."""
    import os

    from dagster._core.storage.event_log.schema import SqlEventLogStorageMetadata

    from doc_pipeline.dagster_storage import PooledSqliteEventLogStorage

    storage = instance.event_log_storage
    runs_dir = Path(storage.path_for_shard("x")).parent
    (template,) = runs_dir.glob(".run-database-dagster-*.sqlite")  # made with the instance, before any run
    made = []
    real_create_all = SqlEventLogStorageMetadata.create_all
    monkeypatch.setattr(SqlEventLogStorageMetadata, "create_all",
                        lambda *a, **k: (made.append(1), real_create_all(*a, **k))[1])
    other_process = PooledSqliteEventLogStorage(str(runs_dir))
    for st, run_id in ((storage, "copied-run"), (other_process, "copied-run-2")):
        st._engine_for(run_id)
        with st.run_connection(run_id) as conn:  # the copy holds the tables
            assert conn.exec_driver_sql("SELECT count(*) FROM event_logs").scalar() == 0
    assert made == []  # no tables created: copies
    assert not list(runs_dir.glob("*.part"))
    assert str(template) not in {str(p) for p in runs_dir.glob("*.db")}  # not a run to Dagster
    assert "copied-run" in {Path(p).stem for p in runs_dir.glob("*.db")}

    # a database that appeared under the name meanwhile is kept as it is
    taken = storage.path_for_shard("taken-run")
    with sqlite3.connect(taken) as c:
        c.execute("CREATE TABLE mine (x)")
    assert storage._init_new_run_shard("taken-run") is False
    with sqlite3.connect(taken) as c:
        assert c.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("mine",)]
    assert not list(runs_dir.glob("*.part"))
    other_process.dispose()
    assert os.path.getsize(template) > 0


def test_an_assets_row_is_updated_in_place_and_inserted_only_once(instance, monkeypatch):
    """The asset's row (its latest materialisation) is updated first and inserted only for the asset's first
    event: no failed INSERT per event. The latest materialisation read back is the last one stored."""
    from dagster._core.storage.event_log.schema import AssetKeyTable

    inserts = []
    real_insert = AssetKeyTable.insert
    monkeypatch.setattr(AssetKeyTable, "insert", lambda *a, **k: (inserts.append(1), real_insert(*a, **k))[1])
    for partition in ("p1", "p2", "p3"):
        instance.report_runless_asset_event(AssetMaterialization(asset_key="a", partition=partition))
    instance.report_runless_asset_event(AssetMaterialization(asset_key="b", partition="p1"))
    assert len(inserts) == 2  # one per asset
    latest = instance.get_latest_materialization_event(AssetKey("a"))
    assert latest.dagster_event.partition == "p3"
    records = {r.asset_entry.asset_key: r for r in instance.get_asset_records([AssetKey("a"), AssetKey("b")])}
    assert set(records) == {AssetKey("a"), AssetKey("b")}
