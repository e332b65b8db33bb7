"""Readable artifact paths (``plots/roc.png``): normalised, never escaping their root."""

from __future__ import annotations

import posixpath

from shipyard.errors import InvalidInput

__all__ = ["artifact_path", "join_artifact_path"]


def artifact_path(path: str, what: str = "artifact path") -> str:
    """``path`` normalised to ``a/b/c``; refuses absolute paths and ``..`` escapes."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput(f"An {what} must be non-empty text; got {path!r}.")
    text = path.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise InvalidInput(
            f"The {what} {path!r} is absolute; give a path relative to the run, "
            "like 'plots/roc.png'."
        )
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidInput(
            f"The {what} {path!r} leaves its root with '..'; give a path inside the run."
        )
    if not parts:
        raise InvalidInput(f"The {what} {path!r} names no file; give a path like 'plots/roc.png'.")
    if any("\x00" in p for p in parts):
        raise InvalidInput(f"The {what} {path!r} contains a NUL character.")
    return posixpath.join(*parts)


def join_artifact_path(folder: str | None, name: str) -> str:
    return artifact_path(name if not folder else f"{folder}/{name}")
