"""Promotion through gates, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard as sy
from shipyard.errors import GateFailed, InvalidInput

GATES = """
gates:
  - metric: auc >= 0.9
  - beat_champion: {metric: roc_auc, margin: 0.0}
  - slice_floor: {metric: recall, min: 0.5}
  - signature_compatible: true
  - latency: {p95_ms: 500}
  - fairness: {column: size, metric: recall, max_difference: 0.2}
"""


@pytest.fixture
def setup(sy_home: Path):  # type: ignore[no-untyped-def]
    frame = load_breast_cancer(as_frame=True).frame
    frame["size"] = (frame["mean radius"] > 14).map({True: "large", False: "small"})
    X = frame.drop(columns=["target", "size"])
    holdout = sy.data.log_dataset("holdout", frame)
    versions = []
    for model in (
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        DummyClassifier(strategy="prior"),
    ):
        with sy.start_run("m"):
            info = sy.models.log(model.fit(X, frame.target), input_example=X.head())
        versions.append(sy.registry.register(info, "bc"))
    sy.registry.set_gates("bc", GATES)
    return versions, holdout


def test_a_good_model_is_promoted_and_a_worse_one_refused(setup) -> None:  # type: ignore[no-untyped-def]
    (good, bad), holdout = setup
    promotion = sy.registry.promote("bc", good.version, data=holdout, target="target")
    assert promotion.passed
    assert not promotion.forced
    assert len(promotion.results) == 6
    assert sy.registry.get_model("bc").aliases == {"champion": 1}
    by_gate = {r.gate: r for r in promotion.results}
    assert by_gate["roc_auc >= 0.9"].measured > 0.99
    assert "worst slice size=" in by_gate["every slice's recall >= 0.5"].detail
    with pytest.raises(GateFailed) as info:
        sy.registry.promote("bc", bad.version, data=holdout, target="target")
    message = str(info.value)
    assert "did not pass 2 of 6 gate(s)" in message
    assert "roc_auc >= 0.9: measured 0.5, needed >= 0.9" in message
    assert "champion stays at v1" in message
    assert sy.registry.get_model("bc").aliases == {"champion": 1}
    # every gate result of both promotions is stored with its measured value and bound
    stored = sy.client().store.registry.gate_results(bad.id)
    assert len(stored) == 6
    assert sum(not r.passed for r in stored) == 2
    assert all(r.bound for r in stored)


def test_force_needs_a_reason_and_is_recorded(setup) -> None:  # type: ignore[no-untyped-def]
    (good, bad), holdout = setup
    sy.registry.promote("bc", good.version, data=holdout, target="target")
    with pytest.raises(InvalidInput, match="needs a reason"):
        sy.registry.promote("bc", bad.version, data=holdout, target="target", force=True)
    forced = sy.registry.promote(
        "bc", bad.version, data=holdout, target="target", force=True, reason="incident 42"
    )
    assert forced.forced
    last = sy.registry.alias_history("bc", "champion")[-1]
    assert (last.from_version, last.to_version, last.forced, last.reason) == (
        1,
        2,
        True,
        "incident 42",
    )


def test_stored_evaluations_are_used_without_data(setup) -> None:  # type: ignore[no-untyped-def]
    (good, _), holdout = setup
    with pytest.raises(GateFailed, match="no evaluation of the candidate"):
        sy.registry.promote("bc", good.version)
    sy.models.evaluate(good.uri, holdout, target="target", slices=["size"])
    assert sy.registry.promote("bc", good.version).passed


def test_custom_gates(setup) -> None:  # type: ignore[no-untyped-def]
    (good, _), _ = setup

    @sy.registry.register_gate("small_enough")
    def small_enough(ctx):  # type: ignore[no-untyped-def]
        return ctx.candidate.flavor == "sklearn", ctx.candidate.flavor, "sklearn models only"

    promotion = sy.registry.promote("bc", good.version, gates=[{"custom": "small_enough"}])
    assert promotion.results[0].measured == "sklearn"
    with pytest.raises(InvalidInput, match="No custom gate is registered as 'nope'"):
        sy.registry.promote("bc", good.version, gates=[{"custom": "nope"}])


@pytest.mark.parametrize(
    ("gates", "words"),
    [
        ("gates:\n  - metric: accuracy >== 0.9", "is not a threshold"),
        ("gates:\n  - metric: goodness >= 1", "unknown metric 'goodness'"),
        ("gates:\n  - beat: {}", "unknown gate 'beat'"),
        ("gates:\n  - latency: {p95_ms: fast}", "p95_ms must be a number; got 'fast'"),
        (
            "gates:\n  - fairness: {column: sex, metric: f1, max_difference: 0.1}",
            "positive_rate or recall",
        ),
        ("gates: [", "not valid YAML"),
    ],
)
def test_malformed_gate_files_are_refused(sqlite_home: Path, gates: str, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        sy.registry.set_gates("m", gates)
    assert words in str(info.value)


def test_concurrent_promotions_move_the_alias_once_each(setup, store_uri: str) -> None:  # type: ignore[no-untyped-def]
    (good, bad), _ = setup
    sy.registry.set_gates("bc", None)  # no gates: both promotions may succeed, one after the other
    code = textwrap.dedent(
        """
        import sys
        import shipyard as sy
        from shipyard.errors import Conflict
        print("ready", flush=True)
        sys.stdin.readline()
        try:
            sy.registry.promote("bc", int(sys.argv[1]))
            print("moved", flush=True)
        except Conflict:
            print("conflict", flush=True)
        """
    )
    settings = sy.client().settings
    env = {
        **os.environ,
        "SHIPYARD_HOME": str(settings.home),
        "SHIPYARD_STORE_URI": store_uri,
        "SHIPYARD_ARTIFACT_URI": str(settings.artifact_uri),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(v)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for v in (good.version, bad.version)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
    for p in procs:
        p.stdin.write("go\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
    outcomes = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    history = sy.registry.alias_history("bc", "champion")
    assert (
        len(history) == outcomes.count("moved") >= 1
    )  # each successful promotion moved it exactly once
    assert history[0].from_version is None
    if len(history) == 2:
        assert history[1].from_version == history[0].to_version
    assert sy.registry.get_model("bc").aliases["champion"] == history[-1].to_version
