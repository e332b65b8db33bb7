"""Flavors: how each kind of model is saved to a folder and loaded back.

A flavor module has ``NAME``, ``matches(model)``, ``save(model, folder, **options)``
(returns the options to record), ``load(folder, options, allow_pickle)``,
``requirements(options)`` (package names to pin) and ``uses_pickle(options)``.
Modules are imported only when used; a flavor whose library is missing says
which extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from shipyard.errors import InvalidInput

#: flavor name -> module; order matters for detection (the plain Python class comes last)
FLAVORS = {
    "sklearn": "shipyard.models.flavors.sklearn",
    "xgboost": "shipyard.models.flavors.xgboost",
    "lightgbm": "shipyard.models.flavors.lightgbm",
    "onnx": "shipyard.models.flavors.onnx",
    "pytorch": "shipyard.models.flavors.pytorch",
    "python": "shipyard.models.flavors.python",
}


def get_flavor(name: str) -> ModuleType:
    module = FLAVORS.get(name)
    if module is None:
        raise InvalidInput(
            f"Unknown model flavor {name!r}; known flavors are {', '.join(FLAVORS)}."
        )
    return importlib.import_module(module)


def detect_flavor(model: Any) -> ModuleType:
    for name in FLAVORS:
        flavor = get_flavor(name)
        if flavor.matches(model):
            return flavor
    raise InvalidInput(
        f"Cannot tell how to save a {type(model).__module__}.{type(model).__name__}: give it a "
        "predict(data) method, or pass flavor= one of " + ", ".join(FLAVORS) + "."
    )
