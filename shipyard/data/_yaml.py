"""Reading the YAML documents people write (schemas, recipes), with errors that point at the place."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidInput

__all__ = ["parse_yaml", "read_document"]


def parse_yaml(text: str, where: str) -> Any:
    """YAML text as Python data; InvalidInput with the line and column of a mistake."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(f"{where} is not valid YAML{place}: {problem}. Fix the file.") from exc


def read_document(source: Any, kind: str) -> tuple[Any, str]:
    """(data, where) from a YAML file path, YAML text, or already-parsed data.

    ``kind`` names the document in messages ("schema", "recipe").
    """
    if isinstance(source, Mapping | list):
        return source, f"the {kind}"
    is_path = isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))
    )
    if is_path:
        path = Path(source)
        where = f"{kind.capitalize()} file {str(path)!r}"
        if not path.is_file():
            raise InvalidInput(f"{where} does not exist.")
        return parse_yaml(path.read_text(), where), where
    if isinstance(source, str):
        return parse_yaml(source, f"the {kind}"), f"the {kind}"
    raise InvalidInput(
        f"A {kind} is a YAML file path, YAML text or a mapping; got {type(source).__name__}."
    )
