"""What the metadata store holds, as plain immutable records."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "Alert",
    "AlertDelivery",
    "AliasEvent",
    "ArtifactRecord",
    "ColumnType",
    "Dataset",
    "DatasetVersion",
    "Deployment",
    "DeploymentEvent",
    "EvaluationRecord",
    "Experiment",
    "GateResultRecord",
    "Lifecycle",
    "MetricPoint",
    "ModelVersion",
    "MonitorRecord",
    "MonitorResult",
    "Project",
    "RegisteredModel",
    "Run",
    "RunStatus",
    "SchemaRecord",
    "ValidationRecord",
    "ms_to_datetime",
]


def ms_to_datetime(ms: int | None) -> datetime | None:
    """Milliseconds since the epoch as an aware UTC datetime (None stays None)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


class Lifecycle(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    description: str
    created_ms: int


@dataclass(frozen=True)
class Experiment:
    id: str
    project_id: str
    name: str
    description: str
    lifecycle: Lifecycle
    created_ms: int


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    step: int
    timestamp_ms: int

    @property
    def timestamp(self) -> datetime:
        return ms_to_datetime(self.timestamp_ms)  # type: ignore[return-value]


@dataclass(frozen=True)
class ArtifactRecord:
    """A readable path inside a run, mapped onto a content digest."""

    path: str
    digest: str
    size: int
    created_ms: int


@dataclass(frozen=True)
class Run:
    """A run as stored: its record, and its params, latest metrics and tags."""

    id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_ms: int
    end_ms: int | None = None
    user: str = ""
    parent_run_id: str | None = None
    description: str = ""
    lifecycle: Lifecycle = Lifecycle.ACTIVE
    error: str | None = None
    heartbeat_ms: int | None = None
    pid: int | None = None
    hostname: str = ""
    git_commit: str | None = None
    git_dirty: bool | None = None
    entry_point: str = ""
    python_version: str = ""
    platform: str = ""
    packages_hash: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def start_time(self) -> datetime:
        return ms_to_datetime(self.start_ms)  # type: ignore[return-value]

    @property
    def end_time(self) -> datetime | None:
        return ms_to_datetime(self.end_ms)

    @property
    def duration_s(self) -> float | None:
        return None if self.end_ms is None else (self.end_ms - self.start_ms) / 1000

    @staticmethod
    def flat_columns() -> tuple[str, ...]:
        """The fixed leading columns of :meth:`to_flat_dict`."""
        return (
            "run_id",
            "experiment_id",
            "name",
            "status",
            "start_time",
            "end_time",
            "user",
            "parent_run_id",
            "git_commit",
        )

    def to_flat_dict(self) -> dict[str, Any]:
        """One flat mapping, as a row of ``search_runs(...).to_pandas()``."""
        row: dict[str, Any] = {
            "run_id": self.id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "status": str(self.status),
            "start_time": self.start_time,
            "end_time": self.end_time,
            "user": self.user,
            "parent_run_id": self.parent_run_id,
            "git_commit": self.git_commit,
        }
        row.update({f"params.{k}": v for k, v in self.params.items()})
        row.update({f"metrics.{k}": v for k, v in self.metrics.items()})
        row.update({f"tags.{k}": v for k, v in self.tags.items()})
        return row


def format_metric(value: float) -> str:
    """A metric value for people: NaN and infinities shown as such."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


@dataclass(frozen=True)
class Dataset:
    id: str
    project_id: str
    name: str
    description: str
    created_ms: int


@dataclass(frozen=True)
class ColumnType:
    name: str
    type: str  # the Arrow type, as Arrow prints it: int64, double, string, timestamp[us, tz=UTC]
    nullable: bool = True


@dataclass(frozen=True)
class DatasetVersion:
    """An immutable version of a dataset, stored as Parquet in the blob store."""

    id: str
    dataset_id: str
    dataset_name: str
    version: int
    digest: str  # of the canonical content: the same data is one version
    blob_digest: str  # of the Parquet file in the blob store
    num_rows: int
    num_columns: int
    size_bytes: int
    columns: tuple[ColumnType, ...]
    source: str
    creator: str
    run_id: str | None
    recipe: dict[str, Any] | None
    profile_digest: str | None
    format_version: int
    shipyard_version: str
    created_ms: int
    parents: tuple[str, ...] = ()  # ids of the versions it was made from

    @property
    def uri(self) -> str:
        return f"datasets:/{self.dataset_name}/{self.version}"

    @property
    def created(self) -> datetime:
        return ms_to_datetime(self.created_ms)  # type: ignore[return-value]


@dataclass(frozen=True)
class SchemaRecord:
    """A declared schema (YAML text), versioned per dataset."""

    id: str
    dataset_id: str
    version: int
    digest: str
    body: str
    created_ms: int


@dataclass(frozen=True)
class ValidationRecord:
    id: str
    version_id: str
    schema_id: str | None
    passed: bool
    errors: int
    warnings: int
    body: str  # the report as JSON
    created_ms: int


@dataclass(frozen=True)
class RegisteredModel:
    id: str
    project_id: str
    name: str
    description: str
    created_ms: int
    updated_ms: int
    aliases: dict[str, int] = field(default_factory=dict)  # alias -> version number
    gates: str | None = None  # the declared promotion gates, as YAML


@dataclass(frozen=True)
class ModelVersion:
    """An immutable registered version of a model."""

    id: str
    model_id: str
    model_name: str
    version: int
    source: str  # runs:/<run>/<path>
    run_id: str | None
    manifest_digest: str
    flavor: str
    description: str
    tags: dict[str, str]
    status: str
    creator: str
    created_ms: int
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"


@dataclass(frozen=True)
class AliasEvent:
    """One move of an alias: from what version to what version, by whom and why."""

    id: str
    model_id: str
    alias: str
    from_version: int | None
    to_version: int | None
    user: str
    reason: str
    forced: bool
    created_ms: int


@dataclass(frozen=True)
class GateResultRecord:
    id: str
    version_id: str
    promotion_id: str
    alias: str
    gate: str
    passed: bool
    measured: Any
    bound: str | None
    detail: str
    created_ms: int


@dataclass(frozen=True)
class EvaluationRecord:
    id: str
    version_id: str
    dataset_version_id: str | None
    task: str
    body: str  # JSON
    created_ms: int


@dataclass(frozen=True)
class Deployment:
    """A served model's traffic at one revision; ``spec`` is read by ``shipyard.serving``."""

    id: str
    project_id: str
    name: str
    model_id: str
    model_name: str
    spec: dict[str, Any]
    revision: int
    created_ms: int
    updated_ms: int


@dataclass(frozen=True)
class DeploymentEvent:
    """One change of a deployment: the spec it set, by whom, why."""

    id: str
    deployment_id: str
    revision: int
    action: str
    spec: dict[str, Any]
    user: str
    reason: str
    created_ms: int


@dataclass(frozen=True)
class MonitorRecord:
    """A stored monitor; ``spec`` is its YAML, read by ``shipyard.monitoring``."""

    id: str
    project_id: str
    name: str
    spec: str
    enabled: bool
    created_ms: int
    updated_ms: int


@dataclass(frozen=True)
class MonitorResult:
    """One check's outcome in one evaluation of a monitor (a point of a time series)."""

    id: str
    monitor_id: str
    run_id: str
    check_name: str
    metric: str
    value: float | None
    status: str  # ok | violated | no_data | error
    message: str
    body: dict[str, Any]
    ts_ms: int


@dataclass
class Alert:
    """An alert of a monitor's rule: firing until its condition clears, then resolved."""

    id: str
    monitor_id: str
    rule: str
    severity: str
    status: str  # firing | resolved
    message: str
    started_ms: int
    last_ms: int
    notified_ms: int | None = None
    resolved_ms: int | None = None
    count: int = 1


@dataclass(frozen=True)
class AlertDelivery:
    id: str
    alert_id: str
    channel: str
    event: str  # firing | reminder | resolved
    delivered: bool
    attempts: int
    detail: str
    ts_ms: int
