"""The tracking API as a user calls it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import shipyard as sy
from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.store.entities import RunStatus
from shipyard.tracking import fluent


def test_the_readme_example(sy_home: Path, tmp_path: Path) -> None:
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "roc.png").write_bytes(b"png")
    (plots / "sub").mkdir()
    (plots / "sub" / "pr.png").write_bytes(b"png2")
    with sy.start_run(experiment="churn", params={"lr": 0.1}) as run:
        run.log_metric("loss", 0.3, step=1)
        run.log_metrics({"auc": 0.91, "f1": 0.8}, step=1)
        run.set_tags({"team": "growth"})
        run.log_artifact(plots)
    got = sy.get_run(run.id)
    assert got.status is RunStatus.FINISHED
    assert got.end_ms is not None
    assert got.params == {"lr": "0.1"}
    assert got.metrics == {"loss": 0.3, "auc": 0.91, "f1": 0.8}
    assert got.tags == {"team": "growth"}
    paths = [a.path for a in sy.client().list_artifacts(run.id)]
    assert "roc.png" in paths
    assert "sub/pr.png" in paths
    assert [e.name for e in sy.list_experiments()] == ["churn"]


def test_run_records_where_it_ran_from(sy_home: Path) -> None:
    with sy.start_run() as run:
        pass
    got = sy.get_run(run.id)
    assert got.python_version
    assert got.platform
    assert got.user
    assert got.pid
    assert got.packages_hash
    assert len(got.packages_hash) == 64
    requirements = sy.client().read_artifact(run.id, "_shipyard/requirements.txt").decode()
    assert "SQLAlchemy==" in requirements or "sqlalchemy==" in requirements.lower()
    # this test suite runs from a git checkout: the commit is recorded
    if got.git_commit is not None:
        assert len(got.git_commit) == 40
        assert got.git_dirty in (True, False)


def test_failed_block_ends_failed_with_the_error(sy_home: Path) -> None:
    def train() -> None:
        with sy.start_run() as run:
            started.append(run)
            run.log_metric("before", 1.0)
            raise ZeroDivisionError("division by zero")

    started: list = []
    with pytest.raises(ZeroDivisionError):
        train()
    run = started[0]
    got = sy.get_run(run.id)
    assert got.status is RunStatus.FAILED
    assert "ZeroDivisionError" in (got.error or "")
    assert got.metrics == {"before": 1.0}  # logged before the error, kept
    assert fluent.active_run() is None


def test_keyboard_interrupt_ends_killed(sy_home: Path) -> None:
    with pytest.raises(KeyboardInterrupt), sy.start_run() as run:
        raise KeyboardInterrupt
    assert sy.get_run(run.id).status is RunStatus.KILLED


def test_nested_runs_and_resume(sy_home: Path) -> None:
    with sy.start_run("e", name="parent") as parent:
        with sy.start_run("e", name="child", nested=True) as child:
            assert sy.active_run() is child
        assert sy.active_run() is parent
        with pytest.raises(InvalidInput, match="nested=True"):
            sy.start_run("e")
    assert sy.get_run(child.id).parent_run_id == parent.id
    children = sy.search_runs("e", f"parent_run_id = '{parent.id}'")
    assert [r.id for r in children] == [child.id]
    with sy.start_run(run_id=child.id) as again:
        again.log_metric("more", 2.0)
        with pytest.raises(Conflict):
            again.log_param("x", 1) or again.log_param("x", 2)
    got = sy.get_run(child.id)
    assert got.status is RunStatus.FINISHED
    assert got.metrics["more"] == 2.0
    with pytest.raises(InvalidInput, match="needs an active run"):
        sy.start_run(nested=True)


def test_metric_history_in_step_order_and_auto_steps(sy_home: Path) -> None:
    with sy.start_run() as run:
        for value in (0.9, 0.7, 0.5):
            run.log_metric("loss", value)  # steps 0, 1, 2
        run.log_metric("acc", 0.2, step=10)
        run.log_metric("acc", 0.1, step=5)
    history = sy.get_metric_history(run.id, "loss")
    assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.7), (2, 0.5)]
    assert [p.step for p in sy.get_metric_history(run.id, "acc")] == [5, 10]
    assert sy.get_run(run.id).metrics["acc"] == 0.2


def test_params_are_write_once(sy_home: Path) -> None:
    with sy.start_run(params={"lr": 0.1}) as run:
        run.log_param("lr", 0.1)  # the same value again is fine
        with pytest.raises(Conflict) as info:
            run.log_param("lr", 0.2)
        assert "'0.1'" in str(info.value)
        assert "'0.2'" in str(info.value)
    assert sy.get_run(run.id).params == {"lr": "0.1"}


def test_bad_input_names_the_value(sy_home: Path) -> None:
    with sy.start_run() as run:
        with pytest.raises(InvalidInput, match=r"'loss' must be a number; got 'abc'"):
            run.log_metric("loss", "abc")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match=r"must be a number; got True"):
            run.log_metric("flag", True)
        with pytest.raises(InvalidInput, match=r"not allowed \(not allowed: '\$'\)"):
            run.log_metric("cost$", 1.0)
        with pytest.raises(InvalidInput, match=r"'\.\.'"):
            run.set_tag("../up", "x")
        with pytest.raises(InvalidInput, match="6001 characters; the limit is 6000"):
            run.log_param("blob", "x" * 6001)
        with pytest.raises(InvalidInput, match=r"step of metric 'm' must be an integer; got 1\.5"):
            run.log_metric("m", 1.0, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="1 to 250"):
            run.log_metric("k" * 251, 1.0)
    with pytest.raises(NotFound, match="'no-such-run'"):
        sy.get_run("no-such-run")
    with pytest.raises(NotFound, match="Experiment 'ghost'"):
        sy.search_runs("ghost")
    with pytest.raises(NotFound, match="'ffff'"):
        sy.start_run(run_id="ffff")


def test_an_ended_run_takes_no_more_logging(sy_home: Path) -> None:
    with sy.start_run() as run:
        run.log_metric("m", 1.0)
    attempts = [
        lambda: run.log_metric("m", 2.0),
        lambda: run.log_metrics({"m": 2.0}),
        lambda: run.set_tag("t", "x"),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidInput, match=r"has ended \(FINISHED\).*sy.start_run\(run_id="):
            attempt()
    assert sy.get_run(run.id).metrics == {"m": 1.0}


def test_nan_and_infinity_round_trip(sy_home: Path) -> None:
    with sy.start_run() as run:
        run.log_metrics({"n": math.nan, "p": math.inf, "m": -math.inf})
    metrics = sy.get_run(run.id).metrics
    assert math.isnan(metrics["n"])
    assert metrics["p"] == math.inf
    assert metrics["m"] == -math.inf


def test_search_runs_and_to_pandas(sy_home: Path) -> None:
    for i, model in enumerate(["rf", "rf", "lr"]):
        with sy.start_run("s", params={"model": model}, tags={"team": "growth"}) as run:
            run.log_metric("auc", 0.8 + i / 100)
    runs = sy.search_runs(
        "s",
        "metrics.auc > 0.805 and params.model = 'rf' and tags.team = 'growth'",
        order_by=["metrics.auc DESC"],
    )
    assert len(runs) == 1
    assert runs[0].metrics["auc"] == pytest.approx(0.81)
    frame = sy.search_runs("s", order_by="metrics.auc").to_pandas()
    assert list(frame["metrics.auc"]) == pytest.approx([0.8, 0.81, 0.82])
    assert list(frame.columns[:4]) == ["run_id", "experiment_id", "name", "status"]
    assert "params.model" in frame.columns
    assert "tags.team" in frame.columns


def test_text_dict_figure_and_download(sy_home: Path, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with sy.start_run() as run:
        run.log_text("hello", "notes/readme.txt")
        run.log_dict({"a": 1, "b": [1, 2]}, "config/params.json")
        run.log_figure(fig, "plots/line.png")
        with pytest.raises(InvalidInput, match="leaves its root"):
            run.log_text("x", "../escape.txt")
        with pytest.raises(InvalidInput, match="absolute"):
            run.log_text("x", "/etc/evil")
        with pytest.raises(InvalidInput, match=r"\.json, \.yaml or \.yml"):
            run.log_dict({}, "config.txt")
    plt.close(fig)
    client = sy.client()
    assert client.read_artifact(run.id, "notes/readme.txt") == b"hello"
    assert json.loads(client.read_artifact(run.id, "config/params.json")) == {"a": 1, "b": [1, 2]}
    assert client.read_artifact(run.id, "plots/line.png")[:4] == b"\x89PNG"
    folder = client.download_artifacts(run.id, "config", tmp_path / "out")
    assert json.loads((folder / "params.json").read_text())["a"] == 1
    single = client.download_artifacts(run.id, "notes/readme.txt", tmp_path / "one")
    assert single.read_text() == "hello"
    with pytest.raises(NotFound, match="no artifacts under 'nothing'"):
        client.download_artifacts(run.id, "nothing", tmp_path)


def test_tags_and_metrics_are_visible_after_flush(sy_home: Path) -> None:
    with sy.start_run() as run:
        run.set_tag("stage", "one")
        run.log_metric("m", 1.0)
        run.flush()
        stored = sy.client().store.runs.get(run.id)  # the store itself, not via the client
        assert stored.tags == {"stage": "one"}
        assert stored.metrics == {"m": 1.0}


def test_seed_everything(sy_home: Path) -> None:
    import random

    import numpy as np

    with sy.start_run() as run:
        sy.seed_everything(7)
        a = (random.random(), np.random.rand())
        sy.seed_everything(7)
        assert (random.random(), np.random.rand()) == a
    assert sy.get_run(run.id).params == {"seed": "7"}
    with pytest.raises(InvalidInput, match="seed"):
        sy.seed_everything(-1)


def test_autolog_sklearn(sqlite_home: Path) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    sy.autolog(experiment="auto")
    try:
        LogisticRegression(max_iter=200, C=0.5).fit(X, y)
        with sy.start_run("auto", name="outer") as outer:
            GridSearchCV(LogisticRegression(max_iter=200), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
            LogisticRegression(max_iter=300).fit(X, y)  # a second fit: a child run
    finally:
        sy.autolog(disable=True)
    runs = sy.search_runs("auto", order_by="start_time")
    names = [r.name for r in runs]
    assert names == ["LogisticRegression", "outer", "LogisticRegression"]
    first = runs[0]
    assert first.params["C"] == "0.5"
    assert first.tags["autolog"] == "sklearn"
    assert first.metrics["training_accuracy"] > 0.9
    assert first.metrics["fit_time_s"] > 0
    assert "model/model.skops" in [a.path for a in sy.client().list_artifacts(first.id)]
    outer_run = runs[1]
    assert outer_run.tags["estimator_class"].endswith("GridSearchCV")  # inner fits not logged
    assert runs[2].parent_run_id == outer.id
    assert runs[2].params["max_iter"] == "300"
    # disabled: fitting logs nothing more
    LogisticRegression(max_iter=200).fit(X, y)
    assert len(sy.search_runs("auto")) == 3


def test_configure_is_refused_while_a_run_is_active(sy_home: Path) -> None:
    with sy.start_run(), pytest.raises(InvalidInput, match="end it first"):
        sy.configure(home=sy_home)
