"""Schema revisions: create new databases, refuse ones this code does not know.

A store opened on an empty database creates the schema at the current
revision. One opened on an older revision asks for ``shipyard db upgrade``; one
on a revision this code does not know (written by a newer Shipyard) is refused.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.errors import SchemaVersionError
from shipyard.store.sql.database import Database, redact_uri

__all__ = ["HEAD_REVISION", "check_schema", "current_revision", "known_revisions", "upgrade"]

#: The revision this code writes and reads; ``tests/store/test_migrations.py``
#: checks that it is Alembic's head.
HEAD_REVISION = "0005"

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x5348_4950  # "SHIP": serialises migrations across processes


def _alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def known_revisions() -> list[str]:
    """Every revision id this code ships, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to ``revision``; returns the revisions before and after."""
    from alembic import command

    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        before = current_revision(conn)
        if before is not None and before not in known_revisions():
            raise _newer(db, before)
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        after = current_revision(conn)
    return before, after


def check_schema(db: Database) -> None:
    """Create the schema of a new database; refuse a database of another revision."""
    with db.read() as conn:
        revision = current_revision(conn)
    if revision == HEAD_REVISION:
        return
    if revision is None:
        upgrade(db)  # under the write lock, so racing processes create it once
        return
    if revision in known_revisions():
        raise SchemaVersionError(
            f"The database '{redact_uri(db.uri)}' is at schema revision {revision}, older than "
            f"this Shipyard's {HEAD_REVISION}. Back it up, then run: "
            f"shipyard db upgrade --store-uri '{redact_uri(db.uri)}'",
            revision=revision,
            expected=HEAD_REVISION,
        )
    raise _newer(db, revision)


def _newer(db: Database, revision: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"The database '{redact_uri(db.uri)}' is at schema revision '{revision}', which this "
        f"Shipyard does not know (it knows up to {HEAD_REVISION}); a newer Shipyard wrote it. "
        "Upgrade Shipyard (pip install -U shipyard) to open it.",
        revision=revision,
        expected=HEAD_REVISION,
    )
