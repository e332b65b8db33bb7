"""The main job, end to end, as `make demo` runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shipyard.config import load_settings
from shipyard.store.entities import RunStatus
from shipyard.tracking import TrackingClient


def test_demo_runs_the_loop_and_records_it(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    done = subprocess.run(
        [sys.executable, "-m", "shipyard", "demo", "--home", str(home), "--folds", "3"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr
    assert "Runs ranked by cross-validated AUC" in done.stdout
    assert str(home) in done.stdout
    client = TrackingClient(load_settings(home=home))
    runs = client.search_runs("demo-breast-cancer", order_by="metrics.cv_auc DESC")
    parent = [r for r in runs if r.name == "model-selection"]
    children = [r for r in runs if r.parent_run_id is not None]
    assert len(parent) == 1
    assert len(children) == 4
    assert all(r.status is RunStatus.FINISHED for r in runs)
    best = children[0]
    assert parent[0].tags["best_run"] == best.id
    assert best.metrics["cv_auc"] > 0.95
    assert len(client.get_metric_history(best.id, "fold_auc")) == 3
    assert "model/model.skops" in [a.path for a in client.list_artifacts(best.id)]
    # the data stage: reference, incoming (fails its schema), cleaned, then train / hold-out splits
    from shipyard import data, registry

    cleaned = data.get("breast-cancer", client=client)
    incoming = data.get("breast-cancer", 2, client=client)
    train = data.get("breast-cancer-train", client=client)
    assert cleaned.version == 3
    assert cleaned.info.parents == (incoming.id,)
    assert train.info.parents == (cleaned.id,)
    assert not incoming.validations()[0].passed
    assert cleaned.validations()[0].passed
    assert data.get("breast-cancer-quarantine", client=client).num_rows == 10
    assert [v.id for v in client.run_inputs(best.id)] == [train.id]
    assert "Lineage: datasets:/breast-cancer-train/1" in done.stdout
    # the registry stage: the best run's model is champion, the worst was refused by the gates
    model = registry.get_model("breast-cancer-classifier", client=client)
    assert model.aliases == {"champion": 1}
    champion = registry.get_version("breast-cancer-classifier", "champion", client=client)
    assert champion.run_id == best.id
    refused = client.store.registry.gate_results(
        registry.get_version("breast-cancer-classifier", 2, client=client).id
    )
    assert any(not r.passed and r.gate.startswith("beats the holder") for r in refused)
    assert "refused" in done.stdout
    # the serving stage: every request of the burst is in the prediction log, labels came back
    from shipyard import serving

    everything = serving.read_predictions("breast-cancer-classifier", home=home)
    assert everything.num_rows == 800 + 2000  # stage 4's two bursts, stage 5's two phases
    log = everything.slice(0, 800)
    versions = log["model_version"].to_pylist()
    assert set(versions) == {"1", "3"}  # the champion, and the challenger on canary
    assert 0.02 < versions[400:].count("3") / 400 < 0.25
    assert set(log["variant"].to_pylist()) == {"primary", "canary"}
    assert serving.read_labels("breast-cancer-classifier", home=home).num_rows == 112 + 2000
    assert "requests/s" in done.stdout
    assert "canary" in done.stdout
    # the monitoring stage: exactly the shifted columns, the performance drop, two alerts, a report
    run_results = {
        r.check_name: r
        for r in client.store.monitors.results(
            client.store.monitors.get_monitor(client.project_id, "breast-cancer-watch").id
        )[-3:]
    }
    assert sorted(run_results["drift"].body["drifted"]) == [
        "mean radius",
        "mean texture",
        "worst area",
    ]
    assert run_results["performance"].status == "violated"
    assert run_results["performance"].value < 0.75
    assert (
        run_results["performance"].body["baseline"] > 0.9
    )  # the champion's accuracy at registration
    fired = client.store.monitors.alerts(status="firing")
    assert sorted((a.rule, a.severity) for a in fired) == [
        ("drift", "critical"),
        ("performance", "warning"),
    ]
    report = home / "reports" / "breast-cancer-watch.html"
    assert 0 < report.stat().st_size < 1_000_000
    client.close()
