"""Profiles: per-column statistics, stored with each version as the reference for drift.

For every column: count, nulls, distinct values (exact up to tens of thousands,
estimated with a k-minimum-values sketch beyond). Numeric columns add min, max,
mean, standard deviation, quantiles and a histogram on 20 fixed, equal-width
bins between min and max. Categorical columns (strings, booleans)
add their most frequent values with counts (up to 1,000 values, the rest
counted together). Numeric columns also keep a sketch for drift tests: their
sorted values when there are at most 1,000, else 1,001 evenly spaced quantiles.
The profile is what drift tests compare current data with, so it is stored
with its format version and read back without the data.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard._version import __version__
from shipyard.errors import InvalidInput
from shipyard.store.ids import now_ms

if TYPE_CHECKING:
    from shipyard.data.versions import DatasetHandle

__all__ = [
    "PROFILE_FORMAT_VERSION",
    "ColumnProfile",
    "Profile",
    "column_kind",
    "profile",
    "profile_version",
    "quantiles_of_sorted",
    "sketch_of_sorted",
]

PROFILE_FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)  # version 1 has no sketch and 50 top values
HISTOGRAM_BINS = 20
QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
TOP_VALUES = 1000
SKETCH_POINTS = 1001


@dataclass
class ColumnProfile:
    name: str
    type: str
    kind: str  # numeric | categorical | temporal | other
    count: int  # non-null values
    nulls: int
    distinct: int
    nans: int = 0
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    histogram: dict[str, list[float]] | None = None  # {"edges": [...21], "counts": [...20]}
    top_values: list[tuple[Any, int]] = field(default_factory=list)
    other_count: int = 0
    # numeric: sorted values (count <= 1000) or SKETCH_POINTS evenly spaced quantiles
    sketch: list[float] | None = None

    @property
    def null_share(self) -> float:
        total = self.count + self.nulls
        return self.nulls / total if total else 0.0


@dataclass
class Profile:
    num_rows: int
    columns: dict[str, ColumnProfile]
    format_version: int = PROFILE_FORMAT_VERSION
    shipyard_version: str = __version__
    created_ms: int = field(default_factory=now_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "shipyard_version": self.shipyard_version,
            "created_ms": self.created_ms,
            "num_rows": self.num_rows,
            "columns": [asdict(c) for c in self.columns.values()],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), default=_json_default, allow_nan=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Profile:
        raw = json.loads(data)
        version = raw.get("format_version")
        if version not in READABLE_FORMATS:
            raise InvalidInput(
                f"This profile has format version {version!r}; this Shipyard reads versions "
                f"{', '.join(map(str, READABLE_FORMATS))}. Upgrade Shipyard, or profile the data again."
            )
        columns = {}
        for c in raw["columns"]:
            c["top_values"] = [tuple(v) for v in c.get("top_values", [])]
            columns[c["name"]] = ColumnProfile(**c)
        return cls(raw["num_rows"], columns, version, raw["shipyard_version"], raw["created_ms"])


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def column_kind(typ: pa.DataType) -> str:
    """numeric, categorical, temporal or other."""
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return "numeric"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_boolean(typ):
        return "categorical"
    if pa.types.is_dictionary(typ):
        return "categorical"
    if pa.types.is_temporal(typ):
        return "temporal"
    return "other"


def _scalar(value: pa.Scalar) -> Any:
    py = value.as_py()
    return py.isoformat() if hasattr(py, "isoformat") else py


def profile_column(name: str, column: pa.ChunkedArray) -> ColumnProfile:
    typ = column.type
    kind = column_kind(typ)
    nulls = column.null_count
    result = ColumnProfile(name, str(typ), kind, len(column) - nulls, nulls, 0)
    if kind == "numeric":
        values = column
        if pa.types.is_floating(typ):
            is_nan = pc.is_nan(column)
            result.nans = int(pc.sum(is_nan).as_py() or 0)
            if result.nans:
                values = pc.filter(column, pc.invert(is_nan))
        if pa.types.is_decimal(typ):
            values = values.cast(pa.float64())
        numbers = values.drop_null().to_numpy() if values.null_count else values.to_numpy()
        numbers = np.asarray(numbers, dtype=np.float64)
        result.distinct = distinct_count(numbers, values)
        if numbers.size:
            ordered = np.sort(numbers)
            lo, hi = float(ordered[0]), float(ordered[-1])
            result.min, result.max = lo, hi
            result.mean = float(numbers.mean())
            result.std = float(numbers.std(ddof=1)) if numbers.size > 1 else 0.0
            points = quantiles_of_sorted(ordered, QUANTILES)
            result.quantiles = {str(q): float(v) for q, v in zip(QUANTILES, points, strict=True)}
            result.sketch = sketch_of_sorted(ordered).tolist()
            counts, edges = np.histogram(
                numbers, bins=HISTOGRAM_BINS, range=(lo, hi) if hi > lo else None
            )
            result.histogram = {"edges": edges.tolist(), "counts": counts.astype(float).tolist()}
    elif kind == "categorical":
        counts = pc.value_counts(column.drop_null() if nulls else column)
        values = counts.field("values").to_pylist()
        freqs = counts.field("counts").to_numpy()
        order = np.argsort(-freqs, kind="stable")
        result.distinct = len(values)
        result.top_values = [(values[i], int(freqs[i])) for i in order[:TOP_VALUES]]
        result.other_count = int(freqs[order[TOP_VALUES:]].sum())
    elif kind == "temporal":
        result.distinct = int(pc.count_distinct(column).as_py())
        if result.count:
            bounds = pc.min_max(column)
            result.min, result.max = _scalar(bounds["min"]), _scalar(bounds["max"])
    else:
        result.distinct = int(pc.count_distinct(column).as_py()) if result.count else 0
    return result


def quantiles_of_sorted(ordered: np.ndarray, probabilities: Any) -> np.ndarray:
    """Quantiles of sorted values, linearly interpolated (numpy's default method)."""
    position = np.asarray(probabilities, dtype=np.float64) * (ordered.size - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, ordered.size - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def sketch_of_sorted(ordered: np.ndarray) -> np.ndarray:
    """A numeric column's drift sketch: its sorted values if few, else evenly spaced quantiles."""
    if ordered.size <= SKETCH_POINTS - 1:
        return ordered
    return quantiles_of_sorted(ordered, np.linspace(0.0, 1.0, SKETCH_POINTS))


_SKETCH_K = 4096


def distinct_count(numbers: np.ndarray, column: Any) -> int:
    """Distinct values: exact when there are few, else a k-minimum-values estimate.

    Hashes are uniform in [0, 2**64); the k-th smallest distinct hash h_k
    estimates the count as (k - 1) / (h_k / 2**64), within about 1/sqrt(k) = 1.6 %.
    Only hashes under a cutoff are deduplicated, so the cost stays linear.
    """
    n = numbers.size
    if n <= 8 * _SKETCH_K:
        return int(pc.count_distinct(column).as_py())
    import pandas as pd

    hashes = pd.util.hash_array(numbers, categorize=False)
    cutoff = np.uint64(min(2**64 - 1, int(2**64 * 8 * _SKETCH_K / n)))
    smallest = np.unique(hashes[hashes < cutoff])
    if smallest.size < _SKETCH_K:  # not many distinct values: count them exactly
        return int(pc.count_distinct(column).as_py())
    kth = float(smallest[_SKETCH_K - 1]) / 2**64
    return min(n, round((_SKETCH_K - 1) / kth))


def _profile_table(table: pa.Table) -> Profile:
    if table.num_rows == 0:
        raise InvalidInput("Cannot profile an empty table (0 rows).")
    workers = min(len(table.columns), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        columns = list(pool.map(profile_column, table.column_names, table.columns))
    return Profile(table.num_rows, {c.name: c for c in columns})


def profile(data: Any) -> Profile:
    """Profile ``data``: a DataFrame, a pyarrow Table, a file path, or a dataset handle.

    A handle's profile is stored with its version (computed once).
    """
    from shipyard.data.versions import DatasetHandle

    if isinstance(data, DatasetHandle):
        return data.profile()
    from shipyard.data._sources import open_source

    source = open_source(data)
    return _profile_table(pa.Table.from_batches(list(source.batches), schema=source.schema))


def profile_version(handle: DatasetHandle) -> Profile:
    """Compute a stored version's profile and store it with the version.

    Columns are read a few at a time (as many as there are cores) and profiled
    in parallel, so memory holds only those columns, never the whole table.
    """
    import pyarrow.parquet as pq

    workers = max(1, min(len(handle.columns), os.cpu_count() or 1))
    columns: list[ColumnProfile] = []
    with (
        handle._client.blobs.open(handle.info.blob_digest) as fh,
        ThreadPoolExecutor(workers) as pool,
    ):
        parquet = pq.ParquetFile(fh)
        names = handle.columns
        for start in range(0, len(names), workers):
            group = parquet.read(columns=names[start : start + workers])
            columns.extend(pool.map(profile_column, group.column_names, group.columns))
    result = Profile(handle.num_rows, {c.name: c for c in columns})
    blob = handle._client.blobs.put_bytes(result.to_json())
    handle._client.store.datasets.set_profile(handle.id, blob.digest)
    handle._refresh()
    return result
