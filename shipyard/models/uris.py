"""Model URIs and turning them into verified local folders.

    runs:/<run_id>/<path>       a package logged in a run
    models:/<name>/<version>    a registered version
    models:/<name>@<alias>      whatever version the alias points at now

Files are copied from the artifact store into a cache folder named by the
manifest digest, each checked against the digest the store recorded for it;
a registered version also pins its manifest digest, so a package replaced
after registration is refused.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.artifacts.base import file_digest
from shipyard.errors import InvalidInput, NotFound
from shipyard.models.package import MANIFEST
from shipyard.store.entities import ModelVersion

__all__ = ["ResolvedModel", "materialize", "parse_model_uri", "resolve"]

_RUNS = re.compile(r"^runs:/([0-9a-f]{32})/(.+)$")
_MODELS = re.compile(r"^models:/([^/@]+)(?:/(\d+)|@([A-Za-z0-9_-]+))$")


@dataclass(frozen=True)
class ResolvedModel:
    uri: str
    run_id: str
    path: str
    manifest_digest: str
    version: ModelVersion | None = None


def parse_model_uri(uri: str) -> tuple[str, Any]:
    """("runs", (run_id, path)) or ("models", (name, version | None, alias | None))."""
    if not isinstance(uri, str):
        raise InvalidInput(f"A model URI is text; got {type(uri).__name__}.")
    if m := _RUNS.match(uri):
        return "runs", (m.group(1), m.group(2).strip("/"))
    if m := _MODELS.match(uri):
        return "models", (m.group(1), int(m.group(2)) if m.group(2) else None, m.group(3))
    raise InvalidInput(
        f"{uri!r} is not a model URI. Use runs:/<run_id>/<path>, models:/<name>/<version> "
        "or models:/<name>@<alias>."
    )


def resolve(uri: str, client: Any) -> ResolvedModel:
    kind, parts = parse_model_uri(uri)
    if kind == "runs":
        run_id, path = parts
        try:
            record = client.store.artifacts.get(run_id, f"{path}/{MANIFEST}")
        except NotFound:
            raise NotFound(
                f"{uri} holds no model: run {run_id} has no {path}/{MANIFEST}."
            ) from None
        return ResolvedModel(uri, run_id, path, record.digest)
    name, number, alias = parts
    registry = client.store.registry
    model = registry.get_model(client.project_id, name)
    if alias is not None:
        if alias == "latest":
            versions = registry.list_versions(model.id)
            if not versions:
                raise NotFound(f"Model {name!r} has no versions yet.")
            number = versions[-1].version
        elif alias not in model.aliases:
            known = ", ".join(sorted(model.aliases)) or "none"
            raise NotFound(f"Model {name!r} has no alias {alias!r} (its aliases: {known}).")
        else:
            number = model.aliases[alias]
    version = registry.get_version(model.id, number)
    _, (run_id, path) = parse_model_uri(version.source)
    return ResolvedModel(uri, run_id, path, version.manifest_digest, version)


def materialize(resolved: ResolvedModel, client: Any) -> Path:
    """A local folder with the package's files, each checked against its stored digest."""
    records = client.store.artifacts.list(resolved.run_id, resolved.path)
    manifest = next((r for r in records if r.path == f"{resolved.path}/{MANIFEST}"), None)
    if manifest is None or manifest.digest != resolved.manifest_digest:
        raise InvalidInput(
            f"{resolved.uri}: the package at runs:/{resolved.run_id}/{resolved.path} is not the one that "
            "was registered (its manifest changed). Refusing to load it."
        )
    cache = Path(client.settings.home) / "cache" / "models" / resolved.manifest_digest
    ready = cache / ".complete"
    if not ready.exists():
        partial = cache.with_name(cache.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        for record in records:
            target = partial / record.path[len(resolved.path) :].lstrip("/")
            client.blobs.download(record.digest, target)
            if file_digest(target).digest != record.digest:
                shutil.rmtree(partial, ignore_errors=True)
                raise InvalidInput(
                    f"{resolved.uri}: the stored file {record.path} does not match its digest: it was "
                    "tampered with or truncated. Refusing to load it."
                )
        (partial / ".complete").write_text(json.dumps({"uri": resolved.uri}))
        shutil.rmtree(cache, ignore_errors=True)
        partial.rename(cache)
    return cache
