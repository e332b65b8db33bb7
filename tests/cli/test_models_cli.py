"""``shipyard models`` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err  # type: ignore[return-value]


def test_the_model_commands(
    sqlite_home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    for c in (0.01, 1.0):
        with sy.start_run("m"):
            info = sy.models.log(
                LogisticRegression(C=c, max_iter=500).fit(X, y), input_example=X.head()
            )
        sy.registry.register(info, "iris")
    sy.data.log_dataset("iris-holdout", X.assign(target=y))
    home = str(sqlite_home)
    gates = tmp_path / "gates.yaml"
    gates.write_text("gates:\n  - metric: accuracy >= 0.9\n  - beat_champion: {metric: accuracy}\n")
    code, out, _ = run_cli(capsys, "--home", home, "models", "gates", "iris", "-f", str(gates))
    assert code == 0
    assert "accuracy >= 0.9" in out
    code, out, _ = run_cli(
        capsys,
        "--home",
        home,
        "models",
        "evaluate",
        "iris",
        "2",
        "-d",
        "iris-holdout",
        "-t",
        "target",
    )
    assert code == 0
    assert "accuracy" in out
    code, out, _ = run_cli(
        capsys,
        "--home",
        home,
        "models",
        "promote",
        "iris",
        "2",
        "-d",
        "iris-holdout",
        "-t",
        "target",
    )
    assert code == 0
    assert "iris@champion: nothing -> v2" in out
    code, out, err = run_cli(
        capsys,
        "--home",
        home,
        "models",
        "promote",
        "iris",
        "1",
        "-d",
        "iris-holdout",
        "-t",
        "target",
    )
    assert code == 5
    assert "refused" in out
    assert "did not pass 2 of 2 gate(s)" in err
    code, out, _ = run_cli(
        capsys, "--home", home, "models", "alias", "iris", "challenger", "1", "--reason", "shadow"
    )
    assert code == 0
    assert "iris@challenger: nothing -> v1" in out
    code, out, _ = run_cli(capsys, "--home", home, "models", "list")
    assert "champion -> v2" in out
    code, out, _ = run_cli(capsys, "--home", home, "models", "versions", "iris")
    assert "v1" in out
    code, out, _ = run_cli(capsys, "--home", home, "models", "show", "iris", "champion")
    assert "models:/iris/2" in out
    code, out, _ = run_cli(capsys, "--home", home, "models", "load-check", "models:/iris@champion")
    assert code == 0
    assert "files match their digests" in out
    code, out, _ = run_cli(
        capsys, "--home", home, "models", "card", "iris", "2", "-o", str(tmp_path / "card.md")
    )
    assert code == 0
    assert "## Gate results" in (tmp_path / "card.md").read_text()
    sy.registry.set_alias("iris", "champion", 1, reason="manual")
    code, out, _ = run_cli(capsys, "--home", home, "models", "rollback", "iris")
    assert code == 0
    assert "v1 -> v2 (rolled back)" in out
    code, out, _ = run_cli(capsys, "--home", home, "models", "history", "iris", "champion")
    assert "manual" in out
    code, _, err = run_cli(capsys, "--home", home, "models", "alias", "iris", "Bad Name", "1")
    assert code == 2
    assert "Alias 'Bad Name' is not allowed" in err
