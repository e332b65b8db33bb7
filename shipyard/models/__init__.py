"""Model packages: save a model with its signature and lineage, load it back by URI.

info = sy.models.log(model, name="model", input_example=X.head())   # inside a run
predictor = sy.models.load(info.uri)          # or models:/churn/3, models:/churn@champion
predictor.predict(X)                          # input checked against the signature
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.models.evaluation import Evaluation, evaluate
from shipyard.models.export import export
from shipyard.models.package import ModelInfo, Predictor, VersionMismatchWarning, load_folder
from shipyard.models.package import log_model as log
from shipyard.models.signature import ColumnSpec, Signature, TensorSpec, infer_signature

__all__ = [
    "ColumnSpec",
    "Evaluation",
    "ModelInfo",
    "Predictor",
    "Signature",
    "TensorSpec",
    "VersionMismatchWarning",
    "evaluate",
    "export",
    "infer_signature",
    "load",
    "log",
]


def load(uri: str | Path, *, allow_pickle: bool = False, client: Any = None) -> Predictor:
    """Load a model by URI (``runs:/…``, ``models:/name/3``, ``models:/name@alias``) or local folder.

    Every file is checked against its recorded digest first. Models saved as
    pickles (joblib, plain Python objects) load only with ``allow_pickle=True``.
    """
    if isinstance(uri, Path) or (isinstance(uri, str) and ":/" not in uri):
        return load_folder(Path(uri), allow_pickle=allow_pickle)
    from shipyard.models.uris import materialize, resolve
    from shipyard.tracking import client as default_client

    client = client or default_client()
    resolved = resolve(uri, client)
    return load_folder(materialize(resolved, client), allow_pickle=allow_pickle, uri=uri)
