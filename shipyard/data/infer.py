"""Proposing a schema from data: the starting point a person then edits."""

from __future__ import annotations

from typing import Any

from shipyard.data.profile import Profile, profile
from shipyard.data.schema import ColumnSchema, Schema
from shipyard.errors import InvalidInput

__all__ = ["infer_schema"]


def infer_schema(data: Any, *, max_allowed: int = 20, ranges: bool = True) -> Schema:
    """Propose a schema for ``data`` (a DataFrame, Arrow table, path or dataset handle).

    Per column: its type; ``nullable: false`` when it has no nulls; for numbers,
    ``min``/``max`` of what was seen (``ranges=False`` leaves them out); for text
    or booleans with at most ``max_allowed`` distinct values, the allowed set;
    ``unique: true`` for integer and text columns whose values are all distinct.
    """
    prof: Profile = profile(data)
    if prof.num_rows == 0:
        raise InvalidInput("Cannot infer a schema from an empty table (0 rows).")
    columns: dict[str, ColumnSchema] = {}
    for name, col in prof.columns.items():
        spec = ColumnSchema(name, type=col.type, nullable=col.nulls > 0 or col.nans > 0)
        if col.kind == "numeric" and ranges and col.min is not None:
            integral = col.type.startswith(("int", "uint"))
            spec.min = int(col.min) if integral else col.min
            spec.max = int(col.max) if integral else col.max
        if (
            col.kind == "categorical"
            and 0 < col.distinct <= max_allowed
            and col.distinct < col.count
        ):
            spec.allowed = sorted(v for v, _ in col.top_values)
        unique_kind = col.type.startswith(("int", "uint")) or col.type in ("string", "large_string")
        if unique_kind and col.count > 1 and col.distinct == col.count and col.nulls == 0:
            spec.unique = True
        columns[name] = spec
    return Schema(columns)
