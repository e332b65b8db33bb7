"""``shipyard data``: dataset versions, schemas, validation and profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli import _context
from shipyard.cli._format import when

data_app = typer.Typer(help="Version, validate and profile datasets.", no_args_is_help=True)

Name = Annotated[
    str,
    typer.Argument(
        help="Dataset name, optionally with @version: churn, churn@3, churn@latest.",
        show_default=False,
    ),
]
Version = Annotated[
    str | None, typer.Option("--version", "-V", help="Version number, 'latest' or a digest prefix.")
]


def _handle(name: str, version: str | None):  # type: ignore[no-untyped-def]
    from shipyard import data

    if "@" in name and version is None:
        name, version = name.split("@", 1)
    client = _context.tracking_client()
    return data.get(name, version or "latest", client=client)


@data_app.command("log")
def log(
    name: Annotated[str, typer.Argument(help="Dataset name.", show_default=False)],
    path: Annotated[
        Path, typer.Argument(help="CSV or Parquet file, or a folder of them.", show_default=False)
    ],
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files.")] = "utf8",
    no_profile: Annotated[
        bool, typer.Option("--no-profile", help="Do not profile the new version.")
    ] = False,
) -> None:
    """Log a file or folder as a version of a dataset (the same content is one version)."""
    from shipyard import data

    client = _context.tracking_client()
    before = {v.id for v in _versions(client, name)}
    handle = data.log_dataset(
        name, path, encoding=encoding, profile=not no_profile, progress=True, client=client
    )
    fresh = handle.id not in before
    verb = "Logged" if fresh else "Unchanged: the same content is already"
    typer.echo(
        f"{verb} {handle.uri}: {handle.num_rows:,} rows x {len(handle.columns)} columns, "
        f"digest {handle.digest[:12]}"
    )


def _versions(client: Any, name: str) -> list[Any]:
    from shipyard.errors import NotFound

    try:
        dataset = client.store.datasets.get(client.project_id, name)
    except NotFound:
        return []
    return client.store.datasets.list_versions(dataset.id)


@data_app.command("list")
def list_datasets() -> None:
    """List datasets with their latest version."""
    from rich.table import Table

    from shipyard import data

    client = _context.tracking_client()
    rows = data.list_datasets(client=client)
    console = _context.console()
    if not rows:
        console.print("No datasets yet. Log one with: shipyard data log NAME PATH")
        return
    table = Table("dataset", "latest", "rows", "columns", "digest", "logged")
    for dataset, latest in rows:
        if latest is None:
            table.add_row(dataset.name, "-", "", "", "", "")
            continue
        table.add_row(
            dataset.name,
            f"v{latest.version}",
            f"{latest.num_rows:,}",
            str(latest.num_columns),
            latest.digest[:12],
            when(latest.created_ms),
        )
    console.print(table)


@data_app.command("versions")
def versions(
    name: Annotated[str, typer.Argument(help="Dataset name.", show_default=False)],
) -> None:
    """List every version of a dataset, oldest first."""
    from rich.table import Table

    client = _context.tracking_client()
    dataset = client.store.datasets.get(client.project_id, name)
    table = Table(
        "version", "rows", "columns", "size", "digest", "parents", "made by run", "logged"
    )
    for v in client.store.datasets.list_versions(dataset.id):
        parents = ", ".join(client.store.datasets.get_version_by_id(p).uri for p in v.parents)
        table.add_row(
            f"v{v.version}",
            f"{v.num_rows:,}",
            str(v.num_columns),
            f"{v.size_bytes:,}",
            v.digest[:12],
            parents or "-",
            v.run_id or "-",
            when(v.created_ms),
        )
    _context.console().print(table)


@data_app.command("show")
def show(
    name: Name, version: Version = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Show a version: its columns, lineage and latest validation."""
    from rich.table import Table

    handle = _handle(name, version)
    info = handle.info
    reports = handle.validations()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "uri": info.uri,
                    "id": info.id,
                    "digest": info.digest,
                    "rows": info.num_rows,
                    "columns": [c.__dict__ for c in info.columns],
                    "source": info.source,
                    "creator": info.creator,
                    "run_id": info.run_id,
                    "parents": list(info.parents),
                    "consumers": handle.consumers(),
                    "recipe": info.recipe,
                    "validation": reports[0].to_dict() if reports else None,
                },
                indent=2,
                default=str,
            )
        )
        return
    console = _context.console()
    grid = Table.grid(padding=(0, 2))
    for label, value in (
        ("version", f"{info.uri} ({info.id})"),
        ("digest", info.digest),
        ("size", f"{info.num_rows:,} rows x {info.num_columns} columns, {info.size_bytes:,} bytes"),
        ("source", info.source),
        ("logged", f"{when(info.created_ms)} by {info.creator}"),
        ("made by run", info.run_id or "-"),
        ("parents", ", ".join(p.uri for p in handle.parents()) or "-"),
        ("used by runs", ", ".join(handle.consumers()) or "-"),
        (
            "validation",
            (("PASSED" if reports[0].passed else "FAILED") + f" ({when(reports[0].created_ms)})")
            if reports
            else "never validated",
        ),
    ):
        grid.add_row(f"[bold]{label}[/]", value)
    console.print(grid)
    table = Table("column", "type", "nullable", title="columns", title_justify="left")
    for column in info.columns:
        table.add_row(column.name, column.type, "yes" if column.nullable else "no")
    console.print(table)


@data_app.command("validate")
def validate(
    name: Name,
    schema: Annotated[
        Path | None,
        typer.Option("--schema", "-s", help="Schema YAML (default: the dataset's stored schema)."),
    ] = None,
    version: Version = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")
    ] = None,
    samples: Annotated[int, typer.Option(help="Failing rows to show per check.")] = 5,
    show_all: Annotated[bool, typer.Option("--all", help="List passing checks too.")] = False,
) -> None:
    """Validate a version against a schema; exits 1 if an error-severity check fails."""
    from rich.table import Table

    from shipyard import data

    handle = _handle(name, version)
    if schema is None:
        stored = handle._client.store.datasets.get_schema(handle.info.dataset_id)
        schema_obj = data.Schema.from_yaml(stored.body, f"stored schema v{stored.version}")
    else:
        schema_obj = data.load_schema(schema)
    report = data.validate(handle, schema_obj, sample_size=samples)
    console = _context.console()
    table = Table(
        "check",
        "severity",
        "result",
        "failing",
        "share",
        "examples (row: value)",
        title=report.summary().splitlines()[0],
    )
    shown = report.results if show_all else report.failed
    for r in shown:
        result = (
            "[green]passed[/]"
            if r.passed
            else ("[yellow]warning[/]" if r.severity == "warning" else "[red]failed[/]")
        )
        examples = "; ".join(f"{s['row']}: {s['value']!r}" for s in r.samples) or r.message
        table.add_row(
            r.check, r.severity, result, f"{r.failed_count:,}", f"{r.failed_share:.2%}", examples
        )
    if shown:
        console.print(table)
    else:
        console.print(f"[green]{report.summary().splitlines()[0]}[/]")
    if html is not None:
        report.to_html(str(html))
        console.print(f"HTML report: {html}")
    if not report.passed:
        raise typer.Exit(1)


@data_app.command("schema")
def schema(
    name: Name,
    version: Version = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the YAML here (default: print it).")
    ] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Also store it as the dataset's next schema version.")
    ] = False,
    max_allowed: Annotated[
        int, typer.Option(help="Largest set of values to list as allowed.")
    ] = 20,
) -> None:
    """Infer a schema from a version: a starting point to edit and commit."""
    from shipyard import data

    handle = _handle(name, version)
    inferred = data.infer_schema(handle, max_allowed=max_allowed)
    text = inferred.to_yaml()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(
            f"Wrote {output}: {len(inferred.checks())} checks over {len(inferred.columns)} columns."
        )
    if save:
        record = handle._client.store.datasets.add_schema(
            handle.info.dataset_id, text, inferred.digest
        )
        typer.echo(f"Stored as schema v{record.version} of {handle.name}.")


@data_app.command("profile")
def profile(
    name: Name, version: Version = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Show the profile of a version: per-column counts, nulls, distinct values and statistics."""
    from rich.table import Table

    from shipyard.cli._format import format_metric

    handle = _handle(name, version)
    prof = handle.profile()
    if as_json:
        typer.echo(json.dumps(prof.to_dict(), default=str, indent=2))
        return
    table = Table(
        "column",
        "type",
        "nulls",
        "distinct",
        "min",
        "mean",
        "max",
        "top values",
        title=f"{handle.uri}: {prof.num_rows:,} rows",
    )
    for c in prof.columns.values():

        def num(v: Any) -> str:
            return format_metric(v) if isinstance(v, float) else ("" if v is None else str(v))

        top = ", ".join(f"{v} ({n:,})" for v, n in c.top_values[:3])
        table.add_row(
            c.name,
            c.type,
            f"{c.null_share:.1%}",
            f"{c.distinct:,}",
            num(c.min),
            num(c.mean),
            num(c.max),
            top,
        )
    _context.console().print(table)


@data_app.command("export")
def export(
    name: Name,
    output: Annotated[
        Path, typer.Argument(help="File to write: .parquet or .csv.", show_default=False)
    ],
    version: Version = None,
    columns: Annotated[
        list[str] | None, typer.Option("--column", "-c", help="Only these columns (repeatable).")
    ] = None,
) -> None:
    """Write a version out as Parquet or CSV."""
    handle = _handle(name, version)
    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise typer.BadParameter(f"Write to a .parquet or .csv file; got {output.name!r}.")
    table = handle.to_arrow(columns)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, output)
    else:
        from pyarrow import csv

        csv.write_csv(table, output)
    typer.echo(
        f"Wrote {handle.uri} to {output}: {table.num_rows:,} rows x {table.num_columns} columns."
    )


@data_app.command("clean")
def clean(
    name: Name,
    recipe: Annotated[Path, typer.Option("--recipe", "-r", help="Cleaning recipe (YAML).")],
    version: Version = None,
    output_name: Annotated[
        str | None,
        typer.Option("--to", help="Log the result as this dataset (default: the same one)."),
    ] = None,
) -> None:
    """Apply a cleaning recipe: a new version with lineage, and quarantined rows kept apart."""
    from shipyard import data

    handle = _handle(name, version)
    result = data.clean(handle, recipe, name=output_name)
    typer.echo(f"{handle.uri} -> {result.version.uri}: {result.summary()}")
    if result.quarantine_version is not None:
        typer.echo(f"Quarantined rows: {result.quarantine_version.uri}")


@data_app.command("diff")
def diff(
    old: Annotated[str, typer.Argument(help="Older version, e.g. churn@1.", show_default=False)],
    new: Annotated[
        str, typer.Argument(help="Newer version, e.g. churn@2 or churn.", show_default=False)
    ],
) -> None:
    """Compare two versions: columns added, removed or retyped; rows; per-column statistics."""
    from rich.table import Table

    from shipyard import data
    from shipyard.cli._format import format_metric

    result = data.diff(_handle(old, None), _handle(new, None))
    console = _context.console()
    console.print(result.summary().splitlines()[0])
    for line in result.summary().splitlines()[1:]:
        console.print(f"[yellow]{line.strip()}[/]")
    table = Table("column", "nulls", "distinct", "mean", "min", "max")

    def pair(a: Any, b: Any, fmt: Any = str) -> str:
        left, right = ("-" if a is None else fmt(a)), ("-" if b is None else fmt(b))
        return left if left == right else f"{left} -> [bold]{right}[/]"

    def num(v: Any) -> str:
        return format_metric(v) if isinstance(v, float) else str(v)

    for change in result.columns:
        o, n = change.old, change.new
        table.add_row(
            change.column,
            pair(o["null_share"], n["null_share"], lambda v: f"{v:.1%}"),
            pair(o["distinct"], n["distinct"], lambda v: f"{v:,}"),
            pair(o["mean"], n["mean"], num),
            pair(o["min"], n["min"], num),
            pair(o["max"], n["max"], num),
            style="yellow" if change.flags else "",
        )
    console.print(table)
