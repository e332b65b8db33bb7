"""Serving: a fast model server, prediction logging, labels.

shipyard serve models:/churn@champion --port 8000

sy.serving.read_predictions("churn-champion")     # the prediction log as an Arrow table
sy.serving.log_labels("churn-champion", {request_id: 1})
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.serving.batch import ScoreResult, score_file

__all__ = ["ScoreResult", "log_labels", "read_labels", "read_predictions", "score_file"]


def _folder(deployment: str, home: str | Path | None) -> Path:
    from shipyard.config import load_settings

    return Path(load_settings(home=home).home) / "predictions" / deployment


def read_predictions(
    deployment: str,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    last: int | None = None,
    variant: str | None = None,
    home: Any = None,
) -> Any:
    """The deployment's logged predictions as a pyarrow Table, one row per input row.

    ``start_ms``/``end_ms`` bound the time; ``last`` keeps the newest rows
    (reading only the segments that hold them); ``variant`` keeps one role
    (primary, canary, shadow). Rows of a running server show up within half a second.
    """
    from shipyard.serving.predlog import read_predictions as read

    return read(
        _folder(deployment, home) / "requests", start_ms, end_ms, last=last, variant=variant
    )


def log_labels(deployment: str, labels: dict[str, Any], *, home: Any = None) -> int:
    """Attach ground-truth labels to request ids (as ``POST /feedback`` does)."""
    from shipyard.serving.predlog import write_labels

    return write_labels(_folder(deployment, home) / "labels", labels)


def read_labels(deployment: str, *, home: Any = None) -> Any:
    from shipyard.serving.predlog import read_labels as read

    return read(_folder(deployment, home) / "labels")
