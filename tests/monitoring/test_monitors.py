"""Monitors end to end: stored specs, results as time series, alerts with real receivers."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.errors import InvalidInput
from shipyard.monitoring import channels
from shipyard.serving.predlog import PredictionLogger


class Receiver:
    """A webhook receiver on 127.0.0.1 that fails its first ``failures`` requests with 503."""

    def __init__(self, failures: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                failing = len(receiver.requests) <= receiver.failures
                self.send_response(503 if failing else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver(failures=1)
    yield r
    r.close()


def _frame(n: int, seed: int, drifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(45 if drifted else 40, 10, n),
            "income": rng.gamma(2.0, 3.0, n),
            "plan": rng.choice(
                ["a", "b", "c"], n, p=[0.2, 0.3, 0.5] if drifted else [0.5, 0.3, 0.2]
            ),
        }
    )


def _serve(home: Path, frame: pd.DataFrame) -> list[str]:
    """Predictions as a server logs them (a stand-in model: plan == 'a')."""
    logger = PredictionLogger(home / "predictions" / "churn" / "requests", "churn")
    ids = []
    for i, row in enumerate(frame.itertuples(index=False)):
        request_id = f"{len(ids)}-{i}-{row.plan}-{np.random.default_rng(i).integers(1 << 30)}"
        ids.append(request_id)
        logger.log(
            request_id,
            "1",
            ["age", "income", "plan"],
            [[row.age, row.income, row.plan]],
            np.array([int(row.plan == "a")]),
            np.array([[0.3, 0.7] if row.plan == "a" else [0.8, 0.2]]),
            2.0,
        )
    logger.close()
    return ids


SPEC = """
deployment: churn
reference: churn-train
window: {{last: 2000}}
every: 15m
checks:
  drift: {{drift_share: 0.3}}
  latency: {{p99_ms: 50}}
alerts:
  - {{check: drift, severity: critical, for: 1, cooldown: 1h}}
channels:
  - {{type: webhook, url: "{url}", secret_env: SHIPYARD_TEST_ALERT_SECRET, backoff_seconds: 0.01}}
  - {{type: log}}
"""


def test_drift_fires_an_alert_to_a_signed_webhook_and_resolves(
    sy_home: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_TEST_ALERT_SECRET", "s3cret")
    sy.data.log_dataset("churn-train", _frame(5000, 1, False))
    sy.monitoring.save_monitor("churn-inputs", SPEC.format(url=receiver.url))
    _serve(sy_home, _frame(2000, 2, True))
    run = sy.monitoring.run_monitor("churn-inputs", now=10_000_000)
    assert run.violated == ["drift"]
    assert set(run.reports["drift"].drifted_columns) == {"age", "plan"}
    assert [a.rule for a in run.fired] == ["drift"]
    # the webhook: the first attempt got a 503, the retry got through, signed
    assert len(receiver.requests) == 2
    headers, body = receiver.requests[-1]
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Shipyard-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert (payload["event"], payload["severity"], payload["monitor"]) == (
        "firing",
        "critical",
        "churn-inputs",
    )
    assert sorted(payload["details"]["drifted"]) == ["age", "plan"]
    client = sy.tracking.client()
    deliveries = client.store.monitors.deliveries(run.fired[0].id)
    assert [(d.channel.split(":")[0], d.delivered, d.attempts) for d in deliveries] == [
        ("webhook", True, 2),
        ("log", True, 1),
    ]
    # still drifted: the same alert, counted, no new notification inside the cooldown
    again = sy.monitoring.run_monitor("churn-inputs", now=10_060_000)
    assert again.fired == []
    assert sy.monitoring.alerts(status="firing")[0].count == 2
    assert len(receiver.requests) == 2
    # the drift clears: the alert resolves and says so
    _serve(sy_home, _frame(2000, 3, False))
    cleared = sy.monitoring.run_monitor("churn-inputs", now=10_120_000)
    assert [a.rule for a in cleared.resolved] == ["drift"]
    assert json.loads(receiver.requests[-1][1])["event"] == "resolved"
    assert sy.monitoring.alerts(status="firing") == []
    # every result is a point of a time series
    record = sy.monitoring.get_monitor("churn-inputs")
    series = client.store.monitors.results(record.id, "drift")
    assert [r.status for r in series] == ["violated", "violated", "ok"]
    assert series[0].value == pytest.approx(2 / 3)


def test_email_alerts_reach_a_real_smtp_server(sqlite_home: Path) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            received.append(message)

    from tests.serving.helpers import free_port

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()  # returns once the server answers
    try:
        outcome = channels.deliver(
            {
                "type": "email",
                "host": "127.0.0.1",
                "port": port,
                "sender": "shipyard@example.org",
                "to": ["ops@example.org"],
            },
            {
                "text": "[critical] FIRING: churn drift",
                "subject": "[Shipyard] FIRING churn: drift",
                "event": "firing",
            },
        )
    finally:
        controller.stop()
    assert outcome.delivered
    assert len(received) == 1
    assert received[0]["Subject"] == "[Shipyard] FIRING churn: drift"
    assert received[0]["To"] == "ops@example.org"
    assert "churn drift" in received[0].get_payload()


def test_a_webhook_that_keeps_failing_is_recorded_as_undelivered() -> None:
    dead = Receiver(failures=99)
    try:
        outcome = channels.deliver(
            {"type": "webhook", "url": dead.url, "retries": 2, "backoff_seconds": 0.01},
            {"text": "x", "event": "firing"},
        )
    finally:
        dead.close()
    assert (outcome.delivered, outcome.attempts, outcome.detail) == (False, 3, "HTTP 503")
    slack = Receiver()
    try:
        assert channels.deliver({"type": "slack", "url": slack.url}, {"text": "hello"}).delivered
    finally:
        slack.close()
    assert json.loads(slack.requests[0][1]) == {"text": "hello"}


def test_bad_specs_are_refused_with_the_key_that_is_wrong(sqlite_home: Path) -> None:
    cases = {
        "checks: {drift: {}}\nreference: x": "either a deployment or a dataset",
        "deployment: churn\nchecks: {magic: {}}": "checks.magic is not one of",
        "deployment: churn\nchecks: {drift: {}}": "needs reference",
        "deployment: churn\nchecks: {latency: {}}\nevery: soon": "'soon' is not a duration",
        "deployment: churn\nchecks: {latency: {}}\ncron: 'every day'": "not a valid cron",
        "deployment: churn\nchecks: {latency: {}}\nalerts: [{check: drift}]": "alerts[0]: check must name",
        "deployment: churn\nchecks: {latency: {}}\nchannels: [{type: webhook, url: ftp://x}]": "is not an http(s) URL",
        "deployment: churn\nchecks: {performance: {metric: accuracy}}": "needs min:, max: or max_drop:",
    }
    for text, words in cases.items():
        with pytest.raises(InvalidInput, match=re.escape(words)):
            sy.monitoring.save_monitor("bad", text)
    assert sy.monitoring.list_monitors() == []  # nothing half-stored


def test_a_broken_check_or_monitor_does_not_stop_the_others(sqlite_home: Path) -> None:
    sy.data.log_dataset("ref", _frame(500, 1, False))
    _serve(sqlite_home, _frame(300, 2, False))
    sy.monitoring.save_monitor(
        "mixed",
        "deployment: churn\nreference: ref\nchecks:\n  drift: {}\n  fairness: {sensitive: nowhere}\n",
    )
    sy.monitoring.save_monitor(
        "ghost", "deployment: nobody\nreference: ref\nchecks: {drift: {}}\nevery: 1m\n"
    )
    runs, failures = sy.monitoring.run_due(now=5_000_000)
    assert failures == {}
    by_name = {r.monitor: r for r in runs}
    statuses = {r.check_name: r.status for r in by_name["mixed"].results}
    assert statuses == {"drift": "ok", "fairness": "error"}
    assert "no sensitive column 'nowhere'" in next(
        r.message for r in by_name["mixed"].results if r.check_name == "fairness"
    )
    assert [r.status for r in by_name["ghost"].results] == ["no_data"]
    # evaluated now: neither is due again within its schedule
    assert sy.monitoring.run_due(now=5_030_000) == ([], {})
    assert [r.monitor for r in sy.monitoring.run_due(now=5_061_000)[0]] == ["ghost"]


def test_the_monitor_command(
    sqlite_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipyard.cli import main

    def cli(*args: str) -> int:
        with pytest.raises(SystemExit) as code:
            main(["--home", str(sqlite_home), "monitor", *args])
        return int(code.value.code or 0)

    sy.data.log_dataset("churn-train", _frame(3000, 1, False))
    _serve(sqlite_home, _frame(1000, 2, True))
    spec = tmp_path / "monitor.yaml"
    spec.write_text(
        "deployment: churn\nreference: churn-train\nchecks: {drift: {drift_share: 0.3}}\n"
        "alerts: [{check: drift, severity: warning}]\nchannels: [{type: log}]\n"
    )
    assert cli("add", "inputs", "-f", str(spec)) == 0
    assert cli("run") == 0
    out = capsys.readouterr().out
    assert "violated" in out
    assert "alert fired" in out
    assert cli("run") == 0
    assert "No monitor is due" in capsys.readouterr().out
    assert cli("alerts", "--status", "firing") == 0
    assert "warning" in capsys.readouterr().out
    assert cli("list") == 0
    assert "inputs" in capsys.readouterr().out
    assert cli("watch", "--once") == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("deployment: churn\nchecks: {drift: {}}\n")
    assert cli("add", "broken", "-f", str(bad)) != 0
    assert "needs reference" in capsys.readouterr().err


def test_the_html_report_is_small_and_shows_every_column(sqlite_home: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    wide = pd.DataFrame({f"x{i}": rng.normal(0, 1, 20_000) for i in range(17)})
    wide["plan"] = rng.choice(["a", "b", "c"], 20_000)
    wide["age"] = rng.normal(40, 10, 20_000)
    wide["income"] = rng.gamma(2.0, 3.0, 20_000)
    sy.data.log_dataset("wide", wide)
    logger = PredictionLogger(sqlite_home / "predictions" / "wide" / "requests", "wide")
    current = wide.sample(frac=1.0, random_state=1)
    current["age"] += 5.0
    values = current.to_numpy(dtype=object)
    for start in range(0, len(values), 500):  # 20,000 rows, 500 per request
        chunk = values[start : start + 500]
        logger.log(
            f"r{start}", "1", list(current.columns), chunk.tolist(), np.zeros(len(chunk)), None, 1.0
        )
    logger.close()
    sy.monitoring.save_monitor(
        "wide", "deployment: wide\nreference: wide\nwindow: {last: 20000}\nchecks: {drift: {}}\n"
    )
    for t in range(3):
        sy.monitoring.run_monitor("wide", now=1_000_000 + t * 60_000)
    html = sy.monitoring.report("wide", str(tmp_path / "report.html"))
    assert (tmp_path / "report.html").read_text() == html
    assert len(html.encode()) < 1_000_000
    assert html.count("<div class='card'><h3>") == 20 + 1  # 20 distributions, 1 time series
    assert "<td>age</td><td>wasserstein</td>" in html
    assert "<script" not in html


def test_the_error_rate_comes_from_the_servers_metrics_since_the_last_look(
    sqlite_home: Path,
) -> None:
    from prometheus_client import CollectorRegistry, Counter, generate_latest

    registry = CollectorRegistry()  # the model server's counter, exposed the way it does
    requests = Counter("shipyard_requests", "Prediction requests", ["status"], registry=registry)
    requests.labels("200").inc(90)
    requests.labels("422").inc(10)

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        sy.monitoring.save_monitor(
            "errors", f"deployment: churn\nchecks: {{errors: {{url: '{url}', max_rate: 0.05}}}}\n"
        )
        first = sy.monitoring.run_monitor("errors", now=1_000_000).results[0]
        assert (first.status, first.value) == ("violated", pytest.approx(0.10)), (
            first.message
        )  # 10 of 100
        requests.labels("200").inc(200)  # 200 good requests since, 2 bad ones
        requests.labels("422").inc(2)
        second = sy.monitoring.run_monitor("errors", now=1_060_000).results[0]
        assert second.status == "ok"
        assert second.value == pytest.approx(2 / 202)
        third = sy.monitoring.run_monitor("errors", now=1_120_000).results[0]
        assert third.status == "no_data"  # nothing happened since
    finally:
        server.shutdown()
        server.server_close()
