"""Exporting models to ONNX, checked against the original before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import InvalidInput, MissingDependency, ShipyardError

__all__ = ["OnnxModel", "export", "to_onnx"]


def _to_onnx_sklearn(model: Any, example: np.ndarray) -> Any:
    try:
        from skl2onnx import to_onnx
    except ImportError:
        raise MissingDependency.for_extra("skl2onnx", "onnx", "Exporting to ONNX") from None
    try:
        return to_onnx(model, example, options={"zipmap": False}, target_opset=None)
    except Exception as exc:  # converters raise many kinds of errors
        raise InvalidInput(f"skl2onnx cannot convert this {type(model).__name__}: {exc}.") from exc


def _to_onnx_boosted(flavor: str, model: Any, example: np.ndarray) -> Any:
    try:
        from onnxmltools.convert import convert_lightgbm, convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError:
        raise MissingDependency.for_extra(
            "onnxmltools", "onnx", "Exporting boosted trees to ONNX"
        ) from None
    types = [("input", FloatTensorType([None, example.shape[1]]))]
    try:
        if flavor == "xgboost":
            import copy

            plain = copy.deepcopy(model)
            plain.get_booster().feature_names = None  # the converter reads features by position
            return convert_xgboost(plain, initial_types=types)
        return convert_lightgbm(model.booster, initial_types=types, zipmap=False)
    except Exception as exc:  # converters raise many kinds of errors
        raise InvalidInput(f"onnxmltools cannot convert this {flavor} model: {exc}.") from exc


def _to_onnx_torch(module: Any, example: np.ndarray) -> Any:
    import io
    import warnings

    import onnx
    import torch

    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # the TorchScript-based exporter is deprecated but exact
            torch.onnx.export(
                module,
                (torch.from_numpy(example),),
                buffer,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "rows"}, "output": {0: "rows"}},
                dynamo=False,
            )
    except Exception as exc:  # exporters raise many kinds of errors
        raise InvalidInput(
            f"torch.onnx cannot export this {type(module).__name__}: {exc}."
        ) from exc
    return onnx.load_from_string(buffer.getvalue())


_CONVERTERS = {"sklearn", "xgboost", "lightgbm", "pytorch"}


@dataclass
class OnnxModel:
    """A model converted to ONNX and checked against the original, with its runtime session."""

    proto: Any
    session: Any
    input_name: str
    has_proba: bool

    def run(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions (and probabilities, for classifiers) for a float matrix."""
        outputs = self.session.run(None, {self.input_name: features.astype(np.float32, copy=False)})
        predictions = np.asarray(outputs[0])
        if predictions.ndim == 2 and predictions.shape[1] == 1:
            predictions = predictions[:, 0]
        probabilities = np.asarray(outputs[1]) if self.has_proba and len(outputs) > 1 else None
        return predictions, probabilities


def to_onnx(predictor: Any, *, tolerance: float = 1e-4, probes: int = 64) -> OnnxModel:
    """Convert a loaded model to ONNX and check it before anyone uses it.

    The converted model must predict the same labels as the original (or
    regression outputs within ``tolerance``), with probabilities within
    ``tolerance``, on the input example and on ``probes`` rows drawn around
    it; otherwise ShipyardError says by how much they differ.
    """
    if predictor.flavor not in _CONVERTERS:
        raise InvalidInput(
            f"ONNX export of {predictor.flavor} models is not supported; scikit-learn, XGBoost, "
            "LightGBM and PyTorch models export."
        )
    if predictor.input_example is None or predictor.signature is None:
        raise InvalidInput(
            "The model has no input example; log it with input_example= to convert it."
        )
    import pandas as pd

    example = predictor.signature.prepare(pd.DataFrame(predictor.input_example))
    features = example.to_numpy(dtype=np.float32)
    if predictor.flavor == "sklearn":
        onnx_model = _to_onnx_sklearn(predictor.model, features)
    elif predictor.flavor == "pytorch":
        onnx_model = _to_onnx_torch(predictor.model.module, features)
    else:
        onnx_model = _to_onnx_boosted(predictor.flavor, predictor.model, features)
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependency.for_extra("onnxruntime", "onnx", "Running ONNX models") from None
    session = onnxruntime.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    has_proba = hasattr(predictor.model, "predict_proba") and len(session.get_outputs()) > 1
    converted = OnnxModel(onnx_model, session, session.get_inputs()[0].name, has_proba)
    # probe around the example: each row scaled by a random factor per column
    rng = np.random.default_rng(0)
    rows = features[rng.integers(0, len(features), probes)] * rng.uniform(
        0.8, 1.2, (probes, features.shape[1])
    )
    check = np.vstack([features, rows.astype(np.float32)])
    frame = pd.DataFrame(check.astype(np.float64), columns=example.columns).astype(example.dtypes)
    original = np.asarray(predictor.model.predict(frame))
    predictions, probabilities = converted.run(check)
    predictions = predictions.reshape(original.shape)
    if original.dtype.kind in "fc":
        gap = float(np.max(np.abs(original - predictions))) if original.size else 0.0
        if gap > tolerance:
            raise ShipyardError(
                f"The ONNX model's outputs differ from the original by {gap:.3g} > {tolerance:g}."
            )
    elif not np.array_equal(original, predictions):
        raise ShipyardError("The ONNX model predicts other labels than the original.")
    if probabilities is not None:
        gap = float(np.max(np.abs(predictor.model.predict_proba(frame) - probabilities)))
        if gap > tolerance:
            raise ShipyardError(
                f"The ONNX model's probabilities differ from the original by {gap:.3g} > {tolerance:g}."
            )
    return converted


def export(
    uri: str,
    output: str | Path,
    *,
    format: str = "onnx",
    tolerance: float = 1e-4,
    allow_pickle: bool = False,
    client: Any = None,
) -> Path:
    """Convert a model (by URI) to ONNX and write it to ``output``.

    The ONNX model's predictions are compared with the original's on the saved
    input example (and rows drawn around it) first: labels must match, and
    probabilities (or regression outputs) agree within ``tolerance``; otherwise
    nothing is written. Scikit-learn (skl2onnx), XGBoost and LightGBM
    (onnxmltools) and PyTorch (torch.onnx) models are supported.
    """
    from shipyard.models import load

    if format != "onnx":
        raise InvalidInput(f"Models export to 'onnx'; got format {format!r}.")
    predictor = load(uri, allow_pickle=allow_pickle, client=client)
    if predictor.input_example is None or predictor.signature is None:
        raise InvalidInput(f"{uri} has no input example; log it with input_example= to export it.")
    try:
        converted = to_onnx(predictor, tolerance=tolerance)
    except ShipyardError as exc:
        if type(exc) is ShipyardError:
            raise ShipyardError(f"{exc.message} Nothing was written.") from None
        raise
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(converted.proto.SerializeToString())
    return path
