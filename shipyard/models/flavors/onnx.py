"""ONNX models, run with onnxruntime (no Python code is loaded from the file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import MissingDependency

NAME = "onnx"


def matches(model: Any) -> bool:
    return type(model).__name__ == "ModelProto" and type(model).__module__.split(".")[0] == "onnx"


def save(model: Any, folder: Path) -> dict[str, Any]:
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    outputs = [o.name for o in model.graph.output]
    return {
        "file": "model.onnx",
        "class": "onnx.ModelProto",
        "outputs": outputs,
        "predict_proba": len(outputs) > 1,
    }


def uses_pickle(options: dict[str, Any]) -> bool:
    return False


def requirements(options: dict[str, Any]) -> list[str]:
    return ["onnxruntime", "numpy"]


def load(folder: Path, options: dict[str, Any], allow_pickle: bool) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependency.for_extra("onnxruntime", "onnx", "The ONNX flavor") from None
    session = onnxruntime.InferenceSession(
        str(folder / options["file"]), providers=["CPUExecutionProvider"]
    )
    return OnnxPredictor(session)


class OnnxPredictor:
    """predict (the first output) and predict_proba (the second, if any) over one float input."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input = session.get_inputs()[0]

    def _run(self, data: Any) -> list[Any]:
        array = np.asarray(data.to_numpy() if hasattr(data, "to_numpy") else data)
        if "float" in self.input.type and array.dtype != np.float32:
            array = array.astype(np.float32)
        return self.session.run(None, {self.input.name: array})

    def predict(self, data: Any) -> np.ndarray:
        return np.asarray(self._run(data)[0])

    def predict_proba(self, data: Any) -> np.ndarray:
        outputs = self._run(data)
        return np.asarray(outputs[1])
