"""Model packages: a folder with the model's files and a manifest that describes them.

    model/
      shipyard-model.json     format, flavor, signature, requirements, lineage, file digests
      model.skops             the flavor's files
      input_example.json      rows the signature was inferred from

``sy.models.log`` writes the folder as artifacts of a run; ``sy.models.load``
reads it back by URI (``runs:/<run>/model``, ``models:/name/3``,
``models:/name@champion``), checks every file against its recorded digest, and
returns a :class:`Predictor` that checks input against the signature.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shipyard._version import __version__
from shipyard.artifacts.base import file_digest
from shipyard.errors import InvalidInput
from shipyard.models.flavors import detect_flavor, get_flavor
from shipyard.models.signature import Signature, infer_signature
from shipyard.store.ids import now_ms

__all__ = [
    "MANIFEST",
    "MODEL_FORMAT_VERSION",
    "ModelInfo",
    "Predictor",
    "VersionMismatchWarning",
    "load_folder",
    "log_model",
]

MODEL_FORMAT_VERSION = 1
MANIFEST = "shipyard-model.json"


class VersionMismatchWarning(UserWarning):
    """A model is loaded with other library versions than it was saved with."""


@dataclass
class ModelInfo:
    """A logged model: where it is and what its manifest says."""

    uri: str
    run_id: str
    path: str
    manifest: dict[str, Any]
    digest: str  # of the manifest, which lists every file's digest

    @property
    def signature(self) -> Signature | None:
        raw = self.manifest.get("signature")
        return Signature.from_dict(raw) if raw else None


@dataclass
class Predictor:
    """A loaded model of any flavor, with its input checked against the signature."""

    model: Any
    manifest: dict[str, Any]
    uri: str = ""
    input_example: Any = None  # the rows saved with the model, if any
    signature: Signature | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        raw = self.manifest.get("signature")
        self.signature = Signature.from_dict(raw) if raw else None

    @property
    def flavor(self) -> str:
        return str(self.manifest["flavor"])

    def _prepare(self, data: Any) -> Any:
        return self.signature.prepare(data) if self.signature is not None else data

    def predict(self, data: Any) -> np.ndarray:
        """Predictions for ``data`` (a DataFrame, a dict or list of dicts, or an array)."""
        return np.asarray(self.model.predict(self._prepare(data)))

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, for classifiers that give them."""
        if not self.manifest.get("flavor_options", {}).get("predict_proba"):
            raise InvalidInput(f"The model at {self.uri or 'this path'} gives no probabilities.")
        return np.asarray(self.model.predict_proba(self._prepare(data)))


#: distributions that install the same importable package under another name
_DISTRIBUTIONS = {"xgboost": ("xgboost", "xgboost-cpu")}


def _installed(name: str) -> str | None:
    for distribution in _DISTRIBUTIONS.get(name, (name,)):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _example_records(example: Any) -> Any:
    import pandas as pd

    if isinstance(example, pd.DataFrame):
        return json.loads(example.head(5).to_json(orient="records", date_format="iso"))
    if isinstance(example, dict):
        return [example]
    if isinstance(example, list):
        return example[:5]
    return np.asarray(example)[:5].tolist()


def save_folder(
    model: Any,
    folder: Path,
    *,
    flavor: str | None = None,
    signature: Signature | None = None,
    input_example: Any = None,
    run_id: str | None = None,
    datasets: Sequence[str] = (),
    metrics: dict[str, float] | None = None,
    requirements: Sequence[str] = (),
    **flavor_options: Any,
) -> dict[str, Any]:
    """Write a model package into ``folder``; returns its manifest."""
    module = get_flavor(flavor) if flavor else detect_flavor(model)
    folder.mkdir(parents=True, exist_ok=True)
    options = module.save(model, folder, **flavor_options)
    if signature is None and input_example is not None:
        try:
            output = model.predict(input_example)
        except Exception:  # the output part of the signature is optional
            output = None
        signature = infer_signature(input_example, output)
    if input_example is not None:
        (folder / "input_example.json").write_text(
            json.dumps(_example_records(input_example), default=str)
        )
    pinned = []
    for name in [*module.requirements(options), *requirements]:
        version = _installed(name)
        pinned.append(f"{name}=={version}" if version else name)
    manifest = {
        "format_version": MODEL_FORMAT_VERSION,
        "shipyard_version": __version__,
        "flavor": module.NAME,
        "flavor_options": options,
        "uses_pickle": module.uses_pickle(options),
        "signature": signature.to_dict() if signature is not None else None,
        "python_version": platform.python_version(),
        "requirements": sorted(set(pinned)),
        "run_id": run_id,
        "datasets": list(datasets),
        "metrics": metrics or {},
        "created_ms": now_ms(),
        "files": {
            p.relative_to(folder).as_posix(): file_digest(p).digest
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        },
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    return manifest


def log_model(
    model: Any,
    name: str = "model",
    *,
    signature: Signature | None = None,
    input_example: Any = None,
    flavor: str | None = None,
    run: Any = None,
    requirements: Sequence[str] = (),
    **flavor_options: Any,
) -> ModelInfo:
    """Save ``model`` as a package in the active run (or ``run``); returns where it went.

    The signature is inferred from ``input_example`` when not given. The manifest
    records the run, the dataset versions the run used, the run's metrics so far,
    the Python version and the flavor's packages pinned to what is installed.
    """
    from shipyard.artifacts.paths import artifact_path
    from shipyard.tracking import active_run

    run = run or active_run()
    if run is None:
        raise InvalidInput(
            "sy.models.log needs a run: call it inside `with sy.start_run(...)`, or pass run=."
        )
    path = artifact_path(name, "model name")
    client = run._client
    run.flush()
    datasets = [v.id for v in client.run_inputs(run.id)]
    metrics = client.get_run(run.id).metrics
    with tempfile.TemporaryDirectory(prefix="shipyard-model-") as tmp:
        folder = Path(tmp) / "model"
        manifest = save_folder(
            model,
            folder,
            flavor=flavor,
            signature=signature,
            input_example=input_example,
            run_id=run.id,
            datasets=datasets,
            metrics=metrics,
            requirements=requirements,
            **flavor_options,
        )
        records = client.log_artifact(run.id, folder, path)
    digest = next(r.digest for r in records if r.path == f"{path}/{MANIFEST}")
    return ModelInfo(f"runs:/{run.id}/{path}", run.id, path, manifest, digest)


def load_folder(folder: Path, *, allow_pickle: bool = False, uri: str = "") -> Predictor:
    """Load a model package from a local folder, checking every file's digest."""
    manifest_path = folder / MANIFEST
    where = uri or str(folder)
    if not manifest_path.is_file():
        raise InvalidInput(f"{where} is not a Shipyard model: it has no {MANIFEST}.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"The manifest of {where} is damaged ({exc}); the model cannot be trusted."
        ) from exc
    version = manifest.get("format_version")
    if version != MODEL_FORMAT_VERSION:
        raise InvalidInput(
            f"{where} has model format {version!r} (Shipyard {manifest.get('shipyard_version')}); this "
            f"Shipyard reads format {MODEL_FORMAT_VERSION}. Upgrade Shipyard to load it."
        )
    for name, expected in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise InvalidInput(f"{where} is incomplete: {name} is missing. Log the model again.")
        if file_digest(path).digest != expected:
            raise InvalidInput(
                f"{where} was tampered with or truncated: {name} does not match its recorded digest. "
                "Refusing to load it."
            )
    _warn_on_version_drift(manifest, where)
    flavor = get_flavor(manifest["flavor"])
    model = flavor.load(folder, manifest["flavor_options"], allow_pickle)
    example_path = folder / "input_example.json"
    example = json.loads(example_path.read_text()) if example_path.is_file() else None
    return Predictor(model, manifest, uri, example)


def _warn_on_version_drift(manifest: dict[str, Any], where: str) -> None:
    drift = []
    for requirement in manifest.get("requirements", []):
        if "==" not in requirement:
            continue
        name, saved = requirement.split("==", 1)
        installed = _installed(name)
        if installed is not None and installed != saved:
            drift.append(f"{name} {saved} (saved) vs {installed} (installed)")
    if drift:
        warnings.warn(
            f"{where} was saved with other library versions: {'; '.join(drift)}. "
            "Predictions may differ; install the saved versions to be sure.",
            VersionMismatchWarning,
            stacklevel=3,
        )
