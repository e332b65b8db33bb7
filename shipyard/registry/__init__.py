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
from dataclasses import dataclass
from typing import Any

from shipyard.errors import Conflict, GateFailed, InvalidInput
from shipyard.registry.card import model_card
from shipyard.registry.gates import GateContext, GateResult, parse_gates, register_gate, run_gates
from shipyard.store.base import NewModelVersion
from shipyard.store.entities import AliasEvent, GateResultRecord, ModelVersion, RegisteredModel
from shipyard.store.ids import new_id, now_ms
from shipyard.tracking import TrackingClient
from shipyard.tracking import client as default_client
from shipyard.tracking.environment import current_user

__all__ = [
    "Promotion",
    "alias_history",
    "delete_alias",
    "get_model",
    "get_version",
    "list_versions",
    "model_card",
    "promote",
    "register",
    "register_gate",
    "rollback",
    "search_models",
    "set_alias",
    "set_gates",
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
    """Register a logged model as the next version of ``name``.

    ``model`` is a ``ModelInfo`` from ``sy.models.log``, a ``runs:/<run_id>/<path>`` URI,
    or a run (its package at ``model``).
    """
    from shipyard.models.package import MANIFEST
    from shipyard.models.uris import parse_model_uri, resolve

    client = _client(client)
    if hasattr(model, "id") and hasattr(model, "experiment_id"):  # a run: its default package
        model = f"runs:/{model.id}/model"
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


def set_gates(name: str, gates: Any, *, client: TrackingClient | None = None) -> None:
    """Declare the gates of a model (YAML path or text, a mapping or list; None clears them).

    The declaration is checked first: an unknown gate or metric, or a malformed
    threshold, is refused naming it.
    """
    import yaml

    from shipyard.data._yaml import read_document

    client = _client(client)
    model = client.store.registry.get_or_create_model(client.project_id, name)
    text = None
    if gates is not None:
        parse_gates(gates)
        raw, _ = read_document(gates, "gate file")
        text = yaml.safe_dump(raw if isinstance(raw, dict) else {"gates": raw}, sort_keys=False)
    client.store.registry.set_gates(model.id, text)


@dataclass
class Promotion:
    """What a promotion did: the gates' results and the alias move."""

    version: ModelVersion
    alias: str
    results: list[GateResult]
    event: AliasEvent
    forced: bool

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def promote(
    name: str,
    version: int,
    alias: str = "champion",
    *,
    data: Any = None,
    target: str | None = None,
    task: str | None = None,
    gates: Any = None,
    force: bool = False,
    reason: str = "",
    allow_pickle: bool = False,
    client: TrackingClient | None = None,
) -> Promotion:
    """Run the model's gates on ``version`` and move ``alias`` to it only if all pass.

    Gates that need metrics evaluate the candidate (and the alias's current
    holder, for beat_champion) on ``data`` with labels in ``target``; without
    data they use the latest stored evaluations. Every result is stored with
    its measured value and bound. If a gate fails, GateFailed lists each
    failure; ``force=True`` moves the alias anyway, needs a ``reason``, and is
    recorded as forced. The move is compare-and-set against the holder seen at
    the start, so a concurrent move makes this one fail with Conflict.
    """
    from shipyard.models import load
    from shipyard.models.evaluation import Evaluation, evaluate
    from shipyard.registry.gates import needs_evaluation, slice_columns

    client = _client(client)
    registry = client.store.registry
    check_alias(alias)
    if force and not reason.strip():
        raise InvalidInput("A forced promotion needs a reason; pass reason='...' (it is recorded).")
    model = registry.get_model(client.project_id, name)
    candidate = registry.get_version(model.id, int(version))
    declared = parse_gates(gates if gates is not None else model.gates)
    holder_number = model.aliases.get(alias)
    holder = registry.get_version(model.id, holder_number) if holder_number is not None else None
    predictor = load(candidate.uri, allow_pickle=allow_pickle, client=client)
    holder_predictor = (
        load(holder.uri, allow_pickle=allow_pickle, client=client) if holder else None
    )
    evaluation = holder_evaluation = None
    if needs_evaluation(declared):
        if data is not None:
            if target is None:
                raise InvalidInput("promote(data=...) needs target= naming the label column.")
            slices = slice_columns(declared)
            evaluation = evaluate(
                predictor, data, target=target, task=task, slices=slices, client=client
            )
            _store_evaluation(client, candidate, evaluation)
            if holder_predictor is not None and any(g.kind == "beat_champion" for g in declared):
                holder_evaluation = evaluate(
                    holder_predictor, data, target=target, task=task, slices=slices, client=client
                )
                _store_evaluation(client, holder, holder_evaluation)
        else:
            stored = registry.evaluations(candidate.id)
            evaluation = Evaluation.from_json(stored[0].body) if stored else None
            if holder is not None and evaluation is not None:
                same = [
                    r
                    for r in registry.evaluations(holder.id)
                    if r.dataset_version_id == evaluation.dataset_version_id
                ]
                holder_evaluation = Evaluation.from_json(same[0].body) if same else None
    context = GateContext(
        candidate, predictor, evaluation, holder, holder_predictor, holder_evaluation, alias
    )
    results = run_gates(declared, context)
    promotion_id, now = new_id(), now_ms()
    registry.add_gate_results(
        [
            GateResultRecord(
                new_id(),
                candidate.id,
                promotion_id,
                alias,
                r.gate,
                r.passed,
                r.measured,
                r.bound,
                r.detail,
                now,
            )
            for r in results
        ]
    )
    failed = [r for r in results if not r.passed]
    if failed and not force:
        lines = [
            f"  {r.gate}: measured {r.measured}, needed {r.bound}"
            + (f" ({r.detail})" if r.detail else "")
            for r in failed
        ]
        raise GateFailed(
            f"Version {candidate.version} of {name!r} did not pass {len(failed)} of {len(results)} gate(s) "
            f"for alias {alias!r}; {alias} stays at "
            f"{'v' + str(holder_number) if holder_number is not None else 'no version'}.\n"
            + "\n".join(lines),
            results=[r.__dict__ for r in results],
        )
    event = registry.move_alias(
        model.id,
        alias,
        candidate.version,
        expected=holder_number,
        user=current_user(),
        reason=reason or f"promoted through {len(results)} gate(s)",
        forced=bool(failed),
    )
    return Promotion(candidate, alias, results, event, bool(failed))


def _store_evaluation(client: TrackingClient, version: ModelVersion, evaluation: Any) -> None:
    from shipyard.store.entities import EvaluationRecord

    client.store.registry.add_evaluation(
        EvaluationRecord(
            new_id(),
            version.id,
            evaluation.dataset_version_id,
            evaluation.task,
            evaluation.to_json(),
            evaluation.created_ms,
        )
    )
