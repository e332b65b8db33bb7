"""Performance with labels, the label-free estimate, and fairness across groups."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics

import shipyard as sy
from shipyard.errors import InvalidInput
from shipyard.monitoring.performance import estimate_performance, fairness, performance


def _log(n: int, seed: int, *, broken_after: int | None = None) -> pa.Table:
    """A calibrated binary classifier's predictions: labels drawn from its probabilities."""
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 2, n)
    label = (rng.random(n) < p).astype(np.int64)
    if broken_after is not None:  # the relation between inputs and labels changes
        label[broken_after:] = 1 - label[broken_after:]
    prediction = (p >= 0.5).astype(np.int64)
    return pa.table(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "ts_ms": np.arange(n, dtype=np.int64) * 1000,  # one prediction a second
            "prediction": prediction,
            "probabilities": [[1 - x, x] for x in p],
            "label": label,
            "group": rng.choice(["a", "b"], n),
        }
    )


def test_metrics_per_window_match_scikit_learn_and_show_the_drop() -> None:
    table = _log(4_000, 1, broken_after=3_000)
    report = performance(table, every_ms=1_000_000, slices=["group"], baseline={"accuracy": 0.75})
    assert [w.rows for w in report.windows] == [1000, 1000, 1000, 1000]
    first = table.slice(0, 1000)
    assert report.windows[0].metrics["accuracy"] == pytest.approx(
        metrics.accuracy_score(first["label"].to_numpy(), first["prediction"].to_numpy())
    )
    assert report.windows[0].metrics["roc_auc"] == pytest.approx(
        metrics.roc_auc_score(
            first["label"].to_numpy(), np.array(first["probabilities"].to_pylist())[:, 1]
        )
    )
    accuracy = [w.metrics["accuracy"] for w in report.windows]
    assert min(accuracy[:3]) > 0.65
    assert accuracy[3] < 0.35  # the labels turned: the last window's accuracy collapses
    assert report.change("accuracy")[3] < -0.4
    assert {s.slice for s in report.slices} == {"group=a", "group=b"}


def test_labels_arriving_for_part_of_the_window() -> None:
    table = _log(1_000, 2)
    labels = table["label"].to_pylist()
    partial = table.set_column(
        table.column_names.index("label"),
        "label",
        pa.array([v if i % 4 == 0 else None for i, v in enumerate(labels)]),
    )
    report = performance(partial)
    assert (report.windows[0].rows, report.windows[0].labelled) == (1000, 250)
    unlabelled = table.drop_columns(["label"]).append_column("label", pa.nulls(1000, pa.int64()))
    with pytest.raises(InvalidInput, match="None of the predictions has a label"):
        performance(unlabelled)


def test_the_estimate_tracks_real_accuracy_for_a_calibrated_model() -> None:
    table = _log(20_000, 3)
    estimate = estimate_performance(table.drop_columns(["label"]))
    actual = performance(table).windows[0].metrics
    assert estimate.estimated
    assert estimate.metrics["accuracy"] == pytest.approx(actual["accuracy"], abs=0.015)
    assert estimate.metrics["recall"] == pytest.approx(actual["recall"], abs=0.02)
    with pytest.raises(InvalidInput, match="probabilities"):
        estimate_performance(table.drop_columns(["probabilities"]))


def test_fairness_measures_against_hand_counts() -> None:
    table = pa.table(
        {
            "prediction": [1, 1, 1, 0] * 25 + [1, 0, 0, 0] * 25,
            "label": [1, 1, 0, 1] * 25 + [1, 1, 0, 0] * 25,
            "sex": ["f"] * 100 + ["m"] * 100,
        }
    )
    report = fairness(table, "sex")
    assert report.groups["f"]["positive_rate"] == 0.75
    assert report.groups["m"]["positive_rate"] == 0.25
    assert report.groups["f"]["recall"] == pytest.approx(
        2 / 3
    )  # of 3 actual positives, 2 predicted
    assert report.groups["m"]["recall"] == 0.5
    assert report.measures["demographic_parity_difference"] == 0.5
    assert report.measures["disparate_impact_ratio"] == pytest.approx(1 / 3)
    assert report.measures["equal_opportunity_difference"] == pytest.approx(2 / 3 - 0.5)
    assert set(report.violations) == {
        "demographic_parity_difference",
        "disparate_impact_ratio",
        "equal_opportunity_difference",
    }
    assert not report.fair
    lenient = fairness(
        table,
        "sex",
        thresholds={
            "demographic_parity_difference": 0.6,
            "disparate_impact_ratio": 0.3,
            "equal_opportunity_difference": 0.2,
        },
    )
    assert lenient.fair
    with pytest.raises(InvalidInput, match="no sensitive column 'age'"):
        fairness(table, "age")


def test_a_prediction_log_window_has_inputs_predictions_and_labels(sqlite_home) -> None:  # type: ignore[no-untyped-def]
    from shipyard.serving.predlog import PredictionLogger

    folder = sqlite_home / "predictions" / "churn" / "requests"
    logger = PredictionLogger(folder, "churn")
    for i in range(10):
        logger.log(
            f"r{i}",
            "1",
            ["x", "y"],
            np.array([[float(i), 2.0 * i]]),
            np.array([i % 2]),
            np.array([[0.4, 0.6]]),
            1.0,
        )
    logger.close()
    sy.serving.log_labels("churn", {"r1": 1, "r2": 1}, home=sqlite_home)
    window = sy.monitoring.window("churn", last=5, home=sqlite_home)
    assert window.num_rows == 5
    assert {"x", "y", "prediction", "label", "model_version"} <= set(window.column_names)
    everything = sy.monitoring.window("churn", home=sqlite_home)
    labelled = {
        r["request_id"]: r["label"] for r in everything.to_pylist() if r["label"] is not None
    }
    assert labelled == {"r1": 1, "r2": 1}


def test_a_running_servers_log_is_readable_before_its_segment_closes(sqlite_home) -> None:  # type: ignore[no-untyped-def]
    from shipyard.serving.predlog import PredictionLogger
    from tests.serving.helpers import wait_until

    logger = PredictionLogger(
        sqlite_home / "predictions" / "live" / "requests", "live", flush_interval=0.05
    )
    try:
        for i in range(30):
            logger.log(f"r{i}", "1", ["x"], np.array([[float(i)]]), np.array([0]), None, 1.0)
        wait_until(  # fails unless the open segment's rows become readable
            lambda: sy.monitoring.window("live", home=sqlite_home).num_rows == 30,
            what="the open segment's rows",
        )
        assert not list(
            (sqlite_home / "predictions" / "live" / "requests").glob("*.arrow")
        )  # still open
    finally:
        logger.close()
    assert (
        sy.monitoring.window("live", home=sqlite_home).num_rows == 30
    )  # closed: read once, not twice


def test_fairness_per_time_window_shows_when_a_gap_opened() -> None:
    fair_then = [1, 0] * 50 + [1, 0] * 50  # both groups 50% positive
    unfair_now = [1, 1] * 50 + [0, 0] * 50  # f 100%, m 0%
    table = pa.table(
        {
            "ts_ms": [0] * 200 + [3_600_000] * 200,
            "prediction": fair_then + unfair_now,
            "sex": (["f"] * 100 + ["m"] * 100) * 2,
        }
    )
    report = fairness(table, "sex", every_ms=3_600_000)
    assert [start for start, _ in report.windows] == [0, 3_600_000]
    first, second = (w for _, w in report.windows)
    assert first.fair
    assert first.measures["demographic_parity_difference"] == 0.0
    assert not second.fair
    assert second.measures["demographic_parity_difference"] == 1.0


def test_the_newest_rows_are_read_without_opening_older_segments(sqlite_home) -> None:  # type: ignore[no-untyped-def]
    import os
    import time

    from shipyard.serving.predlog import PredictionLogger

    folder = sqlite_home / "predictions" / "busy" / "requests"
    now = time.time()
    for segment in range(3):  # three closed segments, last written 2 h ago, 1 h ago, now
        logger = PredictionLogger(folder, "busy")
        for i in range(10):
            logger.log(f"s{segment}-{i}", "1", ["x"], np.array([[1.0]]), np.array([0]), None, 1.0)
        logger.close()
        for path in folder.glob("*.arrow"):
            if not path.name.startswith("old-"):
                written = now - (2 - segment) * 3600.0
                os.utime(path, (written, written))
                path.rename(folder / f"old-{segment}-{path.name}")
    # the oldest segment is unreadable: reading it would raise
    (next(folder.glob("old-0-*.arrow"))).write_bytes(b"not arrow")
    os.utime(next(folder.glob("old-0-*.arrow")), (now - 7200.0, now - 7200.0))
    newest = sy.monitoring.window("busy", last=15, home=sqlite_home)
    assert newest["request_id"].to_pylist()[-1] == "s2-9"
    assert newest.num_rows == 15
    # segments last written before the start are not opened either
    since = sy.serving.read_predictions("busy", start_ms=int((now - 1800) * 1000), home=sqlite_home)
    assert since.num_rows == 10
