"""``shipyard monitor``: stored monitors, evaluated once or on their schedules, and their alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli import _context
from shipyard.cli._format import when

monitor_app = typer.Typer(
    help="Monitors: drift, performance, fairness, validation and latency checks with alerts.",
    no_args_is_help=True,
)

MonitorName = Annotated[str, typer.Argument(help="Monitor name.", show_default=False)]


@monitor_app.command("add")
def add(
    name: MonitorName,
    spec: Annotated[
        Path, typer.Option("--file", "-f", help="The monitor's YAML (see docs/monitoring.md).")
    ],
    disabled: Annotated[bool, typer.Option("--disabled", help="Store it switched off.")] = False,
) -> None:
    """Store a monitor (or replace its spec), after checking it."""
    from shipyard import monitoring

    if not spec.is_file():
        raise typer.BadParameter(f"{spec} is not a file.", param_hint="--file")
    record = monitoring.save_monitor(
        name, spec.read_text(), enabled=not disabled, client=_context.tracking_client()
    )
    typer.echo(f"Stored monitor {record.name}{' (disabled)' if disabled else ''}.")


@monitor_app.command("list")
def list_() -> None:
    """The project's monitors and their latest evaluation."""
    from rich.table import Table

    from shipyard import monitoring

    client = _context.tracking_client()
    table = Table(title="monitors")
    for column in ("name", "watches", "checks", "last run", "violated", "enabled"):
        table.add_column(column)
    for record in monitoring.list_monitors(client=client):
        spec = monitoring.parse_monitor(record.name, record.spec)
        results = client.store.monitors.results(record.id, last=len(spec.checks))
        last = results[-1].ts_ms if results else None
        violated = [r.check_name for r in results if r.ts_ms == last and r.status == "violated"]
        table.add_row(
            record.name,
            f"deployment {spec.deployment}" if spec.deployment else f"dataset {spec.dataset}",
            ", ".join(spec.checks),
            when(last),
            ", ".join(violated) or "-",
            "yes" if record.enabled else "no",
        )
    _context.console().print(table)


def _print_run(run: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{run.monitor} at {when(run.ts_ms)}")
    for column in ("check", "metric", "value", "status", "message"):
        table.add_column(column)
    style = {"ok": "green", "violated": "red", "no_data": "yellow", "error": "magenta"}
    for r in run.results:
        value = "-" if r.value is None else f"{r.value:.4g}"
        table.add_row(r.check_name, r.metric, value, f"[{style[r.status]}]{r.status}[/]", r.message)

    console = _context.console()
    console.print(table)
    for alert in run.fired:
        console.print(f"[red]alert fired[/]: {escape(f'[{alert.severity}] {alert.message}')}")
    for alert in run.resolved:
        console.print(f"[green]alert resolved[/]: {alert.rule}")


@monitor_app.command("run")
def run(
    name: Annotated[
        str | None, typer.Argument(help="Evaluate this monitor now (default: every due one).")
    ] = None,
) -> None:
    """Evaluate one monitor now, or every monitor that is due, once."""
    from shipyard import monitoring

    client = _context.tracking_client()
    if name is not None:
        _print_run(monitoring.run_monitor(name, client=client))
        return
    runs, failures = monitoring.run_due(client=client)
    for done in runs:
        _print_run(done)
    for monitor, why in failures.items():
        typer.echo(f"{monitor}: could not run: {why}", err=True)
    if not runs and not failures:
        typer.echo("No monitor is due.")


@monitor_app.command("watch")
def watch(
    poll: Annotated[
        float, typer.Option(help="Seconds between looks for due monitors.", min=0.1)
    ] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="Evaluate what is due, then stop.")] = False,
) -> None:
    """Keep evaluating monitors on their schedules until interrupted (Ctrl-C or SIGTERM)."""
    import signal
    import threading

    from shipyard import monitoring

    client = _context.tracking_client()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo(f"Watching monitors every {poll:g} s; Ctrl-C to stop.")
    try:
        while not stop.is_set():
            runs, failures = monitoring.run_due(client=client)
            for done in runs:
                _print_run(done)
            for monitor, why in failures.items():
                typer.echo(f"{monitor}: could not run: {why}", err=True)
            if once:
                break
            stop.wait(poll)  # the schedule's clock, not a synchronisation
    except KeyboardInterrupt:
        pass
    typer.echo("Stopped watching.")


@monitor_app.command("alerts")
def alerts(
    name: Annotated[str | None, typer.Argument(help="Only this monitor's alerts.")] = None,
    status: Annotated[str | None, typer.Option(help="firing or resolved (default: both).")] = None,
) -> None:
    """Alerts, newest first, with their deliveries."""
    from rich.table import Table

    from shipyard import monitoring

    client = _context.tracking_client()
    if status not in (None, "firing", "resolved"):
        raise typer.BadParameter(f"{status!r} is not firing or resolved.", param_hint="--status")
    table = Table(title="alerts")
    for column in ("started", "rule", "severity", "status", "count", "message", "delivered to"):
        table.add_column(column)
    for alert in monitoring.alerts(name, status=status, client=client):
        deliveries = client.store.monitors.deliveries(alert.id)
        delivered = ", ".join(
            f"{d.channel.split(':')[0]} {'ok' if d.delivered else 'FAILED'}"
            for d in deliveries[-4:]
        )
        table.add_row(
            when(alert.started_ms),
            alert.rule,
            alert.severity,
            alert.status,
            str(alert.count),
            alert.message,
            delivered or "-",
        )
    _context.console().print(table)


@monitor_app.command("report")
def report(
    name: MonitorName,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
) -> None:
    """A self-contained HTML report: latest checks, drift with distributions, values over time."""
    from shipyard import monitoring

    html = monitoring.report(name, str(output), client=_context.tracking_client())
    typer.echo(f"Wrote {output} ({len(html.encode()) / 1024:,.0f} KB).")
