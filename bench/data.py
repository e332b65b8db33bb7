#!/usr/bin/env python3
"""Data benchmarks: validation against pandera and Great Expectations, profiling, logging.

    python bench/data.py                                          # Shipyard only
    python bench/data.py --peers-python PEERS/venv-validate/bin/python

On the 1,000,000-row table of ../shared/bench/peers/drift_data.py (15 numeric and
5 categorical columns plus an id), generated on first use under $PEERS_DIR/data.
Every measurement runs in a fresh process, so its peak memory (ru_maxrss) is its
own. Figures, one JSON object per line:

  validate      the 14 checks of validate_common.py, on the clean table and on the
                table with its 8 bad rows and 1 wrong dtype ("--bad"); wall time of
                the validation call, peak memory of the process, and what was caught
  profile       sy.data.profile on the table in memory
  log_dataset   sy.data.log_dataset of the Parquet file (read, digest, write, profile)

With --peers-python, pandera (lazy) and Great Expectations run the same checks on
the same table in the same invocation, and a last line gives the ratios. Each
side runs --repeat times; the better figure counts (the machine is noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEERS = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "peers"
DATA_DIR = (
    Path(os.environ.get("PEERS_DIR", Path(tempfile.gettempdir()) / "shipyard-peers")) / "data"
)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def schema_for_common_checks():  # type: ignore[no-untyped-def]
    """validate_common.py's 14 checks as a Shipyard schema."""
    sys.path.insert(0, str(PEERS))
    import validate_common as vc

    import shipyard as sy

    arrow_type = {"int64": "int64", "float64": "double", "str": "string"}
    columns = {}
    for name in vc.ALL_COLS:
        spec: dict[str, object] = {"type": arrow_type[vc.expected_dtype(name)]}
        if name in vc.NOT_NULL:
            spec["nullable"] = False
        if name in vc.RANGES:
            spec["min"], spec["max"] = vc.RANGES[name]
        if name in vc.ALLOWED:
            spec["allowed"] = vc.ALLOWED[name]
        if name in vc.UNIQUE:
            spec["unique"] = True
        columns[name] = spec
    return sy.data.load_schema({"columns": columns})


def inject_bad(table):  # type: ignore[no-untyped-def]
    """validate_common.inject_bad's faults, applied to an Arrow table one column at a time."""
    import pyarrow as pa
    import validate_common as vc

    for pos, (column, value, _) in vc.BAD_ROWS.items():
        series = table[column].to_pandas()
        if value == "DUP_OF_ROW_0":
            value = int(table["id"][0].as_py())
        series.iloc[pos] = value
        index = table.column_names.index(column)
        table = table.set_column(
            index, column, pa.Array.from_pandas(series, type=table[column].type)
        )
    name, dtype = vc.BAD_DTYPE
    index = table.column_names.index(name)
    return table.set_column(
        index, name, table[name].cast(pa.float64() if dtype == "float64" else dtype)
    )


def worker(kind: str, rows: str, bad: bool) -> dict[str, object]:
    """One measurement in this process; returns its figures."""
    import pyarrow.parquet as pq

    import shipyard as sy

    path = DATA_DIR / f"ref_{rows}.parquet"
    if kind == "log_dataset":
        with tempfile.TemporaryDirectory() as home:
            sy.configure(home=home)
            started = time.perf_counter()
            handle = sy.data.log_dataset("bench", path)
            seconds = time.perf_counter() - started
            return {
                "wall_s": round(seconds, 3),
                "rows": handle.num_rows,
                "peak_rss_mb": round(peak_mb(), 1),
                "rate_rows_per_s": round(handle.num_rows / seconds),
            }
    table = pq.read_table(path)
    if kind == "profile":
        started = time.perf_counter()
        prof = sy.data.profile(table)
        return {
            "wall_s": round(time.perf_counter() - started, 3),
            "rows": prof.num_rows,
            "columns": len(prof.columns),
            "peak_rss_mb": round(peak_mb(), 1),
        }
    schema = schema_for_common_checks()
    if bad:
        table = inject_bad(table)
    started = time.perf_counter()
    report = sy.data.validate(table, schema)
    seconds = time.perf_counter() - started
    caught = sorted(f"{r.column}:{r.kind}" for r in report.failed)
    return {
        "wall_s": round(seconds, 3),
        "rows": report.num_rows,
        "checks": len(report.results),
        "passed": report.passed,
        "caught": caught,
        "peak_rss_mb": round(peak_mb(), 1),
    }


def run_ours(kind: str, rows: str, bad: bool, repeat: int) -> dict[str, object]:
    best: dict[str, object] | None = None
    for _ in range(repeat):
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                kind,
                "--rows",
                rows,
                *(["--bad"] if bad else []),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        if best is None or figures["wall_s"] < best["wall_s"]:
            best = {
                **figures,
                "peak_rss_mb": min(figures["peak_rss_mb"], best["peak_rss_mb"])
                if best
                else figures["peak_rss_mb"],
            }
    assert best is not None
    return best


def run_peer(python: str, script: str, rows: str, bad: bool, repeat: int) -> dict[str, object]:
    best: dict[str, object] | None = None
    for _ in range(repeat):
        done = subprocess.run(
            [
                python,
                str(PEERS / script),
                "--rows",
                rows,
                "--data",
                str(DATA_DIR),
                *(["--bad"] if bad else []),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        out = json.loads(done.stdout)
        wall = out["wall_s"].get("validate_lazy", out["wall_s"].get("validate"))
        figures = {
            "wall_s": wall,
            "passed": out["passed"],
            "peak_rss_mb": out["mem_mb"]["peak_rss"],
            "version": out.get("version"),
        }
        if best is None or figures["wall_s"] < best["wall_s"]:
            best = figures
    assert best is not None
    return best


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="1M", choices=["10k", "100k", "1M"])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--peers-python",
        help="Python of a venv with pandas<3, pyarrow, pandera, great_expectations.",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--bad", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, args.rows, args.bad)))
        return
    if not (DATA_DIR / f"ref_{args.rows}.parquet").exists():
        subprocess.run(
            [
                sys.executable,
                str(PEERS / "drift_data.py"),
                "--rows",
                args.rows,
                "--out",
                str(DATA_DIR),
            ],
            check=True,
            capture_output=True,
        )
    emit(
        bench="context",
        rows=args.rows,
        data=str(DATA_DIR),
        cpus=os.cpu_count(),
        loadavg=os.getloadavg(),
    )
    ours = {}
    for bad in (False, True):
        label = "validate_bad" if bad else "validate_clean"
        ours[label] = run_ours("validate", args.rows, bad, args.repeat)
        emit(bench=label, tool="shipyard", **ours[label])
    for kind in ("profile", "log_dataset"):
        emit(bench=kind, tool="shipyard", **run_ours(kind, args.rows, False, args.repeat))
    if not args.peers_python:
        return
    peers = {}
    for tool, script in (
        ("pandera", "validate_pandera.py"),
        ("great_expectations", "validate_gx.py"),
    ):
        for bad in (False, True):
            label = "validate_bad" if bad else "validate_clean"
            peers[(tool, label)] = run_peer(args.peers_python, script, args.rows, bad, args.repeat)
            emit(bench=label, tool=tool, **peers[(tool, label)])
    ratios = {}
    for label in ("validate_clean", "validate_bad"):
        for tool in ("pandera", "great_expectations"):
            ratios[f"{label}_vs_{tool}_speedup"] = round(
                peers[(tool, label)]["wall_s"] / ours[label]["wall_s"], 1
            )
        ratios[f"{label}_peak_mb_shipyard_vs_pandera"] = [
            ours[label]["peak_rss_mb"],
            peers[("pandera", label)]["peak_rss_mb"],
        ]
    emit(
        bench="ratios",
        targets={"vs_pandera": 5, "vs_great_expectations": 25, "peak_memory": "<= pandera"},
        **ratios,
    )


if __name__ == "__main__":
    main()
