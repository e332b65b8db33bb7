"""Dataset versions: logged once per distinct content, read lazily by column."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from shipyard._version import __version__
from shipyard.data._digest import ContentHasher
from shipyard.data._sources import Source, open_source
from shipyard.errors import InvalidInput
from shipyard.store.base import NewDatasetVersion
from shipyard.store.entities import ColumnType, Dataset, DatasetVersion
from shipyard.store.ids import new_id, now_ms
from shipyard.tracking import TrackingClient, active_run
from shipyard.tracking import client as default_client
from shipyard.tracking.environment import current_user

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.data.profile import Profile
    from shipyard.data.validation import ValidationReport

__all__ = ["DATA_FORMAT_VERSION", "DatasetHandle", "get", "list_datasets", "log_dataset"]

#: The layout of stored dataset versions (Parquet + canonical types) and their profiles.
DATA_FORMAT_VERSION = 1
_PROGRESS_BYTES = 64 << 20


class DatasetHandle:
    """A stored dataset version. Nothing is read until you ask for data, and then
    only the columns you name."""

    def __init__(self, client: TrackingClient, info: DatasetVersion) -> None:
        if info.format_version != DATA_FORMAT_VERSION:
            raise InvalidInput(
                f"{info.uri} was stored in data format {info.format_version} by Shipyard "
                f"{info.shipyard_version}; this Shipyard reads format {DATA_FORMAT_VERSION}. "
                "Upgrade Shipyard to read it."
            )
        self._client = client
        self.info = info

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.dataset_name

    @property
    def version(self) -> int:
        return self.info.version

    @property
    def digest(self) -> str:
        return self.info.digest

    @property
    def uri(self) -> str:
        return self.info.uri

    @property
    def num_rows(self) -> int:
        return self.info.num_rows

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.info.columns]

    def __repr__(self) -> str:
        return (
            f"<DatasetHandle {self.uri} rows={self.num_rows} columns={len(self.info.columns)} "
            f"digest={self.digest[:12]}>"
        )

    def _check_columns(self, columns: Sequence[str] | None) -> list[str] | None:
        if columns is None:
            return None
        if isinstance(columns, str):
            columns = [columns]
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise InvalidInput(
                f"{self.uri} has no column(s) {unknown}; its columns are {self.columns}."
            )
        return list(columns)

    def to_arrow(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The data as a pyarrow Table (only ``columns``, if given)."""
        wanted = self._check_columns(columns)
        with self._client.blobs.open(self.info.blob_digest) as fh:
            return pq.read_table(fh, columns=wanted)

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        return self.to_arrow(columns).to_pandas()

    def to_polars(self, columns: Sequence[str] | None = None) -> Any:
        try:
            import polars as pl
        except ImportError:
            from shipyard.errors import MissingDependency

            raise MissingDependency.for_extra(
                "polars", "polars", "Reading a dataset as polars"
            ) from None
        return pl.from_arrow(self.to_arrow(columns))

    def iter_batches(
        self, columns: Sequence[str] | None = None, batch_size: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        """The data in batches, never all in memory at once."""
        wanted = self._check_columns(columns)
        with self._client.blobs.open(self.info.blob_digest) as fh:
            yield from pq.ParquetFile(fh).iter_batches(batch_size=batch_size, columns=wanted)

    def profile(self) -> Profile:
        """The stored profile of this version (computed and stored now if missing)."""
        from shipyard.data.profile import Profile, profile_version

        if self.info.profile_digest is None:
            return profile_version(self)
        return Profile.from_json(self._client.blobs.read_bytes(self.info.profile_digest))

    def validations(self) -> list[ValidationReport]:
        """Validation reports stored with this version, newest first."""
        from shipyard.data.validation import ValidationReport

        return [
            ValidationReport.from_json(r.body)
            for r in self._client.store.datasets.validations(self.id)
        ]

    def parents(self) -> list[DatasetHandle]:
        """The versions this one was made from (by cleaning, for example)."""
        store = self._client.store.datasets
        return [DatasetHandle(self._client, store.get_version_by_id(p)) for p in self.info.parents]

    def consumers(self) -> list[str]:
        """Ids of the runs that used this version."""
        return self._client.store.datasets.consumers(self.id)

    def _refresh(self) -> DatasetHandle:
        self.info = self._client.store.datasets.get_version_by_id(self.id)
        return self


def _progress(source: Source, enabled: bool | None):  # type: ignore[no-untyped-def]
    """A Rich progress bar over the bytes of file sources, when wanted."""
    if enabled is None:
        enabled = bool(
            source.total_bytes and source.total_bytes >= _PROGRESS_BYTES and sys.stderr.isatty()
        )
    if not enabled or not source.total_bytes:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    return Progress(
        TextColumn("logging {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
    )


def log_dataset(
    name: str,
    source: Any,
    *,
    parents: Sequence[DatasetHandle | DatasetVersion] = (),
    recipe: dict[str, Any] | None = None,
    profile: bool = True,
    progress: bool | None = None,
    encoding: str = "utf8",
    client: TrackingClient | None = None,
) -> DatasetHandle:
    """Store ``source`` as a version of the dataset ``name``; returns its handle.

    ``source`` is a pandas or polars DataFrame, a pyarrow Table, or the path of a
    CSV or Parquet file or of a folder of them (read in batches, so it may be
    larger than memory). The version is named by the digest of the canonical
    content: logging the same data again returns the existing version. A run
    active while logging is recorded as the one that made the version.
    """
    client = client or default_client()
    src = open_source(source, encoding=encoding)
    bar = _progress(src, progress)
    with tempfile.TemporaryDirectory(prefix="shipyard-dataset-") as tmp:
        parquet_path = Path(tmp) / "data.parquet"
        hasher = ContentHasher(src.schema)
        writer = pq.ParquetWriter(parquet_path, src.schema, compression="zstd")
        try:
            if bar is not None:
                with bar:
                    task = bar.add_task(Path(src.description).name, total=src.total_bytes)
                    for batch in src.batches:
                        hasher.update(batch)
                        writer.write_batch(batch)
                        bar.update(task, completed=src.bytes_read())
            else:
                for batch in src.batches:
                    hasher.update(batch)
                    writer.write_batch(batch)
        finally:
            writer.close()
        if hasher.num_rows == 0:
            raise InvalidInput(
                f"{src.description} has no rows; a dataset version needs at least one row."
            )
        if not len(src.schema):
            raise InvalidInput(f"{src.description} has no columns.")
        digest = hasher.hexdigest()
        dataset = client.store.datasets.get_or_create(client.project_id, name)
        blob = client.blobs.put_file(parquet_path)
    run = active_run()
    version, created = client.store.datasets.add_version(
        NewDatasetVersion(
            id=new_id(),
            dataset_id=dataset.id,
            digest=digest,
            blob_digest=blob.digest,
            num_rows=hasher.num_rows,
            num_columns=len(src.schema),
            size_bytes=blob.size,
            columns=[ColumnType(f.name, str(f.type), f.nullable) for f in src.schema],
            source=src.description,
            creator=current_user(),
            format_version=DATA_FORMAT_VERSION,
            shipyard_version=__version__,
            created_ms=now_ms(),
            run_id=run.id if run is not None and run._client is client else None,
            recipe=recipe,
            parents=[p.id for p in parents],
        )
    )
    handle = DatasetHandle(client, version)
    if created and profile:
        from shipyard.data.profile import profile_version

        profile_version(handle)
    return handle


def get(
    name: str, version: int | str = "latest", *, client: TrackingClient | None = None
) -> DatasetHandle:
    """A stored version: ``version`` is a number, ``"latest"`` or a digest (or its first 8+ digits)."""
    client = client or default_client()
    dataset = client.store.datasets.get(client.project_id, name)
    return DatasetHandle(client, client.store.datasets.get_version(dataset.id, version))


def list_datasets(
    *, client: TrackingClient | None = None
) -> list[tuple[Dataset, DatasetVersion | None]]:
    """Every dataset of the project, with its latest version."""
    client = client or default_client()
    out: list[tuple[Dataset, DatasetVersion | None]] = []
    for dataset in client.store.datasets.list(client.project_id):
        versions = client.store.datasets.list_versions(dataset.id)
        out.append((dataset, versions[-1] if versions else None))
    return out
