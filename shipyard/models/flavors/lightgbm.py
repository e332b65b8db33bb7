"""LightGBM models in LightGBM's own text format.

A scikit-learn wrapper (LGBMClassifier, LGBMRegressor) is saved as its booster
plus its classes, and loads as a predictor with ``predict`` (and
``predict_proba`` for classifiers) that answers like the wrapper did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import MissingDependency

NAME = "lightgbm"


def _lgb() -> Any:
    try:
        import lightgbm
    except ImportError:
        raise MissingDependency.for_extra("lightgbm", "lightgbm", "The LightGBM flavor") from None
    return lightgbm


def matches(model: Any) -> bool:
    return type(model).__module__.split(".")[0] == "lightgbm"


def save(model: Any, folder: Path) -> dict[str, Any]:
    booster = model.booster_ if hasattr(model, "booster_") else model
    booster.save_model(str(folder / "model.txt"))
    classes = getattr(model, "classes_", None)
    return {
        "file": "model.txt",
        "class": type(model).__name__,
        "classes": None if classes is None else np.asarray(classes).tolist(),
        "predict_proba": classes is not None,
    }


def uses_pickle(options: dict[str, Any]) -> bool:
    return False


def requirements(options: dict[str, Any]) -> list[str]:
    return ["lightgbm", "numpy", "pandas", "scikit-learn"]


def load(folder: Path, options: dict[str, Any], allow_pickle: bool) -> Any:
    booster = _lgb().Booster(model_file=str(folder / options["file"]))
    return _LightGBMPredictor(booster, options.get("classes"))


class _LightGBMPredictor:
    def __init__(self, booster: Any, classes: list[Any] | None) -> None:
        self.booster = booster
        self.classes = None if classes is None else np.asarray(classes)

    def predict_proba(self, data: Any) -> np.ndarray:
        raw = np.asarray(self.booster.predict(data))
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, data: Any) -> np.ndarray:
        if self.classes is None:
            return np.asarray(self.booster.predict(data))
        return self.classes[np.argmax(self.predict_proba(data), axis=1)]
