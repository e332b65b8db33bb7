"""The module-level tracking API behind ``import shipyard as sy``.

A default :class:`TrackingClient`, built from the settings on first use, and a
stack of active runs (the top one is the parent of a nested run). When the
first run starts in the main thread, Shipyard installs a SIGTERM handler (only
if the process has none of its own) that raises :class:`Terminated`, so active
runs end KILLED as the stack unwinds; runs still active at exit end FINISHED,
or FAILED after an uncaught exception.
"""

from __future__ import annotations

import atexit
import signal
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.config import load_settings
from shipyard.errors import InvalidInput
from shipyard.store.entities import Experiment, MetricPoint, Run, RunStatus
from shipyard.tracking.client import RunList, TrackingClient
from shipyard.tracking.run import ActiveRun, Terminated

__all__ = [
    "active_run",
    "client",
    "configure",
    "get_metric_history",
    "get_run",
    "list_experiments",
    "search_runs",
    "start_run",
]

_lock = threading.RLock()
_client: TrackingClient | None = None
_stack: list[ActiveRun] = []
_hooks_installed = False
_uncaught: BaseException | None = None


def client() -> TrackingClient:
    """The default tracking client (built from the settings on first use)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = TrackingClient(load_settings())
    return _client


def configure(**settings: Any) -> TrackingClient:
    """Point the module-level API at other settings (``home``, ``store_uri``, ...).

    Unset settings come from the environment, shipyard.toml and the defaults,
    as always. Refused while runs are active.
    """
    global _client
    with _lock:
        if _stack:
            raise InvalidInput(
                f"Cannot reconfigure while run {_stack[-1].id} is active; end it first."
            )
        new = TrackingClient(load_settings(**settings))
        old, _client = _client, new
    if old is not None:
        old.close()
    return new


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    return _stack[-1] if _stack else None


def start_run(
    experiment: str | None = None,
    *,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str = "",
    run_id: str | None = None,
    nested: bool = False,
    parent: ActiveRun | Run | str | None = None,
) -> ActiveRun:
    """Start a run (or resume one with ``run_id``) and make it the active run.

    Use it in a ``with`` block: the run ends FINISHED, or FAILED with the error
    recorded if the block raises, or KILLED on SIGINT/SIGTERM. ``nested=True``
    makes it a child of the active run; ``parent`` names the parent explicitly.
    """
    tracker = client()
    with _lock:
        parent_id = _parent_id(parent, nested)
        if run_id is not None:
            if params or tags or name is not None or experiment is not None:
                raise InvalidInput(
                    "Resuming a run takes only run_id; log params and tags on the returned run."
                )
            record = tracker.resume_run(run_id)
        else:
            record = tracker.create_run(
                experiment,
                name=name,
                params=params,
                tags=tags,
                description=description,
                parent_run_id=parent_id,
            )
        run = ActiveRun(tracker, record, on_end=_forget)
        _stack.append(run)
        _install_hooks()
    return run


def _parent_id(parent: ActiveRun | Run | str | None, nested: bool) -> str | None:
    if parent is not None:
        return parent if isinstance(parent, str) else parent.id
    if _stack and not nested:
        raise InvalidInput(
            f"Run {_stack[-1].id} is already active. End it first, or pass nested=True "
            "to start a child run."
        )
    if nested and not _stack:
        raise InvalidInput("nested=True needs an active run to be the parent; none is active.")
    return _stack[-1].id if nested else None


def _forget(run: ActiveRun) -> None:
    with _lock:
        if run in _stack:
            _stack.remove(run)


def get_run(run_id: str) -> Run:
    """A run with its params, latest metrics and tags."""
    return client().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[MetricPoint]:
    """Every logged point of one metric of a run, in step order."""
    return client().get_metric_history(run_id, key)


def list_experiments() -> list[Experiment]:
    """The experiments of the current project, oldest first."""
    return client().list_experiments()


def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str = "",
    order_by: Sequence[str] | str | None = None,
    max_results: int = 100,
    *,
    include_deleted: bool = False,
) -> RunList:
    """Runs matching a filter such as ``metrics.auc > 0.9 and params.model = 'rf'``.

    ``order_by`` takes clauses such as ``"metrics.auc DESC"``; the result is a list
    of :class:`~shipyard.store.entities.Run` with ``.to_pandas()``.
    """
    return client().search_runs(
        experiment, filter, order_by, max_results, include_deleted=include_deleted
    )


# -- process hooks ------------------------------------------------------------------------


def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_end_active_runs)
    previous_hook = sys.excepthook

    def _excepthook(exc_type, exc, tb):  # type: ignore[no-untyped-def]
        global _uncaught
        _uncaught = exc
        previous_hook(exc_type, exc, tb)

    sys.excepthook = _excepthook
    in_main = threading.current_thread() is threading.main_thread()
    if in_main and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: Any) -> None:
    if _stack:
        raise Terminated
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)


def _end_active_runs() -> None:
    """At exit: end runs nobody ended, as FAILED after an uncaught exception."""
    exc = _uncaught or getattr(sys, "last_value", None)
    for run in reversed(list(_stack)):
        try:
            if isinstance(exc, KeyboardInterrupt | Terminated):
                run.end(RunStatus.KILLED, "Stopped by a signal.")
            elif exc is not None:
                run.end(RunStatus.FAILED, "".join(traceback.format_exception(exc))[-8000:])
            else:
                run.end(RunStatus.FINISHED)
        except Exception as err:  # the interpreter is going away: say so, do not raise
            print(f"shipyard: could not end run {run.id} at exit: {err}", file=sys.stderr)
    if _client is not None:
        try:
            _client.writer.flush()
        except Exception as err:
            print(f"shipyard: could not write logged data at exit: {err}", file=sys.stderr)
