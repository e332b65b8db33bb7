"""Evaluation and model cards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard as sy
from shipyard.errors import InvalidInput


def test_classification_metrics_slices_and_plots(sqlite_home: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    frame["size"] = np.where(frame["mean radius"] > 14, "large", "small")
    X = frame.drop(columns=["target", "size"])
    with sy.start_run("m"):
        info = sy.models.log(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, frame.target),
            input_example=X.head(),
        )
    version = sy.registry.register(info, "bc")
    holdout = sy.data.log_dataset("holdout", frame)
    result = sy.models.evaluate(version.uri, holdout, target="target", slices=["size"])
    assert result.task == "classification"
    assert set(result.metrics) >= {
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
        "brier",
        "calibration_error",
        "positive_rate",
    }
    assert 0.95 < result.metrics["roc_auc"] <= 1.0
    assert np.array(result.confusion_matrix).sum() == len(frame)
    assert set(result.slices["size"]) == {"large", "small"}
    assert sum(v["count"] for v in result.slices["size"].values()) == len(frame)
    assert set(result.plots) == {"confusion_matrix.png", "roc_curve.png", "pr_curve.png"}
    assert sy.client().blobs.read_bytes(result.plots["roc_curve.png"])[:4] == b"\x89PNG"
    stored = sy.client().store.registry.evaluations(version.id)
    assert len(stored) == 1
    assert stored[0].dataset_version_id == holdout.id
    card = sy.registry.model_card("bc", 1)
    assert "## Evaluation by size" in card
    assert "datasets:/holdout/1" in card
    html = sy.registry.model_card("bc", 1, format="html")
    assert html.startswith("<!doctype html>")
    assert "<script" not in html


def test_regression_metrics(sqlite_home: Path) -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(X, y)
    predictor = sy.models.Predictor(model, {"flavor": "sklearn", "flavor_options": {}})
    result = sy.models.evaluate(predictor, X.assign(y=y), target="y")
    assert result.task == "regression"
    assert set(result.metrics) == {"mae", "rmse", "r2", "mape"}
    assert result.metrics["r2"] == pytest.approx(model.score(X, y))


def test_bad_evaluation_input(sqlite_home: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    predictor = sy.models.Predictor(
        LogisticRegression().fit(frame[["x"]], frame.y), {"flavor": "sklearn", "flavor_options": {}}
    )
    with pytest.raises(InvalidInput, match="no target column 'label'"):
        sy.models.evaluate(predictor, frame, target="label")
    with pytest.raises(InvalidInput, match=r"no slice column\(s\) \['country'\]"):
        sy.models.evaluate(predictor, frame, target="y", slices=["country"])
    with pytest.raises(InvalidInput, match="task must be"):
        sy.models.evaluate(predictor, frame, target="y", task="ranking")
