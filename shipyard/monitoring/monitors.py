"""Monitors: stored checks on a deployment or a dataset, evaluated on a schedule, with alerts.

A monitor is YAML:

    deployment: churn            # or  dataset: customers (its newest version)
    reference: churn-train       # a dataset, name[@version]: the drift reference
    window: {last: 10000}        # or {minutes: 60}; for deployments
    every: 15m                   # or  cron: "*/15 * * * *"
    checks:
      drift: {drift_share: 0.5, columns: [...], test: psi, tests: {...}, thresholds: {...}}
      prediction_drift: {target: churned}   # predictions against the reference's labels
      label_drift: {target: churned}        # labels that came back, against the same
      performance: {metric: accuracy, min: 0.8}
      estimated_performance: {metric: accuracy, min: 0.8}
      fairness: {sensitive: sex, positive: 1, thresholds: {...}}
      validation: {schema: ...}  # YAML, a path or a mapping; default: the reference's schema
      latency: {p99_ms: 50}
      errors: {url: "http://host:8000/metrics", max_rate: 0.01}   # the server's own counts
    alerts:
      - {check: drift, severity: warning, for: 2, cooldown: 1h}
    channels:
      - {type: webhook, url: "http://...", secret_env: ALERT_SECRET}

Each evaluation stores one result per check (a time series). An alert rule
fires when its check was violated in ``for`` consecutive evaluations, sends
to every channel, reminds after ``cooldown`` while it keeps firing (one alert,
counted, never a duplicate), and resolves, with a last message, when the check
passes again. A check that fails to run is recorded as an error and the other
checks and monitors go on.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidInput, NotFound
from shipyard.store.entities import Alert, AlertDelivery, MonitorRecord, MonitorResult
from shipyard.store.ids import new_id, now_ms
from shipyard.tracking import TrackingClient
from shipyard.tracking import client as default_client

__all__ = [
    "CHECKS",
    "MonitorRun",
    "MonitorSpec",
    "alerts",
    "due_monitors",
    "get_monitor",
    "list_monitors",
    "parse_monitor",
    "report",
    "run_due",
    "run_monitor",
    "save_monitor",
]

CHECKS = (
    "drift",
    "prediction_drift",
    "label_drift",
    "performance",
    "estimated_performance",
    "fairness",
    "validation",
    "latency",
    "errors",
)
SEVERITIES = ("info", "warning", "critical")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, where: str) -> float:
    """Seconds from 90, "90s", "15m", "1h", "1d"."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _DURATION.match(str(value).strip())
    if not match:
        raise InvalidInput(f"{where}: {value!r} is not a duration; write 30s, 15m, 1h or 1d.")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class AlertRule:
    check: str
    severity: str = "warning"
    consecutive: int = 1
    cooldown_seconds: float = 3600.0

    @property
    def name(self) -> str:
        return self.check


@dataclass
class MonitorSpec:
    name: str
    deployment: str | None = None
    dataset: str | None = None
    reference: str | None = None
    window_last: int | None = None
    window_minutes: float | None = None
    every_seconds: float | None = None
    cron: str | None = None
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: list[AlertRule] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)


def parse_monitor(name: str, text: str | Mapping[str, Any]) -> MonitorSpec:
    """Read a monitor's YAML (or mapping); InvalidInput names the key that is wrong."""
    import yaml

    from shipyard.monitoring.channels import check_channel

    if isinstance(text, str):
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"Monitor {name!r}: the YAML does not parse: {exc}") from None
    else:
        raw = dict(text)
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"Monitor {name!r}: expected a mapping of settings.")
    known = {
        "deployment",
        "dataset",
        "reference",
        "window",
        "every",
        "cron",
        "checks",
        "alerts",
        "channels",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidInput(f"Monitor {name!r}: unknown key(s) {unknown}; known: {sorted(known)}.")
    if bool(raw.get("deployment")) == bool(raw.get("dataset")):
        raise InvalidInput(
            f"Monitor {name!r}: watch either a deployment or a dataset (one of them)."
        )
    spec = MonitorSpec(name, raw.get("deployment"), raw.get("dataset"), raw.get("reference"))
    window = raw.get("window") or {"last": 10_000}
    if (
        not isinstance(window, Mapping)
        or len(window) != 1
        or next(iter(window)) not in ("last", "minutes")
    ):
        raise InvalidInput(
            f"Monitor {name!r}: window is {{last: N}} or {{minutes: M}}; got {window!r}."
        )
    if "last" in window:
        spec.window_last = int(window["last"])
        if spec.window_last < 1:
            raise InvalidInput(f"Monitor {name!r}: window.last must be at least 1.")
    else:
        spec.window_minutes = parse_duration(f"{window['minutes']}m", f"{name}.window.minutes") / 60
    if raw.get("every") and raw.get("cron"):
        raise InvalidInput(f"Monitor {name!r}: give every or cron, not both.")
    if raw.get("cron"):
        from croniter import croniter

        if not croniter.is_valid(str(raw["cron"])):
            raise InvalidInput(
                f"Monitor {name!r}: cron {raw['cron']!r} is not a valid cron expression."
            )
        spec.cron = str(raw["cron"])
    else:
        spec.every_seconds = parse_duration(raw.get("every", "15m"), f"{name}.every")
    checks = raw.get("checks") or {}
    if not isinstance(checks, Mapping) or not checks:
        raise InvalidInput(
            f"Monitor {name!r}: checks is a mapping of at least one of {', '.join(CHECKS)}."
        )
    for check, options in checks.items():
        if check not in CHECKS:
            raise InvalidInput(
                f"Monitor {name!r}: checks.{check} is not one of {', '.join(CHECKS)}."
            )
        spec.checks[check] = dict(options or {})
    if "drift" in spec.checks and not spec.reference:
        raise InvalidInput(f"Monitor {name!r}: the drift check needs reference: <dataset>.")
    if "validation" in spec.checks and not (spec.reference or spec.dataset):
        raise InvalidInput(
            f"Monitor {name!r}: the validation check needs a dataset or a reference."
        )
    for check in ("prediction_drift", "label_drift"):
        if check in spec.checks and not (spec.reference and spec.checks[check].get("target")):
            raise InvalidInput(
                f"Monitor {name!r}: checks.{check} needs reference: <dataset> and target: <its label column>."
            )
    if "errors" in spec.checks and not str(spec.checks["errors"].get("url", "")).startswith("http"):
        raise InvalidInput(f"Monitor {name!r}: checks.errors needs url: the server's /metrics URL.")
    if "fairness" in spec.checks and not spec.checks["fairness"].get("sensitive"):
        raise InvalidInput(f"Monitor {name!r}: checks.fairness needs sensitive: <column>.")
    for check in ("performance", "estimated_performance"):
        if check in spec.checks:
            options = spec.checks[check]
            if not {"min", "max", "max_drop"} & set(options):
                raise InvalidInput(
                    f"Monitor {name!r}: checks.{check} needs min:, max: or max_drop: for its metric."
                )
    for i, rule in enumerate(raw.get("alerts") or []):
        where = f"{name}.alerts[{i}]"
        if not isinstance(rule, Mapping) or rule.get("check") not in spec.checks:
            raise InvalidInput(
                f"{where}: check must name one of this monitor's checks ({', '.join(spec.checks)})."
            )
        severity = rule.get("severity", "warning")
        if severity not in SEVERITIES:
            raise InvalidInput(
                f"{where}.severity: {severity!r} is not one of {', '.join(SEVERITIES)}."
            )
        consecutive = int(rule.get("for", 1))
        if consecutive < 1:
            raise InvalidInput(f"{where}.for: at least 1 evaluation.")
        spec.alerts.append(
            AlertRule(
                rule["check"],
                severity,
                consecutive,
                parse_duration(rule.get("cooldown", "1h"), f"{where}.cooldown"),
            )
        )
    spec.channels = [
        check_channel(c, f"{name}.channels[{i}]") for i, c in enumerate(raw.get("channels") or [])
    ]
    return spec


def _client(client: TrackingClient | None) -> TrackingClient:
    return client or default_client()


def save_monitor(
    name: str, spec: str, *, enabled: bool = True, client: TrackingClient | None = None
) -> MonitorRecord:
    """Store (or replace) a monitor, after checking its YAML."""
    client = _client(client)
    parse_monitor(name, spec)
    return client.store.monitors.save_monitor(client.project_id, name, spec, enabled)


def get_monitor(name: str, *, client: TrackingClient | None = None) -> MonitorRecord:
    client = _client(client)
    return client.store.monitors.get_monitor(client.project_id, name)


def list_monitors(*, client: TrackingClient | None = None) -> list[MonitorRecord]:
    client = _client(client)
    return client.store.monitors.list_monitors(client.project_id)


def alerts(
    monitor: str | None = None, *, status: str | None = None, client: TrackingClient | None = None
) -> list[Alert]:
    """Alerts, newest first: the events later automation acts on."""
    client = _client(client)
    monitor_id = get_monitor(monitor, client=client).id if monitor else None
    return client.store.monitors.alerts(monitor_id, status)


@dataclass
class MonitorRun:
    monitor: str
    ts_ms: int
    results: list[MonitorResult]
    fired: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    reports: dict[str, Any] = field(default_factory=dict)  # check -> its full report object

    @property
    def violated(self) -> list[str]:
        return [r.check_name for r in self.results if r.status == "violated"]


# -- evaluating the checks -----------------------------------------------------------------


def _current(spec: MonitorSpec, client: TrackingClient, now: int) -> Any:
    from shipyard import data
    from shipyard.monitoring import window

    if spec.dataset:
        return data.get(spec.dataset, "latest", client=client).to_arrow()
    if spec.window_minutes is not None:
        return window(
            spec.deployment,  # type: ignore[arg-type]
            start_ms=now - int(spec.window_minutes * 60_000),
            home=client.settings.home,
        )
    return window(spec.deployment, last=spec.window_last, home=client.settings.home)  # type: ignore[arg-type]


def _reference(spec: MonitorSpec, client: TrackingClient) -> Any:
    from shipyard import data

    name, _, version = (spec.reference or spec.dataset or "").partition("@")
    return data.get(name, version or "latest", client=client)


def _check(
    check: str, options: dict[str, Any], spec: MonitorSpec, current: Any, client: TrackingClient
) -> tuple[str, float | None, str, str, dict[str, Any], Any]:
    """(metric, value, status, message, details, report) of one check."""
    from shipyard import monitoring

    if check == "drift":
        reference = _reference(spec, client)
        columns = options.get("columns")
        if columns is None and spec.deployment:  # the model's inputs: reference columns the log has
            columns = [c for c in reference.columns if c in current.column_names]
        tests = dict(options.get("tests") or {})
        if options.get("test"):  # one test for every column
            tests = {c: options["test"] for c in (columns or reference.columns)} | tests
        report = monitoring.drift(
            reference,
            current,
            columns=columns,
            tests=tests,
            thresholds=options.get("thresholds"),
            drift_share=float(options.get("drift_share", 0.5)),
        )
        columns = {
            c.column: {
                "test": c.test,
                "statistic": c.statistic,
                "p_value": c.p_value,
                "drifted": c.drifted,
                "error": c.error,
            }
            for c in report.columns
        }
        message = f"{len(report.drifted_columns)} of {len(report.tested)} columns drifted: {', '.join(report.drifted_columns) or 'none'}"
        status = "violated" if report.drifted else "ok"
        return (
            "share_drifted",
            report.share_drifted,
            status,
            message,
            {"columns": columns, "drifted": report.drifted_columns},
            report,
        )
    if check in ("prediction_drift", "label_drift"):
        import pyarrow as pa
        import pyarrow.compute as pc

        column = "prediction" if check == "prediction_drift" else "label"
        target = options["target"]
        if column not in current.column_names:
            return "statistic", None, "no_data", f"the window has no {column} column", {}, None
        values = pc.drop_null(current.column(column))
        if len(values) == 0:
            return "statistic", None, "no_data", f"no {column}s in the window yet", {}, None
        test = options.get("test")
        report = monitoring.drift(
            _reference(spec, client),
            pa.table({target: values}),
            columns=[target],
            tests={target: test} if test else None,
            thresholds={target: options["threshold"]} if "threshold" in options else None,
        )
        result = report.columns[0]
        if result.error:
            raise InvalidInput(f"{check}: {result.error}")
        what = "predictions" if column == "prediction" else "labels"
        message = (
            f"{what} vs reference {target}: {result.test} {result.statistic:.4g} "
            f"(threshold {result.threshold:g}){' DRIFT' if result.drifted else ''}"
        )
        status = "violated" if result.drifted else "ok"
        return (
            "statistic",
            result.statistic,
            status,
            message,
            {"test": result.test, "p_value": result.p_value},
            report,
        )
    if check in ("performance", "estimated_performance"):
        metric = options.get("metric", "accuracy")
        if check == "performance":
            if (
                "label" not in current.column_names
                or current.column("label").null_count == current.num_rows
            ):
                return metric, None, "no_data", "no labels yet", {}, None
            report = monitoring.performance(current)
            window = report.windows[0]
        else:
            window = monitoring.estimate_performance(current)
        if metric not in window.metrics:
            raise InvalidInput(
                f"The model has no metric {metric!r}; it has {sorted(window.metrics)}."
            )
        value = window.metrics[metric]
        low, high = options.get("min"), options.get("max")
        bad = (low is not None and value < low) or (high is not None and value > high)
        bounds = ([f">= {low}"] if low is not None else []) + (
            [f"<= {high}"] if high is not None else []
        )
        baseline = None
        if options.get("max_drop") is not None:  # against the serving version at registration
            baseline = _registered(spec, options, current, metric, client)
            if baseline is not None:
                floor = baseline - float(options["max_drop"])
                bad = bad or value < floor
                bounds.append(f">= {floor:.4f}: registered {baseline:.4f} - {options['max_drop']}")
        kind = "estimated " if check == "estimated_performance" else ""
        must = "; ".join(bounds) or "no registered baseline"
        message = f"{kind}{metric} {value:.4f} (must be {must}) over {window.labelled or window.rows} rows"
        body = {"metrics": window.metrics, "baseline": baseline}
        return metric, value, "violated" if bad else "ok", message, body, window
    if check == "fairness":
        report = monitoring.fairness(
            current,
            options["sensitive"],
            positive=options.get("positive", 1),
            thresholds=options.get("thresholds"),
        )
        value = report.measures.get("demographic_parity_difference")
        message = (
            f"violations: {', '.join(report.violations)}"
            if report.violations
            else "within thresholds"
        )
        return (
            "demographic_parity_difference",
            value,
            "ok" if report.fair else "violated",
            message,
            {"groups": report.groups, "measures": report.measures},
            report,
        )
    if check == "validation":
        from shipyard import data

        schema = options.get("schema")
        if schema is None:  # the schema last declared for the reference (or watched) dataset
            reference = _reference(spec, client)
            schema = client.store.datasets.get_schema(reference.info.dataset_id).body
        report = data.validate(current, schema, save=False)
        failed = [r.check for r in report.errors]
        message = (
            f"{len(failed)} checks failed: {', '.join(failed)}" if failed else "all checks passed"
        )
        return (
            "failed_checks",
            float(len(failed)),
            "violated" if failed else "ok",
            message,
            {"failed": failed},
            report,
        )
    if check == "errors":
        return _error_rate(options)
    # latency
    import numpy as np

    if "latency_ms" not in current.column_names or current.num_rows == 0:
        return "p99_ms", None, "no_data", "no predictions in the window", {}, None
    p99 = float(np.percentile(current.column("latency_ms").to_numpy(), 99))
    limit = float(options.get("p99_ms", 100))
    return (
        "p99_ms",
        p99,
        "violated" if p99 > limit else "ok",
        f"p99 latency {p99:.1f} ms (limit {limit:g})",
        {},
        None,
    )


def _registered(
    spec: MonitorSpec, options: dict[str, Any], current: Any, metric: str, client: TrackingClient
) -> float | None:
    """The metric of the version serving most of the window, as evaluated at registration."""
    import pyarrow.compute as pc

    from shipyard.monitoring.performance import registered_metrics

    if "model_version" not in current.column_names or not spec.deployment:
        return None
    model = options.get("model")
    if model is None:
        try:
            model = client.store.deployments.get(client.project_id, spec.deployment).model_name
        except NotFound:
            model = spec.deployment
    counted = pc.value_counts(pc.drop_null(current.column("model_version")))
    if not len(counted):
        return None
    counts = counted.field("counts").to_pylist()
    version = counted.field("values")[counts.index(max(counts))].as_py()
    if not str(version).isdigit():
        return None
    return registered_metrics(model, int(version), client=client).get(metric)


def _error_rate(options: dict[str, Any]) -> tuple[str, float | None, str, str, dict[str, Any], Any]:
    """The share of requests the server answered with an error since the last evaluation."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(options["url"], timeout=10).text
    total = errors = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "shipyard_requests_total":
                total += sample.value
                if sample.labels.get("status") != "200":
                    errors += sample.value
    previous = options.get("_previous") or {}
    since_total = total - previous.get("total", 0.0)
    since_errors = errors - previous.get("errors", 0.0)
    if since_total < 0:  # the server restarted: its counters began again
        since_total, since_errors = total, errors
    body = {"total": total, "errors": errors, "requests": since_total}
    if since_total <= 0:
        return "error_rate", None, "no_data", "no requests since the last evaluation", body, None
    rate = since_errors / since_total
    limit = float(options.get("max_rate", 0.01))
    message = (
        f"{rate:.2%} of {since_total:,.0f} requests answered with an error (limit {limit:.2%})"
    )
    return "error_rate", rate, "violated" if rate > limit else "ok", message, body, None


def run_monitor(
    name: str, *, client: TrackingClient | None = None, now: int | None = None
) -> MonitorRun:
    """Evaluate a monitor once: store a result per check, then apply its alert rules."""
    client = _client(client)
    record = get_monitor(name, client=client)
    spec = parse_monitor(name, record.spec)
    now = now or now_ms()
    run_id = new_id()
    run = MonitorRun(name, now, [])

    def result(
        check: str,
        metric: str,
        value: float | None,
        status: str,
        message: str,
        body: dict[str, Any],
    ) -> None:
        run.results.append(
            MonitorResult(
                new_id(), record.id, run_id, check, metric, value, status, message, body, now
            )
        )

    try:
        current = _current(spec, client, now)
        rows = current.num_rows
    except Exception as exc:  # the window itself could not be read: every check says why
        for check in spec.checks:
            result(check, "", None, "error", f"reading the current data failed: {exc}", {})
        current, rows = None, 0
    if current is not None:
        for check, options in spec.checks.items():
            if rows == 0 and check != "errors":  # the server's counts need no window
                result(check, "", None, "no_data", "no rows in the window", {})
                continue
            if check == "errors":  # counters since the last look
                previous = client.store.monitors.results(record.id, "errors", last=1)
                options = {**options, "_previous": previous[0].body if previous else None}
            try:
                metric, value, status, message, body, report = _check(
                    check, options, spec, current, client
                )
            except Exception as exc:  # one broken check does not stop the others
                result(
                    check,
                    "",
                    None,
                    "error",
                    f"{type(exc).__name__}: {exc}",
                    {"traceback": traceback.format_exc(limit=5)},
                )
                continue
            body["rows"] = rows
            result(check, metric, value, status, message, body)
            run.reports[check] = report
    client.store.monitors.add_results(run.results)
    _apply_rules(spec, record, run, client)
    return run


def _apply_rules(
    spec: MonitorSpec, record: MonitorRecord, run: MonitorRun, client: TrackingClient
) -> None:
    store = client.store.monitors
    latest = {r.check_name: r for r in run.results}
    for rule in spec.alerts:
        recent = store.results(record.id, rule.check, last=rule.consecutive)
        condition = len(recent) == rule.consecutive and all(r.status == "violated" for r in recent)
        alert = store.firing_alert(record.id, rule.name)
        now = run.ts_ms
        current = latest.get(rule.check)
        message = f"{spec.name}: {rule.check} {current.message if current else ''}".strip()
        if condition and alert is None:
            alert = Alert(
                new_id(), record.id, rule.name, rule.severity, "firing", message, now, now
            )
            store.save_alert(alert)
            _notify(spec, alert, "firing", current, client)
            run.fired.append(alert)
        elif condition and alert is not None:
            alert.count += 1
            alert.last_ms = now
            alert.message = message
            if (
                alert.notified_ms is None
                or (now - alert.notified_ms) / 1000 >= rule.cooldown_seconds
            ):
                _notify(spec, alert, "reminder", current, client)
            store.save_alert(alert)
        elif alert is not None and current is not None and current.status == "ok":
            alert.status = "resolved"
            alert.resolved_ms = now
            alert.last_ms = now
            store.save_alert(alert)
            _notify(spec, alert, "resolved", current, client)
            run.resolved.append(alert)


def _notify(
    spec: MonitorSpec,
    alert: Alert,
    event: str,
    result: MonitorResult | None,
    client: TrackingClient,
) -> None:
    from shipyard.monitoring.channels import channel_name, deliver

    verb = {"firing": "FIRING", "reminder": "STILL FIRING", "resolved": "RESOLVED"}[event]
    text = f"[{alert.severity}] {verb}: {alert.message}"
    payload = {
        "event": event,
        "alert_id": alert.id,
        "monitor": spec.name,
        "target": spec.deployment or spec.dataset,
        "rule": alert.rule,
        "severity": alert.severity,
        "status": alert.status,
        "message": alert.message,
        "text": text,
        "subject": f"[Shipyard] {verb} {spec.name}: {alert.rule}",
        "started_ms": alert.started_ms,
        "count": alert.count,
        "value": result.value if result else None,
        "details": result.body if result else {},
    }
    for channel in spec.channels:
        outcome = deliver(channel, payload)
        client.store.monitors.add_delivery(
            AlertDelivery(
                new_id(),
                alert.id,
                channel_name(channel),
                event,
                outcome.delivered,
                outcome.attempts,
                outcome.detail,
                now_ms(),
            )
        )
    alert.notified_ms = now_ms()
    client.store.monitors.save_alert(alert)


def report(name: str, output: str | None = None, *, client: TrackingClient | None = None) -> str:
    """A self-contained HTML report of a monitor; written to ``output`` when given.

    It shows the latest result of each check, the drift tests with each
    column's reference and current distributions (binned: the page stays small
    at any size), and every check's values over time.
    """
    from pathlib import Path

    from shipyard.monitoring import drift
    from shipyard.monitoring.report import render_monitor_report

    client = _client(client)
    record = get_monitor(name, client=client)
    spec = parse_monitor(name, record.spec)
    results = client.store.monitors.results(record.id)
    drift_report = profile = current = None
    if "drift" in spec.checks:
        try:
            current = _current(spec, client, now_ms())
            reference = _reference(spec, client)
            profile = reference.profile()
            options = spec.checks["drift"]
            if current.num_rows:
                drift_report = drift(
                    profile,
                    current,
                    columns=options.get("columns"),
                    tests=options.get("tests"),
                    thresholds=options.get("thresholds"),
                    drift_share=float(options.get("drift_share", 0.5)),
                )
        except (InvalidInput, NotFound):
            drift_report = None  # the page still shows the stored results
    html = render_monitor_report(name, spec, results, drift_report, profile, current)
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(html)
    return html


# -- schedules -------------------------------------------------------------------------------


def _next_due(spec: MonitorSpec, last_ms: int | None) -> int:
    if last_ms is None:
        return 0
    if spec.cron:
        from datetime import UTC, datetime

        from croniter import croniter

        after = datetime.fromtimestamp(last_ms / 1000, tz=UTC)
        return int(croniter(spec.cron, after).get_next(datetime).timestamp() * 1000)
    return last_ms + int((spec.every_seconds or 900) * 1000)


def due_monitors(*, client: TrackingClient | None = None, now: int | None = None) -> list[str]:
    """Names of the enabled monitors whose next evaluation is due."""
    client = _client(client)
    now = now or now_ms()
    due = []
    for record in list_monitors(client=client):
        if not record.enabled:
            continue
        try:
            spec = parse_monitor(record.name, record.spec)
        except InvalidInput:
            continue
        last = client.store.monitors.results(record.id, last=1)
        if _next_due(spec, last[0].ts_ms if last else None) <= now:
            due.append(record.name)
    return due


def run_due(
    *, client: TrackingClient | None = None, now: int | None = None
) -> tuple[list[MonitorRun], dict[str, str]]:
    """Evaluate every due monitor once; a monitor that fails is reported and the rest go on."""
    client = _client(client)
    runs, failures = [], {}
    for name in due_monitors(client=client, now=now):
        try:
            runs.append(run_monitor(name, client=client, now=now))
        except (InvalidInput, NotFound) as exc:
            failures[name] = exc.message
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    return runs, failures
