"""``shipyard db``: the metadata store's schema."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli import _context

db_app = typer.Typer(help="Manage the metadata store's schema.", no_args_is_help=True)

StoreUri = Annotated[
    str | None, typer.Option("--store-uri", help="Database to act on (default: from the settings).")
]


@db_app.command("upgrade")
def upgrade(store_uri: StoreUri = None) -> None:
    """Apply pending schema migrations (back the database up first)."""
    from shipyard.store.sql.database import Database, redact_uri
    from shipyard.store.sql.migrate import upgrade as run_upgrade

    settings = _context.settings(store_uri=store_uri)
    db = Database(settings.store_uri, busy_timeout=settings.sqlite_busy_timeout)
    before, after = run_upgrade(db)
    where = redact_uri(settings.store_uri)
    if before == after:
        typer.echo(f"{where} is already at the current revision {after}.")
    else:
        typer.echo(f"Upgraded {where} from revision {before or '(empty)'} to {after}.")


@db_app.command("current")
def current(store_uri: StoreUri = None) -> None:
    """Print the schema revision of the database and of this Shipyard."""
    from shipyard.store.sql.database import Database, redact_uri
    from shipyard.store.sql.migrate import HEAD_REVISION, current_revision

    settings = _context.settings(store_uri=store_uri)
    db = Database(settings.store_uri, busy_timeout=settings.sqlite_busy_timeout)
    with db.read() as conn:
        revision = current_revision(conn)
    typer.echo(f"{redact_uri(settings.store_uri)}: revision {revision or '(empty)'}")
    typer.echo(f"this Shipyard: revision {HEAD_REVISION}")
