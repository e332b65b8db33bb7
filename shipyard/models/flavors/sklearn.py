"""scikit-learn estimators, saved with skops (no code runs on load) or, if asked, joblib."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.errors import InvalidInput, PermissionDenied

NAME = "sklearn"
#: types from these libraries may be rebuilt by skops without running foreign code
_SAFE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


def matches(model: Any) -> bool:
    return type(model).__module__.split(".")[0] == "sklearn" and hasattr(model, "predict")


def save(model: Any, folder: Path, serialization: str = "skops") -> dict[str, Any]:
    if serialization == "skops":
        import skops.io

        try:
            skops.io.dump(model, folder / "model.skops")
        except Exception as exc:  # skops cannot save every estimator
            raise InvalidInput(
                f"skops cannot save this {type(model).__name__}: {exc}. Pass serialization='joblib' "
                "to save it as a pickle (it will then load only with allow_pickle=True)."
            ) from exc
        file = "model.skops"
    elif serialization == "joblib":
        import joblib

        joblib.dump(model, folder / "model.joblib")
        file = "model.joblib"
    else:
        raise InvalidInput(f"serialization must be 'skops' or 'joblib'; got {serialization!r}.")
    return {
        "file": file,
        "serialization": serialization,
        "class": f"{type(model).__module__}.{type(model).__name__}",
        "predict_proba": hasattr(model, "predict_proba"),
    }


def uses_pickle(options: dict[str, Any]) -> bool:
    return options.get("serialization") == "joblib"


def requirements(options: dict[str, Any]) -> list[str]:
    extra = ["skops"] if options.get("serialization") == "skops" else ["joblib"]
    return ["scikit-learn", "numpy", "scipy", "pandas", *extra]


def load(folder: Path, options: dict[str, Any], allow_pickle: bool) -> Any:
    path = folder / options["file"]
    if options["serialization"] == "joblib":
        if not allow_pickle:
            raise PermissionDenied(
                "This model was saved with joblib (a pickle): loading it runs code from the file. "
                "Load it with allow_pickle=True only if you trust where it came from."
            )
        import joblib

        return joblib.load(path)
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    foreign = [t for t in untrusted if not t.startswith(_SAFE_PREFIXES)]
    if foreign and not allow_pickle:
        raise PermissionDenied(
            f"This model file asks to rebuild types outside scikit-learn, NumPy and SciPy: {foreign}. "
            "Load it with allow_pickle=True only if you trust where it came from."
        )
    return skops.io.load(path, trusted=untrusted)
