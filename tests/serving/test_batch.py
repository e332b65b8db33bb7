"""Batch scoring of files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard as sy
from shipyard.cli import main
from shipyard.errors import InvalidInput


def _logged_model_and_rows(copies: int):  # type: ignore[no-untyped-def]
    """A logged classifier and ``copies`` times its training rows, with an id column first."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    with sy.start_run("score"):
        info = sy.models.log(model, input_example=X.head())
    big = pd.concat([X] * copies, ignore_index=True)
    big.insert(0, "customer_id", np.arange(len(big)))
    return X, model, info, big


def test_files_are_scored_in_chunks_with_columns_passed_through(
    sqlite_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    X, model, info, big = _logged_model_and_rows(20)
    big.to_csv(tmp_path / "in.csv", index=False)
    result = sy.serving.score_file(
        info.uri, tmp_path / "in.csv", tmp_path / "out.parquet", batch_rows=1000, progress=False
    )
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert result.rows == len(big) == len(scored)
    assert scored["customer_id"].tolist() == big["customer_id"].tolist()
    assert (scored["prediction"].to_numpy() == model.predict(big[X.columns])).all()
    assert np.allclose(scored["probability_1"], model.predict_proba(big[X.columns])[:, 1])
    with pytest.raises(SystemExit) as code:
        main(
            [
                "--home",
                str(sqlite_home),
                "predict",
                info.uri,
                str(tmp_path / "in.csv"),
                "-o",
                str(tmp_path / "cli.parquet"),
            ]
        )
    assert code.value.code == 0
    assert f"Scored {len(big):,} rows" in capsys.readouterr().out
    big.drop(columns=["mean radius"]).to_parquet(tmp_path / "partial.parquet")
    with pytest.raises(
        InvalidInput, match=r"lacks the model's input column\(s\) \['mean radius'\]"
    ):
        sy.serving.score_file(info.uri, tmp_path / "partial.parquet", tmp_path / "o.parquet")
    with pytest.raises(InvalidInput, match=r"\.parquet file"):
        sy.serving.score_file(info.uri, tmp_path / "in.csv", tmp_path / "out.csv")
    assert not list(tmp_path.glob(".*.partial"))


def test_chunks_scored_on_a_local_ray_instance_come_back_in_order(
    sqlite_home: Path, tmp_path: Path
) -> None:
    import ray

    X, model, info, big = _logged_model_and_rows(10)
    big.to_parquet(tmp_path / "in.parquet")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = sy.serving.score_file(
            info.uri,
            tmp_path / "in.parquet",
            tmp_path / "out.parquet",
            batch_rows=500,
            progress=False,
            ray=True,
        )
        assert (result.engine, result.chunks) == ("ray", 12)  # 5,690 rows in chunks of 500
    finally:
        ray.shutdown()
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert result.rows == len(big) == len(scored)
    assert scored["customer_id"].tolist() == big["customer_id"].tolist()  # input order kept
    assert (scored["prediction"].to_numpy() == model.predict(big[X.columns])).all()
    assert np.allclose(scored["probability_1"], model.predict_proba(big[X.columns])[:, 1])
