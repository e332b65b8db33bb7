"""Metric history, and the latest value per key kept current on every write."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.store.base import MetricRow, MetricStore
from shipyard.store.entities import MetricPoint
from shipyard.store.sql.database import Database
from shipyard.store.sql.params import require_run
from shipyard.store.sql.schema import latest_metrics, metrics

_NAN = float("nan")


def stored_value(value: float) -> float | None:
    """NaN is stored as NULL (SQLite cannot hold NaN in a REAL column)."""
    return None if value != value else value


def loaded_value(value: float | None) -> float:
    return _NAN if value is None else value


def insert_metrics(db: Database, conn: Connection, rows: Sequence[MetricRow]) -> None:
    """Append points to the history and move each key's latest value forward."""
    if not rows:
        return
    latest: dict[tuple[str, str], MetricRow] = {}
    for row in rows:
        held = latest.get((row[0], row[1]))
        if held is None or row[3] > held[3] or (row[3] == held[3] and row[4] >= held[4]):
            latest[(row[0], row[1])] = row
    history = [(r, k, None if v != v else v, s, t) for r, k, v, s, t in rows]
    conn.exec_driver_sql(db.insert_sql(metrics), history)
    conn.exec_driver_sql(
        db.insert_sql(
            latest_metrics,
            conflict=("run_id", "key"),
            update=("value", "step", "timestamp_ms"),
            where=_NEWER,
        ),
        [(r, k, stored_value(v), s, t) for r, k, v, s, t in latest.values()],
    )


#: A point replaces the latest one if its step is higher, or equal and it is not older.
_NEWER = (
    "excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step "
    "AND excluded.timestamp_ms >= latest_metrics.timestamp_ms)"
)


class SqlMetrics(MetricStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def log(self, rows: Sequence[MetricRow]) -> None:
        with self.db.write() as conn:
            for run_id in {r[0] for r in rows}:
                require_run(conn, run_id)
            insert_metrics(self.db, conn, rows)

    def history(self, run_id: str, key: str) -> list[MetricPoint]:
        query = (
            sa.select(metrics.c.value, metrics.c.step, metrics.c.timestamp_ms)
            .where(metrics.c.run_id == run_id, metrics.c.key == key)
            .order_by(metrics.c.step, metrics.c.timestamp_ms, metrics.c.id)
        )
        with self.db.read() as conn:
            require_run(conn, run_id)
            return [
                MetricPoint(key, loaded_value(v), s, t) for v, s, t in conn.execute(query).all()
            ]
