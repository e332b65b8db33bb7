"""Real processes: killed, terminated, interrupted, and writing side by side."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shipyard.config import load_settings
from shipyard.store.entities import RunStatus
from shipyard.tracking import TrackingClient

READY_TIMEOUT = 120


def spawn(tmp_path: Path, code: str, **env: str) -> subprocess.Popen[str]:
    script = tmp_path / f"child_{len(list(tmp_path.glob('child_*')))}.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SHIPYARD_HOME": str(tmp_path / "home"), **env},
    )


def read_line(proc: subprocess.Popen[str]) -> str:
    """The child's next line on stdout (each child reports progress line by line)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=READY_TIMEOUT)
        raise AssertionError(f"child exited {proc.returncode}: {proc.stderr.read()}")  # type: ignore[union-attr]
    return line.strip()


def open_client(tmp_path: Path) -> TrackingClient:
    return TrackingClient(load_settings(home=tmp_path / "home"))


def test_kill_9_loses_nothing_flushed_and_half_writes_nothing(tmp_path: Path) -> None:
    child = spawn(
        tmp_path,
        """
        import shipyard as sy
        run = sy.start_run("crash")
        print(run.id, flush=True)
        for chunk in range(1, 10_000):
            for i in range(1000):
                run.log_metric("x", float(i), step=chunk * 1000 + i)
            run.flush()
            print(chunk * 1000, flush=True)
        """,
        # only explicit flushes write, so every transaction holds a whole chunk
        SHIPYARD_FLUSH_INTERVAL="3600",
        SHIPYARD_FLUSH_MAX_POINTS="10000000",
    )
    run_id = read_line(child)
    flushed = 0
    while flushed < 20_000:
        flushed = int(read_line(child))
    child.kill()
    child.wait(timeout=READY_TIMEOUT)
    assert child.returncode == -signal.SIGKILL

    db = tmp_path / "home" / "shipyard.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    client = open_client(tmp_path)
    history = client.get_metric_history(run_id, "x")
    assert len(history) >= flushed
    assert len(history) % 1000 == 0, "a flush was half-written"
    assert client.get_run(run_id).metrics["x"] == 999.0  # latest agrees with the history
    # the run is left RUNNING, and recognisably dead
    assert client.get_run(run_id).status is RunStatus.RUNNING
    dead = client.find_dead_runs()
    assert [d.run.id for d in dead] == [run_id]
    assert "is gone" in dead[0].reason
    client.mark_dead_runs()
    got = client.get_run(run_id)
    assert got.status is RunStatus.KILLED
    assert "is gone" in (got.error or "")
    client.close()


def test_eight_processes_log_into_one_sqlite_store_at_once(tmp_path: Path) -> None:
    code = """
        import sys
        import shipyard as sy
        with sy.start_run("parallel") as run:
            print("ready", flush=True)
            sys.stdin.readline()  # start together
            for i in range(10_000):
                run.log_metric("m", float(i))
                if i % 2500 == 0:
                    run.set_tag("progress", str(i))
        print("done", flush=True)
    """
    # a small batch size makes the writers contend for the lock many times
    children = [spawn(tmp_path, code, SHIPYARD_FLUSH_MAX_POINTS="500") for _ in range(8)]
    for child in children:
        assert read_line(child) == "ready"
    for child in children:
        child.stdin.write("go\n")  # type: ignore[union-attr]
        child.stdin.flush()  # type: ignore[union-attr]
    for child in children:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        assert "locked" not in err
    client = open_client(tmp_path)
    runs = client.search_runs("parallel", max_results=100)
    assert len(runs) == 8
    assert all(r.status is RunStatus.FINISHED for r in runs)
    total = sum(len(client.get_metric_history(r.id, "m")) for r in runs)
    assert total == 80_000
    client.close()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, None)])
def test_signals_end_the_run_killed(tmp_path: Path, sig: signal.Signals, code: int | None) -> None:
    child = spawn(
        tmp_path,
        """
        import sys
        import shipyard as sy
        with sy.start_run("signals") as run:
            run.log_metric("before", 1.0)
            print(run.id, flush=True)
            sys.stdin.readline()  # wait here for the signal
        """,
    )
    run_id = read_line(child)
    child.send_signal(sig)
    child.wait(timeout=READY_TIMEOUT)
    if code is not None:
        assert child.returncode == code
    else:
        assert child.returncode != 0
    client = open_client(tmp_path)
    got = client.get_run(run_id)
    assert got.status is RunStatus.KILLED
    assert got.metrics == {"before": 1.0}
    client.close()


def test_runs_left_open_end_at_exit(tmp_path: Path) -> None:
    ok = spawn(
        tmp_path,
        "import shipyard as sy\nr = sy.start_run('exit')\nr.log_metric('m', 1.0)\nprint(r.id)\n",
    )
    ok_id = read_line(ok)
    ok.wait(timeout=READY_TIMEOUT)
    crash = spawn(
        tmp_path,
        "import shipyard as sy\nr = sy.start_run('exit')\nprint(r.id, flush=True)\n"
        "raise RuntimeError('bad data')\n",
    )
    crash_id = read_line(crash)
    crash.wait(timeout=READY_TIMEOUT)
    assert (ok.returncode, crash.returncode) == (0, 1)
    client = open_client(tmp_path)
    assert client.get_run(ok_id).status is RunStatus.FINISHED
    assert client.get_run(ok_id).metrics == {"m": 1.0}
    failed = client.get_run(crash_id)
    assert failed.status is RunStatus.FAILED
    assert "bad data" in (failed.error or "")
    client.close()
