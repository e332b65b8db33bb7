"""Automatic logging for scikit-learn.

``sy.autolog()`` wraps ``fit`` of every scikit-learn estimator. Each top-level
fit (not the fits an estimator makes inside itself) logs the estimator's
params, its fit time, metrics on the training data, and the fitted model
(saved with skops) into the active run, or into a new run when none is active.
A second fit within the same active run goes into a child run, so params never
collide.
"""

from __future__ import annotations

import functools
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["autolog"]

_state = threading.local()
_patched: dict[type, Any] = {}
_used_runs: set[str] = set()
_options: dict[str, Any] = {}


def autolog(
    *, disable: bool = False, log_models: bool = True, experiment: str | None = None
) -> None:
    """Turn scikit-learn autologging on (or off with ``disable=True``)."""
    if disable:
        for cls, fit in _patched.items():
            cls.fit = fit
        _patched.clear()
        return
    _options.update(log_models=log_models, experiment=experiment)
    if _patched:
        return
    from sklearn.utils import all_estimators

    for _name, estimator in all_estimators():
        # wrap ``fit`` where it is defined, including abstract bases such as BaseSearchCV
        for cls in estimator.__mro__:
            if (
                "fit" in cls.__dict__
                and cls.__module__.startswith("sklearn")
                and cls not in _patched
            ):
                original = cls.__dict__["fit"]
                _patched[cls] = original
                cls.fit = _wrap(original)


def _wrap(fit: Any) -> Any:
    @functools.wraps(fit)
    def fit_and_log(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "depth", 0) > 0:
            return fit(self, *args, **kwargs)
        _state.depth = 1
        try:
            started = time.perf_counter()
            result = fit(self, *args, **kwargs)
            elapsed = time.perf_counter() - started
            X = args[0] if args else kwargs.get("X")
            y = args[1] if len(args) > 1 else kwargs.get("y")
            _log_fit(self, X, y, elapsed)
            return result
        finally:
            _state.depth = 0

    return fit_and_log


def _log_fit(estimator: Any, X: Any, y: Any, fit_time: float) -> None:
    from shipyard.tracking import fluent

    parent = fluent.active_run()
    name = type(estimator).__name__
    if parent is not None and parent.id not in _used_runs:
        run, own = parent, False
    else:
        run = fluent.start_run(_options.get("experiment"), name=name, nested=parent is not None)
        own = True
    _used_runs.add(run.id)
    try:
        params = {k: _short(v) for k, v in estimator.get_params(deep=False).items()}
        run.log_params(params)
        run.set_tags(
            {"estimator_class": f"{type(estimator).__module__}.{name}", "autolog": "sklearn"}
        )
        metrics = {"fit_time_s": fit_time}
        if y is not None:
            metrics.update(_training_metrics(estimator, X, y))
        run.log_metrics(metrics)
        if _options.get("log_models", True):
            _log_model(run, estimator)
    finally:
        if own:
            run.end()


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 500 else text[:497] + "..."


def _training_metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    try:
        if is_classifier(estimator):
            pred = estimator.predict(X)
            out["training_accuracy"] = metrics.accuracy_score(y, pred)
            out["training_f1"] = metrics.f1_score(y, pred, average="weighted")
            out["training_precision"] = metrics.precision_score(
                y, pred, average="weighted", zero_division=0
            )
            out["training_recall"] = metrics.recall_score(y, pred, average="weighted")
            if hasattr(estimator, "predict_proba"):
                proba = estimator.predict_proba(X)
                out["training_log_loss"] = metrics.log_loss(y, proba, labels=estimator.classes_)
                if proba.shape[1] == 2:
                    out["training_roc_auc"] = metrics.roc_auc_score(y, proba[:, 1])
        elif is_regressor(estimator):
            pred = estimator.predict(X)
            out["training_mae"] = metrics.mean_absolute_error(y, pred)
            out["training_rmse"] = metrics.root_mean_squared_error(y, pred)
            out["training_r2"] = metrics.r2_score(y, pred)
        elif hasattr(estimator, "score"):
            out["training_score"] = float(estimator.score(X, y))
    except (ValueError, TypeError, AttributeError):
        pass  # an estimator that cannot score its own training data logs no training metrics
    return {k: float(v) for k, v in out.items()}


def _log_model(run: Any, estimator: Any) -> None:
    import skops.io

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.skops"
        try:
            skops.io.dump(estimator, path)
        except Exception as exc:  # skops cannot save every estimator
            run.set_tag("autolog_model_error", f"{type(exc).__name__}: {exc}"[:500])
            return
        run.log_artifact(path, "model")
