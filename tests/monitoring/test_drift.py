"""Drift tests: right verdicts on known drift, no false alarms, clear answers to bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

import shipyard as sy
from shipyard.errors import InvalidInput


def _table(n: int, seed: int, drifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "shifted": rng.normal(0.5 if drifted else 0.0, 1.0, n),
            "small_shift": rng.normal(52.5 if drifted else 50.0, 10.0, n),
            "steady": rng.gamma(2.0, 3.0, n),
            "count": rng.poisson(20.0, n),
            "plan": rng.choice(
                ["A", "B", "C"], n, p=[0.3, 0.3, 0.4] if drifted else [0.5, 0.3, 0.2]
            ),
            "region": rng.choice([f"r{i}" for i in range(10)], n),
        }
    )


@pytest.mark.parametrize("rows", [500, 20_000])
def test_drifted_columns_are_found_and_steady_ones_are_not(rows: int) -> None:
    reference = _table(rows, 1, False)
    report = sy.monitoring.drift(reference, _table(rows, 2, True))
    assert set(report.drifted_columns) == {"shifted", "small_shift", "plan"}
    assert report.drifted  # 3 of 6 columns: the default share of 0.5
    small = rows <= 1000
    assert report.column("shifted").test == ("ks" if small else "wasserstein")
    assert report.column("plan").test == ("chisquare" if small else "jensenshannon")
    # undrifted samples: p-value tests raise false alarms at their 5% rate, effect sizes none
    alarms = [
        len(sy.monitoring.drift(reference, _table(rows, seed, False)).drifted_columns)
        for seed in range(3, 13)
    ]
    assert sum(alarms) <= (8 if small else 0)  # 60 column tests; 3 expected at 5%


def test_statistics_match_the_textbook_computations() -> None:
    reference, current = _table(800, 1, False), _table(900, 2, True)
    report = sy.monitoring.drift(
        reference,
        current,
        tests={
            "shifted": "ks",
            "steady": "wasserstein",
            "plan": "chisquare",
            "region": "jensenshannon",
        },
    )
    ks = stats.ks_2samp(reference["shifted"], current["shifted"])
    assert report.column("shifted").statistic == pytest.approx(ks.statistic)
    assert report.column("shifted").p_value == pytest.approx(ks.pvalue)
    wd = stats.wasserstein_distance(reference["steady"], current["steady"])
    assert report.column("steady").statistic == pytest.approx(
        wd / reference["steady"].std(), rel=1e-6
    )
    table = pd.crosstab(
        np.r_[np.zeros(800), np.ones(900)], np.r_[reference["plan"], current["plan"]]
    )
    chi = stats.chi2_contingency(table.values, correction=False)
    assert report.column("plan").p_value == pytest.approx(chi[1])
    share_ref = reference["region"].value_counts(normalize=True).sort_index()
    share_cur = current["region"].value_counts(normalize=True).sort_index()
    from scipy.spatial.distance import jensenshannon

    assert report.column("region").statistic == pytest.approx(jensenshannon(share_ref, share_cur))


def test_large_references_use_the_sketch_and_agree_with_exact_figures() -> None:
    reference, current = _table(200_000, 1, False), _table(150_000, 2, True)
    report = sy.monitoring.drift(
        reference, current, tests={"small_shift": "ks"}, thresholds={"wasserstein": 0.1}
    )
    exact_wd = stats.wasserstein_distance(reference["shifted"], current["shifted"])
    assert report.column("shifted").statistic == pytest.approx(
        exact_wd / reference["shifted"].std(), rel=0.02
    )
    exact_ks = stats.ks_2samp(reference["small_shift"], current["small_shift"]).statistic
    assert report.column("small_shift").statistic == pytest.approx(exact_ks, abs=0.002)


def test_a_stored_profile_is_the_reference(sqlite_home) -> None:  # type: ignore[no-untyped-def]
    handle = sy.data.log_dataset("customers", _table(5_000, 1, False))
    report = sy.monitoring.drift(sy.data.get("customers"), _table(5_000, 2, True))
    assert set(report.drifted_columns) == {"shifted", "small_shift", "plan"}
    assert handle.profile().columns["shifted"].sketch is not None


def test_bad_current_data_gets_a_verdict_or_an_error_per_column() -> None:
    reference = _table(2_000, 1, False)
    current = _table(2_000, 2, False).drop(columns=["steady"])
    current["count"] = current["count"].astype(str)  # type changed
    current["shifted"] = np.nan  # all null
    current.loc[0, "region"] = "r99"  # a category the reference never saw
    report = sy.monitoring.drift(reference, current)
    assert report.errors == {
        "steady": "missing from the current data",
        "count": "its type changed: int64 (numeric) in the reference, string in the current data",
        "shifted": "no values in the current data (all null or NaN)",
    }
    assert report.column("region").details["new_categories"] == ["r99"]
    assert report.column("region").drifted is False
    one_row = sy.monitoring.drift(reference, current.head(1), columns=["small_shift", "plan"])
    assert all(c.drifted is not None for c in one_row.columns)
    with pytest.raises(InvalidInput, match="no rows"):
        sy.monitoring.drift(reference, current.head(0))
    numeric_test = sy.monitoring.drift(reference, current, tests={"plan": "ks"})
    assert (
        numeric_test.column("plan").error
        == "test 'ks' needs a numeric column; 'plan' is categorical"
    )
    with pytest.raises(InvalidInput, match="not one of"):
        sy.monitoring.drift(reference, current, tests={"plan": "magic"})
    assert "DRIFT" in str(sy.monitoring.drift(reference, _table(2_000, 2, True)))


def test_arrow_dictionary_and_parquet_inputs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    reference = _table(3_000, 1, False)
    current = pa.Table.from_pandas(_table(3_000, 2, True), preserve_index=False)
    current = current.set_column(
        current.column_names.index("plan"), "plan", current["plan"].dictionary_encode()
    )
    import pyarrow.parquet as pq

    pq.write_table(current, tmp_path / "current.parquet")
    from_file = sy.monitoring.drift(reference, str(tmp_path / "current.parquet"))
    in_memory = sy.monitoring.drift(reference, current)
    assert from_file.drifted_columns == in_memory.drifted_columns
    assert set(in_memory.drifted_columns) == {"shifted", "small_shift", "plan"}
