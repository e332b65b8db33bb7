"""Validation: every check of a schema over whole columns at once, and its report.

Checks run on Arrow arrays with Arrow compute (no per-row Python). Each gives
a mask of failing rows; the report keeps, per check, the failed count and
share, up to ``sample_size`` failing rows with their row numbers and values, the
severity, and pass or fail. A schema naming a column the data lacks fails a
"column present" check for it, and that column's other checks are skipped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard._version import __version__
from shipyard.data.schema import (
    TYPE_ALIASES,
    TYPE_FAMILIES,
    Check,
    Schema,
    load_schema,
    parse_duration,
)
from shipyard.errors import InvalidInput, ValidationFailed
from shipyard.store.ids import new_id, now_ms

__all__ = ["CheckResult", "ValidationReport", "register_check", "validate"]

REPORT_FORMAT_VERSION = 1
_CUSTOM: dict[str, Callable[[pa.Table], Any]] = {}


def register_check(name: str) -> Callable[[Callable[[pa.Table], Any]], Callable[[pa.Table], Any]]:
    """Register a custom check that schemas name as ``- custom: <name>``.

    The function receives the data as a pyarrow Table and returns, vectorised,
    a boolean array (or anything array-like) that is True for rows that pass,
    or one bool for the whole table.

        @sy.data.register_check("balance_not_negative")
        def balance_not_negative(table):
            return pc.greater_equal(table["balance"], 0)
    """

    def decorate(func: Callable[[pa.Table], Any]) -> Callable[[pa.Table], Any]:
        _CUSTOM[name] = func
        return func

    return decorate


@dataclass
class CheckResult:
    check: str  # a readable name, e.g. "age: >= 18"
    kind: str
    column: str | None
    severity: str
    passed: bool
    failed_count: int
    failed_share: float
    samples: list[dict[str, Any]] = field(default_factory=list)  # {"row": n, "value": v}
    message: str = ""


@dataclass
class ValidationReport:
    num_rows: int
    results: list[CheckResult]
    dataset: str | None = None
    schema_digest: str | None = None
    seconds: float = 0.0
    created_ms: int = field(default_factory=now_ms)
    format_version: int = REPORT_FORMAT_VERSION
    shipyard_version: str = __version__

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.failed if r.severity == "error"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.failed if r.severity == "warning"]

    @property
    def passed(self) -> bool:
        """True when no error-severity check failed (warnings do not fail a report)."""
        return not self.errors

    def summary(self) -> str:
        head = (
            f"{'PASSED' if self.passed else 'FAILED'}: {len(self.results)} checks on "
            f"{self.num_rows:,} rows, {len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        )
        lines = [head + (f" ({self.dataset})" if self.dataset else "")]
        for r in self.failed:
            rows = ", ".join(str(s["row"]) for s in r.samples if s.get("row") is not None)
            lines.append(
                f"  [{r.severity}] {r.check}: {r.failed_count:,} failing ({r.failed_share:.2%})"
                + (f", e.g. rows {rows}" if rows else "")
                + (f"; {r.message}" if r.message else "")
            )
        return "\n".join(lines)

    def raise_for_errors(self) -> None:
        if not self.passed:
            raise ValidationFailed(self.summary(), errors=len(self.errors))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "shipyard_version": self.shipyard_version,
            "dataset": self.dataset,
            "schema_digest": self.schema_digest,
            "num_rows": self.num_rows,
            "seconds": self.seconds,
            "created_ms": self.created_ms,
            "passed": self.passed,
            "results": [asdict(r) for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=_json_value)

    @classmethod
    def from_json(cls, text: str) -> ValidationReport:
        raw = json.loads(text)
        if raw.get("format_version") != REPORT_FORMAT_VERSION:
            raise InvalidInput(
                f"This validation report has format version {raw.get('format_version')!r}; "
                f"this Shipyard reads {REPORT_FORMAT_VERSION}."
            )
        return cls(
            num_rows=raw["num_rows"],
            results=[CheckResult(**r) for r in raw["results"]],
            dataset=raw.get("dataset"),
            schema_digest=raw.get("schema_digest"),
            seconds=raw.get("seconds", 0.0),
            created_ms=raw["created_ms"],
            format_version=raw["format_version"],
            shipyard_version=raw["shipyard_version"],
        )

    def to_html(self, path: str | None = None) -> str:
        from shipyard.data.report_html import render_validation

        html = render_validation(self)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(html)
        return html


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# -- the checks ---------------------------------------------------------------------------


def _type_matches(actual: pa.DataType, declared: str) -> bool:
    want = TYPE_ALIASES.get(declared.lower(), declared.lower())
    name = str(actual).lower()
    if want in TYPE_FAMILIES:
        return name.startswith(TYPE_FAMILIES[want])
    if want == "timestamp":
        return name.startswith("timestamp")
    return name == want or (want == "string" and name == "large_string")


def _failing(mask: Any) -> np.ndarray | bool:
    """Failing rows as a numpy mask (nulls pass), or False when none fail.

    Counting on the Arrow bitmap first keeps the common case, nothing fails,
    free of a conversion to numpy.
    """
    if isinstance(mask, pa.ChunkedArray | pa.Array):
        filled = pc.fill_null(mask, False)
        if not pc.any(filled).as_py():
            return False
        return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
    if isinstance(mask, np.ndarray):
        return mask if mask.any() else False
    return bool(mask)


def _column_mask(check: Check, column: pa.ChunkedArray) -> Any:
    typ = column.type
    numeric = pa.types.is_integer(typ) or pa.types.is_floating(typ)
    if check.kind == "not_null":
        return (
            pc.is_null(column, nan_is_null=True)
            if pa.types.is_floating(typ)
            else pc.is_null(column)
        )
    if check.kind in ("min", "max"):
        bound = check.value
        if pa.types.is_temporal(typ) and isinstance(bound, str):
            bound = pa.scalar(bound).cast(typ)
        elif numeric and not isinstance(bound, int | float):
            raise InvalidInput(
                f"Column {check.column!r} is numeric, but its {check.kind} is {bound!r}."
            )
        try:
            return (pc.less if check.kind == "min" else pc.greater)(column, bound)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
            raise InvalidInput(
                f"Cannot compare column {check.column!r} ({typ}) with {check.kind} {check.value!r}: "
                f"{str(exc).splitlines()[0]}."
            ) from exc
    if check.kind == "allowed":
        try:
            value_set = pa.array(check.value).cast(typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise InvalidInput(
                f"The allowed values of column {check.column!r} do not fit its type {typ}: {exc}."
            ) from exc
        return pc.and_(pc.invert(pc.is_in(column, value_set=value_set)), pc.is_valid(column))
    if check.kind == "regex":
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            raise InvalidInput(f"Column {check.column!r} is {typ}; a regex check needs strings.")
        return pc.invert(pc.match_substring_regex(column, check.value))
    if check.kind == "unique":
        return _duplicates(column)
    raise AssertionError(check.kind)


def _duplicates(column: pa.ChunkedArray) -> Any:
    """Rows whose (non-null) value occurs more than once."""
    typ = column.type
    if pa.types.is_integer(typ) and column.null_count == 0 and len(column):
        values = column.to_numpy()
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < 8 * len(values) + 1024:  # compact range: count every value in one pass
            offsets = values - lo
            counts = np.bincount(offsets)
            return counts[offsets] > 1 if counts.max() > 1 else False
        ordered = np.sort(values)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        return np.isin(values, repeated) if repeated.size else False
    counts = pc.value_counts(column)
    dupes = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(dupes) == 0:
        return False
    return pc.and_(pc.is_in(column, value_set=dupes), pc.is_valid(column))


def _table_result(check: Check, table: pa.Table) -> tuple[Any, str, list[str]]:
    """(mask or bool for the whole table, message, columns shown in samples)."""
    n = table.num_rows
    if check.kind == "row_count":
        lo, hi = check.value.get("min"), check.value.get("max")
        ok = (lo is None or n >= lo) and (hi is None or n <= hi)
        return (not ok), ("" if ok else f"the data has {n:,} rows"), []
    if check.kind == "unique":
        missing = [c for c in check.value if c not in table.column_names]
        if missing:
            return True, f"column(s) {missing} are missing", []
        grouped = table.select(check.value).group_by(check.value).aggregate([([], "count_all")])
        dupes = grouped.filter(pc.greater(grouped["count_all"], 1))
        if dupes.num_rows == 0:
            return False, "", check.value
        frame = table.select(check.value).to_pandas()
        return frame.duplicated(keep=False).to_numpy(), "", check.value
    if check.kind == "expression":
        from shipyard.data.expressions import evaluate, expression_columns, parse_expression

        tree = parse_expression(check.value)
        result = evaluate(tree, table)
        return (
            pc.invert(result) if not isinstance(result, pa.Scalar) else not result.as_py(),
            "",
            expression_columns(tree),
        )
    if check.kind == "freshness":
        column = check.value["column"]
        if column not in table.column_names:
            return True, f"column {column!r} is missing", []
        max_age = parse_duration(check.value["max_age"], "freshness")
        latest = pc.max(table[column]).as_py()
        if latest is None:
            return True, f"column {column!r} has no values", []
        if not hasattr(latest, "timestamp"):
            raise InvalidInput(
                f"Freshness needs a timestamp column; {column!r} is {table[column].type}."
            )
        if latest.tzinfo is None:
            latest = latest.replace(tzinfo=UTC)  # naive timestamps are taken as UTC
        age = time.time() - latest.timestamp()
        stale = age > max_age
        return stale, f"the newest {column} is {age / 3600:.1f} h old" if stale else "", []
    if check.kind == "custom":
        func = _CUSTOM.get(check.value)
        if func is None:
            raise InvalidInput(
                f"No custom check is registered as {check.value!r}; register it with "
                f"@sy.data.register_check({check.value!r}). Registered: {sorted(_CUSTOM) or 'none'}."
            )
        result = func(table)
        if isinstance(result, bool | np.bool_):
            return (not result), "", []
        passed = np.asarray(
            result.to_numpy(zero_copy_only=False) if hasattr(result, "to_numpy") else result,
            dtype=bool,
        )
        if passed.shape != (n,):
            raise InvalidInput(
                f"Custom check {check.value!r} returned {passed.shape[0] if passed.ndim else 1} values "
                f"for {n} rows; return one boolean per row, or one for the table."
            )
        return ~passed, "", []
    raise AssertionError(check.kind)


def _samples(
    table: pa.Table, failing: np.ndarray, columns: list[str], size: int
) -> list[dict[str, Any]]:
    rows = np.flatnonzero(failing)[:size]
    out = []
    for row in rows.tolist():
        if len(columns) == 1:
            out.append({"row": row, "value": table.column(columns[0])[row].as_py()})
        else:
            out.append({"row": row, "value": {c: table.column(c)[row].as_py() for c in columns}})
    return out


def _run_checks(table: pa.Table, schema: Schema, sample_size: int) -> list[CheckResult]:
    n = table.num_rows
    results: list[CheckResult] = []

    def record(check: Check, failing: np.ndarray | bool, message: str, columns: list[str]) -> None:
        if isinstance(failing, bool | np.bool_):
            # a verdict on the whole column (its type) counts every row; on the table, one failure
            count = (n if check.kind == "type" else 1) if failing else 0
            share = 1.0 if failing else 0.0
            samples: list[dict[str, Any]] = []
        else:
            count = int(failing.sum())
            share = count / n if n else 0.0
            samples = _samples(table, failing, columns, sample_size) if count and columns else []
        results.append(
            CheckResult(
                check.name,
                check.kind,
                check.column,
                check.severity,
                count == 0,
                count,
                share,
                samples,
                message,
            )
        )

    for name, column_schema in schema.columns.items():
        if name not in table.column_names:
            results.append(
                CheckResult(
                    f"{name}: present",
                    "present",
                    name,
                    column_schema.severity,
                    False,
                    n,
                    1.0,
                    [],
                    f"the data has no column {name!r}; its columns are {table.column_names}",
                )
            )
            continue
        column = table.column(name)
        for check in column_schema.checks():
            if check.kind == "type":
                ok = _type_matches(column.type, check.value)
                message = "" if ok else f"the column is {column.type}, not {check.value}"
                record(check, not ok, message, [])
            else:
                record(check, _failing(_column_mask(check, column)), "", [name])
    for check in schema.table_checks:
        failing, message, columns = _table_result(check, table)
        record(
            check,
            _failing(failing),
            message,
            columns,
        )
    return results


#: checks that judge single rows (the others judge a whole column or table)
_ROW_KINDS = {"not_null", "min", "max", "allowed", "regex", "unique", "expression", "custom"}


def row_failures(table: pa.Table, schema: Schema, severity: str = "error") -> dict[int, list[str]]:
    """Rows that fail row-level checks of ``severity``, each with the names of its failed checks.

    Column and table verdicts (a type, a row count, freshness) are not about
    single rows and are left out: no row can be blamed for them.
    """
    failures: dict[int, list[str]] = {}

    def blame(check: Check, mask: Any) -> None:
        failing = _failing(mask)
        if isinstance(failing, np.ndarray):
            for row in np.flatnonzero(failing).tolist():
                failures.setdefault(row, []).append(check.name)

    for check in schema.checks():
        if check.kind not in _ROW_KINDS or check.severity != severity:
            continue
        if check.column is not None:
            if check.column in table.column_names:
                blame(check, _column_mask(check, table.column(check.column)))
        else:
            mask, _, _ = _table_result(check, table)
            if not isinstance(mask, bool | np.bool_):
                blame(check, mask)
    return failures


def validate(
    data: Any,
    schema: Any,
    *,
    sample_size: int = 5,
    raise_on_error: bool = False,
    save: bool = True,
) -> ValidationReport:
    """Run every check of ``schema`` on ``data`` and return the report.

    ``data`` is a DataFrame, a pyarrow Table, a file path or a dataset handle;
    ``schema`` a Schema, a YAML path or text, or a mapping. A handle's report
    is stored with its version (unless ``save=False``), and only the columns
    the schema names are read. ``raise_on_error=True`` raises ValidationFailed
    with the summary when an error-severity check fails.
    """
    from shipyard.data.versions import DatasetHandle

    schema = load_schema(schema)
    started = time.perf_counter()
    dataset = None
    if isinstance(data, DatasetHandle):
        dataset = data.uri
        wanted = _columns_needed(schema, data.columns)
        table = data.to_arrow(wanted)
        if not wanted:  # a schema with only table-level checks on no column: count rows only
            table = pa.table({"__row": pa.nulls(data.num_rows)})
    else:
        from shipyard.data._sources import open_source

        source = open_source(data)
        table = pa.Table.from_batches(list(source.batches), schema=source.schema)
    report = ValidationReport(
        num_rows=table.num_rows,
        results=_run_checks(table, schema, sample_size),
        dataset=dataset,
        schema_digest=schema.digest,
    )
    report.seconds = round(time.perf_counter() - started, 4)
    if isinstance(data, DatasetHandle) and save:
        _store(data, schema, report)
    if raise_on_error:
        report.raise_for_errors()
    return report


def _columns_needed(schema: Schema, available: list[str]) -> list[str]:
    from shipyard.data.expressions import expression_columns, parse_expression

    needed = [c for c in schema.columns if c in available]
    for check in schema.table_checks:
        names: list[str] = []
        if check.kind == "unique":
            names = check.value
        elif check.kind == "expression":
            names = expression_columns(parse_expression(check.value))
        elif check.kind == "freshness":
            names = [check.value["column"]]
        elif check.kind == "custom":
            return available  # a custom check may read anything
        needed += [c for c in names if c in available and c not in needed]
    return needed


def _store(handle: Any, schema: Schema, report: ValidationReport) -> None:
    from shipyard.store.entities import ValidationRecord

    store = handle._client.store.datasets
    record = store.add_schema(handle.info.dataset_id, schema.to_yaml(), schema.digest)
    store.add_validation(
        ValidationRecord(
            id=new_id(),
            version_id=handle.id,
            schema_id=record.id,
            passed=report.passed,
            errors=len(report.errors),
            warnings=len(report.warnings),
            body=report.to_json(),
            created_ms=report.created_ms,
        )
    )
