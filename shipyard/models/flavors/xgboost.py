"""XGBoost models (the scikit-learn wrappers or a Booster) in XGBoost's own JSON format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.errors import MissingDependency

NAME = "xgboost"


def _xgb() -> Any:
    try:
        import xgboost
    except ImportError:
        raise MissingDependency.for_extra("xgboost", "xgboost", "The XGBoost flavor") from None
    return xgboost


def matches(model: Any) -> bool:
    return type(model).__module__.split(".")[0] == "xgboost"


def save(model: Any, folder: Path) -> dict[str, Any]:
    model.save_model(folder / "model.json")
    return {
        "file": "model.json",
        "class": type(model).__name__,
        "predict_proba": hasattr(model, "predict_proba"),
    }


def uses_pickle(options: dict[str, Any]) -> bool:
    return False


def requirements(options: dict[str, Any]) -> list[str]:
    return ["xgboost", "numpy", "pandas", "scikit-learn"]


def load(folder: Path, options: dict[str, Any], allow_pickle: bool) -> Any:
    xgboost = _xgb()
    cls = getattr(xgboost, options["class"])
    model = cls()
    model.load_model(folder / options["file"])
    if options["class"] == "Booster":
        return _BoosterPredictor(model, xgboost)
    return model


class _BoosterPredictor:
    """A bare Booster with the predict(data) face every flavor has."""

    def __init__(self, booster: Any, xgboost: Any) -> None:
        self.booster = booster
        self.xgboost = xgboost

    def predict(self, data: Any) -> Any:
        return self.booster.predict(self.xgboost.DMatrix(data))
