"""The rules for names, keys and values, shared by every client and store."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from shipyard.errors import InvalidInput

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_PARAM_LENGTH",
    "MAX_TAG_LENGTH",
    "check_key",
    "check_metric_value",
    "check_name",
    "check_step",
    "param_text",
    "tag_text",
]

MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
MAX_NAME_LENGTH = 250
_KEY = re.compile(r"[A-Za-z0-9_\-./: ]+")
_KEY_RULE = "letters, digits, '_', '-', '.', '/', ':' and spaces"
_known_keys: set[str] = set()  # keys already checked: the logging hot path skips the regex


def check_key(key: Any, what: str = "key") -> str:
    """A metric, param or tag key: 1-250 of the allowed characters, not '/'-rooted or '..'."""
    if key in _known_keys:
        return key  # type: ignore[no-any-return]
    if not isinstance(key, str):
        raise InvalidInput(f"A {what} must be a string; got {key!r} ({type(key).__name__}).")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"The {what} {key[:80]!r} has {len(key)} characters; "
            f"it must have 1 to {MAX_KEY_LENGTH}."
        )
    if not _KEY.fullmatch(key) or key.startswith("/") or ".." in key.split("/"):
        bad = sorted({c for c in key if not _KEY.fullmatch(c)})
        detail = f" (not allowed: {''.join(bad)!r})" if bad else ""
        raise InvalidInput(
            f"The {what} {key!r} is not allowed{detail}. Use only {_KEY_RULE}, "
            "and no leading '/' or '..' segment."
        )
    if len(_known_keys) < 100_000:
        _known_keys.add(key)
    return key


def check_metric_value(key: str, value: Any) -> float:
    """A metric value as a float. NaN and infinities are stored faithfully."""
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(
            f"Metric {key!r} must be a number; got {value!r} ({type(value).__name__}). "
            "Pass a float or an int (NaN and infinity are allowed)."
        )
    return float(value)


def check_step(key: str, step: Any) -> int:
    if type(step) is int:
        return step
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidInput(
            f"The step of metric {key!r} must be an integer; got {step!r} ({type(step).__name__})."
        )
    return int(step)


def _text(kind: str, key: str, value: Any, limit: int) -> str:
    if isinstance(value, float) and math.isnan(value):
        text = "nan"
    else:
        text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidInput(
            f"The value of {kind} {key!r} has {len(text)} characters; the limit is {limit}. "
            f"Log long text as an artifact instead (run.log_text)."
        )
    return text


def param_text(key: str, value: Any) -> str:
    """A param value as stored: its text, at most 6000 characters."""
    return _text("param", key, value, MAX_PARAM_LENGTH)


def tag_text(key: str, value: Any) -> str:
    """A tag value as stored: its text, at most 8000 characters."""
    return _text("tag", key, value, MAX_TAG_LENGTH)


def check_name(name: Any, what: str) -> str:
    """A project, experiment or run name: non-blank text, at most 250 characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"A {what} name must be non-blank text; got {name!r}.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"The {what} name {name[:60]!r}... has {len(name)} characters; "
            f"the limit is {MAX_NAME_LENGTH}."
        )
    return name
