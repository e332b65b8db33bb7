"""The index from a run's readable artifact paths to blob digests."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.errors import NotFound
from shipyard.store.base import ArtifactIndex
from shipyard.store.entities import ArtifactRecord
from shipyard.store.sql.database import Database
from shipyard.store.sql.params import require_run
from shipyard.store.sql.schema import run_artifacts


def upsert_artifacts(
    db: Database, conn: Connection, run_id: str, records: Sequence[ArtifactRecord]
) -> None:
    if records:
        conn.exec_driver_sql(
            db.insert_sql(
                run_artifacts, conflict=("run_id", "path"), update=("digest", "size", "created_ms")
            ),
            [(run_id, r.path, r.digest, r.size, r.created_ms) for r in records],
        )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlArtifactIndex(ArtifactIndex):
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, run_id: str, records: Sequence[ArtifactRecord]) -> None:
        with self.db.write() as conn:
            require_run(conn, run_id)
            upsert_artifacts(self.db, conn, run_id, records)

    def list(self, run_id: str, prefix: str = "") -> list[ArtifactRecord]:
        query = sa.select(run_artifacts).where(run_artifacts.c.run_id == run_id)
        if prefix:
            folder = prefix.rstrip("/") + "/"
            query = query.where(
                sa.or_(
                    run_artifacts.c.path == prefix.rstrip("/"),
                    run_artifacts.c.path.like(_escape_like(folder) + "%", escape="\\"),
                )
            )
        with self.db.read() as conn:
            require_run(conn, run_id)
            rows = conn.execute(query.order_by(run_artifacts.c.path)).all()
        return [ArtifactRecord(r.path, r.digest, r.size, r.created_ms) for r in rows]

    def get(self, run_id: str, path: str) -> ArtifactRecord:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(run_artifacts).where(
                    run_artifacts.c.run_id == run_id, run_artifacts.c.path == path
                )
            ).first()
            if row is None:
                require_run(conn, run_id)
                raise NotFound(
                    f"Run {run_id} has no artifact {path!r}. "
                    f"List its artifacts with: shipyard runs show {run_id}"
                )
        return ArtifactRecord(row.path, row.digest, row.size, row.created_ms)
