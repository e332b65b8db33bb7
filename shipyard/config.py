"""Settings: one object, one precedence, one prefix.

Values come from, highest first: explicit arguments to :func:`load_settings`,
``SHIPYARD_*`` environment variables, a ``shipyard.toml`` file (the path in
``SHIPYARD_CONFIG``, else ``./shipyard.toml``), and the defaults below. They are
validated when loaded; a bad value raises :class:`~shipyard.errors.InvalidInput`
naming the setting, the value and where it came from.

The embedded default keeps everything under one home folder (``SHIPYARD_HOME``,
default ``./.shipyard``): the SQLite database ``shipyard.db`` and the artifact
folder ``artifacts/``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidInput

__all__ = ["Settings", "load_settings"]

ENV_PREFIX = "SHIPYARD_"


@dataclass(frozen=True)
class Settings:
    """Validated settings. Build one with :func:`load_settings`."""

    home: Path = Path(".shipyard")
    #: Metadata store URI: ``sqlite:///path``, ``postgresql+psycopg://...``.
    store_uri: str = ""
    #: Artifact store URI: a folder path or ``file:///path``.
    artifact_uri: str = ""
    #: Project that new experiments belong to.
    project: str = "default"
    #: Experiment used when ``start_run`` names none.
    experiment: str = "default"
    #: Seconds between background flushes of buffered metrics.
    flush_interval: float = 1.0
    #: Buffered points that trigger a flush before the interval ends.
    flush_max_points: int = 20_000
    #: Seconds between heartbeats of a running run.
    heartbeat_interval: float = 30.0
    #: Seconds without a heartbeat after which a RUNNING run counts as dead.
    heartbeat_timeout: float = 300.0
    #: Seconds a SQLite writer waits for the lock before giving up.
    sqlite_busy_timeout: float = 60.0
    #: Capture git state and installed packages when a run starts.
    capture_environment: bool = True

    def __post_init__(self) -> None:
        home = Path(self.home).expanduser().absolute()
        object.__setattr__(self, "home", home)
        if not self.store_uri:
            object.__setattr__(self, "store_uri", f"sqlite:///{home / 'shipyard.db'}")
        if not self.artifact_uri:
            object.__setattr__(self, "artifact_uri", str(home / "artifacts"))


_TYPES: dict[str, Any] = {
    "home": Path,
    "store_uri": str,
    "artifact_uri": str,
    "project": str,
    "experiment": str,
    "flush_interval": float,
    "flush_max_points": int,
    "heartbeat_interval": float,
    "heartbeat_timeout": float,
    "sqlite_busy_timeout": float,
    "capture_environment": bool,
}
_POSITIVE = {
    "flush_interval",
    "flush_max_points",
    "heartbeat_interval",
    "heartbeat_timeout",
    "sqlite_busy_timeout",
}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = _TYPES[name]
    try:
        if kind is bool:
            if isinstance(value, bool):
                result: Any = value
            elif str(value).strip().lower() in {"1", "true", "yes", "on"}:
                result = True
            elif str(value).strip().lower() in {"0", "false", "no", "off"}:
                result = False
            else:
                raise ValueError
        elif kind is Path:
            result = Path(str(value))
        elif kind is str:
            if not isinstance(value, str):
                raise ValueError
            result = value
        else:
            if isinstance(value, bool):
                raise ValueError
            result = kind(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"Setting '{name}' from {source} must be {kind.__name__}; got {value!r}. "
            f"Fix the value in {source}."
        ) from None
    if name in _POSITIVE and result <= 0:
        raise InvalidInput(
            f"Setting '{name}' from {source} must be greater than 0; got {value!r}. "
            f"Fix the value in {source}."
        )
    return result


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"Config file '{path}' is not valid TOML: {exc}. Fix the file.") from exc
    section = data.get("shipyard", data)
    if not isinstance(section, dict):
        raise InvalidInput(f"Config file '{path}': [shipyard] must be a table.")
    unknown = sorted(set(section) - set(_TYPES))
    if unknown:
        raise InvalidInput(
            f"Config file '{path}' has unknown setting(s) {', '.join(map(repr, unknown))}; "
            f"known settings are {', '.join(sorted(_TYPES))}."
        )
    return {k: _coerce(k, v, f"'{path}'") for k, v in section.items()}


def load_settings(**overrides: Any) -> Settings:
    """Settings from arguments, then ``SHIPYARD_*`` variables, then shipyard.toml, then defaults.

    ``None`` overrides are ignored, so callers can pass optional arguments through.
    """
    unknown = sorted(set(overrides) - set(_TYPES))
    if unknown:
        raise InvalidInput(
            f"Unknown setting(s) {', '.join(map(repr, unknown))}; "
            f"known settings are {', '.join(sorted(_TYPES))}."
        )
    values: dict[str, Any] = {}
    config_path = Path(os.environ.get(f"{ENV_PREFIX}CONFIG", "shipyard.toml"))
    if config_path.is_file():
        values.update(_from_toml(config_path))
    elif f"{ENV_PREFIX}CONFIG" in os.environ:
        raise InvalidInput(
            f"SHIPYARD_CONFIG names '{config_path}', which is not a file. "
            "Point it at a shipyard.toml or unset it."
        )
    for name in _TYPES:
        env_name = f"{ENV_PREFIX}{name.upper()}"
        if env_name in os.environ:
            values[name] = _coerce(name, os.environ[env_name], f"${env_name}")
    for name, value in overrides.items():
        if value is not None:
            values[name] = _coerce(name, value, "the arguments")
    return Settings(**values)
