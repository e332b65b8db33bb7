"""Runs: their records, lifecycle and search."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from shipyard.errors import InvalidInput, NotFound
from shipyard.store.base import NewRun, RunEnd, RunQuery, RunStore
from shipyard.store.entities import Lifecycle, Run, RunStatus
from shipyard.store.search_syntax import parse_filter, parse_order_by
from shipyard.store.sql.artifacts import upsert_artifacts
from shipyard.store.sql.database import Database
from shipyard.store.sql.metrics import loaded_value
from shipyard.store.sql.params import insert_params, upsert_tags
from shipyard.store.sql.schema import latest_metrics, params, runs, tags
from shipyard.store.sql.search import plan_search

_MAX_RESULTS = 50_000


def _not_found(run_id: str) -> NotFound:
    return NotFound(f"Run {run_id!r} does not exist. List runs with: shipyard runs list")


def _run(row: Row, data: dict[str, dict[str, dict]] | None = None) -> Run:
    """A Run from a row of ``select(runs)`` (columns in table order) and its loaded data."""
    (
        run_id, experiment_id, name, description, status, lifecycle, user, parent_run_id,
        start_ms, end_ms, heartbeat_ms, pid, hostname, error, git_commit, git_dirty,
        entry_point, python_version, platform, packages_hash,
    ) = row  # fmt: skip
    data = data or {}
    return Run(
        id=run_id,
        experiment_id=experiment_id,
        name=name,
        status=_STATUSES[status],
        start_ms=start_ms,
        end_ms=end_ms,
        user=user,
        parent_run_id=parent_run_id,
        description=description,
        lifecycle=_LIFECYCLES[lifecycle],
        error=error,
        heartbeat_ms=heartbeat_ms,
        pid=pid,
        hostname=hostname,
        git_commit=git_commit,
        git_dirty=git_dirty,
        entry_point=entry_point,
        python_version=python_version,
        platform=platform,
        packages_hash=packages_hash,
        params=data.get("params", {}).get(run_id, {}),
        metrics=data.get("metrics", {}).get(run_id, {}),
        tags=data.get("tags", {}).get(run_id, {}),
    )


_STATUSES = {s.value: s for s in RunStatus}
_LIFECYCLES = {lc.value: lc for lc in Lifecycle}
#: key/value rows of the given runs, one prebuilt statement per table
_DATA_QUERIES = {
    name: sa.select(table.c.run_id, table.c.key, table.c.value).where(
        table.c.run_id.in_(sa.bindparam("ids", expanding=True))
    )
    for name, table in (("params", params), ("metrics", latest_metrics), ("tags", tags))
}


def _with_data(conn: Connection, rows: Sequence[Row]) -> list[Run]:
    """Runs with their params, latest metrics and tags: three queries, whatever the count."""
    ids = [r[0] for r in rows]
    data: dict[str, dict[str, dict]] = {}
    for name, query in _DATA_QUERIES.items():
        by_run: dict[str, dict] = defaultdict(dict)
        for start in range(0, len(ids), 500):
            found = conn.execute(query, {"ids": ids[start : start + 500]}).all()
            if name == "metrics":
                for run_id, key, value in found:
                    by_run[run_id][key] = loaded_value(value)
            else:
                for run_id, key, value in found:
                    by_run[run_id][key] = value
        data[name] = by_run
    return [_run(row, data) for row in rows]


class SqlRuns(RunStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, new: NewRun) -> Run:
        values = {
            "id": new.id,
            "experiment_id": new.experiment_id,
            "name": new.name,
            "description": new.description,
            "status": RunStatus.RUNNING.value,
            "lifecycle": Lifecycle.ACTIVE.value,
            "user": new.user,
            "parent_run_id": new.parent_run_id,
            "start_ms": new.start_ms,
            "heartbeat_ms": new.start_ms,
            "pid": new.pid,
            "hostname": new.hostname,
            "git_commit": new.git_commit,
            "git_dirty": new.git_dirty,
            "entry_point": new.entry_point,
            "python_version": new.python_version,
            "platform": new.platform,
            "packages_hash": new.packages_hash,
        }
        with self.db.write() as conn:
            conn.execute(runs.insert(), values)
            insert_params(self.db, conn, new.id, new.params, fresh=True)
            upsert_tags(self.db, conn, [(new.id, k, v) for k, v in new.tags.items()])
            upsert_artifacts(self.db, conn, new.id, new.artifacts)
        return Run(
            id=new.id,
            experiment_id=new.experiment_id,
            name=new.name,
            status=RunStatus.RUNNING,
            start_ms=new.start_ms,
            user=new.user,
            parent_run_id=new.parent_run_id,
            description=new.description,
            heartbeat_ms=new.start_ms,
            pid=new.pid,
            hostname=new.hostname,
            git_commit=new.git_commit,
            git_dirty=new.git_dirty,
            entry_point=new.entry_point,
            python_version=new.python_version,
            platform=new.platform,
            packages_hash=new.packages_hash,
            params=dict(new.params),
            tags=dict(new.tags),
        )

    def get(self, run_id: str) -> Run:
        with self.db.read() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
            if row is None:
                raise _not_found(run_id)
            return _with_data(conn, [row])[0]

    def get_many(self, run_ids: Sequence[str]) -> list[Run]:
        with self.db.read() as conn:
            rows = {
                r.id: r for r in conn.execute(sa.select(runs).where(runs.c.id.in_(list(run_ids))))
            }
            missing = [i for i in run_ids if i not in rows]
            if missing:
                raise _not_found(missing[0])
            return _with_data(conn, [rows[i] for i in run_ids])

    def resume(self, run_id: str, pid: int | None, hostname: str, now_ms: int) -> Run:
        with self.db.write() as conn:
            updated = conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id)
                .values(
                    status=RunStatus.RUNNING.value,
                    end_ms=None,
                    error=None,
                    pid=pid,
                    hostname=hostname,
                    heartbeat_ms=now_ms,
                )
            ).rowcount
            if not updated:
                raise _not_found(run_id)
        return self.get(run_id)

    def end(self, end: RunEnd) -> None:
        with self.db.write() as conn:
            end_runs(conn, [end])

    def set_lifecycle(self, run_ids: Sequence[str], lifecycle: Lifecycle) -> None:
        with self.db.write() as conn:
            found = {
                r[0] for r in conn.execute(sa.select(runs.c.id).where(runs.c.id.in_(list(run_ids))))
            }
            missing = [i for i in run_ids if i not in found]
            if missing:
                raise _not_found(missing[0])
            conn.execute(
                sa.update(runs)
                .where(runs.c.id.in_(list(run_ids)))
                .values(lifecycle=lifecycle.value)
            )

    def running(self) -> list[Run]:
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(runs).where(runs.c.status == RunStatus.RUNNING.value).order_by(runs.c.id)
            ).all()
        return [_run(r) for r in rows]

    def search(self, query: RunQuery) -> list[Run]:
        if not 0 < query.max_results <= _MAX_RESULTS:
            raise InvalidInput(
                f"max_results must be between 1 and {_MAX_RESULTS}; got {query.max_results}."
            )
        where = []
        if query.experiment_ids is not None:
            where.append(runs.c.experiment_id.in_(list(query.experiment_ids)))
        if query.lifecycle is not None:
            where.append(runs.c.lifecycle == query.lifecycle.value)
        orders = [parse_order_by(text) for text in query.order_by]
        source, conditions, order = plan_search(parse_filter(query.filter), orders)
        where += conditions
        order += [runs.c.start_ms.desc(), runs.c.id.desc()]
        stmt = (
            sa.select(runs)
            .select_from(source)
            .where(*where)
            .order_by(*order)
            .limit(query.max_results)
            .offset(query.offset)
        )
        with self.db.read() as conn:
            return _with_data(conn, conn.execute(stmt).all())


def end_runs(conn: Connection, ends: Sequence[RunEnd]) -> None:
    for end in ends:
        updated = conn.execute(
            sa.update(runs)
            .where(runs.c.id == end.run_id)
            .values(status=end.status.value, end_ms=end.end_ms, error=end.error)
        ).rowcount
        if not updated:
            raise _not_found(end.run_id)


def touch_heartbeats(conn: Connection, run_ids: Sequence[str], now_ms: int) -> None:
    if run_ids:
        conn.execute(
            sa.update(runs).where(runs.c.id.in_(list(run_ids))).values(heartbeat_ms=now_ms)
        )
