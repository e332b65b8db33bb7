"""Schema revisions: created automatically, upgraded on request, never silently mismatched."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shipyard.errors import SchemaVersionError
from shipyard.store import open_store
from shipyard.store.sql.database import Database
from shipyard.store.sql.migrate import (
    HEAD_REVISION,
    current_revision,
    known_revisions,
    upgrade,
)
from shipyard.store.sql.schema import metadata


def test_head_revision_is_alembics_head() -> None:
    assert known_revisions()[-1] == HEAD_REVISION


def test_new_database_is_created_at_the_current_revision(store_uri: str) -> None:
    store = open_store(store_uri)
    with store.db.read() as conn:  # type: ignore[attr-defined]
        assert current_revision(conn) == HEAD_REVISION
        tables = set(sa.inspect(conn).get_table_names())
    assert set(metadata.tables) <= tables
    store.close()


def test_migrations_build_exactly_the_declared_schema(store_uri: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = Database(store_uri)
    upgrade(db)
    with db.read() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    assert diff == []


def test_database_from_a_newer_shipyard_is_refused(store_uri: str) -> None:
    open_store(store_uri).close()
    db = Database(store_uri)
    with db.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaVersionError, match=r"'9999'.*newer Shipyard"):
        open_store(store_uri)
    with pytest.raises(SchemaVersionError, match="9999"):
        upgrade(db)


def test_previous_revision_is_refused_then_upgraded_keeping_its_data(store_uri: str) -> None:
    db = Database(store_uri)
    previous = known_revisions()[-2]
    upgrade(db, previous)
    with db.write() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO projects (id, name, description, created_ms) "
                "VALUES ('p1', 'kept', '', 1)"
            )
        )
    with pytest.raises(SchemaVersionError, match="shipyard db upgrade"):
        open_store(store_uri)
    assert upgrade(db) == (previous, HEAD_REVISION)
    store = open_store(store_uri)
    assert store.projects.get("kept").id == "p1"
    store.close()


def test_upgrade_is_idempotent(store_uri: str) -> None:
    db = Database(store_uri)
    assert upgrade(db) == (None, HEAD_REVISION)
    assert upgrade(db) == (HEAD_REVISION, HEAD_REVISION)
