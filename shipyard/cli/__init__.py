"""The ``shipyard`` command line (Typer + Rich)."""

from shipyard.cli._main import app, main

__all__ = ["app", "main"]
