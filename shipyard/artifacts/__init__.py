"""The artifact store, chosen by URI: content-addressed blobs.

A plain path or ``file:///path`` opens a
:class:`~shipyard.artifacts.local.LocalBlobStore`. Backends are imported lazily.
"""

from __future__ import annotations

import importlib
from urllib.parse import unquote, urlparse

from shipyard.artifacts.base import BlobInfo, BlobStore
from shipyard.errors import InvalidInput

__all__ = ["BlobInfo", "BlobStore", "open_blob_store"]

_BACKENDS = {"file": "shipyard.artifacts.local:LocalBlobStore"}


def open_blob_store(uri: str) -> BlobStore:
    """The blob store at ``uri``: a folder path, or ``file:///folder``."""
    scheme = urlparse(uri).scheme if "://" in uri else "file"
    target = _BACKENDS.get(scheme)
    if target is None:
        raise InvalidInput(
            f"Artifact URI {uri!r} has the scheme {scheme!r}, which Shipyard does not support "
            "yet; use a folder path or file:///folder."
        )
    location = unquote(urlparse(uri).path) if "://" in uri else uri
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(location)  # type: ignore[no-any-return]
