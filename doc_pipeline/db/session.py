from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

T = TypeVar("T")

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


class Database:
    """One engine per URL, migrated to head on first use (Alembic migrations live in sql/)."""

    def __init__(self, url: str, migrate: bool = True, connect_retry_s: float = 0.0):
        self.url = url
        # pipeline workers wait this long for the server to come back (a restart, a fail-over) before a step
        # fails; the API does not wait (it answers 503 at once)
        self.connect_retry_s = connect_retry_s
        # pre-ping replaces connections a server restart killed; a SQLite file has no server, so no ping
        kwargs: dict = {"pool_pre_ping": not url.startswith("sqlite"), "future": True}
        if url.startswith("sqlite"):
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        _OPEN.add(self)
        if migrate:
            self.migrate()

    def migrate(self, revision: str = "head") -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config(str(SQL_DIR / "alembic.ini"))
        cfg.set_main_option("script_location", str(SQL_DIR))
        cfg.attributes["engine"] = self.engine
        command.upgrade(cfg, revision)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as s:
            if self.connect_retry_s > 0:
                self._connect(s)
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A Core connection in one transaction (committed at the end), for hot paths that need no ORM objects;
        the same wait for an unreachable server as `session`."""
        conn = self._with_retry(self.engine.connect) if self.connect_retry_s > 0 else self.engine.connect()
        with conn, conn.begin():
            yield conn

    def _connect(self, s: Session) -> None:
        """Check out the session's connection now, retrying while the server is unreachable (only the connect
        is retried: a statement that fails mid-transaction still raises)."""
        self._with_retry(s.connection)

    def _with_retry(self, connect: Callable[[], T]) -> T:
        try:  # the usual case, without building a retry policy for every transaction (~0.1 ms)
            return connect()
        except OperationalError:
            return retry(retry=retry_if_exception_type(OperationalError), stop=stop_after_delay(self.connect_retry_s),
                         wait=wait_exponential(multiplier=0.2, max=2.0), reraise=True)(connect)()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: no fsync per commit (a crash of the process loses nothing; a power cut can lose the last
    # commits, never the database's consistency) - each document step writes its status several times
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_OPEN: "weakref.WeakSet[Database]" = weakref.WeakSet()


def _forget_parent_connections() -> None:
    # a forked worker (doc_pipeline/forked.py) opens its own connections; closing the parent's from the child would
    # disturb the parent's (SQLAlchemy's advice for forks: dispose with close=False)
    for db in list(_OPEN):
        db.engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_parent_connections)


@lru_cache(maxsize=8)
def get_database(url: str, connect_retry_s: float = 0.0) -> Database:
    return Database(url, connect_retry_s=connect_retry_s)
