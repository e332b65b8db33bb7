"""The package's public face: pinned names, a fast import, nothing heavy at import time."""

from __future__ import annotations

import json
import subprocess
import sys

import shipyard as sy

PUBLIC_NAMES = [
    "ActiveRun",
    "AlreadyExists",
    "Conflict",
    "GateFailed",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "Run",
    "RunStatus",
    "ShipyardError",
    "StoreError",
    "TrackingClient",
    "ValidationFailed",
    "__version__",
    "active_run",
    "autolog",
    "client",
    "configure",
    "data",
    "get_metric_history",
    "get_run",
    "list_experiments",
    "models",
    "monitoring",
    "registry",
    "search_runs",
    "seed_everything",
    "serving",
    "start_run",
]


def test_public_names_are_pinned() -> None:
    assert sorted(sy.__all__) == sorted(PUBLIC_NAMES)
    for name in PUBLIC_NAMES:
        assert getattr(sy, name) is not None


def _import_report() -> dict[str, object]:
    code = (
        "import sys, time; t = time.perf_counter(); import shipyard; "
        "elapsed = time.perf_counter() - t; import json; "
        "print(json.dumps({'ms': elapsed * 1000, 'modules': sorted(sys.modules)}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_import_is_fast_and_pulls_in_nothing_heavy() -> None:
    reports = [_import_report() for _ in range(3)]
    best = min(r["ms"] for r in reports)  # type: ignore[type-var]
    assert best < 150, f"import shipyard took {best:.0f} ms (budget 150 ms)"
    heavy = {
        "sqlalchemy",
        "numpy",
        "pandas",
        "pyarrow",
        "sklearn",
        "alembic",
        "typer",
        "rich",
        "psycopg",
    }
    loaded = {m.split(".")[0] for m in reports[0]["modules"]}  # type: ignore[union-attr]
    assert not heavy & loaded, f"import shipyard loaded {sorted(heavy & loaded)}"


def test_errors_carry_their_wire_meaning() -> None:
    err = sy.NotFound("Run 'x' does not exist.", run_id="x")
    problem = err.to_problem()
    assert problem["status"] == 404
    assert problem["detail"] == "Run 'x' does not exist."
    again = sy.ShipyardError.from_problem(problem)
    assert type(again) is sy.NotFound
    assert again.details == {"run_id": "x"}
    assert issubclass(sy.ValidationFailed, sy.InvalidInput)
    assert sy.Conflict("x").http_status == 409
    assert sy.InvalidInput("x").exit_code == 2
