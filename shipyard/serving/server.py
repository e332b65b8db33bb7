"""Running the model server with uvicorn (uvloop and httptools) or granian, in one or several workers.

Workers are separate processes, each with the model loaded; the settings reach
them through ``SHIPYARD_SERVE_*`` environment variables read by :func:`create_app`.
uvicorn stops accepting on SIGTERM, finishes in-flight requests, then the
lifespan shutdown writes the prediction log out.
"""

from __future__ import annotations

import os
from typing import Any

from shipyard.errors import InvalidInput, MissingDependency
from shipyard.serving.app import ModelServer

__all__ = ["SERVERS", "create_app", "run"]

#: uvicorn (uvloop, httptools): the lowest latency at low concurrency;
#: granian (Rust, hyper): the most requests per second at high concurrency
SERVERS = ("uvicorn", "granian")


def create_app() -> ModelServer:
    """The app a worker serves, configured from the environment."""
    return ModelServer(
        os.environ["SHIPYARD_SERVE_MODEL"],
        home=os.environ.get("SHIPYARD_HOME"),
        deployment=os.environ.get("SHIPYARD_SERVE_DEPLOYMENT") or None,
        max_body_bytes=int(os.environ.get("SHIPYARD_SERVE_MAX_BODY", str(10 << 20))),
        max_batch_rows=int(os.environ.get("SHIPYARD_SERVE_MAX_BATCH_ROWS", "512")),
        log_predictions=os.environ.get("SHIPYARD_SERVE_LOG_PREDICTIONS", "1") == "1",
        allow_pickle=os.environ.get("SHIPYARD_SERVE_ALLOW_PICKLE", "0") == "1",
        poll_seconds=float(os.environ.get("SHIPYARD_SERVE_POLL_SECONDS", "5")),
        runtime=os.environ.get("SHIPYARD_SERVE_RUNTIME", "auto"),
        version_label=os.environ.get("SHIPYARD_SERVE_VERSION") or None,
    )


def run(
    model_uri: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    deployment: str | None = None,
    max_body_bytes: int = 10 << 20,
    max_batch_rows: int = 512,
    log_predictions: bool = True,
    allow_pickle: bool = False,
    poll_seconds: float = 5.0,
    runtime: str = "auto",
    server: str = "uvicorn",
    version_label: str | None = None,
) -> None:
    import shutil
    import tempfile

    import uvicorn

    if server not in SERVERS:
        raise InvalidInput(f"Server {server!r} is not one of {', '.join(SERVERS)}.")

    os.environ["SHIPYARD_SERVE_MODEL"] = model_uri
    os.environ["SHIPYARD_SERVE_DEPLOYMENT"] = deployment or ""
    os.environ["SHIPYARD_SERVE_MAX_BODY"] = str(max_body_bytes)
    os.environ["SHIPYARD_SERVE_MAX_BATCH_ROWS"] = str(max_batch_rows)
    os.environ["SHIPYARD_SERVE_LOG_PREDICTIONS"] = "1" if log_predictions else "0"
    os.environ["SHIPYARD_SERVE_ALLOW_PICKLE"] = "1" if allow_pickle else "0"
    os.environ["SHIPYARD_SERVE_POLL_SECONDS"] = str(poll_seconds)
    os.environ["SHIPYARD_SERVE_RUNTIME"] = runtime
    os.environ["SHIPYARD_SERVE_VERSION"] = version_label or ""
    metrics_dir = None
    if workers > 1:  # workers write their metrics to files that /metrics adds up
        metrics_dir = tempfile.mkdtemp(prefix="shipyard-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        if server == "granian":
            _serve_granian(host, port, workers)
        else:
            _serve(uvicorn, host, port, workers)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _serve(uvicorn: Any, host: str, port: int, workers: int) -> None:
    uvicorn.run(
        "shipyard.serving.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=30,
    )


def _serve_granian(host: str, port: int, workers: int) -> None:
    try:
        from granian import Granian
    except ImportError:
        raise MissingDependency.for_extra("granian", "granian", "--server granian") from None
    Granian(
        "shipyard.serving.server:create_app",
        factory=True,
        address=host,
        port=port,
        workers=workers,
        interface="asgi",  # type: ignore[arg-type]
        loop="uvloop",  # type: ignore[arg-type]
        runtime_threads=1,
        websockets=False,
        log_level="warning",  # type: ignore[arg-type]
        workers_kill_timeout=30,
    ).serve()
