"""The root command, global options, and the one place that maps errors to the terminal."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from shipyard._version import __version__
from shipyard.cli import _context
from shipyard.cli.data import data_app
from shipyard.cli.db import db_app
from shipyard.cli.demo import demo
from shipyard.cli.deploy import deploy_app
from shipyard.cli.experiments import experiments_app
from shipyard.cli.models import models_app
from shipyard.cli.monitor import monitor_app
from shipyard.cli.runs import runs_app
from shipyard.cli.serve import build, predict, serve
from shipyard.errors import ShipyardError

app = typer.Typer(
    name="shipyard",
    help="Shipyard: track, version, gate, serve and monitor machine-learning models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(experiments_app, name="experiments")
app.add_typer(runs_app, name="runs")
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")
app.add_typer(deploy_app, name="deploy")
app.add_typer(monitor_app, name="monitor")
app.command("demo")(demo)
app.command("serve")(serve)
app.command("predict")(predict)
app.command("build")(build)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shipyard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    home: Annotated[
        str | None,
        typer.Option(
            help="Home folder of the embedded store (env SHIPYARD_HOME; default ./.shipyard)."
        ),
    ] = None,
    store_uri: Annotated[
        str | None,
        typer.Option(
            help="Metadata store URI: sqlite:///... or postgresql+psycopg://... "
            "(env SHIPYARD_STORE_URI)."
        ),
    ] = None,
    artifact_uri: Annotated[
        str | None, typer.Option(help="Artifact store folder or URI (env SHIPYARD_ARTIFACT_URI).")
    ] = None,
    project: Annotated[
        str | None, typer.Option(help="Project name (env SHIPYARD_PROJECT).")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks of errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Shipyard: track, version, gate, serve and monitor machine-learning models."""
    _context.overrides.update(
        home=home, store_uri=store_uri, artifact_uri=artifact_uri, project=project
    )
    _context.verbose = verbose or _context.verbose


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``shipyard`` command."""
    args = sys.argv[1:] if argv is None else argv
    _context.verbose = (
        "--verbose" in args or "-v" in args or bool(os.environ.get("SHIPYARD_VERBOSE"))
    )
    try:
        code = app(args=args, prog_name="shipyard", standalone_mode=False)
    except ShipyardError as exc:
        _fail(exc, exc.exit_code)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: Typer prints them with the usage line
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        print("Aborted.", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(exc: BaseException, code: int) -> None:
    if _context.verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    headline, *rest = str(exc).splitlines() or [type(exc).__name__]
    print(f"Error: {headline}", file=sys.stderr)
    for line in rest:
        print(f"  {line}", file=sys.stderr)
    sys.exit(code)
