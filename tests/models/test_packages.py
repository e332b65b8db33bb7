"""Model packages: signatures, flavors, pickle opt-in, tamper detection."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.errors import InvalidInput, PermissionDenied
from shipyard.models.package import MANIFEST, VersionMismatchWarning, save_folder


class Doubler:
    """A plain Python model with custom logic."""

    def predict(self, data):  # type: ignore[no-untyped-def]
        return np.asarray(data["x"]) * 2


@pytest.fixture(scope="module")
def iris():  # type: ignore[no-untyped-def]
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y, LogisticRegression(max_iter=500).fit(X, y)


def test_log_and_load_a_sklearn_model(sqlite_home: Path, iris) -> None:  # type: ignore[no-untyped-def]
    X, y, model = iris
    frame = X.assign(target=y)
    data = sy.data.log_dataset("iris", frame)
    with sy.start_run("m") as run:
        run.use_dataset(data)
        run.log_metric("acc", 0.97)
        info = sy.models.log(model, input_example=X.head())
    manifest = info.manifest
    assert info.uri == f"runs:/{run.id}/model"
    assert manifest["flavor"] == "sklearn"
    assert not manifest["uses_pickle"]
    assert manifest["run_id"] == run.id
    assert manifest["datasets"] == [data.id]
    assert manifest["metrics"] == {"acc": 0.97}
    assert any(r.startswith("scikit-learn==") for r in manifest["requirements"])
    assert [c["name"] for c in manifest["signature"]["inputs"]["columns"]] == list(X.columns)
    predictor = sy.models.load(info.uri)
    assert (predictor.predict(X) == model.predict(X)).all()
    assert predictor.predict_proba(X.head(2)).shape == (2, 3)
    one = {c: float(X[c][0]) for c in X.columns}
    assert predictor.predict(one).tolist() == [model.predict(X.head(1))[0]]


def test_the_signature_guards_the_input(sqlite_home: Path, iris) -> None:  # type: ignore[no-untyped-def]
    X, _, model = iris
    with sy.start_run("m"):
        predictor = sy.models.load(sy.models.log(model, input_example=X.head()).uri)
    with pytest.raises(InvalidInput, match=r"missing column\(s\) \['petal width \(cm\)'\]"):
        predictor.predict(X.drop(columns=["petal width (cm)"]))
    with pytest.raises(InvalidInput, match=r"unexpected column\(s\) \['extra'\]"):
        predictor.predict(X.assign(extra=1))
    with pytest.raises(
        InvalidInput, match=r"'sepal length \(cm\)' must be double; rows \[0, 1\] hold 'x'"
    ):
        predictor.predict(X.head(2).assign(**{"sepal length (cm)": "x"}))
    # safe conversions: integers and numeric text become doubles; columns are reordered
    ints = X.head(3).round().astype(int)[list(reversed(X.columns))]
    assert predictor.predict(ints).shape == (3,)
    assert predictor.predict(X.head(1).astype(str)).shape == (1,)


def test_integer_and_tensor_signatures() -> None:
    signature = sy.models.infer_signature(pd.DataFrame({"n": [1, 2], "s": ["a", "b"]}))
    assert [(c.name, c.type) for c in signature.inputs] == [("n", "integer"), ("s", "string")]
    assert (
        signature.prepare(pd.DataFrame({"n": [1.0, 2.0], "s": ["a", "b"]}))["n"].dtype == np.int64
    )
    with pytest.raises(
        InvalidInput, match=r"Column 'n' must be integer; rows \[1\] have fractions"
    ):
        signature.prepare(pd.DataFrame({"n": [1.0, 2.5], "s": ["a", "b"]}))
    tensor = sy.models.infer_signature(np.zeros((4, 3), dtype=np.float32))
    assert tensor.prepare(np.ones((2, 3), dtype=np.float32)).shape == (2, 3)
    with pytest.raises(InvalidInput, match=r"shape \(2, 4\); the model takes \(-1, 3\)"):
        tensor.prepare(np.ones((2, 4)))
    with pytest.raises(InvalidInput, match="the cast is not safe"):
        tensor.prepare(np.ones((2, 3), dtype=np.float64))


def test_pickled_models_load_only_with_an_explicit_opt_in(sqlite_home: Path, iris) -> None:  # type: ignore[no-untyped-def]
    X, _, model = iris
    with sy.start_run("m"):
        custom = sy.models.log(
            Doubler(), name="doubler", input_example=pd.DataFrame({"x": [1.0, 2.0]})
        )
        joblib_model = sy.models.log(model, name="joblib", serialization="joblib")
    for info in (custom, joblib_model):
        assert info.manifest["uses_pickle"]
        with pytest.raises(PermissionDenied, match="allow_pickle=True"):
            sy.models.load(info.uri)
    assert sy.models.load(custom.uri, allow_pickle=True).predict({"x": 4.0}).tolist() == [8.0]
    assert sy.models.load(joblib_model.uri, allow_pickle=True).predict(X.head(1)).shape == (1,)


def _blob_file(info, name: str) -> Path:  # type: ignore[no-untyped-def]
    record = sy.client().store.artifacts.get(info.run_id, f"{info.path}/{name}")
    return sy.client().blobs.root / "sha256" / record.digest[:2] / record.digest[2:]  # type: ignore[attr-defined]


def test_a_tampered_or_truncated_model_is_refused(sqlite_home: Path, iris, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    X, _, model = iris
    with sy.start_run("m"):
        info = sy.models.log(model, input_example=X.head())
    blob = _blob_file(info, "model.skops")
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:100])  # truncated in the artifact store
    with pytest.raises(
        InvalidInput, match="does not match its digest: it was tampered with or truncated"
    ):
        sy.models.load(info.uri)
    # a local folder is checked against its manifest
    folder = tmp_path / "pkg"
    save_folder(model, folder)
    (folder / "model.skops").write_bytes(b"evil")
    with pytest.raises(InvalidInput, match=r"tampered with or truncated: model\.skops"):
        sy.models.load(folder)


def test_library_drift_warns_and_unknown_formats_are_refused(iris, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, model = iris
    folder = tmp_path / "pkg"
    manifest = save_folder(model, folder)
    manifest["requirements"] = ["scikit-learn==0.0.1"]
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sy.models.load(folder)
    assert any(
        issubclass(w.category, VersionMismatchWarning) and "scikit-learn 0.0.1" in str(w.message)
        for w in caught
    )
    manifest["format_version"] = 99
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InvalidInput, match="model format 99"):
        sy.models.load(folder)


def test_bad_uris_and_no_run(sqlite_home: Path, iris) -> None:  # type: ignore[no-untyped-def]
    _, _, model = iris
    with pytest.raises(InvalidInput, match="needs a run"):
        sy.models.log(model)
    with pytest.raises(InvalidInput, match="is not a model URI"):
        sy.models.load("s3://bucket/model")
    with sy.start_run("m") as run:
        pass
    with pytest.raises(sy.NotFound, match="holds no model"):
        sy.models.load(f"runs:/{run.id}/model")
