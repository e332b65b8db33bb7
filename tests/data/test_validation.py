"""Schemas, inference and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shipyard as sy
from shipyard.data import ColumnSchema, Schema
from shipyard.data.schema import Check
from shipyard.errors import InvalidInput, ValidationFailed


@pytest.fixture
def orders() -> pd.DataFrame:
    now = datetime.now(UTC)
    return pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5, 5],
            "customer": ["a", "b", "c", "d", "e", "f"],
            "day": [1, 1, 2, 2, 3, 3],
            "amount": [10.0, -5.0, 30.0, np.nan, 2000.0, 50.0],
            "plan": ["basic", "pro", "pro", "gold", None, "basic"],
            "email": ["a@x.io", "b@x.io", "broken", "d@x.io", "e@x.io", "f@x.io"],
            "start": [1, 2, 3, 9, 5, 6],
            "end": [2, 3, 4, 5, 6, 7],
            "updated": [now - timedelta(hours=h) for h in range(6)],
        }
    )


SCHEMA = """
format_version: 1
columns:
  order_id: {type: int64, nullable: false, unique: true}
  amount:
    type: double
    nullable: false
    min: 0
    max: {value: 1000, severity: warning}
  plan: {type: string, allowed: [basic, pro]}
  email: {type: string, regex: '^[^@]+@[^@]+$', severity: warning}
  missing_column: {type: int64}
checks:
  - row_count: {min: 1, max: 5}
  - unique: [customer, day]
  - expression: start <= end
  - freshness: {column: updated, max_age: 1d}
"""


def _by_check(report):  # type: ignore[no-untyped-def]
    return {r.check: r for r in report.results}


def test_every_kind_of_check(orders: pd.DataFrame) -> None:
    report = sy.data.validate(orders, SCHEMA)
    got = _by_check(report)
    assert got["order_id: unique"].failed_count == 2
    assert [s["row"] for s in got["order_id: unique"].samples] == [4, 5]
    assert got["amount: not null"].samples == [{"row": 3, "value": None}]
    assert got["amount: >= 0"].samples == [{"row": 1, "value": -5.0}]
    warn = got["amount: <= 1000"]
    assert (warn.severity, warn.passed, warn.samples) == (
        "warning",
        False,
        [{"row": 4, "value": 2000.0}],
    )
    allowed = got["plan: in {basic, pro}"]
    assert allowed.failed_count == 1
    assert allowed.samples[0] == {
        "row": 3,
        "value": "gold",
    }
    regex = got["email: matches ^[^@]+@[^@]+$"]
    assert (regex.severity, regex.failed_count, regex.samples[0]["row"]) == ("warning", 1, 2)
    present = got["missing_column: present"]
    assert not present.passed
    assert "no column 'missing_column'" in present.message
    assert not got["row count in [1, 5]"].passed
    assert "6 rows" in got["row count in [1, 5]"].message
    assert got["unique (customer, day)"].passed
    expression = got["expression: start <= end"]
    assert expression.samples == [{"row": 3, "value": {"start": 9, "end": 5}}]
    assert got["updated: fresher than 1d"].passed
    assert got["order_id: type is int64"].passed
    assert not report.passed
    assert {r.check for r in report.warnings} == {"amount: <= 1000", "email: matches ^[^@]+@[^@]+$"}


def test_warnings_alone_pass_and_raise_on_error(orders: pd.DataFrame) -> None:
    lenient = Schema({"amount": ColumnSchema("amount", max=1000, severity="warning")})
    report = sy.data.validate(orders, lenient)
    assert report.passed
    assert len(report.warnings) == 1
    strict = Schema({"amount": ColumnSchema("amount", min=0)})
    with pytest.raises(ValidationFailed, match=r"(?s)FAILED: .*amount: >= 0: 1 failing .*rows 1"):
        sy.data.validate(orders, strict, raise_on_error=True)


def test_type_checks_and_families() -> None:
    table = pa.table({"i": pa.array([1, 2], pa.int32()), "f": [1.0, 2.0], "s": ["a", "b"]})
    schema = Schema(
        {
            "i": ColumnSchema("i", type="integer"),
            "f": ColumnSchema("f", type="float64"),
            "s": ColumnSchema("s", type="int64"),
        }
    )
    got = _by_check(sy.data.validate(table, schema))
    assert got["i: type is integer"].passed
    assert got["f: type is float64"].passed
    bad = got["s: type is int64"]
    assert bad.failed_count == 2
    assert bad.message == "the column is string, not int64"


def test_custom_checks_and_compound_keys() -> None:
    @sy.data.register_check("even_ids")
    def even_ids(table: pa.Table):  # type: ignore[no-untyped-def]
        return pc.equal(pc.bit_wise_and(table["id"], 1), 0)

    table = pa.table({"id": [2, 4, 5, 6], "k1": ["a", "a", "b", "b"], "k2": [1, 1, 1, 2]})
    schema = Schema(
        table_checks=[Check("custom", None, "even_ids"), Check("unique", None, ["k1", "k2"])]
    )
    got = _by_check(sy.data.validate(table, schema))
    assert got["custom: even_ids"].failed_count == 1
    compound = got["unique (k1, k2)"]
    assert compound.failed_count == 2
    assert compound.samples[0] == {
        "row": 0,
        "value": {"k1": "a", "k2": 1},
    }
    with pytest.raises(InvalidInput, match="No custom check is registered as 'nope'"):
        sy.data.validate(table, Schema(table_checks=[Check("custom", None, "nope")]))


def test_reports_are_stored_with_versions_and_written_as_html(
    sy_home: Path, orders: pd.DataFrame, tmp_path: Path
) -> None:
    handle = sy.data.log_dataset("orders", orders)
    report = sy.data.validate(handle, SCHEMA)
    stored = handle.validations()
    assert len(stored) == 1
    assert stored[0].to_dict() == report.to_dict()
    assert report.dataset == "datasets:/orders/1"
    html = report.to_html(str(tmp_path / "report.html"))
    assert "<script" not in html
    assert "http" not in html.replace("http-equiv", "")
    assert "amount: &gt;= 0" in html
    assert "FAILED" in html
    # the schema was versioned in the store; the same schema again is the same version
    sy.data.validate(handle, SCHEMA)
    store = sy.client().store.datasets
    assert store.get_schema(handle.info.dataset_id).version == 1


def test_inferred_schema_passes_on_its_own_data_and_reads_back(
    sqlite_home: Path, orders: pd.DataFrame, tmp_path: Path
) -> None:
    clean = orders.drop(columns=["updated"]).drop_duplicates("order_id")
    schema = sy.data.infer_schema(clean)
    assert schema.columns["plan"].allowed == ["basic", "gold", "pro"]
    assert schema.columns["order_id"].unique
    assert not schema.columns["order_id"].nullable
    assert schema.columns["amount"].nullable  # it has a NaN
    assert schema.columns["amount"].min == -5.0
    path = schema.save(tmp_path / "schema.yaml")
    again = sy.data.load_schema(path)
    assert again.to_dict() == schema.to_dict()
    assert sy.data.validate(clean, again).passed


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("columns:\n  a: {type: int64\n", "not valid YAML at line 3"),
        ("columns: [a, b]", "'columns' must map"),
        ("columns:\n  a: {minimum: 3}", "unknown rule(s) ['minimum']"),
        ("columns:\n  a: {min: 5, max: 1}", "min 5 is above max 1"),
        ("columns:\n  a: {severity: fatal}", "severity must be 'error' or 'warning'; got 'fatal'"),
        ("columns:\n  a: {regex: '(unclosed'}", "regex '(unclosed' is not valid"),
        ("checks:\n  - expression: import os", "not a valid expression"),
        ("checks:\n  - expression: __import__('os')", "only abs(x) may be called"),
        ("checks:\n  - freshness: {column: t, max_age: soon}", "max_age must look like"),
        ("checks:\n  - row_count: 5", "row_count takes {min: N, max: N}"),
        ("format_version: 9\ncolumns: {}", "format_version 9"),
        ("tables: {}", "unknown top-level key(s) ['tables']"),
    ],
)
def test_malformed_schemas_are_refused_with_the_place(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        sy.data.load_schema(text)
    assert words in str(info.value)


values = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))
names = st.text("abcdefgh_", min_size=1, max_size=8)


@st.composite
def schemas(draw):  # type: ignore[no-untyped-def]
    columns = {}
    for name in draw(st.lists(names, max_size=5, unique=True)):
        lo = draw(st.none() | values)
        hi = draw(st.none() | values)
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        columns[name] = ColumnSchema(
            name,
            type=draw(st.sampled_from([None, "int64", "double", "string"])),
            nullable=draw(st.booleans()),
            min=lo,
            max=hi,
            allowed=draw(st.none() | st.lists(st.text(max_size=5), max_size=4)),
            unique=draw(st.booleans()),
            severity=draw(st.sampled_from(["error", "warning"])),
        )
    checks = draw(
        st.lists(
            st.sampled_from(
                [
                    Check("row_count", None, {"min": 1}),
                    Check("expression", None, "a <= b", "warning"),
                    Check("unique", None, ["a", "b"]),
                    Check("freshness", None, {"column": "t", "max_age": "2d"}),
                ]
            ),
            max_size=3,
        )
    )
    return Schema(columns, checks)


@given(schemas())
@settings(max_examples=150, deadline=None)
def test_schemas_round_trip_through_yaml(schema: Schema) -> None:
    again = Schema.from_yaml(schema.to_yaml())
    assert again.to_dict() == schema.to_dict()
    assert [c.name for c in again.checks()] == [c.name for c in schema.checks()]


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_any_text_loads_or_raises_invalid_input(text: str) -> None:
    try:
        sy.data.load_schema(text + "\n")
    except InvalidInput:
        pass
