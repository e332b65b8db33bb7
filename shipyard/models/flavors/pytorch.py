"""PyTorch modules: as TorchScript when they script (no Python code is loaded back), else as a
state dict with the module's class, rebuilt from its importable class and loaded with
``weights_only=True``."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import InvalidInput, MissingDependency

NAME = "pytorch"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependency.for_extra("torch", "pytorch", "The PyTorch flavor") from None
    return torch


def matches(model: Any) -> bool:
    return any(c.__module__.split(".")[0] == "torch" for c in type(model).__mro__)


def save(
    model: Any, folder: Path, init_args: dict[str, Any] | None = None, script: bool = True
) -> dict[str, Any]:
    torch = _torch()
    model.eval()
    if isinstance(model, torch.jit.ScriptModule):
        scripted = model
    elif script:
        try:
            scripted = torch.jit.script(model)
        except Exception:  # not every module scripts: fall back to its state dict
            scripted = None
    else:
        scripted = None
    if scripted is not None:
        torch.jit.save(scripted, str(folder / "model.pt"))
        return {
            "file": "model.pt",
            "format": "torchscript",
            "class": type(model).__qualname__,
            "predict_proba": False,
        }
    cls = type(model)
    if "<locals>" in cls.__qualname__ or cls.__module__ == "__main__":
        raise InvalidInput(
            f"{cls.__qualname__} does not script to TorchScript, and its class is not importable "
            "(define it at the top level of a module) to save its state dict instead."
        )
    torch.save(model.state_dict(), folder / "state_dict.pt")
    return {
        "file": "state_dict.pt",
        "format": "state_dict",
        "class": f"{cls.__module__}:{cls.__qualname__}",
        "init_args": init_args or {},
        "predict_proba": False,
    }


def uses_pickle(options: dict[str, Any]) -> bool:
    return False


def requirements(options: dict[str, Any]) -> list[str]:
    return ["torch", "numpy"]


def load(folder: Path, options: dict[str, Any], allow_pickle: bool) -> Any:
    torch = _torch()
    path = folder / options["file"]
    if options["format"] == "torchscript":
        module = torch.jit.load(str(path), map_location="cpu")
    else:
        module_name, _, qualname = options["class"].partition(":")
        try:
            cls: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError) as exc:
            raise InvalidInput(
                f"The model's class {options['class']!r} cannot be imported here: {exc}."
            ) from exc
        module = cls(**options.get("init_args", {}))
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    module.eval()
    return TorchPredictor(module)


class TorchPredictor:
    """predict(data) for a module: a table or array in, a NumPy array out, without gradients."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def predict(self, data: Any) -> np.ndarray:
        torch = _torch()
        array = np.asarray(data.to_numpy() if hasattr(data, "to_numpy") else data)
        if array.dtype.kind in "fiub":
            array = array.astype(np.float32, copy=False)
        with torch.no_grad():
            output = self.module(torch.from_numpy(np.ascontiguousarray(array)))
        return output.detach().cpu().numpy()
