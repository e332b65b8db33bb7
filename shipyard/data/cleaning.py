"""Cleaning recipes: declared steps that turn a version into a cleaner one, losing nothing.

    steps:
      - drop_duplicates: {subset: [customer_id]}
      - strings: {columns: [email, plan], strip: true, lower: true}
      - fill_nulls: {age: median, plan: unknown}
      - clip: {income: {min: 0, max: 1000000}}
      - drop_outliers: {columns: [income], method: iqr, factor: 3}
      - cast: {age: int64}
      - drop_nulls: {columns: [customer_id]}
      - quarantine: {schema: schema.yaml}          # or action: drop

A recipe is YAML, or the same structure as Python dicts. Applying it to a
version logs a new version whose parent is the source and whose record holds
the recipe and, per step, how many rows it changed or dropped. Rows removed by
``quarantine`` (those failing the schema's row checks) are logged as their own
dataset, ``<name>-quarantine``, with a ``_quarantine_reason`` column, so nothing
is silently lost. Every step runs on whole columns (Arrow compute, numpy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.errors import InvalidInput

__all__ = ["CleanResult", "Recipe", "clean", "load_recipe"]

_STEPS = (
    "drop_duplicates",
    "strings",
    "fill_nulls",
    "clip",
    "drop_outliers",
    "cast",
    "drop_nulls",
    "quarantine",
)


@dataclass
class StepOutcome:
    step: str
    rows_changed: int = 0
    rows_dropped: int = 0
    rows_quarantined: int = 0


@dataclass
class Recipe:
    steps: list[tuple[str, Any]]

    @classmethod
    def from_dict(cls, raw: Any, where: str = "the recipe") -> Recipe:
        items = raw.get("steps") if isinstance(raw, Mapping) else raw
        if isinstance(raw, Mapping) and set(raw) - {"steps"}:
            raise InvalidInput(
                f"{where} has unknown key(s) {sorted(set(raw) - {'steps'})}; use 'steps'."
            )
        if not isinstance(items, list) or not items:
            raise InvalidInput(f"{where} needs a non-empty list of steps.")
        steps = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping) or len(item) != 1:
                raise InvalidInput(
                    f"{where}, step {i + 1}: write each step as {{name: options}}; got {item!r}."
                )
            ((name, options),) = item.items()
            if name not in _STEPS:
                raise InvalidInput(
                    f"{where}, step {i + 1}: unknown step {name!r}; steps are {', '.join(_STEPS)}."
                )
            steps.append((name, {} if options in (None, True) else options))
        return cls(steps)

    @classmethod
    def from_yaml(cls, text: str, where: str = "the recipe") -> Recipe:
        from shipyard.data._yaml import parse_yaml

        return cls.from_dict(parse_yaml(text, where), where)

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [{name: _plain(options)} for name, options in self.steps]}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def load_recipe(source: Any) -> Recipe:
    """A recipe from a YAML file path, YAML text, a dict or list of steps, or a Recipe."""
    from shipyard.data._yaml import read_document

    if isinstance(source, Recipe):
        return source
    raw, where = read_document(source, "recipe")
    return Recipe.from_dict(raw, where)


@dataclass
class CleanResult:
    """What cleaning made: the cleaned table (or version), what was quarantined, and per-step counts."""

    table: pa.Table
    outcomes: list[StepOutcome]
    quarantined: pa.Table | None = None
    version: Any = None  # a DatasetHandle when the source was a stored version
    quarantine_version: Any = None
    rows_in: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"{self.rows_in:,} rows in, {self.table.num_rows:,} rows out"]
        for o in self.outcomes:
            parts = [f"{o.rows_changed:,} changed"] if o.rows_changed else []
            parts += [f"{o.rows_dropped:,} dropped"] if o.rows_dropped else []
            parts += [f"{o.rows_quarantined:,} quarantined"] if o.rows_quarantined else []
            lines.append(f"  {o.step}: {', '.join(parts) or 'no change'}")
        return "\n".join(lines)


# -- steps ----------------------------------------------------------------------------------


def _columns(table: pa.Table, names: Any, step: str) -> list[str]:
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidInput(f"Step {step}: 'columns' must be a list of column names; got {names!r}.")
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise InvalidInput(
            f"Step {step}: the data has no column(s) {missing}; its columns are {table.column_names}."
        )
    return names


def _mapping(options: Any, step: str) -> Mapping[str, Any]:
    if not isinstance(options, Mapping) or not options:
        raise InvalidInput(
            f"Step {step} takes a mapping of column names to settings; got {options!r}."
        )
    return options


def _replace(table: pa.Table, name: str, column: Any) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, column)


def _drop_duplicates(table: pa.Table, options: Any, outcome: StepOutcome) -> pa.Table:
    subset = _columns(table, options.get("subset", table.column_names), "drop_duplicates")
    keep = options.get("keep", "first")
    if keep not in ("first", "last"):
        raise InvalidInput(f"Step drop_duplicates: keep must be 'first' or 'last'; got {keep!r}.")
    duplicated = table.select(subset).to_pandas().duplicated(keep=keep).to_numpy()
    outcome.rows_dropped = int(duplicated.sum())
    return table.filter(pa.array(~duplicated)) if outcome.rows_dropped else table


def _strings(table: pa.Table, options: Any, outcome: StepOutcome) -> pa.Table:
    names = _columns(table, options.get("columns", []), "strings")
    changed = np.zeros(table.num_rows, dtype=bool)
    for name in names:
        column = table[name]
        if not pa.types.is_string(column.type):
            raise InvalidInput(f"Step strings: column {name!r} is {column.type}, not text.")
        after = column
        if options.get("strip", True):
            after = pc.utf8_trim_whitespace(after)
        if options.get("lower"):
            after = pc.utf8_lower(after)
        if options.get("upper"):
            after = pc.utf8_upper(after)
        if options.get("normalize"):
            after = pc.utf8_normalize(after, form=options["normalize"])
        if options.get("empty_as_null"):
            after = pc.if_else(pc.equal(after, ""), pa.scalar(None, pa.string()), after)
        changed |= pc.fill_null(pc.not_equal(column, after), False).to_numpy(zero_copy_only=False)
        table = _replace(table, name, after)
    outcome.rows_changed = int(changed.sum())
    return table


def _fill_value(column: pa.ChunkedArray, how: Any, name: str) -> Any:
    if how in ("mean", "median", "mode", "min", "max"):
        present = column.drop_null()
        if len(present) == 0:
            raise InvalidInput(
                f"Step fill_nulls: column {name!r} has no values to take a {how} of."
            )
        if how == "mode":
            counts = pc.value_counts(present)
            return counts.field("values")[int(np.argmax(counts.field("counts").to_numpy()))]
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise InvalidInput(
                f"Step fill_nulls: the {how} of column {name!r} ({column.type}) is not defined."
            )
        numbers = present.to_numpy().astype(float)
        value = {"mean": np.mean, "median": np.median, "min": np.min, "max": np.max}[how](numbers)
        return round(float(value)) if pa.types.is_integer(column.type) else float(value)
    if isinstance(how, Mapping) and "value" in how:
        return how["value"]
    return how


def _fill_nulls(table: pa.Table, options: Any, outcome: StepOutcome) -> pa.Table:
    changed = np.zeros(table.num_rows, dtype=bool)
    for name, how in _mapping(options, "fill_nulls").items():
        _columns(table, [name], "fill_nulls")
        column = table[name]
        nulls = (
            pc.is_null(column, nan_is_null=True)
            if pa.types.is_floating(column.type)
            else pc.is_null(column)
        )
        value = _fill_value(column, how, name)
        try:
            scalar = (
                value.cast(column.type)
                if isinstance(value, pa.Scalar)
                else pa.scalar(value).cast(column.type)
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise InvalidInput(
                f"Step fill_nulls: {value!r} does not fit column {name!r} ({column.type}): {exc}."
            ) from exc
        changed |= nulls.to_numpy(zero_copy_only=False)
        table = _replace(table, name, pc.if_else(nulls, scalar, column))
    outcome.rows_changed = int(changed.sum())
    return table


def _clip(table: pa.Table, options: Any, outcome: StepOutcome) -> pa.Table:
    changed = np.zeros(table.num_rows, dtype=bool)
    for name, bounds in _mapping(options, "clip").items():
        _columns(table, [name], "clip")
        if not isinstance(bounds, Mapping) or not set(bounds) <= {"min", "max"} or not bounds:
            raise InvalidInput(
                f"Step clip: column {name!r} takes {{min: ..., max: ...}}; got {bounds!r}."
            )
        column = after = table[name]
        if bounds.get("min") is not None:
            after = pc.max_element_wise(
                after, pa.scalar(bounds["min"]).cast(column.type), skip_nulls=True
            )
        if bounds.get("max") is not None:
            after = pc.min_element_wise(
                after, pa.scalar(bounds["max"]).cast(column.type), skip_nulls=True
            )
        changed |= pc.fill_null(pc.not_equal(column, after), False).to_numpy(zero_copy_only=False)
        table = _replace(table, name, after)
    outcome.rows_changed = int(changed.sum())
    return table


def _drop_outliers(table: pa.Table, options: Any, outcome: StepOutcome) -> pa.Table:
    names = _columns(table, options.get("columns", []), "drop_outliers")
    method = options.get("method", "iqr")
    factor = float(options.get("factor", 1.5 if method == "iqr" else 3.0))
    outlier = np.zeros(table.num_rows, dtype=bool)
    for name in names:
        column = table[name]
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise InvalidInput(
                f"Step drop_outliers: column {name!r} is {column.type}, not numeric."
            )
        values = column.to_numpy(zero_copy_only=False).astype(
            float
        )  # nulls become NaN, which are kept
        present = values[~np.isnan(values)]
        if present.size == 0:
            continue
        if method == "iqr":
            q1, q3 = np.quantile(present, [0.25, 0.75])
            low, high = q1 - factor * (q3 - q1), q3 + factor * (q3 - q1)
        elif method == "zscore":
            mean, std = present.mean(), present.std()
            low, high = mean - factor * std, mean + factor * std
        else:
            raise InvalidInput(
                f"Step drop_outliers: method must be 'iqr' or 'zscore'; got {method!r}."
            )
        with np.errstate(invalid="ignore"):
            outlier |= (values < low) | (values > high)
    outcome.rows_dropped = int(outlier.sum())
    return table.filter(pa.array(~outlier)) if outcome.rows_dropped else table


def _cast(table: pa.Table, options: Any, outcome: StepOutcome) -> pa.Table:
    changed = 0
    for name, target in _mapping(options, "cast").items():
        _columns(table, [name], "cast")
        try:
            typ = pa.type_for_alias(str(target))
        except ValueError:
            raise InvalidInput(
                f"Step cast: {target!r} is not a type name (int64, double, string, bool, ...)."
            ) from None
        try:
            after = table[name].cast(typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInput(
                f"Step cast: column {name!r} cannot become {target}: {str(exc).splitlines()[0]}."
            ) from exc
        if after.type != table[name].type:
            changed = table.num_rows
        table = _replace(table, name, after)
    outcome.rows_changed = changed
    return table


def _drop_nulls(table: pa.Table, options: Any, outcome: StepOutcome) -> pa.Table:
    names = _columns(table, options.get("columns", table.column_names), "drop_nulls")
    missing = np.zeros(table.num_rows, dtype=bool)
    for name in names:
        column = table[name]
        nulls = (
            pc.is_null(column, nan_is_null=True)
            if pa.types.is_floating(column.type)
            else pc.is_null(column)
        )
        missing |= nulls.to_numpy(zero_copy_only=False)
    outcome.rows_dropped = int(missing.sum())
    return table.filter(pa.array(~missing)) if outcome.rows_dropped else table


def _quarantine(
    table: pa.Table, options: Any, outcome: StepOutcome
) -> tuple[pa.Table, pa.Table | None]:
    from shipyard.data.schema import load_schema
    from shipyard.data.validation import row_failures

    if not isinstance(options, Mapping) or "schema" not in options:
        raise InvalidInput(
            "Step quarantine takes {schema: <YAML path or mapping>, action: quarantine | drop}."
        )
    action = options.get("action", "quarantine")
    if action not in ("quarantine", "drop"):
        raise InvalidInput(
            f"Step quarantine: action must be 'quarantine' or 'drop'; got {action!r}."
        )
    schema = load_schema(options["schema"])
    failures = row_failures(table, schema)
    if not failures:
        return table, None
    rows = np.array(sorted(failures), dtype=np.int64)
    bad = np.zeros(table.num_rows, dtype=bool)
    bad[rows] = True
    reasons = pa.array(["; ".join(failures[r]) for r in rows.tolist()], pa.string())
    kept = table.filter(pa.array(~bad))
    if action == "drop":
        outcome.rows_dropped = len(rows)
        return kept, None
    quarantined = table.take(pa.array(rows)).append_column("_quarantine_reason", reasons)
    outcome.rows_quarantined = len(rows)
    return kept, quarantined


_APPLY = {
    "drop_duplicates": _drop_duplicates,
    "strings": _strings,
    "fill_nulls": _fill_nulls,
    "clip": _clip,
    "drop_outliers": _drop_outliers,
    "cast": _cast,
    "drop_nulls": _drop_nulls,
}


def apply_recipe(table: pa.Table, recipe: Recipe) -> CleanResult:
    """Run every step over ``table`` in memory."""
    result = CleanResult(table, [], rows_in=table.num_rows)
    quarantined: list[pa.Table] = []
    for name, options in recipe.steps:
        outcome = StepOutcome(name)
        if name == "quarantine":
            table, bad = _quarantine(table, options, outcome)
            if bad is not None:
                quarantined.append(bad)
        else:
            if not isinstance(options, Mapping):
                raise InvalidInput(f"Step {name} takes a mapping of options; got {options!r}.")
            table = _APPLY[name](table, options, outcome)
        result.outcomes.append(outcome)
    result.table = table
    if quarantined:
        result.quarantined = pa.concat_tables(quarantined, promote_options="permissive")
    return result


def clean(source: Any, recipe: Any, *, name: str | None = None) -> CleanResult:
    """Apply a recipe to a dataset version (or to data) and keep every row accounted for.

    For a version: the cleaned data is logged as a new version (of ``name``, by
    default the same dataset) with the source as its parent and the recipe and
    per-step counts on its record; quarantined rows are logged as
    ``<name>-quarantine``. For in-memory data nothing is stored.
    """
    from shipyard.data.versions import DatasetHandle, log_dataset

    recipe = load_recipe(recipe)
    if isinstance(source, DatasetHandle):
        result = apply_recipe(source.to_arrow(), recipe)
        if result.table.num_rows == 0:
            raise InvalidInput(
                f"The recipe left no rows of {source.uri}: every row was dropped or quarantined. "
                "Nothing was stored; loosen the recipe."
            )
        target = name or source.name
        record = {
            **recipe.to_dict(),
            "counts": [o.__dict__ for o in result.outcomes],
            "rows_in": result.rows_in,
        }
        result.version = log_dataset(
            target, result.table, parents=[source], recipe=record, client=source._client
        )
        if result.quarantined is not None:
            result.quarantine_version = log_dataset(
                f"{target}-quarantine",
                result.quarantined,
                parents=[source],
                recipe=record,
                client=source._client,
            )
        return result
    from shipyard.data._sources import open_source

    src = open_source(source)
    return apply_recipe(pa.Table.from_batches(list(src.batches), schema=src.schema), recipe)
