"""Profiles: the statistics are right, and they are stored in a versioned form."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.data.profile import PROFILE_FORMAT_VERSION, Profile
from shipyard.errors import InvalidInput


def test_numeric_and_categorical_statistics() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(10, 2, 10_000)
    values[:100] = np.nan
    frame = pd.DataFrame(
        {
            "x": values,
            "n": pd.array([None if i % 10 == 0 else i % 7 for i in range(10_000)], dtype="Int64"),
            "c": rng.choice(["a", "b", "c"], 10_000, p=[0.6, 0.3, 0.1]),
            "t": pd.date_range("2026-01-01", periods=10_000, freq="min", tz="UTC"),
        }
    )
    prof = sy.data.profile(frame)
    x = prof.columns["x"]
    clean = values[~np.isnan(values)]
    assert (x.kind, x.count, x.nulls) == ("numeric", 9_900, 100)  # pandas NaN arrives as null
    assert x.mean == pytest.approx(clean.mean())
    assert x.std == pytest.approx(clean.std(ddof=1))
    assert (x.min, x.max) == (pytest.approx(clean.min()), pytest.approx(clean.max()))
    assert x.quantiles["0.5"] == pytest.approx(np.median(clean), abs=0.05)
    assert len(x.histogram["edges"]) == 21
    assert sum(x.histogram["counts"]) == len(clean)
    n = prof.columns["n"]
    assert (n.nulls, n.distinct, n.null_share) == (1000, 7, pytest.approx(0.1))
    c = prof.columns["c"]
    assert c.kind == "categorical"
    assert c.top_values[0][0] == "a"
    assert sum(v for _, v in c.top_values) == 10_000
    t = prof.columns["t"]
    assert t.kind == "temporal"
    assert t.min.startswith("2026-01-01T00:00")


def test_profile_serialises_with_its_format_version() -> None:
    prof = sy.data.profile(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "x"]}))
    again = Profile.from_json(prof.to_json())
    assert again.to_dict() == prof.to_dict()
    raw = json.loads(prof.to_json())
    assert raw["format_version"] == PROFILE_FORMAT_VERSION
    assert raw["shipyard_version"]
    raw["format_version"] = 99
    with pytest.raises(InvalidInput, match="format version 99"):
        Profile.from_json(json.dumps(raw))


def test_empty_table_cannot_be_profiled() -> None:
    with pytest.raises(InvalidInput, match="empty table"):
        sy.data.profile(pd.DataFrame({"a": pd.Series([], dtype=float)}))


def test_distinct_counts_are_exact_when_few_and_close_when_many() -> None:
    import pyarrow as pa

    from shipyard.data.profile import distinct_count

    rng = np.random.default_rng(3)
    few = rng.integers(0, 50, 200_000).astype(float)
    assert distinct_count(few, pa.chunked_array([few])) == 50
    many = rng.random(300_000)
    estimate = distinct_count(many, pa.chunked_array([many]))
    assert abs(estimate - 300_000) / 300_000 < 0.06  # k = 4096: about 1.6 % standard error
    moderate = rng.integers(0, 20_000, 300_000).astype(float)  # under the sketch's reach: exact
    assert distinct_count(moderate, pa.chunked_array([moderate])) == len(np.unique(moderate))
