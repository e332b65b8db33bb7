"""State shared by the commands of one CLI invocation: global options."""

from __future__ import annotations

from typing import Any

#: Settings given as global options (--home, --store-uri, ...); None means "not given".
overrides: dict[str, Any] = {}
verbose = False


def settings(**extra: Any):  # type: ignore[no-untyped-def]
    from shipyard.config import load_settings

    return load_settings(**{**overrides, **{k: v for k, v in extra.items() if v is not None}})


def tracking_client(**extra: Any):  # type: ignore[no-untyped-def]
    from shipyard.tracking import TrackingClient

    return TrackingClient(settings(**extra))


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console()
