"""The filter language parser: round trips, errors with positions, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.errors import InvalidInput
from shipyard.store.search_syntax import (
    ATTRIBUTES,
    BoolOp,
    Compare,
    Field,
    parse_filter,
    parse_order_by,
)

keys = st.text(st.sampled_from("abcxyz_019-./: `é"), min_size=1, max_size=12)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
texts = st.text(max_size=12)


@st.composite
def comparisons(draw):  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from(["metrics", "params", "tags", "attributes"]))
    if kind == "attributes":
        key = draw(st.sampled_from(sorted(ATTRIBUTES)))
        numeric = ATTRIBUTES[key]
    else:
        key = draw(keys)
        numeric = kind == "metrics"
    field = Field(kind, key)
    value_st = numbers if numeric else texts
    if key == "status":
        value_st = st.sampled_from(["RUNNING", "FINISHED", "FAILED", "KILLED"])
    ops = ["=", "!=", "<", "<=", ">", ">=", "in", "not in"]
    if not numeric:
        ops += ["like", "not like", "ilike", "not ilike"]
    op = draw(st.sampled_from(ops))
    if op in ("in", "not in"):
        return Compare(field, op, tuple(draw(st.lists(value_st, min_size=1, max_size=3))))
    if "like" in op:
        return Compare(field, op, draw(texts))
    return Compare(field, op, draw(value_st))


trees = st.recursive(
    comparisons(),
    lambda children: st.builds(
        BoolOp,
        st.sampled_from(["and", "or"]),
        st.lists(children, min_size=2, max_size=3).map(tuple),
    ),
    max_leaves=6,
)


def _flatten(node):  # type: ignore[no-untyped-def]
    """Nested ands in ands (or ors in ors) parse back flat; compare trees in that form."""
    if isinstance(node, Compare):
        return node
    items = []
    for item in map(_flatten, node.items):
        items.extend(item.items if isinstance(item, BoolOp) and item.op == node.op else [item])
    return BoolOp(node.op, tuple(items))


@given(trees)
@settings(max_examples=300, deadline=None)
def test_rendered_filters_parse_back_to_the_same_tree(tree) -> None:  # type: ignore[no-untyped-def]
    assert _flatten(parse_filter(tree.render())) == _flatten(tree)


@given(st.text(max_size=60))
@settings(max_examples=500, deadline=None)
def test_any_text_parses_or_raises_invalid_input(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidInput as exc:
        message = str(exc)
    else:
        return
    assert "position" in message


@given(
    st.lists(
        st.sampled_from(
            [
                "metrics.a",
                "params.b",
                "status",
                "=",
                "<",
                "in",
                "(",
                ")",
                ",",
                "and",
                "or",
                "not",
                "like",
                "'x'",
                "1.5",
                "-2",
                "`k`",
                "tags.`a b`",
            ]
        ),
        max_size=12,
    )
)
@settings(max_examples=500, deadline=None)
def test_token_soup_parses_or_raises_invalid_input(tokens: list[str]) -> None:
    try:
        parse_filter(" ".join(tokens))
    except InvalidInput:
        pass


def test_precedence_and_binds_tighter_than_or() -> None:
    tree = parse_filter("metrics.a = 1 or metrics.b = 2 and metrics.c = 3")
    assert isinstance(tree, BoolOp)
    assert tree.op == "or"
    assert isinstance(tree.items[1], BoolOp)
    assert tree.items[1].op == "and"


def test_values_are_typed_by_field() -> None:
    assert parse_filter("params.lr = 0.10") == Compare(Field("params", "lr"), "=", "0.10")
    assert parse_filter("metrics.auc >= 1e-3") == Compare(Field("metrics", "auc"), ">=", 0.001)
    assert parse_filter("status = 'failed'") == Compare(
        Field("attributes", "status"), "=", "FAILED"
    )
    assert parse_filter("start_time > '1970-01-02'") == Compare(
        Field("attributes", "start_time"), ">", 86_400_000.0
    )
    assert parse_filter("tags.`odd key` = 'it''s'") == Compare(
        Field("tags", "odd key"), "=", "it's"
    )
    assert parse_filter("  ") is None


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("metrics.auc >", 13, "expected a value"),
        ("metrics.auc > 'high'", 14, "compare it with a number"),
        ("metrics.auc = 1 and", 19, "expected a field"),
        ("(metrics.auc = 1", 16, "')'"),
        ("metrics.auc like 'a%'", 12, "compares text"),
        ("foo = 1", 0, "unknown name 'foo'"),
        ("params.x = 'open", 11, "never closed"),
        ("status = 'DONE'", 9, "status must be one of"),
        ("metrics.a = 1 metrics.b = 2", 14, "expected 'and', 'or'"),
        ("params.x ! 1", 9, "'!' must be followed"),
        ("start_time > 'yesterday'", 13, "ISO date"),
    ],
)
def test_errors_point_at_the_problem(text: str, position: int, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filter(text)
    assert info.value.details["position"] == position
    assert words in str(info.value)
    assert str(info.value).splitlines()[-1] == "  " + " " * position + "^"


def test_order_by() -> None:
    order = parse_order_by("metrics.acc DESC")
    assert (order.field, order.descending) == (Field("metrics", "acc"), True)
    assert not parse_order_by("start_time").descending
    with pytest.raises(InvalidInput, match="expected 'asc', 'desc'"):
        parse_order_by("metrics.acc 5")
    with pytest.raises(InvalidInput, match="order_by"):
        parse_order_by("")
