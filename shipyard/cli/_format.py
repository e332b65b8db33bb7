"""How values look in the terminal."""

from __future__ import annotations

from datetime import UTC, datetime

from shipyard.store.entities import RunStatus, format_metric

__all__ = ["duration", "format_metric", "status_text", "when"]

_STATUS_STYLE = {
    RunStatus.RUNNING: "cyan",
    RunStatus.FINISHED: "green",
    RunStatus.FAILED: "red",
    RunStatus.KILLED: "yellow",
}


def when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(start_ms: int, end_ms: int | None) -> str:
    if end_ms is None:
        return "-"
    seconds = (end_ms - start_ms) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def status_text(status: RunStatus) -> str:
    return f"[{_STATUS_STYLE[status]}]{status}[/]"
