"""Deployments: which versions of a model answer its traffic, and in what shares.

A deployment is stored under a name (by default its model's), with every change:

    primary      the alias whose holder answers (default "champion")
    candidate    a version that takes a share of the traffic (canary) or a copy of
                 all of it (shadow: answered and logged, never returned)
    sticky_key   an input column or request header; the same key always reaches
                 the same version

A running server (``shipyard serve``) watches its deployment and the primary
alias and applies every change without a restart. ``promote`` moves the
primary alias to the candidate through the model's gates; ``rollback`` takes
the candidate out, or, with none, moves the alias back.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, replace
from typing import Any

from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.store.entities import Deployment, DeploymentEvent
from shipyard.tracking import TrackingClient
from shipyard.tracking import client as default_client
from shipyard.tracking.environment import current_user

__all__ = [
    "DeploymentSpec",
    "deploy",
    "deployment_history",
    "get_deployment",
    "list_deployments",
    "parse_share",
    "promote",
    "rollback",
    "route_share",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
MODES = ("canary", "shadow")


@dataclass(frozen=True)
class DeploymentSpec:
    """The traffic of a deployment, as stored (JSON) with each revision."""

    primary: str = "champion"
    candidate: int | None = None
    mode: str | None = None  # "canary" or "shadow" when there is a candidate
    weight: float = 0.0  # the canary's share of requests, 0..1
    sticky_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "primary": self.primary,
            "candidate": self.candidate,
            "mode": self.mode,
            "weight": self.weight,
            "sticky_key": self.sticky_key,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> DeploymentSpec:
        return cls(
            primary=body.get("primary", "champion"),
            candidate=body.get("candidate"),
            mode=body.get("mode"),
            weight=float(body.get("weight", 0.0)),
            sticky_key=body.get("sticky_key"),
        )

    def describe(self) -> str:
        text = f"@{self.primary}"
        if self.candidate is not None and self.mode == "canary":
            text += f" with version {self.candidate} on {self.weight:.0%} canary"
        elif self.candidate is not None:
            text += f" with version {self.candidate} in shadow"
        if self.sticky_key:
            text += f", sticky by {self.sticky_key}"
        return text


def check_deployment_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"Deployment name {name!r} is not valid: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (it names a folder of the prediction log)."
        )
    return name


def parse_share(value: Any) -> float:
    """A traffic share from "10%", "0.1" or 10 (percent when over 1); between 0 and 1."""
    text = str(value).strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise InvalidInput(
            f"Traffic share {value!r} is not a number; write it as 10% or 0.1."
        ) from None
    if not text.endswith("%") and share > 1:
        share /= 100
    if not 0 < share <= 1:
        raise InvalidInput(f"Traffic share {value!r} must be above 0% and at most 100%.")
    return share


def route_share(key: str) -> float:
    """Where a sticky key falls in [0, 1): the same key, the same place, in every worker."""
    return zlib.crc32(key.encode()) / 2**32


def _client(client: TrackingClient | None) -> TrackingClient:
    return client or default_client()


def get_deployment(name: str, *, client: TrackingClient | None = None) -> Deployment:
    client = _client(client)
    return client.store.deployments.get(client.project_id, check_deployment_name(name))


def list_deployments(*, client: TrackingClient | None = None) -> list[Deployment]:
    client = _client(client)
    return client.store.deployments.list(client.project_id)


def deployment_history(name: str, *, client: TrackingClient | None = None) -> list[DeploymentEvent]:
    deployment = get_deployment(name, client=client)
    return _client(client).store.deployments.history(deployment.id)


def _current(client: TrackingClient, name: str) -> tuple[Deployment | None, DeploymentSpec | None]:
    try:
        deployment = client.store.deployments.get(client.project_id, name)
    except NotFound:
        return None, None
    return deployment, DeploymentSpec.from_json(deployment.spec)


def deploy(
    name: str,
    version: int | None = None,
    *,
    model: str | None = None,
    canary: Any = None,
    shadow: bool = False,
    primary: str | None = None,
    sticky_key: str | None = None,
    reason: str = "",
    client: TrackingClient | None = None,
) -> Deployment:
    """Create or change deployment ``name``.

    ``deploy("churn")`` serves ``models:/churn@champion``;
    ``deploy("churn", 4, canary="10%")`` sends 10% of requests to version 4;
    ``deploy("churn", 4, shadow=True)`` sends it a copy of every request.
    """
    from shipyard.registry import check_alias

    client = _client(client)
    check_deployment_name(name)
    current, spec = _current(client, name)
    model_name = model or (current.model_name if current else name)
    registry = client.store.registry
    registered = registry.get_model(client.project_id, model_name)
    spec = spec or DeploymentSpec()
    if current is not None and model and model != current.model_name:
        raise Conflict(
            f"Deployment {name!r} serves model {current.model_name!r}, not {model!r}; "
            "pick another deployment name."
        )
    if primary is not None:
        spec = replace(spec, primary=check_alias(primary))
    if sticky_key is not None:
        spec = replace(spec, sticky_key=sticky_key or None)
    if canary is not None and shadow:
        raise InvalidInput("Choose --canary or --shadow for a candidate, not both.")
    action = "update" if current else "create"
    if version is not None:
        if canary is None and not shadow:
            raise InvalidInput(
                f"Say how version {version} should take traffic: --canary 10% or --shadow. "
                f"To send it all traffic, promote it: shipyard deploy promote {name}"
            )
        registry.get_version(registered.id, int(version))  # NotFound names the version
        holder = registered.aliases.get(spec.primary)
        if holder == int(version):
            raise InvalidInput(
                f"Version {version} already holds @{spec.primary}, so it cannot be its own candidate."
            )
        mode = "shadow" if shadow else "canary"
        weight = 0.0 if shadow else parse_share(canary)
        spec = replace(spec, candidate=int(version), mode=mode, weight=weight)
        action = mode
    elif canary is not None:
        if spec.candidate is None or spec.mode != "canary":
            raise InvalidInput(f"Deployment {name!r} has no canary to reweigh; pass --version too.")
        spec = replace(spec, weight=parse_share(canary))
        action = "canary"
    elif shadow:
        raise InvalidInput("--shadow needs --version naming the candidate.")
    return client.store.deployments.save(
        client.project_id,
        name,
        registered.id,
        spec.to_json(),
        action=action,
        expected_revision=current.revision if current else 0,
        user=current_user(),
        reason=reason,
    )


def promote(
    name: str,
    *,
    data: Any = None,
    target: str | None = None,
    force: bool = False,
    reason: str = "",
    allow_pickle: bool = False,
    client: TrackingClient | None = None,
) -> Any:
    """Move the primary alias to the candidate through the model's gates, then drop the candidate.

    Returns the registry's Promotion; GateFailed (nothing changed) if a gate fails.
    """
    from shipyard import registry

    client = _client(client)
    deployment, spec = _current(client, check_deployment_name(name))
    if deployment is None or spec is None:
        raise NotFound(f"There is no deployment {name!r}. Create one with: shipyard deploy {name}")
    if spec.candidate is None:
        raise InvalidInput(f"Deployment {name!r} has no candidate to promote.")
    promotion = registry.promote(
        deployment.model_name,
        spec.candidate,
        spec.primary,
        data=data,
        target=target,
        force=force,
        reason=reason,
        allow_pickle=allow_pickle,
        client=client,
    )
    client.store.deployments.save(
        client.project_id,
        name,
        deployment.model_id,
        replace(spec, candidate=None, mode=None, weight=0.0).to_json(),
        action="promote",
        expected_revision=deployment.revision,
        user=current_user(),
        reason=reason or f"version {spec.candidate} took @{spec.primary}",
    )
    return promotion


def rollback(name: str, *, reason: str = "", client: TrackingClient | None = None) -> Deployment:
    """Take the candidate out; with no candidate, move the primary alias back one step."""
    from shipyard import registry

    client = _client(client)
    deployment, spec = _current(client, check_deployment_name(name))
    if deployment is None or spec is None:
        raise NotFound(f"There is no deployment {name!r}.")
    if spec.candidate is not None:
        new_spec, why = (
            replace(spec, candidate=None, mode=None, weight=0.0),
            f"candidate {spec.candidate} taken out",
        )
    else:
        event = registry.rollback(deployment.model_name, spec.primary, reason=reason, client=client)
        new_spec, why = (
            spec,
            f"@{spec.primary} back from {event.from_version} to {event.to_version}",
        )
    return client.store.deployments.save(
        client.project_id,
        name,
        deployment.model_id,
        new_spec.to_json(),
        action="rollback",
        expected_revision=deployment.revision,
        user=current_user(),
        reason=reason or why,
    )
