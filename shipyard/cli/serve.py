"""``shipyard serve``: the model server."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli import _context

ModelUri = Annotated[
    str, typer.Argument(help="models:/name@alias, models:/name/3 or runs:/<id>/model.")
]


def serve(
    model: Annotated[
        str,
        typer.Argument(
            help="models:/name@alias, models:/name/3, runs:/<id>/model, or a model folder."
        ),
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
    version_label: Annotated[
        str | None,
        typer.Option(help="The version to report when serving a model folder (as in a container)."),
    ] = None,
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
        version_label=version_label,
    )


def predict(
    model: ModelUri,
    source: Annotated[str, typer.Argument(help="CSV or Parquet file, or a folder of them.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Parquet file to write.")],
    batch_rows: Annotated[int, typer.Option(help="Rows per model call.")] = 100_000,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Allow pickle-based models.")
    ] = False,
    ray: Annotated[
        bool, typer.Option("--ray", help="Score the chunks on a Ray cluster (extra 'ray').")
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to use (default: RAY_ADDRESS, or start a local one)."),
    ] = None,
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
        ray=ray,
        ray_address=ray_address,
        client=_context.tracking_client(),
    )
    typer.echo(
        f"Scored {result.rows:,} rows into {result.output} in {result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)."
    )


def build(
    model: ModelUri,
    output: Annotated[str, typer.Option("--output", "-o", help="Folder for the build context.")],
    k8s: Annotated[
        bool, typer.Option("--k8s", help="Also write Kubernetes manifests (k8s/).")
    ] = False,
    image: Annotated[
        str | None,
        typer.Option(help="Run `docker build -t IMAGE` on the context (needs a Docker engine)."),
    ] = None,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Allow pickle-based models.")
    ] = False,
) -> None:
    """Write a container build context: Dockerfile, pinned requirements, the model, an entrypoint."""
    from shipyard.serving.build import build as write_context

    with _context.console().status(
        "Writing the build context: checking the model, pinning requirements, building a wheel"
    ):
        context = write_context(
            model,
            output,
            k8s=k8s,
            image=image,
            docker_build=False,
            allow_pickle=allow_pickle,
            client=_context.tracking_client(),
        )
    if image is not None:  # docker prints its own progress
        from shipyard.serving.build import build_image

        build_image(context.folder, context.image)
        context.built_image = True
    typer.echo(
        f"Wrote {context.folder} ({len(context.files)} files) for {context.model} version {context.version}:"
    )
    for name in context.files:
        if not name.startswith(("model/", "wheels/")):
            typer.echo(f"  {name}")
    if context.built_image:
        typer.echo(f"Built image {context.image}.")
    else:
        typer.echo(f"Build the image with: docker build -t {context.image} {context.folder}")
