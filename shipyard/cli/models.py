"""``shipyard models``: registered models, their versions and aliases."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from shipyard.cli import _context
from shipyard.cli._format import when

models_app = typer.Typer(
    help="Registered models: versions, aliases, loading.", no_args_is_help=True
)

ModelName = Annotated[str, typer.Argument(help="Registered model name.", show_default=False)]


@models_app.command("list")
def list_models(
    like: Annotated[
        str | None, typer.Option("--like", help="Only names LIKE this pattern, e.g. 'churn%'.")
    ] = None,
) -> None:
    """List registered models with their aliases and latest version."""
    from rich.table import Table

    from shipyard import registry

    client = _context.tracking_client()
    models = registry.search_models(like, client=client)
    console = _context.console()
    if not models:
        console.print("No registered models. Register one with sy.registry.register(info, 'name').")
        return
    table = Table("model", "versions", "aliases", "updated")
    for model in models:
        versions = client.store.registry.list_versions(model.id)
        aliases = ", ".join(f"{a} -> v{v}" for a, v in sorted(model.aliases.items())) or "-"
        table.add_row(model.name, str(len(versions)), aliases, when(model.updated_ms))
    console.print(table)


@models_app.command("versions")
def versions(name: ModelName) -> None:
    """List the versions of a model, with their aliases, sources and flavors."""
    from rich.table import Table

    from shipyard import registry

    client = _context.tracking_client()
    table = Table("version", "aliases", "flavor", "source", "registered", "by")
    for v in registry.list_versions(name, client=client):
        table.add_row(
            f"v{v.version}",
            ", ".join(v.aliases) or "-",
            v.flavor,
            v.source,
            when(v.created_ms),
            v.creator,
        )
    _context.console().print(table)


@models_app.command("show")
def show(
    name: ModelName,
    version: Annotated[str, typer.Argument(help="Version number or alias.")] = "latest",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one version: its source, manifest (signature, requirements, lineage) and alias history."""
    from rich.table import Table

    from shipyard import registry
    from shipyard.models.package import MANIFEST
    from shipyard.models.uris import parse_model_uri

    client = _context.tracking_client()
    v = registry.get_version(name, version, client=client)
    _, (run_id, path) = parse_model_uri(v.source)
    manifest = json.loads(client.read_artifact(run_id, f"{path}/{MANIFEST}"))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "uri": v.uri,
                    "source": v.source,
                    "aliases": list(v.aliases),
                    "manifest": manifest,
                },
                indent=2,
            )
        )
        return
    console = _context.console()
    grid = Table.grid(padding=(0, 2))
    for label, value in (
        ("version", f"{v.uri} ({v.id})"),
        ("aliases", ", ".join(v.aliases) or "-"),
        ("source", v.source),
        ("flavor", f"{manifest['flavor']} ({manifest['flavor_options'].get('class', '')})"),
        (
            "pickle",
            "yes: loads only with allow_pickle=True" if manifest.get("uses_pickle") else "no",
        ),
        ("python", manifest.get("python_version", "")),
        ("requirements", ", ".join(manifest.get("requirements", []))),
        ("datasets", ", ".join(manifest.get("datasets", [])) or "-"),
        ("registered", f"{when(v.created_ms)} by {v.creator}"),
    ):
        grid.add_row(f"[bold]{label}[/]", value)
    console.print(grid)
    signature = manifest.get("signature")
    if signature and signature.get("inputs", {}).get("columns"):
        table = Table("input column", "type", title="signature", title_justify="left")
        for column in signature["inputs"]["columns"]:
            table.add_row(column["name"], column["type"])
        console.print(table)
    if manifest.get("metrics"):
        table = Table("metric", "value", title="metrics at logging", title_justify="left")
        for key, value in sorted(manifest["metrics"].items()):
            table.add_row(key, f"{value:.6g}")
        console.print(table)


@models_app.command("alias")
def alias(
    name: ModelName,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="Alias, e.g. champion.")],
    version: Annotated[
        int | None, typer.Argument(help="Version to point at (omit with --delete).")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "",
) -> None:
    """Point an alias at a version (no gates: use promote for that), or delete it."""
    from shipyard import registry

    client = _context.tracking_client()
    if delete:
        event = registry.delete_alias(name, alias_name, reason=reason, client=client)
        typer.echo(f"Deleted alias {alias_name!r} of {name} (it pointed at v{event.from_version}).")
        return
    if version is None:
        raise typer.BadParameter("Give the version to point at, or --delete.")
    event = registry.set_alias(name, alias_name, version, reason=reason, client=client)
    was = f"v{event.from_version}" if event.from_version is not None else "nothing"
    typer.echo(f"{name}@{alias_name}: {was} -> v{event.to_version}")


@models_app.command("rollback")
def rollback(
    name: ModelName,
    alias_name: Annotated[
        str, typer.Argument(metavar="ALIAS", help="Alias to move back.")
    ] = "champion",
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "",
) -> None:
    """Move an alias back to the version it pointed at before its last move."""
    from shipyard import registry

    event = registry.rollback(name, alias_name, reason=reason, client=_context.tracking_client())
    typer.echo(f"{name}@{alias_name}: v{event.from_version} -> v{event.to_version} (rolled back)")


@models_app.command("history")
def history(
    name: ModelName,
    alias_name: Annotated[
        str | None, typer.Argument(metavar="[ALIAS]", help="Only this alias.")
    ] = None,
) -> None:
    """Every move of a model's aliases: when, who, from and to which version, why."""
    from rich.table import Table

    from shipyard import registry

    table = Table("when", "alias", "from", "to", "by", "forced", "reason")
    for e in registry.alias_history(name, alias_name, client=_context.tracking_client()):
        table.add_row(
            when(e.created_ms),
            e.alias,
            f"v{e.from_version}" if e.from_version else "-",
            f"v{e.to_version}" if e.to_version else "(deleted)",
            e.user,
            "yes" if e.forced else "",
            e.reason,
        )
    _context.console().print(table)


@models_app.command("load-check")
def load_check(
    uri: Annotated[
        str, typer.Argument(help="models:/name/3, models:/name@alias or runs:/<id>/model.")
    ],
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Allow pickle-based models.")
    ] = False,
) -> None:
    """Load a model as a server would (digests, environment, signature) and predict its input example."""
    import warnings

    from shipyard import models
    from shipyard.models.package import VersionMismatchWarning

    client = _context.tracking_client()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VersionMismatchWarning)
        predictor = models.load(uri, allow_pickle=allow_pickle, client=client)
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    typer.echo(f"Loaded {uri}: flavor {predictor.flavor}, files match their digests.")
    from shipyard.models.uris import materialize, resolve

    folder = materialize(resolve(uri, client), client)
    example = folder / "input_example.json"
    if example.exists():
        rows = json.loads(example.read_text())
        output = predictor.predict(rows)
        typer.echo(f"Predicted its input example ({len(rows)} rows): {output.tolist()[:5]}")


def _gate_table(results, title: str):  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table("gate", "result", "measured", "bound", "detail", title=title)
    for r in results:
        table.add_row(
            r.gate,
            "[green]passed[/]" if r.passed else "[red]failed[/]",
            str(r.measured),
            r.bound,
            r.detail,
        )
    return table


@models_app.command("gates")
def gates(
    name: ModelName,
    file: Annotated[
        str | None, typer.Option("--file", "-f", help="Gate declaration (YAML) to store.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the model's gates.")] = False,
) -> None:
    """Show the model's promotion gates, or declare them from a YAML file."""
    from shipyard import registry

    client = _context.tracking_client()
    if file is not None or clear:
        registry.set_gates(name, None if clear else file, client=client)
    declared = registry.get_model(name, client=client).gates
    typer.echo(
        declared.rstrip() if declared else f"{name} has no gates: any version can be promoted."
    )


@models_app.command("evaluate")
def evaluate(
    name: ModelName,
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    dataset: Annotated[
        str, typer.Option("--data", "-d", help="Dataset version with labels, e.g. holdout@2.")
    ],
    target: Annotated[str, typer.Option("--target", "-t", help="Label column.")],
    slices: Annotated[
        list[str] | None, typer.Option("--slice", "-s", help="Column to slice by (repeatable).")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="classification or regression (guessed if omitted).")
    ] = None,
) -> None:
    """Evaluate a version on a labelled dataset version; the result is stored with the version."""
    from rich.table import Table

    from shipyard import data, models, registry
    from shipyard.cli._format import format_metric

    client = _context.tracking_client()
    v = registry.get_version(name, version, client=client)
    dataset_name, _, dataset_version = dataset.partition("@")
    handle = data.get(dataset_name, dataset_version or "latest", client=client)
    result = models.evaluate(
        v.uri, handle, target=target, task=task, slices=slices or [], client=client
    )
    table = Table("metric", "value", title=f"{v.uri} on {handle.uri} ({result.num_rows:,} rows)")
    for key, value in result.metrics.items():
        table.add_row(key, format_metric(value))
    console = _context.console()
    console.print(table)
    for column, groups in result.slices.items():
        keys = sorted({k for g in groups.values() for k in g if k != "count"})
        sliced = Table(column, "rows", *keys, title=f"by {column}")
        for group, values in groups.items():
            sliced.add_row(
                group,
                f"{values['count']:.0f}",
                *(format_metric(values[k]) if k in values else "" for k in keys),
            )
        console.print(sliced)


def labelled_data(dataset: str | None, client: Any) -> Any:
    """The dataset version named by ``NAME[@VERSION]`` (None for None)."""
    from shipyard import data

    if dataset is None:
        return None
    dataset_name, _, dataset_version = dataset.partition("@")
    return data.get(dataset_name, dataset_version or "latest", client=client)


def show_promotion(promote: Any, title: str) -> Any:
    """Run a promotion and print its gates' table, also when they refuse it."""
    from shipyard.errors import GateFailed
    from shipyard.registry.gates import GateResult

    console = _context.console()
    try:
        result = promote()
    except GateFailed as exc:
        results = [GateResult(**r) for r in exc.details.get("results", [])]
        console.print(_gate_table(results, f"{title}: refused"))
        raise
    console.print(_gate_table(result.results, title))
    return result


@models_app.command("promote")
def promote(
    name: ModelName,
    version: Annotated[int, typer.Argument(help="Version to promote.")],
    alias: Annotated[str, typer.Option("--alias", "-a", help="Alias to move.")] = "champion",
    dataset: Annotated[
        str | None, typer.Option("--data", "-d", help="Labelled dataset version to evaluate on.")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Label column.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Move the alias even if gates fail (needs --reason).")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "",
) -> None:
    """Run the model's gates on a version and move the alias only if all pass."""
    from shipyard import registry

    client = _context.tracking_client()
    handle = labelled_data(dataset, client)
    result = show_promotion(
        lambda: registry.promote(
            name,
            version,
            alias,
            data=handle,
            target=target,
            force=force,
            reason=reason,
            client=client,
        ),
        f"{name} v{version} -> {alias}",
    )
    was = f"v{result.event.from_version}" if result.event.from_version is not None else "nothing"
    forced = " (FORCED: gates failed)" if result.forced else ""
    typer.echo(f"{name}@{alias}: {was} -> v{version}{forced}")


@models_app.command("card")
def card(
    name: ModelName,
    version: Annotated[str, typer.Argument(help="Version number or alias.")] = "latest",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this .md or .html file.")
    ] = None,
) -> None:
    """The model card of a version: data, metrics, evaluation, gates, lineage."""
    from shipyard import registry

    client = _context.tracking_client()
    html = output is not None and output.endswith((".html", ".htm"))
    text = registry.model_card(name, version, format="html" if html else "markdown", client=client)
    if output is None:
        typer.echo(text)
    else:
        from pathlib import Path

        Path(output).write_text(text)
        typer.echo(f"Wrote the model card of {name} {version} to {output}.")


@models_app.command("export")
def export(
    name: ModelName,
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    output: Annotated[str, typer.Option("--output", "-o", help="File to write, e.g. model.onnx.")],
    format: Annotated[str, typer.Option("--format", help="Export format.")] = "onnx",
    tolerance: Annotated[
        float, typer.Option(help="Largest accepted difference from the original.")
    ] = 1e-4,
) -> None:
    """Convert a version to ONNX, checked against the original on its input example."""
    from shipyard import models, registry

    client = _context.tracking_client()
    v = registry.get_version(name, version, client=client)
    path = models.export(v.uri, output, format=format, tolerance=tolerance, client=client)
    typer.echo(
        f"Wrote {v.uri} as {format} to {path}; its predictions match the original on the input example."
    )
