"""Fixtures shared by the whole suite: real stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.config import load_settings
from shipyard.tracking import TrackingClient, fluent

POSTGRES_URL = os.environ.get("SHIPYARD_TEST_POSTGRES_URL", "")
REQUIRE_SERVICES = bool(os.environ.get("SHIPYARD_TEST_REQUIRE_SERVICES"))


def _postgres_or_skip() -> str:
    if not POSTGRES_URL:
        if REQUIRE_SERVICES:
            pytest.fail("SHIPYARD_TEST_POSTGRES_URL is unset, but CI requires PostgreSQL.")
        pytest.skip("SHIPYARD_TEST_POSTGRES_URL is unset; PostgreSQL tests need a server.")
    return POSTGRES_URL


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """A PostgreSQL URI whose search_path is a fresh schema, dropped afterwards."""
    base = _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {base} could not be reached: {exc.orig}")
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The metadata store URI of each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shipyard.db'}"
    return request.getfixturevalue("postgres_uri")


@pytest.fixture
def store(store_uri: str):  # type: ignore[no-untyped-def]
    from shipyard.store import open_store

    opened = open_store(store_uri)
    yield opened
    opened.close()


@pytest.fixture
def client(store_uri: str, tmp_path: Path) -> Iterator[TrackingClient]:
    """A tracking client on each backend, with a local artifact folder."""
    tracker = TrackingClient(
        load_settings(home=tmp_path, store_uri=store_uri, artifact_uri=str(tmp_path / "artifacts"))
    )
    yield tracker
    tracker.close()


def _reset_module_api() -> None:
    """End runs a test left open and drop the default client, so tests do not leak."""
    for run in reversed(list(fluent._stack)):
        run.end()
    if fluent._client is not None:
        fluent._client.close()
    fluent._client = None


@pytest.fixture
def sy_home(tmp_path: Path, store_uri: str) -> Iterator[Path]:
    """The module-level API (``sy.start_run`` ...) pointed at a fresh store of each backend."""
    home = tmp_path / "home"
    fluent.configure(home=home, store_uri=store_uri, artifact_uri=str(home / "artifacts"))
    yield home
    _reset_module_api()


@pytest.fixture
def sqlite_home(tmp_path: Path) -> Iterator[Path]:
    """The module-level API on an embedded SQLite home only."""
    home = tmp_path / "home"
    fluent.configure(home=home)
    yield home
    _reset_module_api()
