"""Monitoring: drift of inputs and outputs against a reference profile.

report = sy.monitoring.drift(sy.data.get("train"), current_frame)
print(report)                      # per column: test, statistic, threshold, verdict
report.drifted_columns             # ["num_00", "cat_0"]

window = sy.monitoring.window("churn", last=10_000)   # the prediction log, as inputs
sy.monitoring.drift(reference, window)
"""

from __future__ import annotations

from typing import Any

from shipyard.monitoring.drift import (
    DEFAULT_THRESHOLDS,
    TESTS,
    ColumnDrift,
    DriftReport,
    drift,
)
from shipyard.monitoring.monitors import (
    MonitorRun,
    alerts,
    get_monitor,
    list_monitors,
    parse_monitor,
    report,
    run_due,
    run_monitor,
    save_monitor,
)
from shipyard.monitoring.performance import (
    FairnessReport,
    PerformanceReport,
    WindowMetrics,
    estimate_performance,
    fairness,
    performance,
    registered_metrics,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "TESTS",
    "ColumnDrift",
    "DriftReport",
    "FairnessReport",
    "MonitorRun",
    "PerformanceReport",
    "WindowMetrics",
    "alerts",
    "drift",
    "estimate_performance",
    "fairness",
    "get_monitor",
    "list_monitors",
    "parse_monitor",
    "performance",
    "registered_metrics",
    "report",
    "run_due",
    "run_monitor",
    "save_monitor",
    "window",
]


def window(
    deployment: str,
    *,
    last: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    variant: str | None = "primary",
    home: Any = None,
) -> Any:
    """A window of a deployment's prediction log as a table of model inputs.

    Columns: the model's inputs under their own names, ``prediction``,
    ``model_version``, ``ts_ms``, ``request_id``, and ``label`` where
    ground truth came back (``POST /feedback``). ``last`` keeps the newest
    rows; ``variant`` keeps one role (None: all roles).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from shipyard import serving
    from shipyard.errors import InvalidInput

    if last is not None and last < 1:
        raise InvalidInput(f"last must be at least 1; got {last!r}.")
    log = serving.read_predictions(
        deployment, start_ms, end_ms, last=last, variant=variant, home=home
    )
    renamed = [n.removeprefix("input.") for n in log.column_names]
    table = log.rename_columns(renamed)
    labels = serving.read_labels(deployment, home=home)
    if labels.num_rows and table.num_rows:
        newest_first = labels.take(pa.array(range(labels.num_rows - 1, -1, -1)))
        found = pc.index_in(table["request_id"], value_set=newest_first["request_id"])
        table = table.append_column("label", pc.take(newest_first["label"], found))
    elif table.num_rows or "request_id" in table.column_names:
        table = table.append_column("label", pa.nulls(table.num_rows))
    return table
