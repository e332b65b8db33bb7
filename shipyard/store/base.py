"""The metadata store's interface: one small abstract class per entity.

A :class:`Store` is a set of per-entity stores plus :meth:`Store.log_batch`,
which writes a batch of buffered logging in one transaction. Implementations:
:class:`~shipyard.store.sql.SqlStore` (SQLite, PostgreSQL); a REST store over
a Shipyard server implements the same interface. The conformance tests in
``tests/store`` run unchanged against every implementation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shipyard.store.entities import (
    Alert,
    AlertDelivery,
    AliasEvent,
    ArtifactRecord,
    ColumnType,
    Dataset,
    DatasetVersion,
    Deployment,
    DeploymentEvent,
    EvaluationRecord,
    Experiment,
    GateResultRecord,
    Lifecycle,
    MetricPoint,
    ModelVersion,
    MonitorRecord,
    MonitorResult,
    Project,
    RegisteredModel,
    Run,
    RunStatus,
    SchemaRecord,
    ValidationRecord,
)

__all__ = [
    "ArtifactIndex",
    "DatasetStore",
    "DeploymentStore",
    "ExperimentStore",
    "LogBatch",
    "MetricStore",
    "MonitorStore",
    "NewDatasetVersion",
    "NewModelVersion",
    "NewRun",
    "ParamStore",
    "ProjectStore",
    "RegistryStore",
    "RunEnd",
    "RunQuery",
    "RunStore",
    "Store",
    "TagStore",
]

#: (run_id, key, value, step, timestamp_ms)
MetricRow = tuple[str, str, float, int, int]


@dataclass
class NewRun:
    """Everything known when a run starts; written in one transaction."""

    id: str
    experiment_id: str
    name: str
    start_ms: int
    user: str = ""
    parent_run_id: str | None = None
    description: str = ""
    pid: int | None = None
    hostname: str = ""
    git_commit: str | None = None
    git_dirty: bool | None = None
    entry_point: str = ""
    python_version: str = ""
    platform: str = ""
    packages_hash: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    artifacts: Sequence[ArtifactRecord] = ()


@dataclass(frozen=True)
class RunEnd:
    run_id: str
    status: RunStatus
    end_ms: int
    error: str | None = None


@dataclass
class LogBatch:
    """Buffered logging for any number of runs, written in one transaction."""

    metrics: list[MetricRow] = field(default_factory=list)
    tags: list[tuple[str, str, str]] = field(default_factory=list)  # run_id, key, value
    heartbeats: list[str] = field(default_factory=list)  # run ids
    ends: list[RunEnd] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.metrics or self.tags or self.heartbeats or self.ends)


@dataclass(frozen=True)
class RunQuery:
    experiment_ids: Sequence[str] | None = None
    filter: str = ""
    order_by: Sequence[str] = ()
    max_results: int = 100
    offset: int = 0
    lifecycle: Lifecycle | None = Lifecycle.ACTIVE


class ProjectStore(ABC):
    @abstractmethod
    def get_or_create(self, name: str) -> Project: ...

    @abstractmethod
    def get(self, name: str) -> Project:
        """The project called ``name``; NotFound if there is none."""

    @abstractmethod
    def list(self) -> list[Project]: ...


class ExperimentStore(ABC):
    @abstractmethod
    def get_or_create(self, project_id: str, name: str) -> Experiment: ...

    @abstractmethod
    def get(self, experiment_id: str) -> Experiment: ...

    @abstractmethod
    def get_by_name(self, project_id: str, name: str) -> Experiment: ...

    @abstractmethod
    def list(self, project_id: str | None = None) -> list[Experiment]: ...

    @abstractmethod
    def run_counts(self, experiment_ids: Iterable[str]) -> dict[str, int]:
        """Active runs per experiment."""


class RunStore(ABC):
    @abstractmethod
    def create(self, new: NewRun) -> Run: ...

    @abstractmethod
    def get(self, run_id: str) -> Run:
        """The run with its params, latest metrics and tags; NotFound if none."""

    @abstractmethod
    def get_many(self, run_ids: Sequence[str]) -> list[Run]:
        """Runs in the order asked; NotFound naming the first unknown id."""

    @abstractmethod
    def resume(self, run_id: str, pid: int | None, hostname: str, now_ms: int) -> Run:
        """Mark an ended run RUNNING again, for this process."""

    @abstractmethod
    def end(self, end: RunEnd) -> None: ...

    @abstractmethod
    def set_lifecycle(self, run_ids: Sequence[str], lifecycle: Lifecycle) -> None: ...

    @abstractmethod
    def search(self, query: RunQuery) -> list[Run]: ...

    @abstractmethod
    def running(self) -> list[Run]:
        """Every run whose status is RUNNING (without params, metrics or tags)."""


class ParamStore(ABC):
    @abstractmethod
    def log(self, run_id: str, params: Mapping[str, str]) -> None:
        """Store params; Conflict if one was logged before with another value."""


class MetricStore(ABC):
    @abstractmethod
    def log(self, rows: Sequence[MetricRow]) -> None: ...

    @abstractmethod
    def history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of one metric, in step order (then time)."""


class TagStore(ABC):
    @abstractmethod
    def set(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    @abstractmethod
    def delete(self, run_id: str, key: str) -> None: ...


class ArtifactIndex(ABC):
    """Readable artifact paths of runs, mapped onto blob digests."""

    @abstractmethod
    def record(self, run_id: str, records: Sequence[ArtifactRecord]) -> None: ...

    @abstractmethod
    def list(self, run_id: str, prefix: str = "") -> list[ArtifactRecord]: ...

    @abstractmethod
    def get(self, run_id: str, path: str) -> ArtifactRecord: ...


@dataclass
class NewDatasetVersion:
    """A version about to be added; the store numbers it."""

    id: str
    dataset_id: str
    digest: str
    blob_digest: str
    num_rows: int
    num_columns: int
    size_bytes: int
    columns: Sequence[ColumnType]
    source: str
    creator: str
    format_version: int
    shipyard_version: str
    created_ms: int
    run_id: str | None = None
    recipe: Mapping[str, object] | None = None
    parents: Sequence[str] = ()


class DatasetStore(ABC):
    """Datasets, their versions, lineage, declared schemas and validation reports."""

    @abstractmethod
    def get_or_create(self, project_id: str, name: str) -> Dataset: ...

    @abstractmethod
    def get(self, project_id: str, name: str) -> Dataset:
        """The dataset called ``name``; NotFound if there is none."""

    @abstractmethod
    def list(self, project_id: str) -> list[Dataset]: ...

    @abstractmethod
    def add_version(self, new: NewDatasetVersion) -> tuple[DatasetVersion, bool]:
        """Number and store a version; if one with the same digest exists, return it.

        The flag says whether a new version was created.
        """

    @abstractmethod
    def get_version(self, dataset_id: str, version: int | str) -> DatasetVersion:
        """A version by number, by "latest", or by (a prefix of at least 8 of) its digest."""

    @abstractmethod
    def get_version_by_id(self, version_id: str) -> DatasetVersion: ...

    @abstractmethod
    def list_versions(self, dataset_id: str) -> list[DatasetVersion]:
        """Every version, oldest first."""

    @abstractmethod
    def set_profile(self, version_id: str, profile_digest: str) -> None: ...

    @abstractmethod
    def add_run_input(self, run_id: str, version_id: str) -> None:
        """Record that a run read a dataset version (lineage)."""

    @abstractmethod
    def run_inputs(self, run_id: str) -> list[DatasetVersion]: ...

    @abstractmethod
    def consumers(self, version_id: str) -> list[str]:
        """Ids of the runs that read a version."""

    @abstractmethod
    def add_schema(self, dataset_id: str, body: str, digest: str) -> SchemaRecord:
        """Store a declared schema as the next version (the same text is stored once)."""

    @abstractmethod
    def get_schema(self, dataset_id: str, version: int | str = "latest") -> SchemaRecord: ...

    @abstractmethod
    def add_validation(self, record: ValidationRecord) -> None: ...

    @abstractmethod
    def validations(self, version_id: str) -> list[ValidationRecord]:
        """Validation reports of a version, newest first."""


@dataclass
class NewModelVersion:
    source: str
    manifest_digest: str
    flavor: str
    run_id: str | None = None
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    creator: str = ""


#: ``move_alias(expected=ANY_HOLDER)`` moves the alias whoever holds it now
ANY_HOLDER = object()


class RegistryStore(ABC):
    """Registered models, immutable versions, aliases with their history, gates, evaluations."""

    @abstractmethod
    def get_or_create_model(self, project_id: str, name: str) -> RegisteredModel: ...

    @abstractmethod
    def get_model(self, project_id: str, name: str) -> RegisteredModel:
        """The model called ``name`` with its aliases; NotFound if there is none."""

    @abstractmethod
    def list_models(
        self, project_id: str, name_like: str | None = None
    ) -> list[RegisteredModel]: ...

    @abstractmethod
    def set_gates(self, model_id: str, gates: str | None) -> None:
        """Declare (or clear, with None) the model's promotion gates, as YAML text."""

    @abstractmethod
    def add_version(self, model_id: str, new: NewModelVersion) -> ModelVersion:
        """Store the next version number of a model."""

    @abstractmethod
    def get_version(self, model_id: str, version: int) -> ModelVersion: ...

    @abstractmethod
    def list_versions(self, model_id: str) -> list[ModelVersion]: ...

    @abstractmethod
    def move_alias(
        self,
        model_id: str,
        alias: str,
        to_version: int | None,
        *,
        expected: object = ANY_HOLDER,
        user: str = "",
        reason: str = "",
        forced: bool = False,
    ) -> AliasEvent:
        """Point ``alias`` at ``to_version`` (None deletes it) and record the move, atomically.

        With ``expected`` (a version number, or None for "no holder"), the move
        happens only if the alias is held as expected; otherwise Conflict.
        """

    @abstractmethod
    def alias_history(self, model_id: str, alias: str | None = None) -> list[AliasEvent]:
        """Moves of the model's aliases (or of one alias), oldest first."""

    @abstractmethod
    def add_gate_results(self, records: Sequence[GateResultRecord]) -> None: ...

    @abstractmethod
    def gate_results(self, version_id: str) -> list[GateResultRecord]: ...

    @abstractmethod
    def add_evaluation(self, record: EvaluationRecord) -> None: ...

    @abstractmethod
    def evaluations(self, version_id: str) -> list[EvaluationRecord]:
        """Evaluations of a version, newest first."""


class DeploymentStore(ABC):
    """Deployments (which model versions take what traffic) and their history."""

    @abstractmethod
    def get(self, project_id: str, name: str) -> Deployment:
        """The deployment called ``name``; NotFound if there is none."""

    @abstractmethod
    def list(self, project_id: str) -> list[Deployment]: ...

    @abstractmethod
    def save(
        self,
        project_id: str,
        name: str,
        model_id: str,
        spec: Mapping[str, object],
        *,
        action: str,
        expected_revision: int,
        user: str = "",
        reason: str = "",
    ) -> Deployment:
        """Store ``spec`` as the next revision and record the change, atomically.

        ``expected_revision`` is the revision the change was prepared against
        (0: the deployment must not exist yet); if another change landed first,
        Conflict.
        """

    @abstractmethod
    def history(self, deployment_id: str) -> list[DeploymentEvent]:
        """Changes of a deployment, oldest first."""


class MonitorStore(ABC):
    """Monitors, their results as time series, alerts and their deliveries."""

    @abstractmethod
    def save_monitor(
        self, project_id: str, name: str, spec: str, enabled: bool = True
    ) -> MonitorRecord:
        """Create the monitor, or replace its spec."""

    @abstractmethod
    def get_monitor(self, project_id: str, name: str) -> MonitorRecord:
        """The monitor called ``name``; NotFound if there is none."""

    @abstractmethod
    def list_monitors(self, project_id: str) -> list[MonitorRecord]: ...

    @abstractmethod
    def add_results(self, results: Sequence[MonitorResult]) -> None: ...

    @abstractmethod
    def results(
        self, monitor_id: str, check_name: str | None = None, last: int | None = None
    ) -> list[MonitorResult]:
        """Results oldest first; ``last`` keeps the newest N (per check when one is named)."""

    @abstractmethod
    def firing_alert(self, monitor_id: str, rule: str) -> Alert | None: ...

    @abstractmethod
    def save_alert(self, alert: Alert) -> None:
        """Insert the alert, or update it (by id)."""

    @abstractmethod
    def alerts(self, monitor_id: str | None = None, status: str | None = None) -> list[Alert]:
        """Alerts newest first."""

    @abstractmethod
    def add_delivery(self, delivery: AlertDelivery) -> None: ...

    @abstractmethod
    def deliveries(self, alert_id: str) -> list[AlertDelivery]: ...


class Store(ABC):
    """A metadata store: the per-entity stores, and batched writes across them."""

    uri: str
    projects: ProjectStore
    experiments: ExperimentStore
    runs: RunStore
    params: ParamStore
    metrics: MetricStore
    tags: TagStore
    artifacts: ArtifactIndex
    datasets: DatasetStore
    registry: RegistryStore
    deployments: DeploymentStore
    monitors: MonitorStore

    @abstractmethod
    def log_batch(self, batch: LogBatch) -> None:
        """Write metrics, tags, heartbeats and run ends in one transaction."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
