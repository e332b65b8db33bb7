"""``shipyard experiments``."""

from __future__ import annotations

import typer

from shipyard.cli import _context
from shipyard.cli._format import when

experiments_app = typer.Typer(help="List experiments.", no_args_is_help=True)


@experiments_app.command("list")
def list_experiments() -> None:
    """List the experiments of the project, with their run counts."""
    from rich.table import Table

    client = _context.tracking_client()
    experiments = client.list_experiments()
    counts = client.store.experiments.run_counts(e.id for e in experiments)
    table = Table(
        "name", "id", "runs", "created", title=f"Experiments in {client.settings.project!r}"
    )
    for exp in experiments:
        table.add_row(exp.name, exp.id, str(counts[exp.id]), when(exp.created_ms))
    console = _context.console()
    if experiments:
        console.print(table)
    else:
        console.print("No experiments yet. Start a run with sy.start_run(experiment=...).")
