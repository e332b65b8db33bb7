"""The metadata store on a SQL database: SQLite (embedded) or PostgreSQL (team)."""

from __future__ import annotations

from shipyard.store.base import LogBatch, Store
from shipyard.store.ids import now_ms
from shipyard.store.sql.artifacts import SqlArtifactIndex
from shipyard.store.sql.database import Database
from shipyard.store.sql.datasets import SqlDatasets
from shipyard.store.sql.deployments import SqlDeployments
from shipyard.store.sql.metrics import SqlMetrics, insert_metrics
from shipyard.store.sql.migrate import check_schema
from shipyard.store.sql.monitors import SqlMonitors
from shipyard.store.sql.params import SqlParams, SqlTags, upsert_tags
from shipyard.store.sql.projects import SqlExperiments, SqlProjects
from shipyard.store.sql.registry import SqlRegistry
from shipyard.store.sql.runs import SqlRuns, end_runs, touch_heartbeats

__all__ = ["SqlStore"]


class SqlStore(Store):
    """The metadata store on SQLite or PostgreSQL, chosen by the URI."""

    def __init__(self, uri: str, *, busy_timeout: float = 60.0, check: bool = True) -> None:
        self.uri = uri
        self.db = Database(uri, busy_timeout=busy_timeout)
        if check:
            check_schema(self.db)
        self.projects = SqlProjects(self.db)
        self.experiments = SqlExperiments(self.db)
        self.runs = SqlRuns(self.db)
        self.params = SqlParams(self.db)
        self.metrics = SqlMetrics(self.db)
        self.tags = SqlTags(self.db)
        self.artifacts = SqlArtifactIndex(self.db)
        self.datasets = SqlDatasets(self.db)
        self.registry = SqlRegistry(self.db)
        self.deployments = SqlDeployments(self.db)
        self.monitors = SqlMonitors(self.db)

    def log_batch(self, batch: LogBatch) -> None:
        if not batch:
            return
        tag_rows: dict[tuple[str, str], str] = {}
        for run_id, key, value in batch.tags:
            tag_rows[(run_id, key)] = value  # the last write of a key wins
        with self.db.write() as conn:
            insert_metrics(self.db, conn, batch.metrics)
            upsert_tags(self.db, conn, [(r, k, v) for (r, k), v in tag_rows.items()])
            touch_heartbeats(conn, batch.heartbeats, now_ms())
            end_runs(conn, batch.ends)

    def close(self) -> None:
        self.db.dispose()
