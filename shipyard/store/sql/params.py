"""Params (write-once) and tags (last write wins)."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.errors import Conflict, NotFound
from shipyard.store.base import ParamStore, TagStore
from shipyard.store.sql.database import Database
from shipyard.store.sql.schema import params, runs, tags


def require_run(conn: Connection, run_id: str) -> None:
    if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is None:
        raise NotFound(f"Run {run_id!r} does not exist. List runs with: shipyard runs list")


def insert_params(
    db: Database, conn: Connection, run_id: str, values: Mapping[str, str], *, fresh: bool = False
) -> None:
    """Insert params; Conflict (and nothing written) if a stored one differs.

    ``fresh`` says the run was created in this transaction, so none can exist yet.
    """
    if not values:
        return
    rows = [(run_id, k, v) for k, v in values.items()]
    if fresh:
        conn.exec_driver_sql(db.insert_sql(params), rows)
        return
    conn.exec_driver_sql(db.insert_sql(params, conflict=("run_id", "key")), rows)
    stored = dict(
        conn.execute(
            sa.select(params.c.key, params.c.value).where(
                params.c.run_id == run_id, params.c.key.in_(list(values))
            )
        ).all()
    )
    changed = [(k, stored[k], v) for k, v in values.items() if stored[k] != v]
    if changed:
        key, old, new = changed[0]
        raise Conflict(
            f"Param {key!r} of run {run_id} is already {old!r}; it cannot change to {new!r}. "
            "Params are write-once: log the new value under another key, or start a new run.",
            key=key,
            stored=old,
            attempted=new,
        )


def upsert_tags(db: Database, conn: Connection, rows: list[tuple[str, str, str]]) -> None:
    """Set tags from (run_id, key, value) rows; a later value for a key wins."""
    if rows:
        conn.exec_driver_sql(
            db.insert_sql(tags, conflict=("run_id", "key"), update=("value",)), rows
        )


class SqlParams(ParamStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def log(self, run_id: str, params: Mapping[str, str]) -> None:
        with self.db.write() as conn:
            require_run(conn, run_id)
            insert_params(self.db, conn, run_id, params)


class SqlTags(TagStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, run_id: str, tags: Mapping[str, str]) -> None:
        with self.db.write() as conn:
            require_run(conn, run_id)
            upsert_tags(self.db, conn, [(run_id, k, v) for k, v in tags.items()])

    def delete(self, run_id: str, key: str) -> None:
        with self.db.write() as conn:
            deleted = conn.execute(
                sa.delete(tags).where(tags.c.run_id == run_id, tags.c.key == key)
            ).rowcount
        if not deleted:
            raise NotFound(f"Run {run_id!r} has no tag {key!r}.")
