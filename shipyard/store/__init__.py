"""The metadata store, chosen by URI.

``sqlite:///path`` and ``postgresql+psycopg://...`` open a
:class:`~shipyard.store.sql.SqlStore`. Implementations are imported lazily, so
naming a backend costs nothing until it is opened.
"""

from __future__ import annotations

import importlib

from shipyard.errors import InvalidInput
from shipyard.store.base import Store

__all__ = ["Store", "open_store"]

#: URI scheme → "module:Class", imported when first used.
_BACKENDS = {
    "sqlite": "shipyard.store.sql:SqlStore",
    "postgresql": "shipyard.store.sql:SqlStore",
    "postgres": "shipyard.store.sql:SqlStore",
}


def open_store(uri: str, **options: object) -> Store:
    """Open the metadata store at ``uri`` (creating a new database's schema)."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
    target = _BACKENDS.get(scheme)
    if target is None:
        raise InvalidInput(
            f"Store URI {uri!r} has no known scheme; use sqlite:///path/to/shipyard.db or "
            "postgresql+psycopg://user@host:5432/db."
        )
    if scheme == "postgres":
        uri = "postgresql" + uri[len("postgres") :]
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(uri, **options)  # type: ignore[no-any-return]
