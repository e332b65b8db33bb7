#!/usr/bin/env python3
"""Drift benchmark: Shipyard against Evidently's DataDriftPreset and a numpy/scipy floor.

    python bench/drift.py --evidently-python PEERS/venv-drift/bin/python
    python bench/drift.py --rows 10k 100k            # Shipyard and the floor only

On the tables of ../shared/bench/peers/drift_data.py (15 numeric and 5
categorical columns, 4 of them drifted), generated on first use under
$PEERS_DIR/data. Each side runs in its own process, so peak memory (ru_maxrss)
is its own. Shipyard's reference profile is computed once per size (timed
apart, as a dataset version's profile is computed when it is logged); the
drift call then reads the current Parquet file column by column. One JSON object
per line: each tool at each size, then the comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PEERS = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "peers"
DATA = Path(os.environ.get("PEERS_DIR", Path(tempfile.gettempdir()) / "shipyard-peers")) / "data"

SHIPYARD_RUN = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import shipyard as sy
from shipyard.data.profile import Profile
profile = Profile.from_json(open(sys.argv[1], "rb").read())
truth = json.load(open(sys.argv[3]))
columns = truth["numeric_columns"] + truth["categorical_columns"]
t1 = time.perf_counter()
report = sy.monitoring.drift(profile, sys.argv[2], columns=columns)
t2 = time.perf_counter()
print(json.dumps({
    "drift_s": round(t2 - t1, 3),
    "total_process_s": round(t2 - t0, 3),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "drifted": report.drifted_columns,
    "tests": {c.column: c.test for c in report.columns},
}))
"""


PROFILE_RUN = r"""
import json, sys, time
import pyarrow.parquet as pq
import shipyard as sy
truth = json.load(open(sys.argv[3]))
columns = truth["numeric_columns"] + truth["categorical_columns"]
started = time.perf_counter()
profile = sy.data.profile(pq.read_table(sys.argv[1], columns=columns))
open(sys.argv[2], "wb").write(profile.to_json())
print(round(time.perf_counter() - started, 3))
"""


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def ensure_data(rows: str) -> None:
    if not (DATA / f"cur_{rows}.parquet").exists():
        subprocess.run(
            [sys.executable, str(PEERS / "drift_data.py"), "--rows", rows, "--out", str(DATA)],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def shipyard(rows: str, truth: dict) -> dict:
    # everything runs in child processes, so that each one's peak memory is its own (a
    # child's ru_maxrss starts from its parent's size at fork: this parent stays small)
    path = DATA / f"ref_{rows}.profile.json"
    profile_s = float(
        subprocess.run(
            [
                sys.executable,
                "-c",
                PROFILE_RUN,
                str(DATA / f"ref_{rows}.parquet"),
                str(path),
                str(DATA / "truth.json"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    best = None
    for _ in range(2):  # the machine is noisy: the better of two
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                SHIPYARD_RUN,
                str(path),
                str(DATA / f"cur_{rows}.parquet"),
                str(DATA / "truth.json"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out)
        if best is None or result["drift_s"] < best["drift_s"]:
            best = result
    assert best is not None
    best["reference_profile_s"] = round(profile_s, 3)
    return best


def peer(python: str, script: str, rows: str, *extra: str) -> dict:
    out = subprocess.run(
        [python, str(PEERS / script), "--rows", rows, "--data", str(DATA), *extra],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", nargs="+", default=["1000", "10k", "100k", "1M"])
    parser.add_argument(
        "--evidently-python", help="a Python with evidently installed (see the peers' README)"
    )
    parser.add_argument("--floor-python", default=sys.executable)
    args = parser.parse_args()
    for rows in args.rows:
        ensure_data(rows)
        truth = json.loads((DATA / "truth.json").read_text())
        want = set(truth["drifted"])
        ours = shipyard(rows, truth)
        emit({"tool": "shipyard", "rows": rows, **ours})
        floor = peer(args.floor_python, "drift_numpy_floor.py", rows, "--repeat", "2")
        floor_s = floor["wall_s"]["compute_min"] + floor["wall_s"]["parquet_load_to_numpy"]
        emit(
            {
                "tool": "numpy_floor",
                "rows": rows,
                "compute_s": floor["wall_s"]["compute_min"],
                "load_s": floor["wall_s"]["parquet_load_to_numpy"],
                "peak_rss_mb": floor["mem_mb"]["peak_rss"],
                "drifted": sorted(
                    floor["vs_ground_truth(evidently rule)"]["true_pos"]
                    + floor["vs_ground_truth(evidently rule)"]["false_pos"]
                ),
            }
        )
        comparison = {
            "compare": rows,
            "truth": sorted(want),
            "shipyard_drifted": sorted(ours["drifted"]),
            "shipyard_false_pos": sorted(set(ours["drifted"]) - want),
            "shipyard_false_neg": sorted(want - set(ours["drifted"])),
            "shipyard_s": ours["drift_s"],
            "floor_s(load+compute)": round(floor_s, 3),
            "shipyard_vs_floor": round(ours["drift_s"] / floor_s, 2),
        }
        if args.evidently_python:
            evidently = peer(args.evidently_python, "drift_evidently.py", rows)
            emit(
                {
                    "tool": "evidently",
                    "rows": rows,
                    "version": evidently["version"],
                    "report_run_s": evidently["wall_s"]["report_run"],
                    "total_process_s": evidently["wall_s"]["total_process"],
                    "peak_rss_mb": evidently["mem_mb"]["peak_rss"],
                    "drifted": sorted(c["column"] for c in evidently["columns"] if c["drifted"]),
                    "tests": {c["column"]: c["stat_test"] for c in evidently["columns"]},
                }
            )
            theirs = {c["column"] for c in evidently["columns"] if c["drifted"]}
            comparison.update(
                {
                    "evidently_drifted": sorted(theirs),
                    "evidently_false_pos": sorted(theirs - want),
                    "evidently_false_neg": sorted(want - theirs),
                    "evidently_s": evidently["wall_s"]["report_run"],
                    "speedup_vs_evidently": round(
                        evidently["wall_s"]["report_run"] / ours["drift_s"], 1
                    ),
                    "memory_ratio": round(ours["peak_rss_mb"] / evidently["mem_mb"]["peak_rss"], 3),
                }
            )
        emit(comparison)


if __name__ == "__main__":
    main()
