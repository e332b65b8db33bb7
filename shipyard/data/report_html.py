"""Self-contained HTML pages for validation reports (no scripts, no outside links)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.data.validation import ValidationReport

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328}
h1{font-size:1.4rem;margin:0 0 .3rem} .meta{color:#59636e;margin-bottom:1.2rem}
.verdict{display:inline-block;padding:.15rem .6rem;border-radius:1rem;font-weight:600}
.pass{background:#dafbe1;color:#116329} .fail{background:#ffebe9;color:#a40e26}
.warn{background:#fff8c5;color:#7d4e00}
table{border-collapse:collapse;width:100%} th,td{padding:.4rem .6rem;border-bottom:1px solid #d1d9e0;
text-align:left;vertical-align:top} th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px;background:#f6f8fa;padding:.05rem .3rem;border-radius:.3rem}
"""


def render_validation(report: ValidationReport) -> str:
    when = datetime.fromtimestamp(report.created_ms / 1000, tz=UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )
    verdict = "pass" if report.passed else "fail"
    rows = []
    for r in report.results:
        status = "pass" if r.passed else ("warn" if r.severity == "warning" else "fail")
        label = "passed" if r.passed else ("warning" if r.severity == "warning" else "failed")
        samples = "".join(
            f"<div>row {escape(str(s.get('row')))}: <code>{escape(json.dumps(s.get('value'), default=str))}</code></div>"
            for s in r.samples
        )
        rows.append(
            f"<tr><td>{escape(r.check)}</td><td>{escape(r.severity)}</td>"
            f"<td><span class='verdict {status}'>{label}</span></td>"
            f"<td class='num'>{r.failed_count:,}</td><td class='num'>{r.failed_share:.2%}</td>"
            f"<td>{escape(r.message)}{samples}</td></tr>"
        )
    title = f"Validation of {report.dataset}" if report.dataset else "Validation report"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)} <span class='verdict {verdict}'>{'PASSED' if report.passed else 'FAILED'}</span></h1>"
        f"<div class='meta'>{report.num_rows:,} rows · {len(report.results)} checks · "
        f"{len(report.errors)} error(s) · {len(report.warnings)} warning(s) · {escape(when)} · "
        f"Shipyard {escape(report.shipyard_version)}</div>"
        "<table><thead><tr><th>check</th><th>severity</th><th>result</th><th>failing rows</th>"
        "<th>share</th><th>details and sample failing rows</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>"
    )
