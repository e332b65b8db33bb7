"""The ``shipyard`` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard as sy
from shipyard._version import __version__
from shipyard.cli import main
from shipyard.store.sql.migrate import HEAD_REVISION


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err  # type: ignore[return-value]


@pytest.fixture
def runs(sqlite_home: Path):  # type: ignore[no-untyped-def]
    ids = []
    for i, model in enumerate(["rf", "gb"]):
        with sy.start_run("cli", name=f"r{i}", params={"model": model, "seed": 1}) as run:
            run.log_metrics({"auc": 0.9 + i / 100, "nan_metric": float("nan")})
        ids.append(run.id)
    return sqlite_home, ids


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "--version") == (0, f"shipyard {__version__}\n", "")


def test_runs_list_show_compare(runs, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    home, (a, b) = runs
    code, out, _ = run_cli(capsys, "--home", str(home), "runs", "list", "-e", "cli")
    assert code == 0
    assert a in out
    assert b in out
    assert "FINISHED" in out
    code, out, _ = run_cli(
        capsys, "--home", str(home), "runs", "list", "-f", "params.model = 'gb'", "--json"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["run_id"] for r in rows] == [b]
    code, out, _ = run_cli(capsys, "--home", str(home), "runs", "show", a)
    assert code == 0
    assert "auc" in out
    assert "NaN" in out
    assert "_shipyard/requirements.txt" in out
    code, out, _ = run_cli(capsys, "--home", str(home), "runs", "compare", a, b, "--diff-only")
    assert code == 0
    assert "params.model" in out
    assert "params.seed" not in out
    code, out, _ = run_cli(capsys, "--home", str(home), "experiments", "list")
    assert code == 0
    assert "cli" in out


def test_delete_and_restore(runs, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    home, (a, b) = runs
    assert run_cli(capsys, "--home", str(home), "runs", "delete", a)[0] == 0
    _, out, _ = run_cli(capsys, "--home", str(home), "runs", "list", "--json")
    assert a not in out
    assert b in out
    _, out, _ = run_cli(capsys, "--home", str(home), "runs", "list", "--deleted")
    assert a in out
    assert "(deleted)" in out
    assert run_cli(capsys, "--home", str(home), "runs", "restore", a)[0] == 0
    _, out, _ = run_cli(capsys, "--home", str(home), "runs", "list", "--json")
    assert a in out


def test_user_errors_are_one_line_with_a_non_zero_exit(
    runs, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    home, _ = runs
    code, _, err = run_cli(capsys, "--home", str(home), "runs", "show", "nope")
    assert code == 3
    assert err == "Error: Run 'nope' does not exist. List runs with: shipyard runs list\n"
    code, _, err = run_cli(capsys, "--home", str(home), "runs", "list", "-f", "metrics.auc >")
    assert code == 2
    assert err.startswith("Error: Bad filter at position 13")
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "--home", str(home), "runs", "compare", "only-one")
    assert code == 2
    assert "at least two" in err


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "SHIPYARD_HOME": str(tmp_path)}
    quiet = subprocess.run(
        [sys.executable, "-m", "shipyard", "runs", "show", "nope"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert quiet.returncode == 3
    assert "Traceback" not in quiet.stderr
    assert quiet.stderr.count("\n") == 1
    loud = subprocess.run(
        [sys.executable, "-m", "shipyard", "--verbose", "runs", "show", "nope"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert loud.returncode == 3
    assert "Traceback" in loud.stderr
    assert "NotFound" in loud.stderr


def test_mark_dead(runs, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home, _ = runs
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, shipyard as sy; r = sy.start_run('cli'); print(r.id); os._exit(0)",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SHIPYARD_HOME": str(home)},
        check=True,
    )
    orphan = child.stdout.strip()
    code, out, _ = run_cli(capsys, "--home", str(home), "runs", "mark-dead", "--dry-run")
    assert code == 0
    assert orphan in out
    assert "is dead" in out
    code, out, _ = run_cli(capsys, "--home", str(home), "runs", "mark-dead")
    assert code == 0
    assert f"{orphan} (" in out
    assert "marked KILLED" in out
    assert run_cli(capsys, "--home", str(home), "runs", "mark-dead")[1] == "No dead runs.\n"


def test_db_upgrade_and_current(store_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "db", "upgrade", "--store-uri", store_uri)
    assert code == 0
    assert f"from revision (empty) to {HEAD_REVISION}" in out
    code, out, _ = run_cli(capsys, "db", "upgrade", "--store-uri", store_uri)
    assert code == 0
    assert f"already at the current revision {HEAD_REVISION}" in out
    code, out, _ = run_cli(capsys, "db", "current", "--store-uri", store_uri)
    assert code == 0
    assert f"revision {HEAD_REVISION}" in out


def test_bad_settings_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_FLUSH_INTERVAL", "soon")
    code, _, err = run_cli(capsys, "--home", str(tmp_path), "runs", "list")
    assert code == 2
    assert "'flush_interval' from $SHIPYARD_FLUSH_INTERVAL must be float; got 'soon'" in err
