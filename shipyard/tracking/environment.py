"""What a run ran from: git state, entry point, Python, platform, installed packages.

Captured once per process (the code a process runs does not change under it
in practice, and the capture costs tens of milliseconds), then shared by every
run the process starts.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = ["Environment", "capture_environment", "current_user"]


@dataclass(frozen=True)
class Environment:
    git_commit: str | None
    git_dirty: bool | None
    git_diff: bytes | None  # only when dirty
    entry_point: str
    python_version: str
    platform: str
    packages: str  # "name==version" lines, sorted
    packages_hash: str


def _git(*args: str) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, timeout=10, check=False, cwd=os.getcwd()
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _entry_point() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        return "<interactive>"
    if sys.argv and sys.argv[0] and not sys.argv[0].endswith(".py"):
        return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:1000]
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(Path(path).resolve())


def _packages() -> str:
    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").strip()
        if name:
            seen.setdefault(name.lower().replace("_", "-"), f"{name}=={dist.version}")
    return "".join(f"{seen[k]}\n" for k in sorted(seen))


@functools.cache
def capture_environment() -> Environment:
    head = _git("rev-parse", "HEAD")
    commit = head.decode().strip() if head else None
    dirty = diff = None
    if commit:
        status = _git("status", "--porcelain", "--untracked-files=no")
        dirty = bool(status and status.strip())
        diff = _git("diff", "HEAD", "--binary") if dirty else None
    packages = _packages()
    return Environment(
        git_commit=commit,
        git_dirty=dirty,
        git_diff=diff,
        entry_point=_entry_point(),
        python_version=platform.python_version(),
        platform=platform.platform(),
        packages=packages,
        packages_hash=hashlib.sha256(packages.encode()).hexdigest(),
    )


@functools.cache
def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")
