"""Monitors, their results, alerts and deliveries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.engine import Row

from shipyard.errors import NotFound
from shipyard.store.base import MonitorStore
from shipyard.store.entities import Alert, AlertDelivery, MonitorRecord, MonitorResult
from shipyard.store.ids import new_id, now_ms
from shipyard.store.sql.database import Database
from shipyard.store.sql.schema import alert_deliveries, alerts, monitor_results, monitors
from shipyard.store.validation import check_name


def _monitor(row: Row) -> MonitorRecord:
    return MonitorRecord(
        row.id, row.project_id, row.name, row.spec, row.enabled, row.created_ms, row.updated_ms
    )


def _result(row: Row) -> MonitorResult:
    return MonitorResult(
        row.id,
        row.monitor_id,
        row.run_id,
        row.check_name,
        row.metric,
        row.value,
        row.status,
        row.message,
        json.loads(row.body),
        row.ts_ms,
    )


def _alert(row: Row) -> Alert:
    return Alert(**dict(row._mapping))


class SqlMonitors(MonitorStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def save_monitor(
        self, project_id: str, name: str, spec: str, enabled: bool = True
    ) -> MonitorRecord:
        check_name(name, "monitor")
        where = (monitors.c.project_id == project_id, monitors.c.name == name)
        now = now_ms()
        with self.db.write() as conn:
            current = conn.execute(sa.select(monitors.c.id).where(*where)).first()
            if current is None:
                conn.execute(
                    monitors.insert(),
                    {
                        "id": new_id(),
                        "project_id": project_id,
                        "name": name,
                        "spec": spec,
                        "enabled": enabled,
                        "created_ms": now,
                        "updated_ms": now,
                    },
                )
            else:
                conn.execute(
                    sa.update(monitors)
                    .where(monitors.c.id == current.id)
                    .values(spec=spec, enabled=enabled, updated_ms=now)
                )
            return _monitor(conn.execute(sa.select(monitors).where(*where)).one())

    def get_monitor(self, project_id: str, name: str) -> MonitorRecord:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(monitors).where(
                    monitors.c.project_id == project_id, monitors.c.name == name
                )
            ).first()
        if row is None:
            raise NotFound(
                f"There is no monitor {name!r}. List them with: shipyard monitor list", monitor=name
            )
        return _monitor(row)

    def list_monitors(self, project_id: str) -> list[MonitorRecord]:
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(monitors)
                .where(monitors.c.project_id == project_id)
                .order_by(monitors.c.name)
            ).all()
        return [_monitor(r) for r in rows]

    def add_results(self, results: Sequence[MonitorResult]) -> None:
        if not results:
            return
        rows = [{**asdict(r), "body": json.dumps(r.body, default=str)} for r in results]
        with self.db.write() as conn:
            conn.execute(monitor_results.insert(), rows)

    def results(
        self, monitor_id: str, check_name: str | None = None, last: int | None = None
    ) -> list[MonitorResult]:
        query = sa.select(monitor_results).where(monitor_results.c.monitor_id == monitor_id)
        if check_name is not None:
            query = query.where(monitor_results.c.check_name == check_name)
        query = query.order_by(monitor_results.c.ts_ms.desc(), monitor_results.c.id.desc())
        if last is not None:
            query = query.limit(last)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [_result(r) for r in reversed(rows)]

    def firing_alert(self, monitor_id: str, rule: str) -> Alert | None:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(alerts).where(
                    alerts.c.monitor_id == monitor_id,
                    alerts.c.rule == rule,
                    alerts.c.status == "firing",
                )
            ).first()
        return _alert(row) if row is not None else None

    def save_alert(self, alert: Alert) -> None:
        values = asdict(alert)
        with self.db.write() as conn:
            exists = conn.execute(sa.select(alerts.c.id).where(alerts.c.id == alert.id)).first()
            if exists is None:
                conn.execute(alerts.insert(), values)
            else:
                conn.execute(sa.update(alerts).where(alerts.c.id == alert.id).values(**values))

    def alerts(self, monitor_id: str | None = None, status: str | None = None) -> list[Alert]:
        query = sa.select(alerts)
        if monitor_id is not None:
            query = query.where(alerts.c.monitor_id == monitor_id)
        if status is not None:
            query = query.where(alerts.c.status == status)
        with self.db.read() as conn:
            rows = conn.execute(
                query.order_by(alerts.c.started_ms.desc(), alerts.c.id.desc())
            ).all()
        return [_alert(r) for r in rows]

    def add_delivery(self, delivery: AlertDelivery) -> None:
        with self.db.write() as conn:
            conn.execute(alert_deliveries.insert(), asdict(delivery))

    def deliveries(self, alert_id: str) -> list[AlertDelivery]:
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(alert_deliveries)
                .where(alert_deliveries.c.alert_id == alert_id)
                .order_by(alert_deliveries.c.ts_ms, alert_deliveries.c.id)
            ).all()
        return [AlertDelivery(**dict(r._mapping)) for r in rows]
