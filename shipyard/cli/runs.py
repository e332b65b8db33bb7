"""``shipyard runs``: list, show, compare, delete, restore, mark-dead."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from shipyard.cli import _context
from shipyard.cli._format import duration, format_metric, status_text, when

runs_app = typer.Typer(help="List, inspect, compare and delete runs.", no_args_is_help=True)

RunIds = Annotated[list[str], typer.Argument(help="Run ids.", show_default=False)]


@runs_app.command("list")
def list_runs(
    experiment: Annotated[
        list[str] | None, typer.Option("--experiment", "-e", help="Experiment name (repeatable).")
    ] = None,
    filter: Annotated[
        str,
        typer.Option(
            "--filter", "-f", help="Filter, e.g. \"metrics.auc > 0.9 and params.model = 'rf'\"."
        ),
    ] = "",
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help="Sort, e.g. 'metrics.auc DESC' (repeatable)."),
    ] = None,
    max_results: Annotated[
        int, typer.Option("--max-results", "-n", help="At most this many runs.")
    ] = 50,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted runs.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON lines instead of a table.")
    ] = False,
) -> None:
    """List runs, newest first unless --order-by says otherwise."""
    from rich.table import Table

    client = _context.tracking_client()
    runs = client.search_runs(
        experiment or None, filter, order_by, max_results, include_deleted=deleted
    )
    if as_json:
        for run in runs:
            typer.echo(json.dumps(run.to_flat_dict(), default=str))
        return
    console = _context.console()
    if not runs:
        console.print("No runs match." if filter else "No runs yet.")
        return
    from rich import box

    names = {e.id: e.name for e in client.list_experiments()}
    several = len({run.experiment_id for run in runs}) > 1
    metric_keys = _leading_keys((run.metrics for run in runs), limit=3)
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("run id", no_wrap=True)
    table.add_column("name", min_width=12)
    if several:
        table.add_column("experiment")
    for label in ("status", "started", "took"):
        table.add_column(label, no_wrap=True)
    for key in metric_keys:
        table.add_column(key, justify="right", min_width=8)
    for run in runs:
        deleted_mark = " [dim](deleted)[/]" if run.lifecycle == "deleted" else ""
        table.add_row(
            run.id,
            run.name + deleted_mark,
            *([names.get(run.experiment_id, run.experiment_id)] if several else []),
            status_text(run.status),
            when(run.start_ms)[5:16],
            duration(run.start_ms, run.end_ms),
            *(format_metric(run.metrics[k]) if k in run.metrics else "" for k in metric_keys),
        )
    console.print(table)


def _leading_keys(maps, limit: int = 5) -> list[str]:  # type: ignore[no-untyped-def]
    counts: dict[str, int] = {}
    for mapping in maps:
        for key in mapping:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))[:limit]


@runs_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one run: its record, params, latest metrics, tags and artifacts."""
    from rich.table import Table

    client = _context.tracking_client()
    run = client.get_run(run_id)
    artifacts = client.list_artifacts(run_id)
    if as_json:
        data = run.to_flat_dict() | {"artifacts": [a.path for a in artifacts], "error": run.error}
        typer.echo(json.dumps(data, default=str, indent=2))
        return
    console = _context.console()
    info = Table.grid(padding=(0, 2))
    rows = [
        ("run", f"{run.name} ({run.id})"),
        ("experiment", client.store.experiments.get(run.experiment_id).name),
        (
            "status",
            status_text(run.status) + (" [dim](deleted)[/]" if run.lifecycle == "deleted" else ""),
        ),
        ("started", when(run.start_ms)),
        ("took", duration(run.start_ms, run.end_ms)),
        ("user", run.user),
        ("parent", run.parent_run_id or "-"),
        ("source", f"{run.git_commit or '-'}{' (dirty)' if run.git_dirty else ''}"),
        ("entry point", run.entry_point or "-"),
        ("python", f"{run.python_version} on {run.platform}"),
    ]
    for label, value in rows:
        info.add_row(f"[bold]{label}[/]", value)
    console.print(info)
    for title, mapping in (("params", run.params), ("tags", run.tags)):
        if mapping:
            table = Table("key", "value", title=title, title_justify="left")
            for key in sorted(mapping):
                table.add_row(key, mapping[key])
            console.print(table)
    if run.metrics:
        table = Table("key", "latest value", title="metrics", title_justify="left")
        for key in sorted(run.metrics):
            table.add_row(key, format_metric(run.metrics[key]))
        console.print(table)
    inputs = client.run_inputs(run.id)
    if inputs:
        table = Table("dataset version", "rows", "digest", title="inputs", title_justify="left")
        for version in inputs:
            table.add_row(version.uri, f"{version.num_rows:,}", version.digest[:12])
        console.print(table)
    if artifacts:
        table = Table("path", "size", "digest", title="artifacts", title_justify="left")
        for record in artifacts:
            table.add_row(record.path, f"{record.size:,}", record.digest[:12])
        console.print(table)
    if run.error:
        console.print("[bold red]error[/]")
        console.print(run.error.rstrip(), markup=False, highlight=False)


@runs_app.command("compare")
def compare(
    run_ids: RunIds,
    diff_only: Annotated[bool, typer.Option("--diff-only", help="Show only what differs.")] = False,
) -> None:
    """Put params and metrics of runs side by side; what differs is highlighted."""
    from rich.table import Table

    if len(run_ids) < 2:
        raise typer.BadParameter(f"compare needs at least two run ids; got {len(run_ids)}.")
    client = _context.tracking_client()
    runs = client.store.runs.get_many(run_ids)
    table = Table("", *(f"{r.name}\n[dim]{r.id}[/]" for r in runs))
    sections = (
        ("params", [r.params for r in runs], str),
        ("metrics", [r.metrics for r in runs], format_metric),
    )
    for section, maps, fmt in sections:
        for key in sorted(set().union(*maps)):
            values = [fmt(m[key]) if key in m else "-" for m in maps]
            differs = len(set(values)) > 1
            if diff_only and not differs:
                continue
            style = "bold yellow" if differs else ""
            table.add_row(f"{section}.{key}", *values, style=style)
    _context.console().print(table)


@runs_app.command("delete")
def delete(run_ids: RunIds) -> None:
    """Delete runs (softly: `shipyard runs restore` brings them back)."""
    _context.tracking_client().delete_runs(run_ids)
    typer.echo(
        f"Deleted {len(run_ids)} run(s); restore with: shipyard runs restore {' '.join(run_ids)}"
    )


@runs_app.command("restore")
def restore(run_ids: RunIds) -> None:
    """Restore deleted runs."""
    _context.tracking_client().restore_runs(run_ids)
    typer.echo(f"Restored {len(run_ids)} run(s).")


@runs_app.command("mark-dead")
def mark_dead(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list them.")] = False,
) -> None:
    """End as KILLED the runs left RUNNING by processes that died."""
    client = _context.tracking_client()
    dead = client.find_dead_runs() if dry_run else client.mark_dead_runs()
    if not dead:
        typer.echo("No dead runs.")
    for item in dead:
        verb = "is dead" if dry_run else "marked KILLED"
        typer.echo(f"{item.run.id} ({item.run.name}) {verb}: {item.reason}")
