"""``shipyard serve``: the model server."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli import _context


def serve(
    model: Annotated[
        str, typer.Argument(help="models:/name@alias, models:/name/3 or runs:/<id>/model.")
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    deployment: Annotated[
        str | None, typer.Option(help="Name for the prediction log (default: from the URI).")
    ] = None,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body, in MB.")] = 10.0,
    max_batch_rows: Annotated[int, typer.Option(help="Most rows in one model call.")] = 512,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not log predictions.")] = False,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Serve pickle-based models.")
    ] = False,
    poll_seconds: Annotated[
        float,
        typer.Option(
            help="How often to look for alias and deployment changes (0: never; serve what was loaded)."
        ),
    ] = 5.0,
    runtime: Annotated[
        str,
        typer.Option(
            help="auto: ONNX Runtime for scikit-learn/XGBoost/LightGBM models that convert and "
            "match their native outputs, else native; onnx: always (fail if it cannot); native: never."
        ),
    ] = "auto",
    server: Annotated[
        str,
        typer.Option(
            help="uvicorn: lowest latency at low concurrency; granian (extra 'granian'): "
            "most requests/s at high concurrency."
        ),
    ] = "uvicorn",
) -> None:
    """Serve a model over HTTP: /predict, /feedback, /livez, /readyz, /metrics.

    The deployment (named after the model unless --deployment says otherwise)
    decides which versions answer: the alias's holder, and a candidate on canary
    or in shadow (see `shipyard deploy`). When the alias or the deployment
    changes, the server loads the new version beside the old, warms it up,
    switches, and lets the old one finish its requests: no restart, no failed
    request.
    """
    from shipyard.errors import InvalidInput
    from shipyard.serving.routing import RUNTIMES
    from shipyard.serving.server import run

    if runtime not in RUNTIMES:
        raise InvalidInput(f"--runtime {runtime!r} is not one of {', '.join(RUNTIMES)}.")
    settings = _context.settings()
    import os

    os.environ["SHIPYARD_HOME"] = str(settings.home)
    typer.echo(
        f"Serving {model} on http://{host}:{port} ({workers} worker(s)); ready when /readyz answers 200."
    )
    run(
        model,
        host=host,
        port=port,
        workers=workers,
        deployment=deployment,
        max_body_bytes=int(max_body_mb * (1 << 20)),
        max_batch_rows=max_batch_rows,
        log_predictions=not no_log,
        allow_pickle=allow_pickle,
        poll_seconds=poll_seconds,
        runtime=runtime,
        server=server,
    )


def predict(
    model: Annotated[
        str, typer.Argument(help="models:/name@alias, models:/name/3 or runs:/<id>/model.")
    ],
    source: Annotated[str, typer.Argument(help="CSV or Parquet file, or a folder of them.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Parquet file to write.")],
    batch_rows: Annotated[int, typer.Option(help="Rows per model call.")] = 100_000,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Allow pickle-based models.")
    ] = False,
) -> None:
    """Score a file of any size in chunks; input columns pass through, predictions are added."""
    from shipyard.serving import score_file

    result = score_file(
        model,
        source,
        output,
        batch_rows=batch_rows,
        allow_pickle=allow_pickle,
        progress=True,
        client=_context.tracking_client(),
    )
    typer.echo(
        f"Scored {result.rows:,} rows into {result.output} in {result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)."
    )
