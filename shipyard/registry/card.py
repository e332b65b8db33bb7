"""Model cards: what a registered version is, what it was trained on, how it did, why it was promoted.

One structure (sections of rows) rendered as Markdown or as a self-contained
HTML page: description and intended use, signature, training data versions
with a summary of their profiles, metrics at logging, the latest evaluation
with its slices, the gate results of its promotions, and lineage.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

__all__ = ["model_card"]


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _sections(
    name: str, version: int | str, client: Any
) -> tuple[str, list[tuple[str, str, list[str], list[list[str]]]]]:
    from shipyard.models.package import MANIFEST
    from shipyard.models.uris import parse_model_uri
    from shipyard.registry import get_version

    v = get_version(name, version, client=client)
    _, (run_id, path) = parse_model_uri(v.source)
    manifest = json.loads(client.read_artifact(run_id, f"{path}/{MANIFEST}"))
    run = client.get_run(run_id)
    sections: list[tuple[str, str, list[str], list[list[str]]]] = []
    intended = v.tags.get("intended_use", "")
    sections.append(
        (
            "Overview",
            "",
            ["", ""],
            [
                ["version", v.uri],
                ["aliases", ", ".join(v.aliases) or "-"],
                ["description", v.description or "-"],
                [
                    "intended use",
                    intended or "not stated (set the tag intended_use when registering)",
                ],
                ["flavor", f"{manifest['flavor']} ({manifest['flavor_options'].get('class', '')})"],
                ["registered", f"{_when(v.created_ms)} by {v.creator}"],
            ],
        )
    )
    signature = manifest.get("signature") or {}
    columns = (signature.get("inputs") or {}).get("columns") or []
    if columns:
        sections.append(
            (
                "Signature",
                "Inputs the model takes; other input is refused.",
                ["column", "type"],
                [[c["name"], c["type"]] for c in columns],
            )
        )
    rows = []
    for version_id in manifest.get("datasets", []):
        dataset = client.store.datasets.get_version_by_id(version_id)
        from shipyard.data.versions import DatasetHandle

        profile = DatasetHandle(client, dataset).profile()
        nulls = sum(c.nulls for c in profile.columns.values())
        rows.append(
            [
                dataset.uri,
                f"{dataset.num_rows:,}",
                str(dataset.num_columns),
                f"{nulls:,}",
                dataset.digest[:12],
            ]
        )
    if rows:
        sections.append(
            (
                "Training data",
                "Dataset versions the training run read.",
                ["version", "rows", "columns", "nulls", "digest"],
                rows,
            )
        )
    if manifest.get("metrics"):
        sections.append(
            (
                "Metrics at training",
                "",
                ["metric", "value"],
                [[k, _num(val)] for k, val in sorted(manifest["metrics"].items())],
            )
        )
    evaluations = client.store.registry.evaluations(v.id)
    if evaluations:
        latest = json.loads(evaluations[0].body)
        where = latest.get("dataset") or "in-memory data"
        sections.append(
            (
                "Evaluation",
                f"Latest evaluation, on {where} ({latest['num_rows']:,} rows, {latest['task']}).",
                ["metric", "value"],
                [[k, _num(val)] for k, val in latest["metrics"].items()],
            )
        )
        for column, groups in latest.get("slices", {}).items():
            keys = sorted({k for g in groups.values() for k in g if k != "count"})
            sections.append(
                (
                    f"Evaluation by {column}",
                    "",
                    [column, "rows", *keys],
                    [
                        [g, f"{vals['count']:.0f}", *(_num(vals.get(k, "")) for k in keys)]
                        for g, vals in groups.items()
                    ],
                )
            )
    gates = client.store.registry.gate_results(v.id)
    if gates:
        sections.append(
            (
                "Gate results",
                "Every gate run for this version, oldest first.",
                ["when", "alias", "gate", "result", "measured", "bound"],
                [
                    [
                        _when(g.created_ms),
                        g.alias,
                        g.gate,
                        "passed" if g.passed else "failed",
                        str(g.measured),
                        g.bound or "",
                    ]
                    for g in gates
                ],
            )
        )
    sections.append(
        (
            "Lineage",
            "",
            ["", ""],
            [
                ["run", f"{run.name} ({run.id})"],
                ["source", v.source],
                [
                    "code",
                    f"{run.git_commit or 'not in git'}{' (dirty)' if run.git_dirty else ''}, {run.entry_point}",
                ],
                [
                    "environment",
                    f"Python {manifest.get('python_version')}; {', '.join(manifest.get('requirements', []))}",
                ],
            ],
        )
    )
    return f"Model card: {v.uri}", sections


def _markdown(title: str, sections: list[tuple[str, str, list[str], list[list[str]]]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    out = [f"# {title}", ""]
    for heading, note, header, rows in sections:
        out += [f"## {heading}", ""]
        if note:
            out += [note, ""]
        out.append("| " + " | ".join(cell(h) for h in header) + " |")
        out.append("|" + "---|" * len(header))
        out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def _html(title: str, sections: list[tuple[str, str, list[str], list[list[str]]]]) -> str:
    style = (
        "body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328;max-width:70rem}"
        "table{border-collapse:collapse;margin-bottom:1.5rem}th,td{padding:.3rem .6rem;"
        "border-bottom:1px solid #d1d9e0;text-align:left}th{background:#f6f8fa}"
    )
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{escape(title)}</h1>"
    ]
    for heading, note, header, rows in sections:
        parts.append(f"<h2>{escape(heading)}</h2>")
        if note:
            parts.append(f"<p>{escape(note)}</p>")
        head = "".join(f"<th>{escape(h)}</th>" for h in header) if any(header) else ""
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
        )
        parts.append(
            f"<table>{'<thead><tr>' + head + '</tr></thead>' if head else ''}<tbody>{body}</tbody></table>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def model_card(
    name: str, version: int | str = "latest", *, format: str = "markdown", client: Any = None
) -> str:
    """The model card of a registered version, as Markdown or self-contained HTML."""
    from shipyard.errors import InvalidInput
    from shipyard.tracking import client as default_client

    if format not in ("markdown", "html"):
        raise InvalidInput(f"format must be 'markdown' or 'html'; got {format!r}.")
    title, sections = _sections(name, version, client or default_client())
    return _markdown(title, sections) if format == "markdown" else _html(title, sections)
