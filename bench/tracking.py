#!/usr/bin/env python3
"""Tracking benchmarks: Shipyard's figures, and MLflow's side by side when asked.

    python bench/tracking.py                                   # Shipyard only
    python bench/tracking.py --mlflow-python PEERS/venv-mlflow/bin/python

Prints one JSON object per line. Sections (the same work as the MLflow peer
script in ../shared/bench/peers/mlflow_tracking.py):

  log_metric    per-call ``run.log_metric`` in one run, flush included   (metrics/s)
  log_batch     ``run.log_metrics``, 1,000 keys a call, 100,000 points, flush included (points/s)
  create_runs   2,000 runs, each ``start_run(params=10)`` + ``log_metrics(10)`` + end (runs/s)
  search_runs   filter ``metrics.acc > 0.5 and params.lr = '0.1'``, order by
                ``metrics.acc DESC``, max 100, over those runs; checked against
                the answer computed from the generated data                 (ms)
  import        ``import shipyard`` in a fresh process                      (ms)

With ``--mlflow-python``, the peer script runs right after, on a fresh SQLite
store, and a last line gives the ratios. Compare ratios from one run only: the
machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEER_SCRIPT = (
    Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "peers" / "mlflow_tracking.py"
)
_OUT = sys.stdout


def emit(bench: str, **fields: object) -> dict[str, object]:
    record = {"bench": bench, "tool": "shipyard", **fields}
    _OUT.write(json.dumps(record) + "\n")
    _OUT.flush()
    return record


def bench_log_metric(sy, n: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    rng = random.Random(0)
    values = [rng.random() for _ in range(n)]
    with sy.start_run("bench-log-metric") as run:
        started = time.perf_counter()
        for i, value in enumerate(values):
            run.log_metric("loss", value, step=i)
        issued = time.perf_counter() - started
        run.flush()
        total = time.perf_counter() - started
    stored = len(sy.get_metric_history(run.id, "loss"))
    assert stored == n, f"stored {stored} of {n} points"
    return emit(
        "log_metric",
        unit="metrics/s",
        n=n,
        seconds=round(total, 3),
        rate=round(n / total, 1),
        issue_only_rate=round(n / issued, 1),
    )


def bench_log_batch(sy, total: int, keys: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    batches = [{f"m{k}": rng.random() for k in range(keys)} for _ in range(total // keys)]
    with sy.start_run("bench-log-batch") as run:
        started = time.perf_counter()
        for step, batch in enumerate(batches):
            run.log_metrics(batch, step=step)
        run.flush()
        seconds = time.perf_counter() - started
    assert len(sy.get_metric_history(run.id, "m0")) == len(batches)
    return emit(
        "log_batch",
        unit="points/s",
        n=total,
        batch_size=keys,
        seconds=round(seconds, 3),
        rate=round(total / seconds, 1),
    )


def bench_create_runs(sy, n: int) -> tuple[dict[str, object], list[tuple[str, float]]]:  # type: ignore[no-untyped-def]
    rng = random.Random(2)
    lrs = ["0.1", "0.01", "0.001"]
    made: list[tuple[str, float]] = []  # (lr, acc) of every run, to check search results
    started = time.perf_counter()
    for r in range(n):
        params = {f"p{j}": str(j) for j in range(9)}
        params["lr"] = lrs[r % 3]
        metrics = {f"m{j}": rng.random() for j in range(9)}
        metrics["acc"] = rng.random()
        with sy.start_run("bench-runs", params=params) as run:
            run.log_metrics(metrics)
        made.append((params["lr"], metrics["acc"]))
    seconds = time.perf_counter() - started
    record = emit(
        "create_runs",
        unit="runs/s",
        n=n,
        seconds=round(seconds, 3),
        rate=round(n / seconds, 2),
        per_run_ms=round(1000 * seconds / n, 3),
        how="start_run(params=10) + log_metrics(10) + end, as a with-block",
    )
    return record, made


def bench_search(sy, made: list[tuple[str, float]], repeats: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    flt, order = "metrics.acc > 0.5 and params.lr = '0.1'", ["metrics.acc DESC"]
    expected = sorted((acc for lr, acc in made if lr == "0.1" and acc > 0.5), reverse=True)[:100]
    found = sy.search_runs("bench-runs", flt, order, max_results=100)
    same = [r.metrics["acc"] for r in found] == expected
    latencies = []
    for _ in range(repeats):
        started = time.perf_counter()
        sy.search_runs("bench-runs", flt, order, max_results=100)
        latencies.append(1000 * (time.perf_counter() - started))
    return emit(
        "search_runs",
        unit="ms",
        runs_in_experiment=len(made),
        returned=len(found),
        same_results_as_expected=same,
        filter=flt,
        order_by=order,
        repeats=repeats,
        p50_ms=round(statistics.median(latencies), 2),
        min_ms=round(min(latencies), 2),
    )


def bench_import(repeats: int) -> dict[str, object]:
    code = "import time; t = time.perf_counter(); import shipyard; print(time.perf_counter() - t)"
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeats)
    ]
    return emit(
        "import",
        unit="ms",
        repeats=repeats,
        median_ms=round(1000 * statistics.median(times), 1),
        min_ms=round(1000 * min(times), 1),
    )


def run_peer(python: str, runs: int) -> dict[str, dict[str, object]]:
    """MLflow's side of the same work, on a fresh SQLite store; its JSON lines, by bench name."""
    if not PEER_SCRIPT.is_file():
        raise SystemExit(f"The MLflow peer script is not at {PEER_SCRIPT}.")
    done = subprocess.run(
        [python, str(PEER_SCRIPT), "--runs", str(runs)], capture_output=True, text=True, check=True
    )
    records = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        record["tool"] = "mlflow"
        _OUT.write(json.dumps(record) + "\n")
        records[record["bench"]] = record
    _OUT.flush()
    return records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log-metric-n", type=int, default=200_000)
    parser.add_argument("--batch-points", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--search-repeats", type=int, default=20)
    parser.add_argument("--import-repeats", type=int, default=5)
    parser.add_argument(
        "--mlflow-python", help="Python of a virtual environment with MLflow installed."
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as home:
        os.environ["SHIPYARD_HOME"] = home
        import shipyard as sy

        client = sy.configure(home=home)
        emit(
            "context",
            store_uri=client.settings.store_uri,
            python=sys.version.split()[0],
            cpus=os.cpu_count(),
            loadavg=os.getloadavg(),
        )
        ours = {
            "log_metric": bench_log_metric(sy, args.log_metric_n),
            "log_batch": bench_log_batch(sy, args.batch_points, args.batch_size),
        }
        ours["create_runs"], made = bench_create_runs(sy, args.runs)
        ours["search_runs"] = bench_search(sy, made, args.search_repeats)
        ours["import"] = bench_import(args.import_repeats)
        client.close()

    if args.mlflow_python:
        peer = run_peer(args.mlflow_python, args.runs)
        emit(
            "ratios_vs_mlflow",
            log_metric=round(ours["log_metric"]["rate"] / peer["log_metric"]["rate"], 1),  # type: ignore[operator]
            log_batch=round(ours["log_batch"]["rate"] / peer["log_batch"]["rate"], 1),  # type: ignore[operator]
            create_runs=round(ours["create_runs"]["rate"] / peer["create_runs"]["rate"], 1),  # type: ignore[operator]
            search_speedup=round(peer["search_runs"]["p50_ms"] / ours["search_runs"]["p50_ms"], 1),  # type: ignore[operator]
            targets={"log_metric": 400, "log_batch": 20, "create_runs": 20, "search_speedup": 10},
            import_shipyard_ms=ours["import"]["median_ms"],
            import_mlflow_s=peer["import_mlflow"]["median_import_s"],
        )


if __name__ == "__main__":
    main()
