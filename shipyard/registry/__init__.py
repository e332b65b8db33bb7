"""The model registry: immutable numbered versions and movable aliases with their history.

    version = sy.registry.register(info, "churn")            # models:/churn/1
    sy.registry.set_alias("churn", "champion", 1, reason="first model")
    sy.models.load("models:/churn@champion")
    sy.registry.rollback("churn", "champion")                 # back to the previous holder

Every alias move records who made it, when, from which version to which, and
why. Moves are compare-and-set: two processes moving the same alias at once
each land one move, and each move's "from" is the previous move's "to".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from shipyard.errors import Conflict, InvalidInput
from shipyard.store.base import NewModelVersion
from shipyard.store.entities import AliasEvent, ModelVersion, RegisteredModel
from shipyard.tracking import TrackingClient
from shipyard.tracking import client as default_client
from shipyard.tracking.environment import current_user

__all__ = [
    "alias_history",
    "delete_alias",
    "get_model",
    "get_version",
    "list_versions",
    "register",
    "rollback",
    "search_models",
    "set_alias",
]

_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_RESERVED = {"latest"}


def check_alias(alias: Any) -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidInput(
            f"Alias {alias!r} is not allowed: use 1-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter (e.g. champion, challenger, canary-eu)."
        )
    if alias in _RESERVED:
        raise InvalidInput(
            f"Alias {alias!r} is reserved: models:/<name>@latest always means the newest version."
        )
    return alias


def _client(client: TrackingClient | None) -> TrackingClient:
    return client or default_client()


def register(
    model: Any,
    name: str,
    *,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    client: TrackingClient | None = None,
) -> ModelVersion:
    """Register a logged model (a ``ModelInfo`` or ``runs:/…`` URI) as the next version of ``name``."""
    from shipyard.models.package import MANIFEST
    from shipyard.models.uris import parse_model_uri, resolve

    client = _client(client)
    uri = getattr(model, "uri", model)
    kind, _ = parse_model_uri(uri)
    if kind != "runs":
        raise InvalidInput(
            f"Register a model logged in a run (runs:/<run_id>/<path>); got {uri!r}."
        )
    resolved = resolve(uri, client)
    manifest = json.loads(client.read_artifact(resolved.run_id, f"{resolved.path}/{MANIFEST}"))
    registered = client.store.registry.get_or_create_model(client.project_id, name)
    return client.store.registry.add_version(
        registered.id,
        NewModelVersion(
            source=f"runs:/{resolved.run_id}/{resolved.path}",
            manifest_digest=resolved.manifest_digest,
            flavor=manifest["flavor"],
            run_id=resolved.run_id,
            description=description,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            creator=current_user(),
        ),
    )


def get_model(name: str, *, client: TrackingClient | None = None) -> RegisteredModel:
    client = _client(client)
    return client.store.registry.get_model(client.project_id, name)


def get_version(
    name: str, version: int | str, *, client: TrackingClient | None = None
) -> ModelVersion:
    """A version by number, or the version an alias points at (``"champion"``, ``"latest"``)."""
    client = _client(client)
    model = client.store.registry.get_model(client.project_id, name)
    if isinstance(version, str) and not version.isdigit():
        if version == "latest":
            versions = client.store.registry.list_versions(model.id)
            if not versions:
                raise InvalidInput(f"Model {name!r} has no versions yet.")
            return versions[-1]
        if version not in model.aliases:
            known = ", ".join(sorted(model.aliases)) or "none"
            raise InvalidInput(f"Model {name!r} has no alias {version!r} (its aliases: {known}).")
        version = model.aliases[version]
    return client.store.registry.get_version(model.id, int(version))


def list_versions(name: str, *, client: TrackingClient | None = None) -> list[ModelVersion]:
    client = _client(client)
    model = client.store.registry.get_model(client.project_id, name)
    return client.store.registry.list_versions(model.id)


def search_models(
    name_like: str | None = None, *, client: TrackingClient | None = None
) -> list[RegisteredModel]:
    """Registered models of the project, optionally those whose name is LIKE a pattern ("churn%")."""
    client = _client(client)
    return client.store.registry.list_models(client.project_id, name_like)


def set_alias(
    name: str,
    alias: str,
    version: int,
    *,
    reason: str = "",
    client: TrackingClient | None = None,
) -> AliasEvent:
    """Point ``alias`` at ``version`` now, without gates (``promote`` runs the gates first)."""
    client = _client(client)
    model = client.store.registry.get_model(client.project_id, name)
    return client.store.registry.move_alias(
        model.id, check_alias(alias), int(version), user=current_user(), reason=reason
    )


def delete_alias(
    name: str, alias: str, *, reason: str = "", client: TrackingClient | None = None
) -> AliasEvent:
    client = _client(client)
    model = client.store.registry.get_model(client.project_id, name)
    return client.store.registry.move_alias(
        model.id, check_alias(alias), None, user=current_user(), reason=reason
    )


def rollback(
    name: str, alias: str = "champion", *, reason: str = "", client: TrackingClient | None = None
) -> AliasEvent:
    """Move ``alias`` back to the version it pointed at before its last move (recorded like any move)."""
    client = _client(client)
    registry = client.store.registry
    model = registry.get_model(client.project_id, name)
    current = model.aliases.get(check_alias(alias))
    if current is None:
        raise InvalidInput(f"Model {name!r} has no alias {alias!r} to roll back.")
    previous = next(
        (
            e.from_version
            for e in reversed(registry.alias_history(model.id, alias))
            if e.to_version == current
        ),
        None,
    )
    if previous is None:
        raise Conflict(
            f"Alias {alias!r} of {name!r} has no earlier version to go back to (it points at {current})."
        )
    return registry.move_alias(
        model.id,
        alias,
        previous,
        expected=current,
        user=current_user(),
        reason=reason or f"rollback from version {current}",
    )


def alias_history(
    name: str, alias: str | None = None, *, client: TrackingClient | None = None
) -> list[AliasEvent]:
    """Every move of the model's aliases (or of one), oldest first."""
    client = _client(client)
    model = client.store.registry.get_model(client.project_id, name)
    return client.store.registry.alias_history(model.id, alias)
