"""Self-contained HTML reports of a monitor: no scripts, no outside links, small at any size.

Distributions are drawn from binned data (the reference profile's bins and the
current window counted into the same bins; the top categories), never from
raw points, so the page stays a few hundred kilobytes however many rows the
window holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

import numpy as np

from shipyard.data.report_html import _STYLE

__all__ = ["render_monitor_report"]

_EXTRA_STYLE = """
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:1rem;margin:1rem 0}
.card{border:1px solid #d1d9e0;border-radius:.5rem;padding:.6rem}
.card h3{font-size:.95rem;margin:0 0 .3rem} .legend{font-size:12px;color:#59636e}
.ref{fill:#8c959f} .cur{fill:#0969da} .line{fill:none;stroke:#0969da;stroke-width:2}
"""

_STATUS = {"ok": "pass", "violated": "fail", "no_data": "warn", "error": "warn"}


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _bars(reference: list[float], current: list[float], labels: list[str]) -> str:
    """Two bar series (shares) side by side, as inline SVG."""
    width, height = 320, 120
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref = ref / ref.sum() if ref.sum() else ref
    cur = cur / cur.sum() if cur.sum() else cur
    top = max(float(ref.max(initial=0)), float(cur.max(initial=0)), 1e-9)
    step = width / max(len(ref), 1)
    bars = []
    for i, (a, b) in enumerate(zip(ref, cur, strict=True)):
        x = i * step
        for offset, value, css in ((0.0, a, "ref"), (step / 2, b, "cur")):
            h = value / top * (height - 4)
            bars.append(
                f"<rect class='{css}' x='{x + offset:.1f}' y='{height - h:.1f}' "
                f"width='{max(step / 2 - 1, 0.5):.1f}' height='{h:.1f}'><title>{escape(labels[i])}: "
                f"{value:.3f}</title></rect>"
            )
    return f"<svg width='{width}' height='{height}' role='img'>{''.join(bars)}</svg>"


def _line(points: list[tuple[int, float]]) -> str:
    width, height = 320, 90
    if not points:
        return "<p class='legend'>no values yet</p>"
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    span_x = xs.max() - xs.min() or 1.0
    low, high = float(ys.min()), float(ys.max())
    span_y = high - low or 1.0
    coords = " ".join(
        f"{(x - xs.min()) / span_x * (width - 10) + 5:.1f},{height - 5 - (y - low) / span_y * (height - 10):.1f}"
        for x, y in zip(xs, ys, strict=True)
    )
    return (
        f"<svg width='{width}' height='{height}' role='img'><polyline class='line' points='{coords}'/></svg>"
        f"<div class='legend'>{low:.4g} .. {high:.4g} over {len(points)} evaluations</div>"
    )


def _distribution(profile: Any, column: Any) -> tuple[list[float], list[float], list[str]] | None:
    """Reference and current counts in the reference's bins (or top categories)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column is None or profile is None:
        return None
    if profile.kind == "numeric" and profile.histogram:
        edges = np.asarray(profile.histogram["edges"], dtype=float)
        values = pc.drop_null(column)
        if pa.types.is_dictionary(values.type) or not (
            pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
        ):
            return None
        from shipyard.monitoring.drift import _numbers

        numbers = np.clip(_numbers(column), edges[0], edges[-1])
        current, _ = np.histogram(numbers, bins=edges)
        labels = [f"{edges[i]:.3g}..{edges[i + 1]:.3g}" for i in range(len(edges) - 1)]
        return list(profile.histogram["counts"]), current.tolist(), labels
    if profile.kind == "categorical":
        top = profile.top_values[:20]
        counted = pc.value_counts(pc.drop_null(column))
        current = dict(
            zip(
                counted.field("values").to_pylist(),
                counted.field("counts").to_pylist(),
                strict=True,
            )
        )
        labels = [str(v) for v, _ in top]
        return [n for _, n in top], [current.get(v, 0) for v, _ in top], labels
    return None


def render_monitor_report(
    name: str,
    spec: Any,
    results: list[Any],
    drift: Any = None,
    profile: Any = None,
    current: Any = None,
) -> str:
    """The page: latest status per check, the drift tests with distributions, the time series."""
    latest_ts = max((r.ts_ms for r in results), default=None)
    latest = [r for r in results if r.ts_ms == latest_ts]
    rows = "".join(
        f"<tr><td>{escape(r.check_name)}</td><td>{escape(r.metric)}</td>"
        f"<td class='num'>{'-' if r.value is None else f'{r.value:.4g}'}</td>"
        f"<td><span class='verdict {_STATUS[r.status]}'>{escape(r.status)}</span></td>"
        f"<td>{escape(r.message)}</td></tr>"
        for r in latest
    )
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(name)}: monitor report</title>",
        f"<style>{_STYLE}{_EXTRA_STYLE}</style></head><body>",
        f"<h1>Monitor {escape(name)}</h1>",
        f"<div class='meta'>watches {escape('deployment ' + spec.deployment if spec.deployment else 'dataset ' + str(spec.dataset))}"
        f"{' against ' + escape(spec.reference) if spec.reference else ''}; "
        f"{'latest evaluation ' + _when(latest_ts) if latest_ts else 'not evaluated yet'}</div>",
        "<h2>Checks</h2><table><tr><th>check</th><th>metric</th><th>value</th><th>status</th><th>detail</th></tr>",
        rows or "<tr><td colspan='5'>no results yet: shipyard monitor run</td></tr>",
        "</table>",
    ]
    if drift is not None:
        parts.append(
            "<h2>Drift</h2><table><tr><th>column</th><th>test</th><th>statistic</th>"
            "<th>p-value</th><th>threshold</th><th>verdict</th></tr>"
        )
        for c in drift.columns:
            if c.error:
                verdict = f"<span class='verdict warn'>no verdict</span> {escape(c.error)}"
            else:
                verdict = f"<span class='verdict {'fail' if c.drifted else 'pass'}'>{'drift' if c.drifted else 'ok'}</span>"
            parts.append(
                f"<tr><td>{escape(c.column)}</td><td>{escape(c.test)}</td>"
                f"<td class='num'>{'-' if c.statistic is None else f'{c.statistic:.4g}'}</td>"
                f"<td class='num'>{'-' if c.p_value is None else f'{c.p_value:.3g}'}</td>"
                f"<td class='num'>{c.threshold:g}</td><td>{verdict}</td></tr>"
            )
        parts.append(
            "</table><div class='legend'>grey: reference, blue: current (shares)</div><div class='grid'>"
        )
        for c in drift.columns:
            column_profile = profile.columns.get(c.column) if profile is not None else None
            column = (
                current.column(c.column)
                if current is not None and c.column in current.column_names
                else None
            )
            shown = _distribution(column_profile, column)
            if shown is None:
                continue
            parts.append(f"<div class='card'><h3>{escape(c.column)}</h3>{_bars(*shown)}</div>")
        parts.append("</div>")
    parts.append("<h2>Over time</h2><div class='grid'>")
    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for r in results:
        if r.value is not None:
            series.setdefault((r.check_name, r.metric), []).append((r.ts_ms, r.value))
    for (check, metric), points in series.items():
        parts.append(
            f"<div class='card'><h3>{escape(check)}: {escape(metric)}</h3>{_line(points[-500:])}</div>"
        )
    parts.append("</div></body></html>")
    return "".join(parts)
