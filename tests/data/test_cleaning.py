"""Cleaning recipes and version diffs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.errors import InvalidInput


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 1, 2, 3, 4, 5, 6],
            "email": [" A@x.io", "a@x.io", "b@x.io ", None, "bad", "c@x.io", "d@x.io"],
            "age": [30.0, 30.0, None, 40.0, 200.0, 50.0, 35.0],
            "income": [1e3, 1e3, 2e3, -5.0, 3e3, 1e9, 2.5e3],
        }
    )


RECIPE = """
steps:
  - drop_duplicates: {subset: [id]}
  - strings: {columns: [email], lower: true}
  - fill_nulls: {age: median}
  - clip: {income: {min: 0}}
  - quarantine:
      schema:
        columns:
          email: {regex: '^[^@]+@[^@]+$', nullable: false}
          age: {max: 120}
"""


def test_a_recipe_makes_a_new_version_and_quarantines_what_fails(
    sy_home: Path, people: pd.DataFrame
) -> None:
    source = sy.data.log_dataset("people", people)
    result = sy.data.clean(source, RECIPE)
    cleaned = result.version.to_pandas()
    assert result.version.uri == "datasets:/people/2"
    assert result.version.info.parents == (source.id,)
    assert cleaned["id"].tolist() == [1, 2, 5, 6]
    assert cleaned["email"].tolist() == ["a@x.io", "b@x.io", "c@x.io", "d@x.io"]
    assert cleaned["age"].tolist() == [30.0, 40.0, 50.0, 35.0]  # the median of 30, 40, 200, 50, 35
    assert cleaned["income"].min() >= 0
    counts = {c["step"]: c for c in result.version.info.recipe["counts"]}
    assert counts["drop_duplicates"]["rows_dropped"] == 1
    assert counts["strings"]["rows_changed"] == 2
    assert counts["fill_nulls"]["rows_changed"] == 1
    assert counts["clip"]["rows_changed"] == 1
    assert counts["quarantine"]["rows_quarantined"] == 2
    assert result.version.info.recipe["steps"][0] == {"drop_duplicates": {"subset": ["id"]}}
    bad = result.quarantine_version.to_pandas()
    assert result.quarantine_version.uri == "datasets:/people-quarantine/1"
    assert bad["id"].tolist() == [3, 4]
    assert bad["_quarantine_reason"].tolist() == [
        "email: not null",
        "email: matches ^[^@]+@[^@]+$; age: <= 120",
    ]
    # every input row is accounted for
    assert result.rows_in - counts["drop_duplicates"]["rows_dropped"] == len(cleaned) + len(bad)


def test_rows_failing_checks_can_be_dropped_instead(people: pd.DataFrame) -> None:
    schema = {"columns": {"age": {"max": 120}}}
    result = sy.data.clean(people, [{"quarantine": {"schema": schema, "action": "drop"}}])
    assert result.outcomes[0].rows_dropped == 1
    assert result.quarantined is None
    assert 200.0 not in result.table["age"].to_pylist()


def test_outliers_casts_and_drop_nulls_on_in_memory_data() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": np.append(rng.normal(0, 1, 200), [50.0, -40.0]), "n": ["1"] * 201 + [None]}
    )
    result = sy.data.clean(
        frame,
        [
            {"drop_outliers": {"columns": ["x"], "method": "zscore", "factor": 4}},
            {"drop_nulls": {"columns": ["n"]}},
            {"cast": {"n": "int64"}},
        ],
    )
    assert [o.rows_dropped for o in result.outcomes[:2]] == [2, 0]
    assert result.table["n"].type == "int64"
    assert result.version is None  # in-memory data is not stored


@pytest.mark.parametrize(
    ("recipe", "words"),
    [
        ("steps: []", "non-empty list of steps"),
        ("steps:\n  - scrub: {}", "unknown step 'scrub'"),
        ("steps:\n  - fill_nulls: {nope: 0}", "no column(s) ['nope']"),
        ("steps:\n  - cast: {email: int64}", "column 'email' cannot become int64"),
        ("steps:\n  - cast: {age: tiny}", "'tiny' is not a type name"),
        ("steps:\n  - drop_outliers: {columns: [email]}", "not numeric"),
        ("steps:\n  - clip: {income: 5}", "takes {min: ..., max: ...}"),
        ("steps:\n  - quarantine: {}", "quarantine takes {schema"),
        (
            "steps:\n  - drop_nulls: {columns: [id]}\n  - drop_outliers: {columns: [age], method: magic}",
            "'iqr' or 'zscore'",
        ),
    ],
)
def test_bad_recipes_are_refused_and_store_nothing(
    sqlite_home: Path, people: pd.DataFrame, recipe: str, words: str
) -> None:
    source = sy.data.log_dataset("people", people)
    with pytest.raises(InvalidInput) as info:
        sy.data.clean(source, recipe)
    assert words in str(info.value)
    assert [
        v.version for v in sy.client().store.datasets.list_versions(source.info.dataset_id)
    ] == [1]


def test_a_recipe_that_drops_everything_stores_nothing(sy_home: Path, people: pd.DataFrame) -> None:
    source = sy.data.log_dataset("people", people)
    with pytest.raises(InvalidInput, match="left no rows"):
        sy.data.clean(
            source,
            {"steps": [{"drop_nulls": {}}, {"drop_outliers": {"columns": ["age"], "factor": -10}}]},
        )
    assert len(sy.client().store.datasets.list_versions(source.info.dataset_id)) == 1


def test_diff_reports_schema_drift_and_jumps(sqlite_home: Path) -> None:
    a = sy.data.log_dataset(
        "d", pd.DataFrame({"x": range(100), "y": ["a", "b"] * 50, "z": [1.0] * 100})
    )
    b = sy.data.log_dataset(
        "d",
        pd.DataFrame(
            {"x": [None] * 20 + list(range(80)), "y": [str(i) for i in range(100)], "w": [1] * 100}
        ),
    )
    result = sy.data.diff(a, b)
    assert (result.added, result.removed) == (["w"], ["z"])
    assert result.retyped == [("x", "int64", "double")]
    flagged = {c.column: c.flags for c in result.flagged}
    assert flagged["x"] == ["null share 0.0% -> 20.0%"]
    assert flagged["y"] == ["distinct values 2 -> 100"]
    assert result.schema_changed
    assert result.rows == (100, 100)
