"""Row expressions for cross-column checks, such as ``start <= end`` or
``discount < price * 0.5 and (plan == 'pro' or seats <= 5)``.

The text is parsed with Python's own parser, then only a whitelist of node
kinds is accepted (column names, numbers, strings, comparisons, arithmetic,
``and``/``or``/``not``, ``abs()``); the tree is evaluated with Arrow compute
over whole columns. Nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from shipyard.errors import InvalidInput

__all__ = ["evaluate", "expression_columns", "parse_expression"]

_COMPARE = {
    ast.Eq: "equal",
    ast.NotEq: "not_equal",
    ast.Lt: "less",
    ast.LtE: "less_equal",
    ast.Gt: "greater",
    ast.GtE: "greater_equal",
}
_ARITH = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide"}


def parse_expression(text: str, where: str = "expression") -> ast.Expression:
    """Parse and check an expression; InvalidInput names what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidInput(
            f"{where}: {text!r} is not a valid expression ({exc.msg} at column {exc.offset}). "
            "Use column names, numbers, 'strings', == != < <= > >=, + - * /, and, or, not."
        ) from None
    for node in ast.walk(tree):
        allowed = (
            ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
            ast.Compare, ast.BinOp, ast.Name, ast.Load, ast.Constant, ast.Call,
            *_COMPARE, *_ARITH,
        )  # fmt: skip
        if not isinstance(node, allowed):
            raise InvalidInput(
                f"{where}: {ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__!r} "
                f"is not allowed in {text!r}. Use column names, numbers, 'strings', comparisons, "
                "+ - * /, and, or, not, abs()."
            )
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name)
            and node.func.id == "abs"
            and len(node.args) == 1
            and not node.keywords
        ):
            raise InvalidInput(f"{where}: only abs(x) may be called; got {ast.unparse(node)!r}.")
        if isinstance(node, ast.Constant) and not isinstance(
            node.value, int | float | str | bool | type(None)
        ):
            raise InvalidInput(
                f"{where}: the constant {node.value!r} is not a number, string or boolean."
            )
    return tree


def expression_columns(tree: ast.Expression) -> list[str]:
    """The column names an expression reads."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id != "abs" and node.id not in names:
            names.append(node.id)
    return names


def evaluate(tree: ast.Expression, table: pa.Table) -> Any:
    """The expression over ``table``: a boolean (or other) Arrow array, or a scalar."""
    missing = [c for c in expression_columns(tree) if c not in table.column_names]
    if missing:
        raise InvalidInput(
            f"The expression {ast.unparse(tree)!r} names column(s) {missing} that the data does not have."
        )
    return _eval(tree.body, table)


def _eval(node: ast.expr, table: pa.Table) -> Any:
    if isinstance(node, ast.Name):
        return table.column(node.id)
    if isinstance(node, ast.Constant):
        return pa.scalar(node.value)
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, table) for v in node.values]
        func = pc.and_kleene if isinstance(node.op, ast.And) else pc.or_kleene
        result = values[0]
        for value in values[1:]:
            result = func(result, value)
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, table)
        return pc.invert(operand) if isinstance(node.op, ast.Not) else pc.negate(operand)
    if isinstance(node, ast.BinOp):
        return getattr(pc, _ARITH[type(node.op)])(_eval(node.left, table), _eval(node.right, table))
    if isinstance(node, ast.Call):
        return pc.abs(_eval(node.args[0], table))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, table)
        result = None
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, table)
            try:
                part = getattr(pc, _COMPARE[type(op)])(left, right)
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
                raise InvalidInput(
                    f"Cannot compare in {ast.unparse(node)!r}: {str(exc).splitlines()[0]}. "
                    "Compare columns of compatible types."
                ) from exc
            result = part if result is None else pc.and_kleene(result, part)
            left = right
        return result
    raise AssertionError(f"unexpected node {node!r}")
