"""Engines and transactions for the SQL store, on SQLite and PostgreSQL alike.

SQLite is set up for several processes on one machine: WAL journal, a long
busy timeout, and write transactions that take the write lock when they begin
(``BEGIN IMMEDIATE``), so two writers queue on the lock instead of failing with
"database is locked" when one tries to upgrade a read lock.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from shipyard.errors import InvalidInput, StoreError

__all__ = ["Database", "redact_uri"]


def redact_uri(uri: str) -> str:
    """The URI with any password replaced by ***, fit for messages and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", uri)


class Database:
    """One engine per store URI, with read and write transactions."""

    def __init__(self, uri: str, *, busy_timeout: float = 60.0) -> None:
        self.uri = uri
        self.busy_timeout = busy_timeout
        try:
            url = sa.engine.make_url(uri)
        except sa.exc.ArgumentError as exc:
            raise InvalidInput(
                f"Store URI '{redact_uri(uri)}' is not a database URL. Use "
                "sqlite:///path/to/shipyard.db or postgresql+psycopg://user@host/db."
            ) from exc
        self.dialect = url.get_backend_name()
        self._sql_cache: dict[tuple, str] = {}
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(url)
        elif self.dialect == "postgresql":
            if url.drivername == "postgresql":
                url = url.set(drivername="postgresql+psycopg")
            self.engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        else:
            raise InvalidInput(
                f"Store URI '{redact_uri(uri)}' names the database '{self.dialect}', which "
                "Shipyard does not support. Use sqlite:/// or postgresql+psycopg://."
            )
        self._write_engine = self.engine.execution_options(shipyard_write=True)

    def _sqlite_engine(self, url: sa.URL) -> Engine:
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={
                "timeout": self.busy_timeout,
                "check_same_thread": False,
                "isolation_level": None,  # transactions are begun below, explicitly
            },
        )
        timeout_ms = int(self.busy_timeout * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: index inserts stay in memory
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA case_sensitive_like=ON")  # LIKE as on PostgreSQL
            cur.execute(f"PRAGMA busy_timeout={timeout_ms}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("shipyard_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading (one consistent snapshot on SQLite)."""
        with self._errors(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._errors(), self._write_engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.OperationalError as exc:
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            hint = (
                f" after waiting {self.busy_timeout:g} s for other writers; raise "
                "SHIPYARD_SQLITE_BUSY_TIMEOUT or move to PostgreSQL"
                if "locked" in detail
                else "; check that the database is reachable and the URI is right"
            )
            raise StoreError(
                f"The metadata store '{redact_uri(self.uri)}' failed: {detail}{hint}."
            ) from exc
        except sa.exc.InterfaceError as exc:
            raise StoreError(
                f"Could not talk to the metadata store '{redact_uri(self.uri)}': {exc.orig}."
            ) from exc

    def insert_sql(
        self,
        table: sa.Table,
        *,
        conflict: tuple[str, ...] = (),
        update: tuple[str, ...] | None = None,
        where: str = "",
    ) -> str:
        """A positional INSERT for ``exec_driver_sql`` with a list of tuples.

        The hot write paths use it to skip SQLAlchemy's per-row parameter
        processing and per-call compilation. ``conflict`` adds ``ON CONFLICT
        (...) DO NOTHING``, or ``DO UPDATE SET c = excluded.c`` for the columns in
        ``update`` (with an optional ``where``): the same text on SQLite and
        PostgreSQL. Names come from the schema and are quoted by the dialect;
        values are always bound parameters. Built once per statement shape.
        """
        cache_key = (table.name, conflict, update, where)
        sql = self._sql_cache.get(cache_key)
        if sql is not None:
            return sql
        quote = self.engine.dialect.identifier_preparer.quote
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        if conflict:
            sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict)})"
            if update is None:
                sql += " DO NOTHING"
            else:
                sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
                sql += f" DO UPDATE SET {sets}" + (f" WHERE {where}" if where else "")
        self._sql_cache[cache_key] = sql
        return sql

    def insert(self, table: sa.Table):  # type: ignore[no-untyped-def]
        """The dialect's INSERT, which has ``on_conflict_do_update/nothing``."""
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(table)

    def dispose(self) -> None:
        self.engine.dispose()
