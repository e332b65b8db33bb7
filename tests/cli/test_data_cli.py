"""``shipyard data`` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shipyard.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err  # type: ignore[return-value]


def test_log_validate_profile_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path / "home")
    csv = tmp_path / "people.csv"
    pd.DataFrame({"id": [1, 2, 3], "age": [30, 40, 50], "plan": ["a", "b", "a"]}).to_csv(
        csv, index=False
    )
    code, out, _ = run_cli(capsys, "--home", home, "data", "log", "people", str(csv))
    assert code == 0
    assert "Logged datasets:/people/1: 3 rows x 3 columns" in out
    code, out, _ = run_cli(capsys, "--home", home, "data", "log", "people", str(csv))
    assert code == 0
    assert "Unchanged" in out
    schema = tmp_path / "schema.yaml"
    code, out, _ = run_cli(
        capsys, "--home", home, "data", "schema", "people", "-o", str(schema), "--save"
    )
    assert code == 0
    assert "Stored as schema v1" in out
    assert "unique: true" in schema.read_text()
    code, out, _ = run_cli(
        capsys, "--home", home, "data", "validate", "people@1", "--html", str(tmp_path / "r.html")
    )
    assert code == 0
    assert "PASSED" in out
    assert (tmp_path / "r.html").exists()
    # a second version breaks the stored schema: the command fails and names the check
    pd.DataFrame({"id": [1, 1], "age": [30, 99], "plan": ["a", "z"]}).to_csv(csv, index=False)
    run_cli(capsys, "--home", home, "data", "log", "people", str(csv))
    code, out, _ = run_cli(capsys, "--home", home, "data", "validate", "people")
    assert code == 1
    assert "FAILED" in out
    assert "id: unique" in out
    assert "plan: in {a, b}" in out
    code, out, _ = run_cli(capsys, "--home", home, "data", "versions", "people")
    assert code == 0
    assert "v1" in out
    assert "v2" in out
    code, out, _ = run_cli(capsys, "--home", home, "data", "show", "people", "--version", "1")
    assert code == 0
    assert "datasets:/people/1" in out
    assert "PASSED" in out
    code, out, _ = run_cli(capsys, "--home", home, "data", "profile", "people")
    assert code == 0
    assert "age" in out
    code, out, _ = run_cli(
        capsys,
        "--home",
        home,
        "data",
        "export",
        "people@1",
        str(tmp_path / "out.parquet"),
        "-c",
        "age",
    )
    assert code == 0
    assert pd.read_parquet(tmp_path / "out.parquet")["age"].tolist() == [30, 40, 50]
    code, out, _ = run_cli(capsys, "--home", home, "data", "list")
    assert code == 0
    assert "people" in out


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path / "home")
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  a: {type: int64\n")
    csv = tmp_path / "x.csv"
    csv.write_text("a\n1\n")
    run_cli(capsys, "--home", home, "data", "log", "x", str(csv))
    code, _, err = run_cli(capsys, "--home", home, "data", "validate", "x", "-s", str(bad))
    assert code == 2
    assert err.startswith("Error: Schema file")
    assert "line 3" in err
    code, _, err = run_cli(capsys, "--home", home, "data", "show", "nope")
    assert code == 3
    assert "Dataset 'nope' does not exist" in err
    code, _, err = run_cli(capsys, "--home", home, "data", "validate", "x")
    assert code == 3
    assert "No schema version" in err


def test_clean_and_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path / "home")
    csv = tmp_path / "x.csv"
    pd.DataFrame({"id": [1, 1, 2], "v": [1.0, 1.0, None]}).to_csv(csv, index=False)
    run_cli(capsys, "--home", home, "data", "log", "x", str(csv))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("steps:\n  - drop_duplicates: {}\n  - fill_nulls: {v: 0}\n")
    code, out, _ = run_cli(capsys, "--home", home, "data", "clean", "x", "-r", str(recipe))
    assert code == 0
    assert "datasets:/x/1 -> datasets:/x/2: 3 rows in, 2 rows out" in out
    assert "drop_duplicates: 1 dropped" in out
    code, out, _ = run_cli(capsys, "--home", home, "data", "diff", "x@1", "x@2")
    assert code == 0
    assert "rows 3 -> 2" in out
    assert "null share 33.3% -> 0.0%" in out
