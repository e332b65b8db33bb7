"""The Python examples in the README and docs/ run as written, so they cannot rot.

Each file's ```python blocks run in order as one script, in a fresh folder with
its own Shipyard home.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text())


@pytest.mark.parametrize("doc", [d for d in DOCS if python_blocks(d)], ids=lambda p: p.name)
def test_examples_run(doc: Path, tmp_path: Path) -> None:
    script = tmp_path / f"{doc.stem}_examples.py"
    script.write_text("\n\n".join(python_blocks(doc)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{doc.name} examples failed:\n{done.stderr}"


def test_documented_commands_exist() -> None:
    """Every `shipyard <group> <command>` named in the docs is a real command."""
    from typer.main import get_command

    from shipyard.cli import app

    root = get_command(app)
    named = set()
    for doc in DOCS:
        named |= set(
            re.findall(
                r"shipyard ((?:runs|experiments|db|data|models|deploy|monitor) [a-z-]+)",
                doc.read_text(),
            )
        )
    assert named, "the docs name no commands"
    deployment_names = {"churn", "tumours"}  # `shipyard deploy NAME ...` is `deploy set NAME`
    for phrase in sorted(named):
        group, command = phrase.split()
        if group == "deploy" and command in deployment_names:
            command = "set"
        assert command in root.commands[group].commands, f"docs name `shipyard {phrase}`"  # type: ignore[attr-defined]
