"""Declared schemas: what a dataset must look like, as YAML a person edits and commits.

    format_version: 1
    columns:
      id:     {type: int64, nullable: false, unique: true}
      age:    {type: int64, min: 18, max: 90}
      plan:   {type: string, allowed: [basic, pro], severity: warning}
      email:  {type: string, regex: '^[^@]+@[^@]+$'}
      score:  {type: double, min: {value: 0, severity: warning}}
    checks:
      - row_count: {min: 100, max: 10000000}
      - unique: [customer_id, day]
      - expression: start <= end
        severity: warning
      - freshness: {column: updated_at, max_age: 2d}
      - custom: no_negative_balance

Every check has a severity, ``error`` (the default) or ``warning``: set for a
whole column with ``severity:``, or for one check as ``{value: ..., severity: ...}``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidInput

__all__ = ["SCHEMA_FORMAT_VERSION", "Check", "ColumnSchema", "Schema", "load_schema"]

SCHEMA_FORMAT_VERSION = 1
SEVERITIES = ("error", "warning")
#: Friendly type names and the Arrow type names they mean.
TYPE_ALIASES = {
    "float64": "double",
    "float32": "float",
    "float": "float",
    "str": "string",
    "utf8": "string",
    "bool": "bool",
    "boolean": "bool",
    "datetime": "timestamp",
}
#: Type families: a declared family accepts any Arrow type whose name starts with a member.
TYPE_FAMILIES = {
    "integer": ("int", "uint"),
    "number": ("int", "uint", "float", "double", "halffloat", "decimal"),
    "timestamp": ("timestamp",),
    "date": ("date",),
}
_COLUMN_KEYS = {
    "type",
    "nullable",
    "min",
    "max",
    "allowed",
    "regex",
    "unique",
    "severity",
    "description",
}
_TABLE_KINDS = {"row_count", "unique", "expression", "freshness", "custom"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Check:
    """One check of a schema, flattened: what is checked, against what, how severe."""

    kind: str  # type, not_null, min, max, allowed, regex, unique, row_count, expression, freshness, custom
    column: str | None
    value: Any
    severity: str = "error"

    @property
    def name(self) -> str:
        target = f"{self.column}: " if self.column else ""
        match self.kind:
            case "type":
                return f"{target}type is {self.value}"
            case "not_null":
                return f"{target}not null"
            case "min":
                return f"{target}>= {self.value}"
            case "max":
                return f"{target}<= {self.value}"
            case "allowed":
                shown = ", ".join(map(str, self.value[:8])) + (
                    ", ..." if len(self.value) > 8 else ""
                )
                return f"{target}in {{{shown}}}"
            case "regex":
                return f"{target}matches {self.value}"
            case "unique":
                return (
                    f"unique ({', '.join(self.value)})"
                    if isinstance(self.value, list)
                    else f"{target}unique"
                )
            case "row_count":
                return f"row count in [{self.value.get('min', 0)}, {self.value.get('max', '∞')}]"
            case "expression":
                return f"expression: {self.value}"
            case "freshness":
                return f"{self.value['column']}: fresher than {self.value['max_age']}"
            case "custom":
                return f"custom: {self.value}"
        return f"{target}{self.kind}"


@dataclass
class ColumnSchema:
    name: str
    type: str | None = None
    nullable: bool = True
    min: Any = None
    max: Any = None
    allowed: list[Any] | None = None
    regex: str | None = None
    unique: bool = False
    severity: str = "error"
    description: str = ""
    #: per-check severities that differ from the column's
    severities: dict[str, str] = field(default_factory=dict)

    def checks(self) -> list[Check]:
        out = []

        def add(kind: str, value: Any) -> None:
            out.append(Check(kind, self.name, value, self.severities.get(kind, self.severity)))

        if self.type is not None:
            add("type", self.type)
        if not self.nullable:
            add("not_null", True)
        if self.min is not None:
            add("min", self.min)
        if self.max is not None:
            add("max", self.max)
        if self.allowed is not None:
            add("allowed", self.allowed)
        if self.regex is not None:
            add("regex", self.regex)
        if self.unique:
            add("unique", True)
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.description:
            out["description"] = self.description
        if self.type is not None:
            out["type"] = self.type
        if not self.nullable:
            out["nullable"] = False
        for key in ("min", "max", "allowed", "regex"):
            value = getattr(self, key)
            if value is not None:
                sev = self.severities.get(key)
                out[key] = {"value": value, "severity": sev} if sev else value
        if self.unique:
            out["unique"] = True
        if self.severity != "error":
            out["severity"] = self.severity
        return out


@dataclass
class Schema:
    columns: dict[str, ColumnSchema] = field(default_factory=dict)
    table_checks: list[Check] = field(default_factory=list)
    format_version: int = SCHEMA_FORMAT_VERSION

    def checks(self) -> list[Check]:
        """Every check, column checks first, in declaration order."""
        out = [c for column in self.columns.values() for c in column.checks()]
        return out + list(self.table_checks)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format_version": self.format_version,
            "columns": {name: column.to_dict() for name, column in self.columns.items()},
        }
        if self.table_checks:
            out["checks"] = [
                {c.kind: c.value, **({"severity": c.severity} if c.severity != "error" else {})}
                for c in self.table_checks
            ]
        return out

    def to_yaml(self) -> str:
        import yaml

        header = (
            "# Shipyard dataset schema. Edit it, commit it beside your code, and validate with\n"
            "#   shipyard data validate <dataset> --schema <this file>\n"
        )
        data = self.to_dict()
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        if yaml.safe_load(text) != data:
            # PyYAML writes some characters (such as U+0085) raw that it then reads as line
            # breaks: escape everything that is not ASCII instead
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False)
        return header + text

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_yaml())
        return path

    @property
    def digest(self) -> str:
        import json

        return hashlib.sha256(
            json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        ).hexdigest()

    @classmethod
    def from_yaml(cls, text: str, where: str = "the schema") -> Schema:
        from shipyard.data._yaml import parse_yaml

        raw = parse_yaml(text, where)
        return cls.from_dict(raw, where)

    @classmethod
    def from_dict(cls, raw: Any, where: str = "the schema") -> Schema:
        if not isinstance(raw, Mapping):
            raise InvalidInput(
                f"{where} must be a mapping with 'columns' (and optionally 'checks')."
            )
        unknown = set(raw) - {"format_version", "columns", "checks"}
        if unknown:
            raise InvalidInput(
                f"{where} has unknown top-level key(s) {sorted(unknown)}; use columns and checks."
            )
        version = raw.get("format_version", SCHEMA_FORMAT_VERSION)
        if version != SCHEMA_FORMAT_VERSION:
            raise InvalidInput(
                f"{where} has format_version {version!r}; this Shipyard reads {SCHEMA_FORMAT_VERSION}."
            )
        columns_raw = raw.get("columns") or {}
        if not isinstance(columns_raw, Mapping):
            raise InvalidInput(f"{where}: 'columns' must map column names to their rules.")
        columns = {
            str(name): _column(str(name), rules, where) for name, rules in columns_raw.items()
        }
        checks_raw = raw.get("checks") or []
        if not isinstance(checks_raw, list):
            raise InvalidInput(f"{where}: 'checks' must be a list.")
        table_checks = [_table_check(item, i, where) for i, item in enumerate(checks_raw)]
        return cls(columns, table_checks, version)


def _severity(value: Any, where: str) -> str:
    if value not in SEVERITIES:
        raise InvalidInput(f"{where}: severity must be 'error' or 'warning'; got {value!r}.")
    return str(value)


def _column(name: str, rules: Any, where: str) -> ColumnSchema:
    here = f"{where}, column {name!r}"
    if rules is None:
        rules = {}
    if not isinstance(rules, Mapping):
        raise InvalidInput(
            f"{here}: rules must be a mapping such as {{type: int64, min: 0}}; got {rules!r}."
        )
    unknown = set(rules) - _COLUMN_KEYS
    if unknown:
        raise InvalidInput(
            f"{here}: unknown rule(s) {sorted(unknown)}; known rules are {sorted(_COLUMN_KEYS)}."
        )
    column = ColumnSchema(name, severity=_severity(rules.get("severity", "error"), here))
    for key in ("min", "max", "allowed", "regex"):
        value = rules.get(key)
        if isinstance(value, Mapping):
            if "value" not in value:
                raise InvalidInput(f"{here}: {key} as a mapping needs 'value' (and 'severity').")
            column.severities[key] = _severity(
                value.get("severity", column.severity), f"{here}, {key}"
            )
            value = value["value"]
        setattr(column, key, value)
    if column.min is not None and column.max is not None:
        try:
            if column.min > column.max:
                raise InvalidInput(f"{here}: min {column.min!r} is above max {column.max!r}.")
        except TypeError:
            raise InvalidInput(f"{here}: min and max must be comparable values.") from None
    if column.allowed is not None and not isinstance(column.allowed, list):
        raise InvalidInput(f"{here}: allowed must be a list of values; got {column.allowed!r}.")
    if column.regex is not None:
        try:
            re.compile(column.regex)
        except re.error as exc:
            raise InvalidInput(f"{here}: regex {column.regex!r} is not valid: {exc}.") from exc
    if "type" in rules:
        column.type = str(rules["type"])
    if "nullable" in rules:
        if not isinstance(rules["nullable"], bool):
            raise InvalidInput(
                f"{here}: nullable must be true or false; got {rules['nullable']!r}."
            )
        column.nullable = rules["nullable"]
    if "unique" in rules:
        if not isinstance(rules["unique"], bool):
            raise InvalidInput(f"{here}: unique must be true or false; got {rules['unique']!r}.")
        column.unique = rules["unique"]
    column.description = str(rules.get("description", ""))
    return column


def parse_duration(text: Any, where: str) -> float:
    """'90s', '15m', '6h', '2d', '1w' as seconds."""
    m = _DURATION.match(str(text))
    if not m:
        raise InvalidInput(f"{where}: max_age must look like 90s, 15m, 6h, 2d or 1w; got {text!r}.")
    return float(m.group(1)) * _SECONDS[m.group(2)]


def _table_check(item: Any, index: int, where: str) -> Check:
    here = f"{where}, checks[{index}]"
    if not isinstance(item, Mapping):
        raise InvalidInput(
            f"{here}: each check is a mapping such as {{row_count: {{min: 1}}}}; got {item!r}."
        )
    kinds = [k for k in item if k != "severity"]
    if len(kinds) != 1 or kinds[0] not in _TABLE_KINDS:
        raise InvalidInput(
            f"{here}: name exactly one of {sorted(_TABLE_KINDS)} (plus severity); got {sorted(item)}."
        )
    kind = kinds[0]
    value = item[kind]
    severity = _severity(item.get("severity", "error"), here)
    if kind == "row_count":
        if not isinstance(value, Mapping) or not set(value) <= {"min", "max"} or not value:
            raise InvalidInput(f"{here}: row_count takes {{min: N, max: N}}; got {value!r}.")
    elif kind == "unique":
        if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
            raise InvalidInput(f"{here}: unique takes a list of column names; got {value!r}.")
    elif kind == "expression":
        from shipyard.data.expressions import parse_expression

        parse_expression(str(value), here)  # fail early on a malformed expression
        value = str(value)
    elif kind == "freshness":
        if not isinstance(value, Mapping) or "column" not in value or "max_age" not in value:
            raise InvalidInput(
                f"{here}: freshness takes {{column: name, max_age: 2d}}; got {value!r}."
            )
        parse_duration(value["max_age"], here)
        value = dict(value)
    elif kind == "custom" and not isinstance(value, str):
        raise InvalidInput(f"{here}: custom takes the name of a registered check; got {value!r}.")
    return Check(kind, None, value, severity)


def load_schema(source: str | Path | Mapping[str, Any] | Schema) -> Schema:
    """A schema from a YAML file path, YAML text, a mapping, or a Schema."""
    from shipyard.data._yaml import read_document

    if isinstance(source, Schema):
        return source
    raw, where = read_document(source, "schema")
    return Schema.from_dict(raw, where)
