"""The tables of the metadata store (SQLAlchemy Core).

The schema only changes through Alembic revisions in ``migrations/versions``;
``tests/store/test_migrations.py`` checks that the revisions build exactly
these tables. Timestamps are integer milliseconds since the epoch, UTC.
A metric value of NULL stands for NaN (SQLite cannot store NaN in a REAL).
Key/value tables are clustered on their primary key in SQLite (WITHOUT ROWID),
so reading a run's params or latest metrics is one index walk.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(32)
KEY = String(250)

projects = Table(
    "projects",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_ms", BigInteger, nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("lifecycle", String(16), nullable=False, default="active"),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("experiment_id", ID, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("lifecycle", String(16), nullable=False, default="active"),
    Column("user", String(250), nullable=False, default=""),
    Column("parent_run_id", ID, ForeignKey("runs.id"), nullable=True),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=True),
    Column("heartbeat_ms", BigInteger, nullable=True),
    Column("pid", Integer, nullable=True),
    Column("hostname", String(250), nullable=False, default=""),
    Column("error", Text, nullable=True),
    Column("git_commit", String(64), nullable=True),
    Column("git_dirty", Boolean, nullable=True),
    Column("entry_point", Text, nullable=False, default=""),
    Column("python_version", String(64), nullable=False, default=""),
    Column("platform", String(250), nullable=False, default=""),
    Column("packages_hash", String(64), nullable=True),
    Index(None, "experiment_id", "start_ms"),
    Index(None, "parent_run_id"),
    Index(None, "status"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

#: Every logged point: the full history.
metrics = Table(
    "metrics",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", ID, ForeignKey("runs.id"), nullable=False),
    Column("key", KEY, nullable=False),
    Column("value", Float(precision=53), nullable=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Index(None, "run_id", "key", "step"),
)

#: The latest point per (run, key), kept current on every write, so that search
#: and listing never scan the history.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Float(precision=53), nullable=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Index(None, "key", "value"),
    sqlite_with_rowid=False,
)

run_artifacts = Table(
    "run_artifacts",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("path", Text, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# -- data (revision 0002) -------------------------------------------------------------------

datasets = Table(
    "datasets",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name"),
)

#: An immutable version of a dataset: Parquet in the blob store, named by the digest
#: of its canonical content (the same data logged twice is one version).
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("dataset_id", ID, ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("blob_digest", String(64), nullable=False),
    Column("num_rows", BigInteger, nullable=False),
    Column("num_columns", Integer, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("arrow_schema", Text, nullable=False),  # JSON: [{"name", "type", "nullable"}]
    Column("source", Text, nullable=False, default=""),
    Column("creator", String(250), nullable=False, default=""),
    Column("run_id", ID, ForeignKey("runs.id"), nullable=True),
    Column("recipe", Text, nullable=True),  # JSON of the cleaning recipe that made it
    Column("profile_digest", String(64), nullable=True),
    Column("format_version", Integer, nullable=False),
    Column("shipyard_version", String(32), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("dataset_id", "version"),
    UniqueConstraint("dataset_id", "digest"),
)

dataset_version_parents = Table(
    "dataset_version_parents",
    metadata,
    Column("version_id", ID, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("parent_id", ID, ForeignKey("dataset_versions.id"), primary_key=True),
    sqlite_with_rowid=False,
)

#: Lineage from dataset versions to the runs that read them.
run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("version_id", ID, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "version_id"),
    sqlite_with_rowid=False,
)

#: Declared schemas (YAML), versioned per dataset.
dataset_schemas = Table(
    "dataset_schemas",
    metadata,
    Column("id", ID, primary_key=True),
    Column("dataset_id", ID, ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("dataset_id", "version"),
    UniqueConstraint("dataset_id", "digest"),
)

validation_reports = Table(
    "validation_reports",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version_id", ID, ForeignKey("dataset_versions.id"), nullable=False),
    Column("schema_id", ID, ForeignKey("dataset_schemas.id"), nullable=True),
    Column("passed", Boolean, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("body", Text, nullable=False),  # JSON of the report
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "version_id", "created_ms"),
)

# -- registry (revision 0003) ---------------------------------------------------------------

registered_models = Table(
    "registered_models",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("gates", Text, nullable=True),  # the declared promotion gates, as YAML
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name"),
)

#: Immutable numbered versions; a version points at a model package by URI and manifest digest.
model_versions = Table(
    "model_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("model_id", ID, ForeignKey("registered_models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("run_id", ID, ForeignKey("runs.id"), nullable=True),
    Column("manifest_digest", String(64), nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("tags", Text, nullable=False, default="{}"),  # JSON
    Column("status", String(16), nullable=False, default="ready"),
    Column("creator", String(250), nullable=False, default=""),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("model_id", "version"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", ID, ForeignKey("registered_models.id"), primary_key=True),
    Column("alias", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

#: Every move of an alias: who, when, from what to what, why.
alias_events = Table(
    "alias_events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("model_id", ID, ForeignKey("registered_models.id"), nullable=False),
    Column("alias", String(100), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("user", String(250), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("forced", Boolean, nullable=False, default=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "model_id", "alias", "created_ms"),
)

gate_results = Table(
    "gate_results",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version_id", ID, ForeignKey("model_versions.id"), nullable=False),
    Column("promotion_id", ID, nullable=False),
    Column("alias", String(100), nullable=False),
    Column("gate", Text, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("measured", Text, nullable=True),  # JSON
    Column("bound", Text, nullable=True),
    Column("detail", Text, nullable=False, default=""),
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "version_id", "created_ms"),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version_id", ID, ForeignKey("model_versions.id"), nullable=False),
    Column("dataset_version_id", ID, ForeignKey("dataset_versions.id"), nullable=True),
    Column("task", String(32), nullable=False),
    Column("body", Text, nullable=False),  # JSON: metrics, slices, artifacts
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "version_id", "created_ms"),
)

# -- deployments (revision 0004) ------------------------------------------------------------

#: A served model's traffic: which versions take what share, as a JSON spec, at a revision.
deployments = Table(
    "deployments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("model_id", ID, ForeignKey("registered_models.id"), nullable=False),
    Column("spec", Text, nullable=False),  # JSON
    Column("revision", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name"),
)

#: Every change of a deployment: the spec it set, the action, who and why.
deployment_events = Table(
    "deployment_events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("deployment_id", ID, ForeignKey("deployments.id"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("spec", Text, nullable=False),  # JSON
    Column("user", String(250), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("deployment_id", "revision"),
)

# -- monitoring (revision 0005) --------------------------------------------------------------

#: A monitor: what it watches, its checks, window, schedule, alert rules and channels (YAML).
monitors = Table(
    "monitors",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("spec", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name"),
)

#: Each evaluation of each check of a monitor: a time series per (monitor, check, metric).
monitor_results = Table(
    "monitor_results",
    metadata,
    Column("id", ID, primary_key=True),
    Column("monitor_id", ID, ForeignKey("monitors.id"), nullable=False),
    Column("run_id", ID, nullable=False),  # one evaluation of the monitor
    Column("check_name", String(100), nullable=False),
    Column("metric", String(100), nullable=False),
    Column("value", Float, nullable=True),
    Column("status", String(16), nullable=False),  # ok | violated | no_data | error
    Column("message", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default="{}"),  # JSON details
    Column("ts_ms", BigInteger, nullable=False),
    Index(None, "monitor_id", "check_name", "ts_ms"),
)

#: Alerts: one firing alert per (monitor, rule) at a time, resolved when its condition clears.
alerts = Table(
    "alerts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("monitor_id", ID, ForeignKey("monitors.id"), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # firing | resolved
    Column("message", Text, nullable=False, default=""),
    Column("started_ms", BigInteger, nullable=False),
    Column("last_ms", BigInteger, nullable=False),
    Column("notified_ms", BigInteger, nullable=True),
    Column("resolved_ms", BigInteger, nullable=True),
    Column("count", Integer, nullable=False, default=1),
    Index(None, "monitor_id", "rule", "status"),
)

#: Every attempt to tell a channel about an alert.
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("alert_id", ID, ForeignKey("alerts.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("event", String(16), nullable=False),  # firing | resolved | reminder
    Column("delivered", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("ts_ms", BigInteger, nullable=False),
    Index(None, "alert_id", "ts_ms"),
)
