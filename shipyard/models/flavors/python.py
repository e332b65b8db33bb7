"""A plain Python object with ``predict`` (custom logic, pre- and post-processing), pickled.

Loading a pickle runs code from the file, so such a model loads only with
``allow_pickle=True``. The object's class must be importable where it loads.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidInput, PermissionDenied

NAME = "python"


def matches(model: Any) -> bool:
    return callable(getattr(model, "predict", None))


def save(model: Any, folder: Path) -> dict[str, Any]:
    try:
        with open(folder / "model.pkl", "wb") as fh:
            pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidInput(
            f"Cannot save the {type(model).__name__} object: {exc}. Define its class at the top "
            "level of an importable module."
        ) from exc
    return {
        "file": "model.pkl",
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "predict_proba": callable(getattr(model, "predict_proba", None)),
    }


def uses_pickle(options: dict[str, Any]) -> bool:
    return True


def requirements(options: dict[str, Any]) -> list[str]:
    return ["numpy", "pandas"]


def load(folder: Path, options: dict[str, Any], allow_pickle: bool) -> Any:
    if not allow_pickle:
        raise PermissionDenied(
            f"This model is a pickled Python object ({options.get('class')}): loading it runs code "
            "from the file. Load it with allow_pickle=True only if you trust where it came from."
        )
    try:
        with open(folder / options["file"], "rb") as fh:
            return pickle.load(fh)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise InvalidInput(
            f"The model's class {options.get('class')!r} cannot be imported here: {exc}. "
            "Install the package that defines it."
        ) from exc
