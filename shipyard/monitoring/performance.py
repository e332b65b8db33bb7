"""Model performance once labels arrive, estimated before they do, and fairness across groups.

All three take a table of predictions: a window of a deployment's prediction log
(``sy.monitoring.window``, with labels joined from ``/feedback``) or any table
with ``prediction``, ``label``, ``ts_ms`` and, for classifiers,
``probabilities`` (a list per row, in the order of the model's classes).

- ``performance``: the model's metrics (the same as at registration:
  ``shipyard.models.evaluation``) over the labelled rows, per time window and
  per slice, beside a baseline (the registered version's stored evaluation).
- ``estimate_performance``: a classifier's expected accuracy, precision, recall
  and F1 from its confidence alone (confidence-based performance estimation):
  sound when the model is calibrated, and marked as an estimate.
- ``fairness``: per group of a sensitive column, the positive rate and the
  recall; demographic parity (difference and ratio of positive rates, the
  ratio being disparate impact) and equal opportunity (difference of recalls),
  each against a threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.errors import InvalidInput

__all__ = [
    "FairnessReport",
    "PerformanceReport",
    "WindowMetrics",
    "estimate_performance",
    "fairness",
    "performance",
    "registered_metrics",
]


@dataclass
class WindowMetrics:
    start_ms: int | None
    rows: int  # predictions in the window
    labelled: int  # of which have a label
    metrics: dict[str, float]
    slice: str | None = None  # "column=value" for a slice
    estimated: bool = False


@dataclass
class PerformanceReport:
    task: str
    windows: list[WindowMetrics]
    slices: list[WindowMetrics] = field(default_factory=list)
    baseline: dict[str, float] = field(default_factory=dict)

    def change(self, metric: str) -> list[float | None]:
        """Each window's ``metric`` minus the baseline's (None where either is missing)."""
        base = self.baseline.get(metric)
        return [
            (w.metrics[metric] - base) if base is not None and metric in w.metrics else None
            for w in self.windows
        ]


def _column(table: pa.Table, name: str, what: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise InvalidInput(
            f"The table has no {what} column {name!r}; its columns: {', '.join(table.column_names)}."
        )
    return table.column(name)


def _labelled(table: pa.Table, target: str) -> pa.Table:
    return table.filter(pc.is_valid(_column(table, target, "label")))


def _task(y: np.ndarray, task: str | None) -> str:
    if task is not None:
        if task not in ("classification", "regression"):
            raise InvalidInput(f"task must be 'classification' or 'regression'; got {task!r}.")
        return task
    if y.dtype.kind in "OUSb" or (y.dtype.kind in "iu" and len(np.unique(y)) <= 20):
        return "classification"
    return "regression"


def _probabilities(table: pa.Table, column: str) -> np.ndarray | None:
    if column not in table.column_names or table.num_rows == 0:
        return None
    values = table.column(column)
    if values.null_count:
        return None
    proba = np.asarray(values.to_pylist(), dtype=np.float64)
    if proba.ndim == 2:  # float32 runtimes sum to one only within 1e-7
        proba = proba / proba.sum(axis=1, keepdims=True)
    return proba


def _metrics(
    table: pa.Table, target: str, prediction: str, proba: str, task: str, labels: list[Any]
) -> dict[str, float]:
    from shipyard.models.evaluation import classification_metrics, regression_metrics

    y = np.asarray(table.column(target).to_pylist())
    predicted = np.asarray(_column(table, prediction, "prediction").to_pylist())
    if task == "regression":
        return regression_metrics(y.astype(np.float64), predicted.astype(np.float64))
    if y.dtype != predicted.dtype:  # labels sent as 1 for predictions of 1.0, or the reverse
        y = y.astype(predicted.dtype)
    return classification_metrics(y, predicted, _probabilities(table, proba), labels)


def performance(
    table: pa.Table,
    *,
    every_ms: int | None = None,
    slices: Sequence[str] = (),
    target: str = "label",
    prediction: str = "prediction",
    probabilities: str = "probabilities",
    task: str | None = None,
    baseline: Mapping[str, float] | None = None,
) -> PerformanceReport:
    """Metrics over the labelled rows: all together, or per ``every_ms`` window, and per slice."""
    if table.num_rows == 0:
        raise InvalidInput("The table has no rows; there is no performance to measure.")
    labelled = _labelled(table, target)
    if labelled.num_rows == 0:
        raise InvalidInput(
            "None of the predictions has a label yet; send labels with POST /feedback or "
            "sy.serving.log_labels, or use estimate_performance for an estimate."
        )
    y_all = np.asarray(labelled.column(target).to_pylist())
    chosen = _task(y_all, task)
    predicted_all = np.asarray(labelled.column(prediction).to_pylist())
    labels = (
        sorted(
            set(predicted_all.tolist()) | set(y_all.astype(predicted_all.dtype).tolist()), key=str
        )
        if chosen == "classification"
        else []
    )

    def measure(
        part: pa.Table, whole: pa.Table, start: int | None, name: str | None
    ) -> WindowMetrics:
        metrics = (
            _metrics(part, target, prediction, probabilities, chosen, labels)
            if part.num_rows
            else {}
        )
        return WindowMetrics(start, whole.num_rows, part.num_rows, metrics, name)

    windows = []
    if every_ms:
        times = _column(table, "ts_ms", "time").to_numpy()
        starts = (times // every_ms) * every_ms
        for start in np.unique(starts):
            whole = table.filter(pa.array(starts == start))
            windows.append(measure(_labelled(whole, target), whole, int(start), None))
    else:
        windows.append(measure(labelled, table, None, None))
    sliced = []
    for column in slices:
        values = _column(labelled, column, "slice")
        for value in pc.unique(values).to_pylist():
            part = labelled.filter(
                pc.equal(values, value) if value is not None else pc.is_null(values)
            )
            whole_values = table.column(column)
            whole = table.filter(
                pc.equal(whole_values, value) if value is not None else pc.is_null(whole_values)
            )
            sliced.append(measure(part, whole, None, f"{column}={value}"))
    return PerformanceReport(chosen, windows, sliced, dict(baseline or {}))


def estimate_performance(
    table: pa.Table,
    *,
    prediction: str = "prediction",
    probabilities: str = "probabilities",
    classes: Sequence[Any] | None = None,
) -> WindowMetrics:
    """A classifier's expected metrics from its probabilities alone (no labels), marked estimated.

    For each row the model's confidence in each class is read as the chance
    that the class is the truth; summing those chances gives the expected
    confusion matrix. Sound for a calibrated model (check its calibration_error
    at registration), and only as long as the relation between inputs and
    labels has not changed: drift of that kind shows only in real labels.
    """
    proba = _probabilities(table, probabilities)
    if proba is None or proba.ndim != 2:
        raise InvalidInput(
            f"Estimating performance needs the classifier's probabilities in column {probabilities!r}."
        )
    predicted = np.asarray(_column(table, prediction, "prediction").to_pylist())
    classes = list(classes) if classes is not None else sorted(set(predicted.tolist()), key=str)
    if len(classes) != proba.shape[1]:
        if proba.shape[1] == 2 and len(classes) < 2:
            classes = [0, 1]
        else:
            raise InvalidInput(
                f"The probabilities have {proba.shape[1]} classes but {len(classes)} were given or seen; "
                "pass classes= in the model's order."
            )
    index = np.array([classes.index(p) for p in predicted.tolist()])
    confidence = proba[np.arange(len(proba)), index]
    metrics = {"accuracy": float(confidence.mean())}
    if proba.shape[1] == 2:
        positive = proba[:, 1]
        says_positive = index == 1
        tp = float(positive[says_positive].sum())
        fp = float((1 - positive[says_positive]).sum())
        fn = float(positive[~says_positive].sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        metrics.update(
            precision=precision,
            recall=recall,
            f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            positive_rate=float(says_positive.mean()),
        )
    return WindowMetrics(None, table.num_rows, 0, metrics, None, estimated=True)


@dataclass
class FairnessReport:
    sensitive: str
    groups: dict[str, dict[str, float]]  # group -> rows, positive_rate, recall
    measures: dict[str, float]  # demographic_parity_difference, disparate_impact_ratio, ...
    thresholds: dict[str, float]
    violations: list[str]
    windows: list[tuple[int, FairnessReport]] = field(default_factory=list)  # with every_ms

    @property
    def fair(self) -> bool:
        return not self.violations


FAIRNESS_THRESHOLDS = {
    "demographic_parity_difference": 0.1,  # at most
    "disparate_impact_ratio": 0.8,  # at least (the four-fifths rule)
    "equal_opportunity_difference": 0.1,  # at most
}


def fairness(
    table: pa.Table,
    sensitive: str,
    *,
    positive: Any = 1,
    target: str = "label",
    prediction: str = "prediction",
    thresholds: Mapping[str, float] | None = None,
    min_rows: int = 30,
    every_ms: int | None = None,
) -> FairnessReport:
    """Positive rates and recalls per group of ``sensitive``, and how far apart they are.

    Groups with fewer than ``min_rows`` predictions are reported but left out
    of the measures (their rates are noise). Recall needs labels; without any,
    equal opportunity is not measured. With ``every_ms`` the report also holds
    one report per time window (``windows``: start and report), oldest first.
    """
    limits = {**FAIRNESS_THRESHOLDS, **dict(thresholds or {})}
    unknown = set(limits) - set(FAIRNESS_THRESHOLDS)
    if unknown:
        raise InvalidInput(
            f"Unknown fairness threshold(s) {sorted(unknown)}; known: {sorted(FAIRNESS_THRESHOLDS)}."
        )
    groups_column = _column(table, sensitive, "sensitive")
    says_positive = _equals(_column(table, prediction, "prediction"), positive)
    if target in table.column_names:
        labels = table.column(target)
        actual_positive = np.logical_and(_valid(labels), _equals(labels, positive))
    else:
        actual_positive = np.zeros(table.num_rows, dtype=bool)
    names = np.asarray([str(v) for v in groups_column.to_pylist()], dtype=object)
    groups: dict[str, dict[str, float]] = {}
    for group in sorted(set(names.tolist())):
        mask = names == group
        stats: dict[str, float] = {
            "rows": int(mask.sum()),
            "positive_rate": float(says_positive[mask].mean()),
        }
        if (mask & actual_positive).any():
            stats["recall"] = float(says_positive[mask & actual_positive].mean())
        groups[group] = stats
    counted = {g: s for g, s in groups.items() if s["rows"] >= min_rows}
    measures: dict[str, float] = {}
    if len(counted) >= 2:
        rates = [s["positive_rate"] for s in counted.values()]
        measures["demographic_parity_difference"] = max(rates) - min(rates)
        measures["disparate_impact_ratio"] = min(rates) / max(rates) if max(rates) > 0 else 1.0
        recalls = [s["recall"] for s in counted.values() if "recall" in s]
        if len(recalls) >= 2:
            measures["equal_opportunity_difference"] = max(recalls) - min(recalls)
    violations = [
        name
        for name, value in measures.items()
        if (value < limits[name] if name == "disparate_impact_ratio" else value > limits[name])
    ]
    report = FairnessReport(sensitive, groups, measures, limits, violations)
    if every_ms:
        times = _column(table, "ts_ms", "time").to_numpy()
        starts = (times // every_ms) * every_ms
        for start in np.unique(starts):
            part = table.filter(pa.array(starts == start))
            report.windows.append(
                (
                    int(start),
                    fairness(
                        part,
                        sensitive,
                        positive=positive,
                        target=target,
                        prediction=prediction,
                        thresholds=limits,
                        min_rows=min_rows,
                    ),
                )
            )
    return report


def _valid(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.is_valid(column).to_pylist(), dtype=bool)


def _equals(column: pa.ChunkedArray, value: Any) -> np.ndarray:
    """column == value, as booleans (nulls are False), whatever numeric type either has."""
    try:
        scalar = pa.scalar(value).cast(column.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return np.asarray([v == value for v in column.to_pylist()], dtype=bool)
    return np.asarray(pc.fill_null(pc.equal(column, scalar), False).to_pylist(), dtype=bool)


def registered_metrics(model: str, version: int, *, client: Any = None) -> dict[str, float]:
    """The metrics of a registered version's latest stored evaluation (the baseline)."""
    from shipyard import registry
    from shipyard.models.evaluation import Evaluation
    from shipyard.tracking import client as default_client

    client = client or default_client()
    stored = client.store.registry.evaluations(
        registry.get_version(model, version, client=client).id
    )
    if not stored:
        return {}
    return dict(Evaluation.from_json(stored[0].body).metrics)
