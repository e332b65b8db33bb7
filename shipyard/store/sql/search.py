"""Compile the filter language's tree into SQLAlchemy expressions over ``runs``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from shipyard.store.search_syntax import BoolOp, Compare, Field, Node, OrderBy
from shipyard.store.sql.schema import latest_metrics, params, runs, tags

_ATTRIBUTE_COLUMNS = {
    "id": runs.c.id,
    "name": runs.c.name,
    "status": runs.c.status,
    "user": runs.c.user,
    "parent_run_id": runs.c.parent_run_id,
    "experiment_id": runs.c.experiment_id,
    "git_commit": runs.c.git_commit,
    "start_time": runs.c.start_ms,
    "end_time": runs.c.end_ms,
}
_KEYED_TABLES = {"metrics": latest_metrics, "params": params, "tags": tags}


def _apply(column: ColumnElement, op: str, value: object) -> ColumnElement:
    match op:
        case "=":
            return column == value
        case "!=":
            return column != value
        case "<":
            return column < value
        case "<=":
            return column <= value
        case ">":
            return column > value
        case ">=":
            return column >= value
        case "in":
            return column.in_(list(value))  # type: ignore[call-overload]
        case "not in":
            return column.not_in(list(value))  # type: ignore[call-overload]
        case "like":
            return column.like(value)
        case "not like":
            return column.not_like(value)
        case "ilike":
            return column.ilike(value)
        case "not ilike":
            return column.not_ilike(value)
    raise AssertionError(f"unknown operator {op!r}")


def compile_filter(node: Node) -> ColumnElement[bool]:
    """A WHERE clause over ``runs`` for a parsed filter.

    A comparison on a metric, param or tag matches runs that have that key with
    a value satisfying it (so ``params.lr != '0.1'`` leaves out runs without
    ``lr``). Metrics compare their latest value; NaN matches no comparison.
    """
    if isinstance(node, BoolOp):
        parts = [compile_filter(item) for item in node.items]
        return sa.and_(*parts) if node.op == "and" else sa.or_(*parts)
    assert isinstance(node, Compare)
    field = node.field
    if field.kind == "attributes":
        return _apply(_ATTRIBUTE_COLUMNS[field.key], node.op, node.value)
    table = _KEYED_TABLES[field.kind]
    return sa.exists().where(
        table.c.run_id == runs.c.id,
        table.c.key == field.key,
        _apply(table.c.value, node.op, node.value),
    )


def order_column(
    order: OrderBy, joins: list[tuple[sa.Table, ColumnElement[bool]]]
) -> ColumnElement:
    """The column to sort by; keyed fields add an outer join to ``joins``."""
    field: Field = order.field
    if field.kind == "attributes":
        column = _ATTRIBUTE_COLUMNS[field.key]
    else:
        alias = _KEYED_TABLES[field.kind].alias(f"order_{len(joins)}")
        joins.append((alias, sa.and_(alias.c.run_id == runs.c.id, alias.c.key == field.key)))
        column = alias.c.value
    return (column.desc() if order.descending else column.asc()).nulls_last()
