"""Drift: is the current data distributed like the reference?

The reference is a profile (a dataset version's stored profile, or data
profiled on the spot); only its sketch is used, so the reference data is not
read again. The current data is read one column at a time. Columns are tested
in parallel threads (the sorting and counting release the GIL).

Tests, and the default per column (as Evidently chooses, so verdicts agree):

    numeric      ks             two-sample Kolmogorov-Smirnov, drift if p < 0.05
                 wasserstein    Wasserstein-1 over the reference's std, drift if >= 0.1
                 psi            population stability on the reference's deciles, drift if >= 0.1
    categorical  chisquare      two-sample chi-square (homogeneity), drift if p < 0.05
                 jensenshannon  Jensen-Shannon distance (natural log), drift if >= 0.1
                 psi            population stability on the categories, drift if >= 0.1

By default a reference of at most 1,000 rows gets the tests with p-values (ks,
chisquare); a larger one gets the effect sizes (wasserstein, jensenshannon),
because with many rows a p-value flags shifts too small to matter. Numeric
tests on categorical columns are refused; categorical tests on numeric columns
compare the reference's deciles as categories.

The chi-square test treats both sides as samples (a 2 x k contingency table),
unlike a goodness-of-fit test that takes the reference shares as exact and
raises false alarms on small references.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.data.profile import (
    SKETCH_POINTS,
    ColumnProfile,
    Profile,
    column_kind,
    quantiles_of_sorted,
)
from shipyard.errors import InvalidInput

__all__ = ["DEFAULT_THRESHOLDS", "TESTS", "ColumnDrift", "DriftReport", "drift"]

TESTS = ("ks", "wasserstein", "psi", "chisquare", "jensenshannon")
P_VALUE_TESTS = ("ks", "chisquare")
NUMERIC_ONLY = ("ks", "wasserstein")
DEFAULT_THRESHOLDS = {
    "ks": 0.05,
    "chisquare": 0.05,
    "wasserstein": 0.1,
    "psi": 0.1,
    "jensenshannon": 0.1,
}
SMALL_REFERENCE = 1000  # rows; up to this many the tests with p-values are the default
OTHER = "\x00other"  # the reference's categories beyond its top values, counted together
_EPS = 1e-4
_GRID = np.linspace(0.0, 1.0, SKETCH_POINTS)


@dataclass
class ColumnDrift:
    column: str
    kind: str  # numeric | categorical
    test: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool | None  # None: no verdict (see error)
    reference_rows: int
    current_rows: int
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class DriftReport:
    columns: list[ColumnDrift]
    drift_share: float  # the share of drifted columns that makes the table drifted

    @property
    def tested(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.drifted is not None]

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def errors(self) -> dict[str, str]:
        return {c.column: c.error for c in self.columns if c.error}

    @property
    def share_drifted(self) -> float:
        tested = self.tested
        return len(self.drifted_columns) / len(tested) if tested else 0.0

    @property
    def drifted(self) -> bool:
        return bool(self.tested) and self.share_drifted >= self.drift_share

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise InvalidInput(f"The report has no column {name!r}.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "drifted_columns": self.drifted_columns,
            "columns": [asdict(c) for c in self.columns],
        }

    def __str__(self) -> str:
        lines = [
            f"{len(self.drifted_columns)} of {len(self.tested)} columns drifted "
            f"({self.share_drifted:.0%}; the table drifts at {self.drift_share:.0%}): "
            f"{'DRIFT' if self.drifted else 'no drift'}"
        ]
        for c in self.columns:
            if c.error:
                lines.append(f"  {c.column:24s} {c.test:14s} no verdict: {c.error}")
                continue
            value = f"p={c.p_value:.3g}" if c.test in P_VALUE_TESTS else f"{c.statistic:.4g}"
            lines.append(
                f"  {c.column:24s} {c.test:14s} {value:>12s}  threshold {c.threshold:g}  "
                f"{'DRIFT' if c.drifted else 'ok'}"
            )
        return "\n".join(lines)


# -- inputs --------------------------------------------------------------------------------


def _is_handle(value: Any) -> bool:
    """A dataset handle? (Without importing the store for data that cannot be one.)"""
    versions = sys.modules.get("shipyard.data.versions")
    return versions is not None and isinstance(value, versions.DatasetHandle)


def _reference_profile(reference: Any) -> Profile:
    if isinstance(reference, Profile):
        return reference
    if _is_handle(reference):
        return reference.profile()
    from shipyard.data.profile import profile

    return profile(reference)


def _current_columns(current: Any, names: Sequence[str]) -> Iterator[tuple[str, Any]]:
    """(name, column or None if absent) for each name, reading one column at a time."""
    from pathlib import Path

    if _is_handle(current):
        available = set(current.columns)
        for name in names:
            yield name, (current.to_arrow(columns=[name]).column(0) if name in available else None)
        return
    if isinstance(current, str | Path) and str(current).endswith(".parquet"):
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(current)
        available = set(parquet.schema_arrow.names)
        for name in names:
            yield name, (parquet.read(columns=[name]).column(0) if name in available else None)
        return
    table = _as_table(current)
    for name in names:
        yield name, (table.column(name) if name in table.column_names else None)


def _as_table(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    from shipyard.data._sources import open_source

    source = open_source(data)
    return pa.Table.from_batches(list(source.batches), schema=source.schema)


def _current_rows(current: Any) -> int | None:
    from pathlib import Path

    if _is_handle(current):
        return current.num_rows
    if isinstance(current, pa.Table):
        return current.num_rows
    if isinstance(current, str | Path) and str(current).endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.ParquetFile(current).metadata.num_rows
    if hasattr(current, "shape"):
        return int(current.shape[0])
    return None


# -- the tests -----------------------------------------------------------------------------


def _numbers(column: Any) -> np.ndarray:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = pc.drop_null(column)
    if pa.types.is_decimal(values.type) or pa.types.is_boolean(values.type):
        values = values.cast(pa.float64())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    numbers = _primitive(values)
    if numbers is None:
        numbers = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    else:
        numbers = numbers.astype(np.float64, copy=False)
    return numbers[~np.isnan(numbers)]


def _primitive(values: pa.Array) -> np.ndarray | None:
    """A null-free integer or float array's values, read from its buffer.

    (``Array.to_numpy`` imports pandas, a third of a second the first time.)
    """
    typ = values.type
    if values.null_count or not (pa.types.is_integer(typ) or pa.types.is_floating(typ)):
        return None
    kind = "f" if pa.types.is_floating(typ) else ("i" if pa.types.is_signed_integer(typ) else "u")
    dtype = np.dtype(f"{kind}{typ.bit_width // 8}")
    return np.frombuffer(values.buffers()[1], dtype=dtype)[
        values.offset : values.offset + len(values)
    ]


def _reference_sketch(profile: ColumnProfile) -> tuple[np.ndarray, np.ndarray, bool]:
    """The reference's (values, cumulative probabilities, exact) from its profile."""
    if profile.sketch:
        values = np.asarray(profile.sketch, dtype=np.float64)
        if len(values) < SKETCH_POINTS or profile.count < SKETCH_POINTS:
            return values, (np.arange(1, len(values) + 1) / len(values)), True
        return values, _GRID, False
    # a format-1 profile: its 11 quantiles
    points = sorted((float(q), v) for q, v in profile.quantiles.items())
    return np.array([v for _, v in points]), np.array([q for q, _ in points]), False


def _ecdf(values: np.ndarray, probabilities: np.ndarray, exact: bool, x: np.ndarray) -> np.ndarray:
    if exact:
        return np.searchsorted(values, x, side="right") / len(values)
    return np.interp(x, values, probabilities, left=0.0, right=1.0)


def _numeric(
    test: str, ref: ColumnProfile, numbers: np.ndarray
) -> tuple[float, float | None, dict[str, Any]]:
    # scipy.stats takes a second to import: only the tests that need it load it
    ordered = np.sort(numbers)
    values, probabilities, exact = _reference_sketch(ref)
    if test == "ks":
        from scipy import stats

        if exact:
            result = stats.ks_2samp(values, ordered)
            return float(result.statistic), float(result.pvalue), {}
        grid = np.concatenate([values, ordered if ordered.size <= 100_000 else _q(ordered)])
        gap = np.abs(
            _ecdf(values, probabilities, False, grid) - _ecdf(ordered, None, True, grid)  # type: ignore[arg-type]
        )
        statistic = float(gap.max())
        n, m = ref.count, ordered.size
        p_value = float(stats.kstwo.sf(statistic, max(1, round(n * m / (n + m)))))
        return statistic, p_value, {}
    if test == "wasserstein":
        if exact:
            from scipy import stats

            distance = float(stats.wasserstein_distance(values, ordered))
        else:
            gap = np.abs(values - quantiles_of_sorted(ordered, probabilities))
            distance = float(np.trapezoid(gap, probabilities))
        scale = max(float(ref.std or 0.0), 0.001)
        return distance / scale, None, {"distance": distance, "reference_std": scale}
    edges = np.unique(quantiles_of_sorted(values, np.linspace(0.1, 0.9, 9)))
    ref_share = np.diff(np.concatenate([[0.0], _ecdf(values, probabilities, exact, edges), [1.0]]))
    cur_share = np.diff(
        np.concatenate([[0], np.searchsorted(ordered, edges, side="right"), [ordered.size]])
    ) / max(ordered.size, 1)
    if test == "psi":
        return _psi(ref_share, cur_share), None, {}
    ref_counts = ref_share * ref.count
    return _categorical_test(test, ref_counts, cur_share * ordered.size)


def _q(ordered: np.ndarray) -> np.ndarray:
    return quantiles_of_sorted(ordered, np.linspace(0.0, 1.0, 100_001))


def _psi(ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    a, b = np.maximum(ref_share, _EPS), np.maximum(cur_share, _EPS)
    return float(np.sum((b - a) * np.log(b / a)))


def _categorical_test(
    test: str, ref_counts: np.ndarray, cur_counts: np.ndarray
) -> tuple[float, float | None, dict[str, Any]]:
    ref_share = ref_counts / max(ref_counts.sum(), 1e-12)
    cur_share = cur_counts / max(cur_counts.sum(), 1e-12)
    if test == "psi":
        return _psi(ref_share, cur_share), None, {}
    if test == "jensenshannon":
        middle = 0.5 * (ref_share + cur_share)
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(ref_share > 0, ref_share * np.log(ref_share / middle), 0.0).sum()
            right = np.where(cur_share > 0, cur_share * np.log(cur_share / middle), 0.0).sum()
        return float(np.sqrt(max(0.5 * (left + right), 0.0))), None, {}
    from scipy import stats

    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]])
    if table.shape[1] < 2:
        return 0.0, 1.0, {}
    statistic, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    return float(statistic), float(p_value), {}


def _categories(
    test: str, ref: ColumnProfile, column: Any
) -> tuple[float, float | None, dict[str, Any]]:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    counted = pc.value_counts(pc.drop_null(column))
    current = dict(
        zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True)
    )
    reference = {_key(v): n for v, n in ref.top_values}
    if ref.other_count:
        reference[OTHER] = ref.other_count
    current = {_key(v): n for v, n in current.items()}
    new = sorted(k for k in current if k not in reference)
    if ref.other_count:  # unknown to the reference's top values: its "other"
        merged: dict[Any, int] = {}
        for k, n in current.items():
            key = k if k in reference else OTHER
            merged[key] = merged.get(key, 0) + n
        current, new = merged, []
    keys = sorted(set(reference) | set(current), key=str)
    ref_counts = np.array([reference.get(k, 0) for k in keys], dtype=np.float64)
    cur_counts = np.array([current.get(k, 0) for k in keys], dtype=np.float64)
    statistic, p_value, details = _categorical_test(test, ref_counts, cur_counts)
    if new:
        details["new_categories"] = new[:20]
    return statistic, p_value, details


def _key(value: Any) -> Any:
    return str(value) if isinstance(value, bool) else value


def _test_column(
    name: str,
    ref: ColumnProfile | None,
    column: Any,
    test: str | None,
    threshold: float | None,
) -> ColumnDrift:
    kind = ref.kind if ref is not None else "unknown"
    chosen = test or (
        ("ks" if ref is not None and ref.count <= SMALL_REFERENCE else "wasserstein")
        if kind == "numeric"
        else ("chisquare" if ref is not None and ref.count <= SMALL_REFERENCE else "jensenshannon")
    )
    limit = DEFAULT_THRESHOLDS[chosen] if threshold is None else threshold
    rows = len(column) if column is not None else 0
    blank = ColumnDrift(name, kind, chosen, None, None, limit, None, ref.count if ref else 0, rows)
    if ref is None:
        blank.error = "not in the reference"
        return blank
    if column is None:
        blank.error = "missing from the current data"
        return blank
    if kind not in ("numeric", "categorical"):
        blank.error = f"a {ref.type} column; drift is tested on numeric and categorical columns"
        return blank
    if chosen in NUMERIC_ONLY and kind != "numeric":
        blank.error = f"test {chosen!r} needs a numeric column; {name!r} is categorical"
        return blank
    current_kind = _current_kind(column.type)
    if current_kind != kind:
        blank.error = f"its type changed: {ref.type} ({kind}) in the reference, {column.type} in the current data"
        return blank
    if column.null_count == len(column):
        blank.error = "no values in the current data (all null or NaN)"
        return blank
    if kind == "numeric":
        numbers = _numbers(column)
        if numbers.size == 0:
            blank.error = "no values in the current data (all null or NaN)"
            return blank
        if ref.count == 0:
            blank.error = "no values in the reference"
            return blank
        statistic, p_value, details = _numeric(chosen, ref, numbers)
    else:
        statistic, p_value, details = _categories(chosen, ref, column)
    drifted = p_value < limit if chosen in P_VALUE_TESTS else statistic >= limit  # type: ignore[operator]
    details["current_nulls"] = int(column.null_count)
    return ColumnDrift(
        name,
        kind,
        chosen,
        statistic,
        p_value,
        limit,
        bool(drifted),
        ref.count,
        rows - int(column.null_count),
        None,
        details,
    )


def _current_kind(typ: pa.DataType) -> str:
    """The profile's kind of a type, a dictionary's being its values'."""
    return column_kind(typ.value_type if pa.types.is_dictionary(typ) else typ)


def drift(
    reference: Any,
    current: Any,
    columns: Sequence[str] | None = None,
    *,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = 0.5,
) -> DriftReport:
    """Test each column of ``current`` for drift from ``reference``.

    ``reference``: a dataset handle (its stored profile), a Profile, or data.
    ``current``: data (DataFrame, Arrow table, CSV or Parquet path), a dataset
    handle, or a window of a prediction log (``sy.monitoring.window``).
    ``tests`` picks a test per column, ``thresholds`` a threshold per column
    (or per test name); the table drifts when at least ``drift_share`` of the
    tested columns drift.
    """
    tests = dict(tests or {})
    thresholds = dict(thresholds or {})
    for name, test in tests.items():
        if test not in TESTS:
            raise InvalidInput(
                f"Test {test!r} for column {name!r} is not one of {', '.join(TESTS)}."
            )
    if not 0 < drift_share <= 1:
        raise InvalidInput(f"drift_share must be in (0, 1]; got {drift_share!r}.")
    rows = _current_rows(current)
    if rows == 0:
        raise InvalidInput("The current data has no rows; there is nothing to test for drift.")
    profile = _reference_profile(reference)
    names = list(columns) if columns is not None else list(profile.columns)
    if not names:
        raise InvalidInput("No columns to test: the reference has none and none were named.")

    def one(item: tuple[str, Any]) -> ColumnDrift:
        name, column = item
        test = tests.get(name)
        threshold = thresholds.get(name)
        if threshold is None and test is not None:
            threshold = thresholds.get(test)
        return _test_column(name, profile.columns.get(name), column, test, threshold)

    workers = max(1, min(len(names), os.cpu_count() or 1))
    results: list[ColumnDrift] = []
    columns_in = _current_columns(current, names)
    with ThreadPoolExecutor(workers) as pool:
        while True:  # a few columns at a time: memory holds `workers` columns, never the table
            group = [item for _, item in zip(range(workers), columns_in, strict=False)]
            if not group:
                break
            results.extend(pool.map(one, group))
    return DriftReport(results, drift_share)
