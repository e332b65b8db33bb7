"""Compile the filter language's tree into SQLAlchemy expressions over ``runs``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from shipyard.store.search_syntax import BoolOp, Compare, Node, OrderBy
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


def plan_search(
    node: Node | None, orders: list[OrderBy]
) -> tuple[sa.FromClause, list[ColumnElement[bool]], list[ColumnElement]]:
    """FROM, WHERE and ORDER BY over ``runs`` for a filter and sort keys.

    Each keyed sort field is an outer join. When the first sort key is a metric
    that the filter requires (an AND-ed comparison on it), the join becomes
    inner and carries that comparison, so the database can walk the
    ``(key, value)`` index in sort order and stop at the limit instead of
    scanning every run.
    """
    conjuncts = list(node.items) if isinstance(node, BoolOp) and node.op == "and" else [node]
    conjuncts = [c for c in conjuncts if c is not None]
    source: sa.FromClause = runs
    where: list[ColumnElement[bool]] = []
    order_by: list[ColumnElement] = []
    for i, order in enumerate(orders):
        field = order.field
        if field.kind == "attributes":
            column = _ATTRIBUTE_COLUMNS[field.key]
        else:
            alias = _KEYED_TABLES[field.kind].alias(f"order_{i}")
            on = sa.and_(alias.c.run_id == runs.c.id, alias.c.key == field.key)
            required = [
                c
                for c in conjuncts
                if i == 0
                and field.kind == "metrics"
                and isinstance(c, Compare)
                and c.field == field
            ]
            if required:
                conjuncts = [c for c in conjuncts if c not in required]
                where.extend(_apply(alias.c.value, c.op, c.value) for c in required)
                source = source.join(alias, on)
            else:
                source = source.outerjoin(alias, on)
            column = alias.c.value
        order_by.append((column.desc() if order.descending else column.asc()).nulls_last())
    where.extend(compile_filter(c) for c in conjuncts)
    return source, where, order_by
