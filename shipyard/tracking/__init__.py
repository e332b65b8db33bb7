"""Experiment tracking: runs with params, metrics, tags and artifacts."""

from shipyard.tracking.autolog import autolog
from shipyard.tracking.client import DeadRun, RunList, TrackingClient
from shipyard.tracking.fluent import (
    active_run,
    client,
    configure,
    get_metric_history,
    get_run,
    list_experiments,
    search_runs,
    start_run,
)
from shipyard.tracking.run import ActiveRun
from shipyard.tracking.seeds import seed_everything

__all__ = [
    "ActiveRun",
    "DeadRun",
    "RunList",
    "TrackingClient",
    "active_run",
    "autolog",
    "client",
    "configure",
    "get_metric_history",
    "get_run",
    "list_experiments",
    "search_runs",
    "seed_everything",
    "start_run",
]
