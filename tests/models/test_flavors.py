"""XGBoost, LightGBM and ONNX flavors, and ONNX export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier, XGBRegressor

import shipyard as sy
from shipyard.errors import InvalidInput


class Doubler:
    def predict(self, data):  # type: ignore[no-untyped-def]
        return np.asarray(data["x"]) * 2


@pytest.fixture(scope="module")
def tumours():  # type: ignore[no-untyped-def]
    return load_breast_cancer(return_X_y=True, as_frame=True)


@pytest.mark.parametrize(
    ("model", "flavor"),
    [
        (XGBClassifier(n_estimators=20, max_depth=3), "xgboost"),
        (LGBMClassifier(n_estimators=20, verbose=-1), "lightgbm"),
    ],
)
def test_gradient_boosting_flavors_round_trip(
    sqlite_home: Path, tumours, model, flavor: str
) -> None:  # type: ignore[no-untyped-def]
    X, y = tumours
    model.fit(X, y)
    with sy.start_run("m"):
        info = sy.models.log(model, input_example=X.head())
    assert info.manifest["flavor"] == flavor
    assert not info.manifest["uses_pickle"]
    assert any(r.startswith(f"{flavor}==") for r in info.manifest["requirements"])
    predictor = sy.models.load(info.uri)
    assert (predictor.predict(X) == model.predict(X)).all()
    assert np.allclose(
        predictor.predict_proba(X.head(10)), model.predict_proba(X.head(10)), atol=1e-6
    )


@pytest.mark.parametrize(
    "model", [XGBRegressor(n_estimators=20), LGBMRegressor(n_estimators=20, verbose=-1)]
)
def test_gradient_boosting_regressors(sqlite_home: Path, model) -> None:  # type: ignore[no-untyped-def]
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model.fit(X, y)
    with sy.start_run("m"):
        info = sy.models.log(model, input_example=X.head())
    assert np.allclose(
        sy.models.load(info.uri).predict(X.head(20)), model.predict(X.head(20)), rtol=1e-5
    )


@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        RandomForestClassifier(n_estimators=10, random_state=0),
        XGBClassifier(n_estimators=10, max_depth=3),
        LGBMClassifier(n_estimators=10, verbose=-1),
    ],
)
def test_export_to_onnx_matches_the_original(
    sqlite_home: Path, tumours, model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    X, y = tumours
    model.fit(X, y)
    with sy.start_run("m"):
        info = sy.models.log(model, input_example=X.head(20))
    path = sy.models.export(info.uri, tmp_path / "model.onnx")
    exported = onnx.load(path)
    with sy.start_run("m"):
        onnx_info = sy.models.log(exported, name="onnx", input_example=X.head(5))
    predictor = sy.models.load(onnx_info.uri)
    assert predictor.flavor == "onnx"
    assert (predictor.predict(X) == model.predict(X)).all()
    assert np.allclose(predictor.predict_proba(X), model.predict_proba(X), atol=1e-4)


def test_export_refusals(sqlite_home: Path, tumours, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    X, y = tumours
    with sy.start_run("m"):
        bare = sy.models.log(LogisticRegression(max_iter=1000).fit(X, y))
        boosted = sy.models.log(
            LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y), name="lgb", input_example=X.head()
        )
    with pytest.raises(InvalidInput, match="has no input example"):
        sy.models.export(bare.uri, tmp_path / "a.onnx")
    assert boosted.manifest["flavor"] == "lightgbm"
    with sy.start_run("m"):
        custom = sy.models.log(
            Doubler(), name="custom", input_example=pd.DataFrame({"x": [1.0, 2.0]})
        )
    with pytest.raises(InvalidInput, match="ONNX export of python models is not supported"):
        sy.models.export(custom.uri, tmp_path / "b.onnx", allow_pickle=True)
    with pytest.raises(InvalidInput, match="export to 'onnx'"):
        sy.models.export(bare.uri, tmp_path / "c.tflite", format="tflite")
    assert not list(tmp_path.glob("*.onnx"))


@pytest.mark.parametrize(("kind", "fmt"), [("Net", "torchscript"), ("Unscriptable", "state_dict")])
def test_pytorch_modules_round_trip_and_export(
    sqlite_home: Path, tmp_path: Path, kind: str, fmt: str
) -> None:
    import torch

    from tests.models import torch_nets

    torch.manual_seed(0)
    module = getattr(torch_nets, kind)(n_in=4)
    X = pd.DataFrame(np.random.default_rng(0).random((20, 4)), columns=list("abcd"))
    with sy.start_run("t"):
        info = sy.models.log(module, input_example=X.head(), init_args={"n_in": 4})
    assert info.manifest["flavor"] == "pytorch"
    assert info.manifest["flavor_options"]["format"] == fmt
    assert not info.manifest["uses_pickle"]
    expected = module(torch.tensor(X.to_numpy(), dtype=torch.float32)).detach().numpy()
    assert np.allclose(sy.models.load(info.uri).predict(X), expected, atol=1e-6)
    if fmt == "torchscript":
        path = sy.models.export(info.uri, tmp_path / "net.onnx")
        with sy.start_run("t"):
            onnx_info = sy.models.log(onnx.load(path), name="onnx", input_example=X.head())
        assert np.allclose(sy.models.load(onnx_info.uri).predict(X), expected, atol=1e-5)
