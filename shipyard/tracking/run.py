"""A run in progress: the object ``sy.start_run`` returns."""

from __future__ import annotations

import io
import json
import os
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard.errors import Conflict, InvalidInput, MissingDependency
from shipyard.store.entities import ArtifactRecord, Run, RunStatus
from shipyard.store.ids import now_ms
from shipyard.store.validation import (
    check_key,
    check_metric_value,
    check_step,
    param_text,
    tag_text,
)

if TYPE_CHECKING:
    from shipyard.tracking.client import TrackingClient

__all__ = ["ActiveRun", "Terminated"]

_MAX_ERROR = 8000


class Terminated(SystemExit):
    """Raised in the main thread by SIGTERM while runs are active, so they end KILLED."""

    def __init__(self) -> None:
        super().__init__(143)


class ActiveRun:
    """A run being logged to. Use it as a context manager, or call :meth:`end`.

    Metrics and tags are buffered and written in batches by a background
    thread; :meth:`flush` and the end of the run make them durable. Params are
    written at once, because a param can never change: logging a different
    value for a logged key raises :class:`~shipyard.errors.Conflict`.
    """

    def __init__(self, client: TrackingClient, run: Run, *, on_end: Any = None) -> None:
        self._client = client
        self._writer = client.writer
        self._record = run
        self._params: dict[str, str] = dict(run.params)
        self._steps: dict[str, int] = {}
        self._on_end = on_end
        self._status: RunStatus = RunStatus.RUNNING

    # -- identity -----------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def experiment_id(self) -> str:
        return self._record.experiment_id

    @property
    def parent_run_id(self) -> str | None:
        return self._record.parent_run_id

    @property
    def status(self) -> RunStatus:
        return self._status

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name!r} id={self.id} status={self._status}>"

    def fetch(self) -> Run:
        """The run as stored now, with everything logged so far."""
        return self._client.get_run(self.id)

    # -- metrics ------------------------------------------------------------------------

    def log_metric(
        self, key: str, value: float, step: int | None = None, *, timestamp_ms: int | None = None
    ) -> None:
        """Log one point. Without ``step``, steps count up per key from 0."""
        if self._status is not RunStatus.RUNNING:
            raise self._ended()
        key = check_key(key, "metric key")
        value = check_metric_value(key, value)
        step = self._step(key, step)
        self._writer.add_metric(
            (self._record.id, key, value, step, now_ms() if timestamp_ms is None else timestamp_ms)
        )

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log several metrics at one step (and one timestamp)."""
        if self._status is not RunStatus.RUNNING:
            raise self._ended()
        ts = now_ms()
        run_id = self._record.id
        rows = []
        for key, value in metrics.items():
            key = check_key(key, "metric key")
            rows.append((run_id, key, check_metric_value(key, value), self._step(key, step), ts))
        self._writer.add_metrics(rows)

    def _ended(self) -> InvalidInput:
        return InvalidInput(
            f"Run {self.id} has ended ({self._status}); nothing more can be logged to it. "
            f"Resume it with sy.start_run(run_id={self.id!r})."
        )

    def _step(self, key: str, step: int | None) -> int:
        step = self._steps.get(key, -1) + 1 if step is None else check_step(key, step)
        self._steps[key] = step
        return step

    # -- params and tags ----------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params (written at once). Logging the same value again is fine."""
        clean: dict[str, str] = {}
        for key, value in params.items():
            key = check_key(key, "param key")
            text = param_text(key, value)
            held = self._params.get(key)
            if held is not None and held != text:
                raise Conflict(
                    f"Param {key!r} of run {self.id} is already {held!r}; it cannot change to "
                    f"{text!r}. Params are write-once: log the new value under another key, "
                    "or start a new run.",
                    key=key,
                    stored=held,
                    attempted=text,
                )
            if held is None:
                clean[key] = text
        if clean:
            self._client.store.params.log(self.id, clean)
            self._params.update(clean)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags (buffered; a later value for the same key wins)."""
        if self._status is not RunStatus.RUNNING:
            raise self._ended()
        rows = []
        for key, value in tags.items():
            key = check_key(key, "tag key")
            rows.append((self.id, key, tag_text(key, value)))
        self._writer.add_tags(rows)

    # -- artifacts ----------------------------------------------------------------------

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[ArtifactRecord]:
        """Store a file, or every file under a folder, as artifacts of this run."""
        return self._client.log_artifact(self.id, local_path, artifact_path)

    def log_text(self, text: str, artifact_file: str) -> ArtifactRecord:
        """Store ``text`` (UTF-8) as the artifact ``artifact_file``."""
        if not isinstance(text, str):
            raise InvalidInput(f"log_text takes a str; got {type(text).__name__}.")
        return self._client.log_bytes(self.id, text.encode(), artifact_file)

    def log_dict(self, data: Mapping[str, Any] | list[Any], artifact_file: str) -> ArtifactRecord:
        """Store ``data`` as JSON (``.json``) or YAML (``.yaml``/``.yml``, needs PyYAML)."""
        suffix = Path(artifact_file).suffix.lower()
        if suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise MissingDependency(
                    f"Writing {artifact_file!r} as YAML needs PyYAML: pip install pyyaml "
                    "(or name the file .json)."
                ) from None
            text = yaml.safe_dump(data, sort_keys=False)
        elif suffix == ".json":
            try:
                text = json.dumps(data, indent=2, allow_nan=True, default=str)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"Cannot write {artifact_file!r} as JSON: {exc}.") from exc
        else:
            raise InvalidInput(
                f"log_dict writes .json, .yaml or .yml files; got {artifact_file!r}."
            )
        return self._client.log_bytes(self.id, text.encode(), artifact_file)

    def log_figure(self, figure: Any, artifact_file: str, **savefig_kwargs: Any) -> ArtifactRecord:
        """Store a matplotlib figure as an image (the format follows the file's suffix)."""
        if not hasattr(figure, "savefig"):
            raise InvalidInput(
                f"log_figure takes a matplotlib Figure; got {type(figure).__name__}."
            )
        fmt = Path(artifact_file).suffix.lstrip(".").lower() or "png"
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, **savefig_kwargs)
        return self._client.log_bytes(self.id, buffer.getvalue(), artifact_file)

    def list_artifacts(self, path: str = "") -> list[ArtifactRecord]:
        return self._client.list_artifacts(self.id, path)

    def download_artifacts(self, path: str = "", dest: str | os.PathLike[str] = ".") -> Path:
        return self._client.download_artifacts(self.id, path, dest)

    # -- lineage ------------------------------------------------------------------------

    def use_dataset(self, dataset: Any) -> None:
        """Record a dataset version (a handle from ``sy.data``) as an input of this run."""
        version_id = getattr(dataset, "id", None)
        if not isinstance(version_id, str) or not hasattr(dataset, "digest"):
            raise InvalidInput(
                f"use_dataset takes a dataset version such as sy.data.get('name'); "
                f"got {type(dataset).__name__}."
            )
        self._client.store.datasets.add_run_input(self.id, version_id)

    # -- lifecycle ----------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything logged so far; raises the store's error if it fails."""
        self._writer.flush()

    def end(self, status: RunStatus | str = RunStatus.FINISHED, error: str | None = None) -> None:
        """End the run: write what is buffered and the final status in one transaction."""
        if self._status.is_terminal:
            return
        try:
            final = RunStatus(str(status).upper())
        except ValueError:
            raise InvalidInput(
                f"Run status {status!r} is not one of FINISHED, FAILED, KILLED."
            ) from None
        if final is RunStatus.RUNNING:
            raise InvalidInput("A run cannot end as RUNNING; use FINISHED, FAILED or KILLED.")
        self._client.end_run(self.id, final, error[:_MAX_ERROR] if error else None)
        self._status = final
        if self._on_end is not None:
            self._on_end(self)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or (
            isinstance(exc, SystemExit) and not isinstance(exc, Terminated) and not exc.code
        ):
            self.end(RunStatus.FINISHED)
        elif isinstance(exc, KeyboardInterrupt | Terminated):
            name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT (KeyboardInterrupt)"
            self.end(RunStatus.KILLED, f"Stopped by {name}.")
        else:
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self.end(RunStatus.FAILED, text[-_MAX_ERROR:])
