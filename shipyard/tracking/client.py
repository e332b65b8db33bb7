"""The tracking client: runs, metrics and artifacts over one metadata store and blob store."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.artifacts import BlobStore, open_blob_store
from shipyard.artifacts.paths import artifact_path, join_artifact_path
from shipyard.config import Settings, load_settings
from shipyard.errors import InvalidInput, NotFound
from shipyard.store import Store, open_store
from shipyard.store.base import NewRun, RunEnd, RunQuery
from shipyard.store.entities import (
    ArtifactRecord,
    DatasetVersion,
    Experiment,
    Lifecycle,
    MetricPoint,
    Run,
    RunStatus,
)
from shipyard.store.ids import new_id, now_ms
from shipyard.store.validation import check_key, check_name, param_text, tag_text
from shipyard.tracking._writer import BackgroundWriter
from shipyard.tracking.environment import capture_environment, current_user

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DeadRun", "RunList", "TrackingClient"]

ENV_PREFIX = "_shipyard"


class RunList(list[Run]):
    """The runs a search found, in order; ``to_pandas()`` gives one row per run."""

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        rows = [run.to_flat_dict() for run in self]
        first = list(Run.flat_columns())
        rest = sorted({c for row in rows for c in row} - set(first))
        return pd.DataFrame(rows, columns=first + rest)


class DeadRun:
    """A run still marked RUNNING whose process is gone, and how we know."""

    def __init__(self, run: Run, reason: str) -> None:
        self.run = run
        self.reason = reason

    def __repr__(self) -> str:
        return f"DeadRun({self.run.id!r}, {self.reason!r})"


class TrackingClient:
    """Runs, metrics and artifacts over one metadata store and one blob store.

    ``sy.start_run`` and friends use a default client built from the settings;
    build one yourself to work with another store.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: Store | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.store = store or open_store(
            self.settings.store_uri, busy_timeout=self.settings.sqlite_busy_timeout
        )
        self.blobs = blobs or open_blob_store(self.settings.artifact_uri)
        self.writer = BackgroundWriter(
            self.store,
            flush_interval=self.settings.flush_interval,
            flush_max_points=self.settings.flush_max_points,
            heartbeat_interval=self.settings.heartbeat_interval,
        )
        self._env_records: list[ArtifactRecord] | None = None
        self._project_id: str | None = None
        self._experiments: dict[str, Experiment] = {}

    # -- experiments --------------------------------------------------------------------

    @property
    def project_id(self) -> str:
        if self._project_id is None:
            self._project_id = self.store.projects.get_or_create(self.settings.project).id
        return self._project_id

    def experiment(self, name: str | None = None, *, create: bool = True) -> Experiment:
        """The experiment called ``name`` in this project (the default one if None)."""
        name = check_name(name if name is not None else self.settings.experiment, "experiment")
        if name not in self._experiments:
            if create:
                exp = self.store.experiments.get_or_create(self.project_id, name)
            else:
                exp = self.store.experiments.get_by_name(self.project_id, name)
            self._experiments[name] = exp
        return self._experiments[name]

    def list_experiments(self) -> list[Experiment]:
        return self.store.experiments.list(self.project_id)

    # -- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        experiment: str | None = None,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str = "",
        parent_run_id: str | None = None,
    ) -> Run:
        exp = self.experiment(experiment)
        run_id = new_id()
        clean_params = {
            check_key(k, "param key"): param_text(k, v) for k, v in (params or {}).items()
        }
        clean_tags = {check_key(k, "tag key"): tag_text(k, v) for k, v in (tags or {}).items()}
        if parent_run_id is not None:
            self.store.runs.get(parent_run_id)  # NotFound if the parent does not exist
        new = NewRun(
            id=run_id,
            experiment_id=exp.id,
            name=check_name(name, "run") if name is not None else f"run-{run_id[-8:]}",
            start_ms=now_ms(),
            user=current_user(),
            parent_run_id=parent_run_id,
            description=description,
            pid=os.getpid(),
            hostname=socket.gethostname(),
            params=clean_params,
            tags=clean_tags,
        )
        if self.settings.capture_environment:
            env = capture_environment()
            new.git_commit, new.git_dirty = env.git_commit, env.git_dirty
            new.entry_point, new.python_version = env.entry_point, env.python_version
            new.platform, new.packages_hash = env.platform, env.packages_hash
            new.artifacts = self._environment_artifacts()
        run = self.store.runs.create(new)
        self.writer.run_started(run_id)
        return run

    def _environment_artifacts(self) -> list[ArtifactRecord]:
        """The package list and git diff as blobs, uploaded once per process."""
        if self._env_records is None:
            env = capture_environment()
            files = {f"{ENV_PREFIX}/requirements.txt": env.packages.encode()}
            if env.git_diff:
                files[f"{ENV_PREFIX}/git.diff"] = env.git_diff
            self._env_records = []
            for path, data in files.items():
                info = self.blobs.put_bytes(data)
                self._env_records.append(ArtifactRecord(path, info.digest, info.size, now_ms()))
        return self._env_records

    def resume_run(self, run_id: str) -> Run:
        run = self.store.runs.resume(run_id, os.getpid(), socket.gethostname(), now_ms())
        self.writer.run_started(run_id)
        return run

    def end_run(
        self, run_id: str, status: RunStatus = RunStatus.FINISHED, error: str | None = None
    ) -> None:
        self.writer.end_run(RunEnd(run_id, RunStatus(status), now_ms(), error))

    def get_run(self, run_id: str) -> Run:
        """A run with its params, latest metrics and tags (pending logging is written first)."""
        self.writer.flush()
        return self.store.runs.get(_run_id(run_id))

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every logged point of one metric, in step order."""
        self.writer.flush()
        return self.store.metrics.history(_run_id(run_id), key)

    def search_runs(
        self,
        experiment: str | Sequence[str] | None = None,
        filter: str = "",
        order_by: Sequence[str] | str | None = None,
        max_results: int = 100,
        *,
        include_deleted: bool = False,
        offset: int = 0,
    ) -> RunList:
        """Runs matching ``filter`` in the named experiment(s) (all of the project's if None)."""
        self.writer.flush()
        if experiment is None:
            ids = [e.id for e in self.list_experiments()]
        else:
            names = [experiment] if isinstance(experiment, str) else list(experiment)
            ids = [self.experiment(n, create=False).id for n in names]
        if isinstance(order_by, str):
            order_by = [order_by]
        query = RunQuery(
            experiment_ids=ids,
            filter=filter or "",
            order_by=tuple(order_by or ()),
            max_results=max_results,
            offset=offset,
            lifecycle=None if include_deleted else Lifecycle.ACTIVE,
        )
        return RunList(self.store.runs.search(query))

    def run_inputs(self, run_id: str) -> list[DatasetVersion]:
        """The dataset versions a run used (``run.use_dataset``)."""
        return self.store.datasets.run_inputs(_run_id(run_id))

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Soft delete: the runs leave listings and searches until restored."""
        self.store.runs.set_lifecycle(list(run_ids), Lifecycle.DELETED)

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        self.store.runs.set_lifecycle(list(run_ids), Lifecycle.ACTIVE)

    def find_dead_runs(self) -> list[DeadRun]:
        """RUNNING runs whose process is gone (same host, pid not alive) or silent too long."""
        host = socket.gethostname()
        now = now_ms()
        timeout_ms = self.settings.heartbeat_timeout * 1000
        dead = []
        for run in self.store.runs.running():
            if run.hostname == host and run.pid is not None and not _pid_alive(run.pid):
                dead.append(DeadRun(run, f"its process {run.pid} on {host} is gone"))
            elif run.heartbeat_ms is not None and now - run.heartbeat_ms > timeout_ms:
                silent = (now - run.heartbeat_ms) / 1000
                dead.append(DeadRun(run, f"no heartbeat for {silent:.0f} s"))
        return dead

    def mark_dead_runs(self) -> list[DeadRun]:
        """End every dead run as KILLED, recording why."""
        dead = self.find_dead_runs()
        for item in dead:
            self.store.runs.end(
                RunEnd(item.run.id, RunStatus.KILLED, now_ms(), f"Marked dead: {item.reason}.")
            )
        return dead

    # -- artifacts ----------------------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[ArtifactRecord]:
        """Store a file or a folder's files under the run (at ``artifact_path``, if given)."""
        source = Path(local_path)
        if not source.exists():
            raise NotFound(f"Cannot log artifact {str(local_path)!r}: no such file or folder.")
        if source.is_dir():
            files = sorted(p for p in source.rglob("*") if p.is_file())
            pairs = [
                (p, join_artifact_path(artifact_path, p.relative_to(source).as_posix()))
                for p in files
            ]
        else:
            pairs = [(source, join_artifact_path(artifact_path, source.name))]
        records = []
        for path, rel in pairs:
            info = self.blobs.put_file(path)
            records.append(ArtifactRecord(rel, info.digest, info.size, now_ms()))
        self.store.artifacts.record(run_id, records)
        return records

    def log_bytes(self, run_id: str, data: bytes, path: str) -> ArtifactRecord:
        info = self.blobs.put_bytes(data)
        record = ArtifactRecord(artifact_path(path), info.digest, info.size, now_ms())
        self.store.artifacts.record(run_id, [record])
        return record

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactRecord]:
        prefix = artifact_path(path) if path else ""
        return self.store.artifacts.list(_run_id(run_id), prefix)

    def download_artifacts(
        self, run_id: str, path: str = "", dest: str | os.PathLike[str] = "."
    ) -> Path:
        """Copy one artifact, or every artifact under a folder path, into ``dest``.

        Returns the local path of the file, or of the folder that holds the files.
        """
        records = self.list_artifacts(run_id, path)
        if not records:
            where = f" under {path!r}" if path else ""
            raise NotFound(f"Run {run_id} has no artifacts{where}.")
        base = Path(dest)
        prefix = artifact_path(path) if path else ""
        if len(records) == 1 and records[0].path == prefix:
            return self.blobs.download(records[0].digest, base / Path(prefix).name)
        root = base / Path(prefix).name if prefix else base
        for record in records:
            rel = record.path[len(prefix) :].lstrip("/") if prefix else record.path
            self.blobs.download(record.digest, root / rel)
        return root

    def read_artifact(self, run_id: str, path: str) -> bytes:
        record = self.store.artifacts.get(_run_id(run_id), artifact_path(path))
        return self.blobs.read_bytes(record.digest)

    def close(self) -> None:
        self.writer.close()
        self.store.close()


def _run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not run_id:
        raise InvalidInput(f"A run id must be a non-empty string; got {run_id!r}.")
    return run_id


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited even though its pid answers
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
