"""The metadata store's behaviour, run unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

import math

import pytest

from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.store.base import LogBatch, NewRun, RunEnd, RunQuery
from shipyard.store.entities import ArtifactRecord, Lifecycle, RunStatus
from shipyard.store.ids import new_id, now_ms


@pytest.fixture
def experiment(store):  # type: ignore[no-untyped-def]
    project = store.projects.get_or_create("default")
    return store.experiments.get_or_create(project.id, "exp")


def make_run(store, experiment, **kw):  # type: ignore[no-untyped-def]
    new = NewRun(
        id=new_id(), experiment_id=experiment.id, name=kw.pop("name", "r"), start_ms=now_ms(), **kw
    )
    return store.runs.create(new)


def test_projects_and_experiments_are_created_once(store) -> None:  # type: ignore[no-untyped-def]
    p1 = store.projects.get_or_create("team")
    assert store.projects.get_or_create("team") == p1
    assert store.projects.get("team") == p1
    e1 = store.experiments.get_or_create(p1.id, "churn")
    assert store.experiments.get_or_create(p1.id, "churn") == e1
    assert store.experiments.get(e1.id) == e1
    assert store.experiments.get_by_name(p1.id, "churn") == e1
    assert [e.name for e in store.experiments.list(p1.id)] == ["churn"]
    with pytest.raises(NotFound, match="'nope'"):
        store.experiments.get_by_name(p1.id, "nope")
    with pytest.raises(NotFound, match="'ghost'"):
        store.projects.get("ghost")


def test_run_is_created_with_params_tags_and_artifacts(store, experiment) -> None:  # type: ignore[no-untyped-def]
    record = ArtifactRecord("env/requirements.txt", "a" * 64, 10, now_ms())
    run = make_run(
        store,
        experiment,
        params={"lr": "0.1"},
        tags={"team": "growth"},
        artifacts=[record],
        git_commit="abc",
        git_dirty=True,
        entry_point="train.py",
        pid=123,
        hostname="h",
    )
    got = store.runs.get(run.id)
    assert got.status is RunStatus.RUNNING
    assert got.params == {"lr": "0.1"}
    assert got.tags == {"team": "growth"}
    assert (got.git_commit, got.git_dirty, got.entry_point, got.pid) == (
        "abc",
        True,
        "train.py",
        123,
    )
    assert store.artifacts.list(run.id) == [record]
    assert store.experiments.run_counts([experiment.id]) == {experiment.id: 1}


def test_unknown_run_ids_raise_not_found(store, experiment) -> None:  # type: ignore[no-untyped-def]
    missing = new_id()
    with pytest.raises(NotFound, match=missing):
        store.runs.get(missing)
    with pytest.raises(NotFound, match=missing):
        store.params.log(missing, {"a": "1"})
    with pytest.raises(NotFound, match=missing):
        store.metrics.log([(missing, "m", 1.0, 0, now_ms())])
    run = make_run(store, experiment)
    with pytest.raises(NotFound, match=missing):
        store.runs.get_many([run.id, missing])


def test_param_is_write_once_and_conflict_loses_nothing(store, experiment) -> None:  # type: ignore[no-untyped-def]
    run = make_run(store, experiment, params={"lr": "0.1"})
    store.params.log(run.id, {"lr": "0.1", "depth": "3"})  # same value again is fine
    with pytest.raises(Conflict) as info:
        store.params.log(run.id, {"batch": "32", "lr": "0.2"})
    assert "'0.1'" in str(info.value)
    assert "'0.2'" in str(info.value)
    # the failed call wrote nothing, and what was stored is intact
    assert store.runs.get(run.id).params == {"lr": "0.1", "depth": "3"}


def test_metric_history_and_latest_value(store, experiment) -> None:  # type: ignore[no-untyped-def]
    run = make_run(store, experiment)
    t = now_ms()
    store.metrics.log([(run.id, "loss", 0.5, 2, t), (run.id, "loss", 0.9, 0, t)])
    store.metrics.log([(run.id, "loss", 0.7, 1, t + 5)])  # older step arriving later
    history = store.metrics.history(run.id, "loss")
    assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.7), (2, 0.5)]
    assert store.runs.get(run.id).metrics == {"loss": 0.5}  # latest = highest step
    store.metrics.log([(run.id, "loss", 0.4, 2, t + 10)])  # same step, later time wins
    assert store.runs.get(run.id).metrics == {"loss": 0.4}


def test_nan_and_infinity_are_stored_faithfully(store, experiment) -> None:  # type: ignore[no-untyped-def]
    run = make_run(store, experiment)
    t = now_ms()
    store.metrics.log(
        [
            (run.id, "n", math.nan, 0, t),
            (run.id, "p", math.inf, 0, t),
            (run.id, "m", -math.inf, 0, t),
        ]
    )
    metrics = store.runs.get(run.id).metrics
    assert math.isnan(metrics["n"])
    assert metrics["p"] == math.inf
    assert metrics["m"] == -math.inf
    assert math.isnan(store.metrics.history(run.id, "n")[0].value)


def test_tags_last_write_wins_and_delete(store, experiment) -> None:  # type: ignore[no-untyped-def]
    run = make_run(store, experiment)
    store.tags.set(run.id, {"a": "1", "b": "2"})
    store.tags.set(run.id, {"a": "3"})
    assert store.runs.get(run.id).tags == {"a": "3", "b": "2"}
    store.tags.delete(run.id, "b")
    assert store.runs.get(run.id).tags == {"a": "3"}
    with pytest.raises(NotFound, match="'b'"):
        store.tags.delete(run.id, "b")


def test_artifact_index_lists_by_folder(store, experiment) -> None:  # type: ignore[no-untyped-def]
    run = make_run(store, experiment)
    recs = [
        ArtifactRecord(p, "b" * 64, 1, now_ms())
        for p in ("plots/roc.png", "plots/pr.png", "plots_x/a", "model.pkl")
    ]
    store.artifacts.record(run.id, recs)
    assert [r.path for r in store.artifacts.list(run.id, "plots")] == [
        "plots/pr.png",
        "plots/roc.png",
    ]
    assert store.artifacts.get(run.id, "model.pkl").digest == "b" * 64
    with pytest.raises(NotFound, match=r"nothing\.txt"):
        store.artifacts.get(run.id, "nothing.txt")


def test_log_batch_is_one_transaction(store, experiment) -> None:  # type: ignore[no-untyped-def]
    run = make_run(store, experiment)
    t = now_ms()
    bad = LogBatch(
        metrics=[(run.id, "m", 1.0, 0, t)],
        ends=[RunEnd(new_id(), RunStatus.FINISHED, t)],  # unknown run: the whole batch fails
    )
    with pytest.raises(NotFound):
        store.log_batch(bad)
    assert store.metrics.history(run.id, "m") == []
    good = LogBatch(
        metrics=[(run.id, "m", 1.0, 0, t)],
        tags=[(run.id, "k", "v1"), (run.id, "k", "v2")],
        heartbeats=[run.id],
        ends=[RunEnd(run.id, RunStatus.FAILED, t + 1, "boom")],
    )
    store.log_batch(good)
    got = store.runs.get(run.id)
    assert (got.status, got.error, got.end_ms, got.tags, got.metrics) == (
        RunStatus.FAILED,
        "boom",
        t + 1,
        {"k": "v2"},
        {"m": 1.0},
    )


def test_resume_and_lifecycle(store, experiment) -> None:  # type: ignore[no-untyped-def]
    run = make_run(store, experiment)
    store.runs.end(RunEnd(run.id, RunStatus.FAILED, now_ms(), "x"))
    resumed = store.runs.resume(run.id, 42, "host", now_ms())
    assert (resumed.status, resumed.end_ms, resumed.error, resumed.pid) == (
        RunStatus.RUNNING,
        None,
        None,
        42,
    )
    assert [r.id for r in store.runs.running()] == [run.id]
    store.runs.set_lifecycle([run.id], Lifecycle.DELETED)
    assert store.runs.search(RunQuery([experiment.id])) == []
    assert len(store.runs.search(RunQuery([experiment.id], lifecycle=None))) == 1
    store.runs.set_lifecycle([run.id], Lifecycle.ACTIVE)
    assert [r.id for r in store.runs.search(RunQuery([experiment.id]))] == [run.id]


@pytest.fixture
def populated(store, experiment):  # type: ignore[no-untyped-def]
    """Six runs with known params, metrics and tags."""
    t = now_ms()
    runs = []
    for i, (model, lr, auc, team) in enumerate(
        [
            ("rf", "0.1", 0.95, "growth"),
            ("rf", "0.01", 0.85, "growth"),
            ("lr", "0.1", 0.91, "core"),
            ("lr", "0.1", math.nan, "core"),
            ("gb", "0.1", None, "growth"),
            ("gb", "0.3", 0.99, "x"),
        ]
    ):
        run = make_run(
            store,
            experiment,
            name=f"run-{i}",
            params={"model": model, "lr": lr},
            tags={"team": team},
        )
        if auc is not None:
            store.metrics.log([(run.id, "auc", auc, 0, t)])
        runs.append(run)
    store.runs.end(RunEnd(runs[5].id, RunStatus.FINISHED, t + 1000))
    return runs


def _names(store, experiment, flt, order=()):  # type: ignore[no-untyped-def]
    return [r.name for r in store.runs.search(RunQuery([experiment.id], flt, order))]


def test_search_filters(store, experiment, populated) -> None:  # type: ignore[no-untyped-def]
    def q(flt: str, order: tuple | list = ()) -> list[str]:
        return _names(store, experiment, flt, order)

    assert q("metrics.auc > 0.9 and params.model = 'rf'") == ["run-0"]
    assert q("metrics.auc > 0.9", ["metrics.auc DESC"]) == ["run-5", "run-0", "run-2"]
    assert q("params.model in ('rf', 'gb') and tags.team = 'growth'", ["name"]) == [
        "run-0",
        "run-1",
        "run-4",
    ]
    assert q("params.model not in ('rf', 'gb')", ["name"]) == ["run-2", "run-3"]
    assert q("(params.lr = 0.01 or params.lr = '0.3')", ["name"]) == ["run-1", "run-5"]
    assert q("name like 'run-_' and tags.team like 'gr%'", ["name"]) == ["run-0", "run-1", "run-4"]
    assert q("tags.team ilike 'GROW%'", ["name"]) == ["run-0", "run-1", "run-4"]
    assert q("tags.team like 'GROW%'") == []  # like is case-sensitive on every backend
    assert q("status = 'finished'") == ["run-5"]
    assert q("status != 'RUNNING'") == ["run-5"]
    assert q("metrics.auc < 100", ["metrics.auc ASC"]) == ["run-1", "run-2", "run-0", "run-5"]
    assert q("start_time > 0 and end_time > 0") == ["run-5"]


def test_search_orders_missing_and_nan_last(store, experiment, populated) -> None:  # type: ignore[no-untyped-def]
    names = _names(store, experiment, "", ["metrics.auc DESC"])
    assert names[:4] == ["run-5", "run-0", "run-2", "run-1"]
    assert sorted(names[4:]) == ["run-3", "run-4"]
    names = _names(store, experiment, "", ["params.lr DESC", "name ASC"])
    assert names == ["run-5", "run-0", "run-2", "run-3", "run-4", "run-1"]


def test_search_paging_and_bounds(store, experiment, populated) -> None:  # type: ignore[no-untyped-def]
    first = store.runs.search(RunQuery([experiment.id], order_by=["name"], max_results=4))
    rest = store.runs.search(RunQuery([experiment.id], order_by=["name"], max_results=4, offset=4))
    assert [r.name for r in first + rest] == [f"run-{i}" for i in range(6)]
    with pytest.raises(InvalidInput, match="max_results"):
        store.runs.search(RunQuery([experiment.id], max_results=0))
    with pytest.raises(InvalidInput, match="position 12"):
        store.runs.search(RunQuery([experiment.id], filter="metrics.auc ~ 1"))
