"""Shipyard: the whole machine-learning model lifecycle in one package.

    import shipyard as sy

    with sy.start_run(experiment="churn", params={"lr": 0.1}) as run:
        run.log_metric("loss", 0.3, step=1)

Names are imported on first use, so ``import shipyard`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shipyard._version import __version__

if TYPE_CHECKING:
    from shipyard import data, models, registry, serving
    from shipyard.errors import (
        AlreadyExists,
        Conflict,
        GateFailed,
        InvalidInput,
        NotFound,
        PermissionDenied,
        ShipyardError,
        StoreError,
        ValidationFailed,
    )
    from shipyard.store.entities import Run, RunStatus
    from shipyard.tracking import (
        ActiveRun,
        TrackingClient,
        active_run,
        autolog,
        client,
        configure,
        get_metric_history,
        get_run,
        list_experiments,
        search_runs,
        seed_everything,
        start_run,
    )

_SUBMODULES = {"data", "models", "monitoring", "registry", "serving"}

_LAZY = {
    # tracking
    "start_run": "shipyard.tracking",
    "active_run": "shipyard.tracking",
    "get_run": "shipyard.tracking",
    "get_metric_history": "shipyard.tracking",
    "search_runs": "shipyard.tracking",
    "list_experiments": "shipyard.tracking",
    "autolog": "shipyard.tracking",
    "seed_everything": "shipyard.tracking",
    "configure": "shipyard.tracking",
    "client": "shipyard.tracking",
    "ActiveRun": "shipyard.tracking",
    "TrackingClient": "shipyard.tracking",
    "Run": "shipyard.store.entities",
    "RunStatus": "shipyard.store.entities",
    # errors
    "ShipyardError": "shipyard.errors",
    "InvalidInput": "shipyard.errors",
    "ValidationFailed": "shipyard.errors",
    "NotFound": "shipyard.errors",
    "AlreadyExists": "shipyard.errors",
    "Conflict": "shipyard.errors",
    "GateFailed": "shipyard.errors",
    "PermissionDenied": "shipyard.errors",
    "StoreError": "shipyard.errors",
}

__all__ = ["__version__", *sorted(_LAZY), *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(f"shipyard.{name}")
        globals()[name] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
