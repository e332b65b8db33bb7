"""Evaluating a model on a dataset: standard metrics, per slice, with plots.

Classification: accuracy, precision, recall, F1, ROC AUC, log loss, Brier score
and expected calibration error (binary), positive rate, and the confusion
matrix. Regression: MAE, RMSE, R², MAPE. Every metric is also computed per
value of each ``slices`` column (the 20 most frequent values). ROC and
precision-recall curves and the confusion matrix are drawn as PNGs when
matplotlib is installed. Evaluating a registered version (``models:/…``)
stores the result with that version; the gates of a promotion read it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from shipyard.errors import InvalidInput
from shipyard.store.ids import new_id, now_ms

__all__ = ["Evaluation", "evaluate"]

MAX_SLICE_VALUES = 20


@dataclass
class Evaluation:
    task: str
    metrics: dict[str, float]
    slices: dict[str, dict[str, dict[str, float]]] = field(
        default_factory=dict
    )  # column -> value -> metrics
    confusion_matrix: list[list[int]] | None = None
    labels: list[Any] | None = None
    plots: dict[str, str] = field(default_factory=dict)  # name -> blob digest of a PNG
    num_rows: int = 0
    model_uri: str = ""
    dataset: str | None = None  # datasets:/name/3 when evaluated on a stored version
    dataset_version_id: str | None = None
    created_ms: int = field(default_factory=now_ms)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_plain)

    @classmethod
    def from_json(cls, text: str) -> Evaluation:
        return cls(**json.loads(text))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def classification_metrics(
    y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, labels: list[Any]
) -> dict[str, float]:
    from sklearn import metrics

    binary = len(labels) == 2
    average = "binary" if binary else "weighted"
    positive = labels[-1] if binary else None
    kwargs = {"average": average, "zero_division": 0}
    if binary:
        kwargs["pos_label"] = positive
    out = {
        "accuracy": metrics.accuracy_score(y, pred),
        "precision": metrics.precision_score(y, pred, **kwargs),
        "recall": metrics.recall_score(y, pred, **kwargs),
        "f1": metrics.f1_score(y, pred, **kwargs),
    }
    if binary:
        out["positive_rate"] = float(np.mean(pred == positive))
    if proba is not None and len(np.unique(y)) > 1:
        try:
            if binary:
                scores = proba[:, 1]
                out["roc_auc"] = metrics.roc_auc_score(y == positive, scores)
                out["brier"] = metrics.brier_score_loss(y == positive, scores)
                out["calibration_error"] = _expected_calibration_error(
                    (y == positive).astype(float), scores
                )
            else:
                out["roc_auc"] = metrics.roc_auc_score(
                    y, proba, multi_class="ovr", average="weighted", labels=labels
                )
            out["log_loss"] = metrics.log_loss(y, proba, labels=labels)
        except ValueError:
            pass  # a slice with one class has no AUC
    return {k: float(v) for k, v in out.items()}


def _expected_calibration_error(truth: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(truth[mask].mean() - scores[mask].mean())
    return float(error)


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn import metrics

    out = {
        "mae": metrics.mean_absolute_error(y, pred),
        "rmse": float(np.sqrt(metrics.mean_squared_error(y, pred))),
        "r2": metrics.r2_score(y, pred) if len(y) > 1 else float("nan"),
    }
    if np.all(y != 0):
        out["mape"] = metrics.mean_absolute_percentage_error(y, pred)
    return {k: float(v) for k, v in out.items()}


def _plots(
    client: Any, y: np.ndarray, proba: np.ndarray | None, matrix: np.ndarray, labels: list[Any]
) -> dict[str, str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    from sklearn import metrics

    drawn: dict[str, Any] = {}
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), [str(v) for v in labels])
    ax.set_yticks(range(len(labels)), [str(v) for v in labels])
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center")
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    drawn["confusion_matrix.png"] = fig
    if proba is not None and len(labels) == 2:
        truth = y == labels[-1]
        fpr, tpr, _ = metrics.roc_curve(truth, proba[:, 1])
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.plot(fpr, tpr)
        ax.plot([0, 1], [0, 1], linestyle=":")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        drawn["roc_curve.png"] = fig
        precision, recall, _ = metrics.precision_recall_curve(truth, proba[:, 1])
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.plot(recall, precision)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        drawn["pr_curve.png"] = fig
    digests = {}
    for name, fig in drawn.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        digests[name] = client.blobs.put_bytes(buffer.getvalue()).digest
    return digests


def evaluate(
    model: Any,
    data: Any,
    *,
    target: str,
    task: str | None = None,
    slices: Sequence[str] = (),
    allow_pickle: bool = False,
    client: Any = None,
) -> Evaluation:
    """Evaluate ``model`` (a URI or a loaded Predictor) on ``data`` with labels in ``target``.

    ``data`` is a dataset handle, a DataFrame, or anything ``sy.data.log_dataset``
    reads. ``task`` is "classification" or "regression" (guessed from the target
    if not given). Evaluating ``models:/…`` stores the result with that version.
    """
    import pandas as pd

    from shipyard.data.versions import DatasetHandle
    from shipyard.models import load
    from shipyard.models.package import Predictor
    from shipyard.tracking import client as default_client

    client = client or default_client()
    predictor = (
        model
        if isinstance(model, Predictor)
        else load(model, allow_pickle=allow_pickle, client=client)
    )
    dataset = data.uri if isinstance(data, DatasetHandle) else None
    dataset_version_id = data.id if isinstance(data, DatasetHandle) else None
    if isinstance(data, DatasetHandle):
        frame = data.to_pandas()
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        from shipyard.data._sources import to_table

        frame = to_table(data).to_pandas()
    if target not in frame.columns:
        raise InvalidInput(
            f"The data has no target column {target!r}; its columns are {list(frame.columns)}."
        )
    missing = [s for s in slices if s not in frame.columns]
    if missing:
        raise InvalidInput(f"The data has no slice column(s) {missing}.")
    y = frame[target].to_numpy()
    features = (
        frame[predictor.signature.columns]
        if predictor.signature and predictor.signature.columns
        else frame.drop(columns=[target])
    )
    if task is None:
        task = (
            "classification"
            if (y.dtype.kind in "biuO" and len(np.unique(y)) <= 20)
            else "regression"
        )
    if task not in ("classification", "regression"):
        raise InvalidInput(f"task must be 'classification' or 'regression'; got {task!r}.")
    pred = predictor.predict(features)
    result = Evaluation(
        task=task,
        metrics={},
        num_rows=len(frame),
        model_uri=predictor.uri,
        dataset=dataset,
        dataset_version_id=dataset_version_id,
    )
    if task == "classification":
        has_proba = predictor.manifest.get("flavor_options", {}).get("predict_proba")
        proba = predictor.predict_proba(features) if has_proba else None
        labels = sorted(set(np.unique(y).tolist()) | set(np.unique(pred).tolist()))
        result.labels = labels
        result.metrics = classification_metrics(y, pred, proba, labels)
        from sklearn.metrics import confusion_matrix

        matrix = confusion_matrix(y, pred, labels=labels)
        result.confusion_matrix = matrix.tolist()
        result.plots = _plots(client, y, proba, matrix, labels)

        def metrics_of(mask: np.ndarray) -> dict[str, float]:
            return classification_metrics(
                y[mask], pred[mask], None if proba is None else proba[mask], labels
            )
    else:
        result.metrics = regression_metrics(y.astype(float), pred.astype(float))

        def metrics_of(mask: np.ndarray) -> dict[str, float]:
            return regression_metrics(y[mask].astype(float), pred[mask].astype(float))

    for column in slices:
        values = frame[column]
        result.slices[column] = {}
        for value in values.value_counts().index[:MAX_SLICE_VALUES]:
            mask = (values == value).to_numpy()
            result.slices[column][str(value)] = {**metrics_of(mask), "count": float(mask.sum())}
    if predictor.uri.startswith("models:/"):
        from shipyard.models.uris import resolve
        from shipyard.store.entities import EvaluationRecord

        version = resolve(predictor.uri, client).version
        assert version is not None
        client.store.registry.add_evaluation(
            EvaluationRecord(
                new_id(), version.id, dataset_version_id, task, result.to_json(), result.created_ms
            )
        )
    return result
