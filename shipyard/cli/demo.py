"""``shipyard demo``: the whole loop on data that ships with scikit-learn.

So far it narrates two stages. Data: the breast-cancer table is logged as a
dataset version, a schema is inferred and checked, a deliberately corrupted
"incoming" batch fails validation, and a cleaning recipe turns it into a clean
version (bad rows quarantined, lineage recorded). Tracking: several models are
cross-validated on the cleaned version, each as a child run of one demo run,
with per-fold metrics, params, the fitted model, the dataset they read and
their environment recorded; the runs are then ranked by score.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from shipyard.cli import _context

EXPERIMENT = "demo-breast-cancer"
DATASET = "breast-cancer"
MODEL = "breast-cancer-classifier"
GATES = {
    "gates": [
        {"metric": "roc_auc >= 0.95"},
        {"beat_champion": {"metric": "roc_auc", "margin": 0.0}},
        {"slice_floor": {"metric": "recall", "min": 0.8}},
        {"signature_compatible": True},
        {"latency": {"p95_ms": 100}},
        {"fairness": {"column": "size", "metric": "recall", "max_difference": 0.2}},
    ]
}


def _candidates() -> dict[str, tuple[Any, dict[str, Any]]]:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic-regression": (
            make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)),
            {"model": "logistic_regression", "C": 1.0},
        ),
        "random-forest": (
            RandomForestClassifier(n_estimators=100, max_depth=6, random_state=0, n_jobs=1),
            {"model": "random_forest", "n_estimators": 100, "max_depth": 6},
        ),
        "gradient-boosting": (
            GradientBoostingClassifier(n_estimators=100, learning_rate=0.1, random_state=0),
            {"model": "gradient_boosting", "n_estimators": 100, "learning_rate": 0.1},
        ),
        "k-nearest-neighbours": (
            make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=7)),
            {"model": "knn", "n_neighbors": 7},
        ),
    }


def demo(
    home: Annotated[
        str | None, typer.Option(help="Store everything under this folder (default: the settings).")
    ] = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
) -> None:
    """Run the model lifecycle on bundled data, narrating each step."""
    import numpy as np
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from sklearn.base import clone
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    import shipyard as sy

    console = _context.console()
    settings = _context.settings(home=home)
    client = sy.configure(
        **{k: getattr(settings, k) for k in ("home", "store_uri", "artifact_uri", "project")}
    )
    started = time.perf_counter()

    frame = load_breast_cancer(as_frame=True).frame
    cleaned = _data_stage(console, frame, settings.home, seed)
    train_set, holdout = _split(cleaned, seed)
    training = train_set.to_pandas()
    X, y = training.drop(columns=["target"]), training["target"]

    console.rule("[bold]2. Experiment tracking[/]")
    console.print(
        f"Training on {train_set.uri} (80% of {cleaned.uri}; the rest is {holdout.uri}): "
        f"{X.shape[0]} rows x {X.shape[1]} features, "
        f"{int(y.sum())} benign / {int((1 - y).sum())} malignant."
    )
    candidates = _candidates()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(X, y))
    scores: dict[str, float] = {}

    with sy.start_run(
        EXPERIMENT,
        name="model-selection",
        params={"dataset": train_set.uri, "folds": folds, "seed": seed},
        tags={"demo": "true"},
    ) as parent:
        parent.use_dataset(train_set)
        progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        with progress:
            for label, (estimator, params) in candidates.items():
                task = progress.add_task(label, total=folds + 1)
                with sy.start_run(EXPERIMENT, name=label, params=params, nested=True) as run:
                    run.use_dataset(train_set)
                    sy.seed_everything(seed)
                    fold_auc = []
                    for fold, (train, test) in enumerate(splits):
                        model = clone(estimator).fit(X.iloc[train], y.iloc[train])
                        proba = model.predict_proba(X.iloc[test])[:, 1]
                        pred = (proba >= 0.5).astype(int)
                        auc = roc_auc_score(y.iloc[test], proba)
                        fold_auc.append(auc)
                        run.log_metrics(
                            {
                                "fold_auc": auc,
                                "fold_accuracy": accuracy_score(y.iloc[test], pred),
                                "fold_f1": f1_score(y.iloc[test], pred),
                            },
                            step=fold,
                        )
                        progress.advance(task)
                    run.log_metrics(
                        {"cv_auc": float(np.mean(fold_auc)), "cv_auc_std": float(np.std(fold_auc))}
                    )
                    final = clone(estimator).fit(X, y)
                    sy.models.log(final, input_example=X.head())
                    run.set_tags({"model_family": params["model"]})
                    scores[run.id] = float(np.mean(fold_auc))
                    progress.advance(task)
        best_id = max(scores, key=scores.__getitem__)
        parent.log_metrics({"best_cv_auc": scores[best_id]})
        parent.set_tags({"best_run": best_id})

    ranked = sy.search_runs(
        EXPERIMENT, f"parent_run_id = '{parent.id}'", order_by=["metrics.cv_auc DESC"]
    )
    table = Table(
        "rank", "run", "cv auc", "± std", "folds", title="Runs ranked by cross-validated AUC"
    )
    for rank, run in enumerate(ranked, 1):
        history = sy.get_metric_history(run.id, "fold_auc")
        table.add_row(
            str(rank),
            f"{run.name}\n[dim]{run.id}[/]",
            f"{run.metrics['cv_auc']:.4f}",
            f"{run.metrics['cv_auc_std']:.4f}",
            str(len(history)),
            style="bold green" if rank == 1 else "",
        )
    console.print(table)
    _registry_stage(console, ranked, holdout)
    _serving_stage(console, client.settings.home, holdout, ranked[1])
    _monitoring_stage(console, client.settings.home, train_set)
    console.print(
        f"Lineage: {train_set.uri} (split from {cleaned.uri}, cleaned from {cleaned.parents()[0].uri}) "
        f"was read by {len(train_set.consumers())} runs; models:/{MODEL}@champion came from one of them.\n"
        f"Tracked {len(ranked)} runs under parent run {parent.id} in "
        f"{time.perf_counter() - started:.1f} s.\n"
        f"  metadata:  {client.settings.store_uri}\n"
        f"  artifacts: {client.settings.artifact_uri}\n"
        f"Look around: shipyard runs list -e {EXPERIMENT}   |   shipyard data versions {DATASET}   |   "
        f"shipyard runs compare {' '.join(r.id for r in ranked[:2])}"
    )


def _corrupt(frame: Any, seed: int) -> Any:
    """An "incoming" batch: the rows reshuffled, some repeated, and a few broken on purpose."""
    import numpy as np

    rng = np.random.default_rng(seed)
    batch = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    batch = batch.astype({"target": "int64"})
    rows = rng.choice(len(batch), size=10, replace=False)
    batch.loc[rows[:4], "mean radius"] = float("nan")  # missing measurements
    batch.loc[rows[4:7], "mean area"] = -batch.loc[rows[4:7], "mean area"]  # sign flipped upstream
    batch.loc[rows[7:], "target"] = 7  # a label that does not exist
    duplicates = batch.iloc[rng.choice(len(batch), size=8, replace=False)]
    import pandas as pd

    return pd.concat([batch, duplicates], ignore_index=True)


def _data_stage(console: Any, frame: Any, home: Any, seed: int) -> Any:
    """Log, check and clean the data; returns the cleaned version's handle."""
    from pathlib import Path

    from rich.table import Table

    from shipyard import data

    console.rule("[bold]1. Data[/]: versions, validation, cleaning")
    reference = data.log_dataset(DATASET, frame.astype({"target": "int64"}))
    console.print(
        f"Logged scikit-learn's breast-cancer table as {reference.uri}: "
        f"{reference.num_rows} rows x {len(reference.columns)} columns, digest {reference.digest[:12]}."
    )
    schema = data.infer_schema(reference)
    schema_path = Path(home) / "schemas" / f"{DATASET}.yaml"
    schema_path.parent.mkdir(parents=True, exist_ok=True)
    schema.save(schema_path)
    report = data.validate(reference, schema)
    console.print(
        f"Inferred a schema ({len(schema.checks())} checks) into {schema_path}; "
        f"the reference {'passes' if report.passed else 'fails'} it in {report.seconds * 1000:.0f} ms."
    )
    incoming = data.log_dataset(DATASET, _corrupt(frame, seed))
    report = data.validate(incoming, schema)
    table = Table(
        "check",
        "failing rows",
        "examples (row: value)",
        title=f"{incoming.uri}, an incoming batch broken on purpose: {report.summary().splitlines()[0]}",
    )
    for r in report.failed:
        table.add_row(
            r.check,
            str(r.failed_count),
            "; ".join(f"{s['row']}: {s['value']!r}" for s in r.samples[:3]),
        )
    console.print(table)
    recipe = data.Recipe.from_dict(
        {"steps": [{"drop_duplicates": {}}, {"quarantine": {"schema": str(schema_path)}}]}
    )
    result = data.clean(incoming, recipe)
    cleaned = result.version
    data.validate(cleaned, schema, raise_on_error=True)
    console.print(
        f"Cleaned it into {cleaned.uri} (parent {incoming.uri}): {result.summary().replace(chr(10), ';')}. "
        f"The {result.quarantine_version.num_rows} bad rows are kept in {result.quarantine_version.uri} "
        "with the reasons; the clean version passes the schema."
    )
    return cleaned


def _split(cleaned: Any, seed: int) -> tuple[Any, Any]:
    """80 % to train on and 20 % held out, both logged as versions made from ``cleaned``."""
    from sklearn.model_selection import train_test_split

    from shipyard import data

    frame = cleaned.to_pandas()
    train, holdout = train_test_split(
        frame, test_size=0.2, random_state=seed, stratify=frame["target"]
    )
    holdout = holdout.assign(
        size=(holdout["mean radius"] > 14).map({True: "large", False: "small"})
    )
    return (
        data.log_dataset(f"{DATASET}-train", train.reset_index(drop=True), parents=[cleaned]),
        data.log_dataset(f"{DATASET}-holdout", holdout.reset_index(drop=True), parents=[cleaned]),
    )


def _gate_table(title: str, results: Any) -> Any:
    from rich.table import Table

    table = Table("gate", "result", "measured", "bound", title=title)
    for r in results:
        table.add_row(
            r.gate, "[green]passed[/]" if r.passed else "[red]failed[/]", str(r.measured), r.bound
        )
    return table


def _registry_stage(console: Any, ranked: Any, holdout: Any) -> None:
    """Register the best run's model, promote it through gates, refuse a worse one."""
    from shipyard import registry
    from shipyard.errors import GateFailed
    from shipyard.registry.gates import GateResult

    console.rule("[bold]3. Registry[/]: versions, gates, champion")
    registry.set_gates(MODEL, GATES)
    best, worst = ranked[0], ranked[-1]
    champion = registry.register(
        f"runs:/{best.id}/model", MODEL, description=f"{best.name}, best cv auc"
    )
    promotion = registry.promote(MODEL, champion.version, data=holdout, target="target")
    console.print(
        _gate_table(
            f"{champion.uri} ({best.name}) on {holdout.uri}: promoted to champion",
            promotion.results,
        )
    )
    candidate = registry.register(
        f"runs:/{worst.id}/model", MODEL, description=f"{worst.name}, worst cv auc"
    )
    try:
        registry.promote(MODEL, candidate.version, data=holdout, target="target")
        console.print(f"{candidate.uri} passed the gates too.")
    except GateFailed as refused:
        results = [GateResult(**r) for r in refused.details["results"]]
        console.print(
            _gate_table(
                f"{candidate.uri} ({worst.name}): refused, champion stays {champion.uri}", results
            )
        )
    holder = registry.get_model(MODEL).aliases["champion"]
    console.print(
        f"models:/{MODEL}@champion is version {holder}. History: shipyard models history {MODEL}"
    )


def _serving_stage(
    console: Any, home: Any, holdout: Any, challenger: Any, requests: int = 400
) -> None:
    """Serve the champion, a burst of requests, a challenger on 10% canary, the prediction log."""
    import signal
    import time
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import numpy as np

    from shipyard import registry, serving
    from shipyard.serving import deployments

    console.rule("[bold]4. Serving[/]: the champion behind HTTP, a canary, the prediction log")
    server, url = _start_server(home)
    frame = holdout.to_pandas()
    features = frame.drop(columns=["target", "size"])
    bodies = [features.iloc[[i % len(features)]].to_json(orient="records") for i in range(requests)]

    def burst(http: httpx.Client) -> tuple[list[dict], float, list[float]]:
        latencies: list[float] = []

        def send(body: str) -> dict:
            started = time.perf_counter()
            answer = http.post("/predict", content=body).json()
            latencies.append(time.perf_counter() - started)
            return answer

        with ThreadPoolExecutor(16) as pool:
            started = time.perf_counter()
            answers = list(pool.map(send, bodies))
            return answers, time.perf_counter() - started, latencies

    try:
        _await(server, url, lambda r: r.status_code == 200, "the server's readiness")
        with httpx.Client(base_url=url) as http:
            answers, elapsed, latencies = burst(http)
            p50, p99 = np.percentile(latencies, [50, 99]) * 1000
            console.print(
                f"Served models:/{MODEL}@champion on {url}: {requests} one-row requests from 16 threads "
                f"in {elapsed:.2f} s = {requests / elapsed:,.0f} requests/s, p50 {p50:.1f} ms, "
                f"p99 {p99:.1f} ms (client and server share this machine's cores)."
            )
            feedback = [
                {"request_id": a["request_id"], "label": int(frame["target"].iloc[i % len(frame)])}
                for i, a in enumerate(answers[: len(frame)])
            ]
            http.post("/feedback", json=feedback)
            version = registry.register(
                f"runs:/{challenger.id}/model",
                MODEL,
                description=f"{challenger.name}, challenger",
            ).version
            deployments.deploy(MODEL, version, canary="10%", reason="demo: try the challenger")
            _await(server, url, lambda r: r.json().get("candidate") == str(version), "the canary")
            answers, _, _ = burst(http)
        shares = Counter(a["model_version"] for a in answers)
        console.print(
            f"shipyard deploy {MODEL} --version {version} --canary 10%: the running server loaded "
            f"version {version} beside the champion; of the next {requests} requests, "
            f"{shares.get(str(version), 0)} went to version {version} and the rest to the champion."
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    log = serving.read_predictions(MODEL, home=home)
    labels = serving.read_labels(MODEL, home=home)
    counts = Counter(zip(log["model_version"].to_pylist(), log["variant"].to_pylist(), strict=True))
    by_version = ", ".join(
        f"{n} from version {v} ({role})" for (v, role), n in sorted(counts.items())
    )
    console.print(
        f"The prediction log of deployment {MODEL} holds {log.num_rows} rows: {by_version}; "
        f"{labels.num_rows} labels came back through /feedback, ready for monitoring."
    )


def _start_server(home: Any) -> tuple[Any, str]:
    """``shipyard serve`` for the champion, in a child process on a free port."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "shipyard", "--home", str(home), "serve"]
    server = subprocess.Popen(
        [*command, f"models:/{MODEL}@champion", "--port", str(port), "--poll-seconds", "0.5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    return server, f"http://127.0.0.1:{port}"


def _await(server: Any, url: str, check: Any, what: str, timeout: float = 60) -> None:
    """Poll /readyz until ``check(answer)`` holds (the server exiting or the deadline fail)."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {server.stderr.read().decode()}")
        try:
            if check(httpx.get(f"{url}/readyz", timeout=1)):
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)  # polling readiness


DRIFTED = ("mean radius", "mean texture", "worst area")


def _monitoring_stage(console: Any, home: Any, train_set: Any, rows: int = 1000) -> None:
    """Undrifted traffic, then drifted traffic with a changed label relation: the monitor sees both."""
    import json
    import os
    import secrets
    import signal
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path

    import httpx
    import numpy as np
    from rich.markup import escape

    from shipyard import monitoring
    from shipyard.serving import deployments

    console.rule(
        "[bold]5. Monitoring[/]: drift, performance once labels arrive, an alert, a report"
    )
    deployments.rollback(MODEL, reason="demo: the canary is over")
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    os.environ["SHIPYARD_DEMO_ALERT_SECRET"] = secrets.token_hex(16)
    monitoring.save_monitor(
        "breast-cancer-watch",
        f"""deployment: {MODEL}
reference: {train_set.name}@{train_set.version}
window: {{last: {rows}}}
checks:
  drift: {{test: wasserstein, drift_share: 0.05}}
  performance: {{metric: accuracy, max_drop: 0.1}}
  label_drift: {{target: target}}
alerts:
  - {{check: drift, severity: critical}}
  - {{check: performance, severity: warning}}
channels:
  - {{type: webhook, url: "http://127.0.0.1:{hook.server_address[1]}/alerts", secret_env: SHIPYARD_DEMO_ALERT_SECRET}}
""",
    )
    frame = train_set.to_pandas()
    features = frame.drop(columns=["target"])
    rng = np.random.default_rng(7)

    def send(http: httpx.Client, sample: Any) -> list[str]:
        bodies = [sample.iloc[[i]].to_json(orient="records") for i in range(len(sample))]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda b: http.post("/predict", content=b).json(), bodies))
        return [a["request_id"] for a in answers]

    def label(http: httpx.Client, ids: list[str], truth: Any) -> None:
        http.post(
            "/feedback",
            json=[{"request_id": i, "label": int(t)} for i, t in zip(ids, truth, strict=True)],
        )

    from shipyard import serving

    logged = serving.read_predictions(MODEL, home=home).num_rows

    def evaluate(when: str, rows_sent: int) -> Any:
        deadline = time.monotonic() + 30  # the server writes its log every half second
        while serving.read_predictions(MODEL, home=home).num_rows < logged + rows_sent:
            if time.monotonic() > deadline:
                raise RuntimeError("the prediction log did not catch up within 30 s")
            time.sleep(0.1)  # polling the log
        run = monitoring.run_monitor("breast-cancer-watch")
        summary = "; ".join(f"{r.check_name}: {r.status} ({r.message})" for r in run.results)
        console.print(f"[bold]{when}[/]: {escape(summary)}")
        for alert in run.fired:
            console.print(
                f"  [red]alert fired[/] {escape(f'[{alert.severity}]')} {escape(alert.message)}"
            )
        return run

    server, url = _start_server(home)
    try:
        _await(server, url, lambda r: r.status_code == 200, "the server's readiness")
        with httpx.Client(base_url=url) as http:
            picked = rng.integers(0, len(frame), rows)
            ids = send(http, features.iloc[picked])
            label(http, ids, frame["target"].to_numpy()[picked])
            evaluate(f"{rows} requests like the training data, labelled", rows)
            picked = rng.integers(0, len(frame), rows)
            shifted = features.iloc[picked].copy()
            for column in DRIFTED:
                shifted[column] = shifted[column] + 0.8 * features[column].std()
            ids = send(http, shifted)
            drifted = evaluate(
                f"{rows} requests with {', '.join(DRIFTED)} shifted, no labels yet", 2 * rows
            )
            truth = frame["target"].to_numpy()[picked].copy()
            flip = rng.random(rows) < 0.4  # the relation between inputs and labels changed
            truth[flip] = 1 - truth[flip]
            label(http, ids, truth)
            evaluate("their labels came back, 40% of them contradicting the model", 2 * rows)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        hook.shutdown()
        hook.server_close()
    report = Path(home) / "reports" / "breast-cancer-watch.html"
    size = len(monitoring.report("breast-cancer-watch", str(report)).encode())
    flagged = sorted(drifted.reports["drift"].drifted_columns)
    alerts = ", ".join(f"{a['rule']} ({a['severity']}, {a['event']})" for a in received)
    console.print(
        f"The monitor flagged exactly the shifted columns: {', '.join(flagged)}. "
        f"The webhook received {len(received)} alert(s): {alerts}. "
        f"Report: {report} ({size / 1024:,.0f} KB). Watch on a schedule with: shipyard monitor watch"
    )
