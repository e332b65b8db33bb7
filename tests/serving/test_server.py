"""The model server as a client sees it: a real server process on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard as sy
from tests.serving.helpers import free_port, start_server, stop_server


@pytest.fixture(scope="module")
def tumours():  # type: ignore[no-untyped-def]
    return load_breast_cancer(as_frame=True).data, load_breast_cancer(as_frame=True).target


@pytest.fixture
def served(sqlite_home: Path, tumours) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:  # type: ignore[no-untyped-def]
    X, y = tumours
    with sy.start_run("serve"):
        info = sy.models.log(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y),
            input_example=X.head(),
        )
    sy.registry.register(info, "tumours")
    sy.registry.set_alias("tumours", "champion", 1)
    proc, url = start_server(sqlite_home, "models:/tumours@champion")
    yield url, sqlite_home, proc
    if proc.poll() is None:
        stop_server(proc)


def test_predictions_in_every_body_form(served, tumours) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = served
    X, _ = tumours
    records = httpx.post(f"{url}/predict", content=X.head(3).to_json(orient="records"))
    assert records.status_code == 200
    body = records.json()
    assert body["model_version"] == "1"
    assert len(body["predictions"]) == 3
    assert len(body["probabilities"][0]) == 2
    assert len(body["request_id"]) == 32
    columns = httpx.post(
        f"{url}/v1/models/tumours/predict",
        json={
            "columns": list(X.columns)[::-1],
            "data": X.head(2)[list(X.columns)[::-1]].values.tolist(),
        },
    )
    assert columns.json()["predictions"] == body["predictions"][:2]
    rows = httpx.post(f"{url}/predict", json={"data": X.head(2).values.tolist()})
    assert rows.json()["predictions"] == body["predictions"][:2]
    short = httpx.post(f"{url}/predict", json={"data": [X.iloc[0].tolist()[:29]]})
    assert short.status_code == 422
    assert "29 values for 30 columns" in short.json()["detail"]
    single = httpx.post(f"{url}/predict", json=X.head(1).to_dict("records")[0])
    assert single.json()["predictions"] == body["predictions"][:1]
    assert httpx.get(f"{url}/livez").json() == {"status": "alive"}
    assert (
        "mean radius"
        in httpx.get(f"{url}/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"][
            "content"
        ]["application/json"]["schema"]["oneOf"][1]["properties"]
    )


def test_bad_requests_get_problem_json(served, tumours) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = served
    X, _ = tumours
    cases = [
        (b"{not json", 400, "not valid JSON"),
        (b'{"mean radius": 1}', 422, "missing column(s)"),
        (
            X.head(1).assign(extra=1).to_json(orient="records").encode(),
            422,
            "unexpected column(s) ['extra']",
        ),
        (
            X.head(1).assign(**{"mean area": "large"}).to_json(orient="records").encode(),
            422,
            "'mean area' must be double; row 0 has 'large'",
        ),
        (b"[]", 400, "Send a list of records"),
    ]
    for body, status, words in cases:
        response = httpx.post(f"{url}/predict", content=body)
        assert response.status_code == status, body
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"]
        assert response.json()["request_id"]
    assert httpx.post(f"{url}/predict", content=b"x" * (11 << 20)).status_code == 413
    assert httpx.get(f"{url}/predict").status_code == 405
    assert httpx.get(f"{url}/nope").status_code == 404
    metrics = httpx.get(f"{url}/metrics").text
    assert 'shipyard_requests_total{status="422"} 3.0' in metrics
    assert 'shipyard_errors_total{kind="too_large"} 1.0' in metrics
    assert (
        'shipyard_model_info{flavor="sklearn",runtime="onnx",variant="primary",version="1"} 1.0'
        in metrics
    )


def test_concurrent_requests_are_batched_and_all_logged(served, tumours) -> None:  # type: ignore[no-untyped-def]
    url, home, proc = served
    X, _ = tumours
    bodies = [X.iloc[[i]].to_json(orient="records") for i in range(200)]
    with httpx.Client(base_url=url) as client, ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda b: client.post("/predict", content=b), bodies))
    assert all(r.status_code == 200 for r in responses)
    ids = {r.json()["request_id"] for r in responses}
    metrics = httpx.get(f"{url}/metrics").text
    calls = float(
        next(
            line.split()[-1]
            for line in metrics.splitlines()
            if line.startswith("shipyard_batch_rows_count")
        )
    )
    assert calls < 200 + 1  # batches formed (at most one model call per request, plus the warm-up)
    feedback = httpx.post(
        f"{url}/feedback", json=[{"request_id": rid, "label": 1} for rid in list(ids)[:5]]
    )
    assert feedback.json() == {"labels": 5}
    stop_server(proc)  # a graceful stop writes the log out
    assert proc.returncode in (
        0,
        -signal.SIGTERM,
    )  # uvicorn re-raises the signal after shutting down
    log = sy.serving.read_predictions("tumours", home=home)
    assert set(log["request_id"].to_pylist()) == ids  # every valid request is logged, nothing else
    assert len(sy.serving.read_labels("tumours", home=home)) == 5


def test_a_model_that_raises_answers_500_and_the_server_keeps_serving(sqlite_home: Path) -> None:
    from tests.serving.flaky_model import PoisonAware

    with sy.start_run("serve"):
        info = sy.models.log(PoisonAware(), input_example=pd.DataFrame({"x": [1.0, 2.0]}))
    proc, url = start_server(sqlite_home, info.uri, "--allow-pickle", "--no-log")
    try:
        bad = httpx.post(f"{url}/predict", json={"x": 666})
        assert bad.status_code == 500
        assert "poison value 666" in bad.json()["detail"]
        assert bad.json()["request_id"]
        # a poison request in the same batch as good ones fails alone
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda v: httpx.post(f"{url}/predict", json={"x": v}),
                    [1.0, 666, 3.0, 4.0, 666, 6.0],
                )
            )
        assert [a.status_code for a in answers] == [200, 500, 200, 200, 500, 200]
        assert answers[0].json()["predictions"] == [2.0]
        assert 'shipyard_errors_total{kind="model"} 3.0' in httpx.get(f"{url}/metrics").text
    finally:
        stop_server(proc)


def test_a_model_that_cannot_load_fails_tostart_server(sqlite_home: Path) -> None:
    env = {**os.environ, "SHIPYARD_HOME": str(sqlite_home)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipyard",
            "serve",
            "models:/ghost@champion",
            "--port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ghost" in done.stderr


def test_granian_workers_share_metrics_and_runtimes_agree(served, tumours) -> None:  # type: ignore[no-untyped-def]
    url, home, _ = served
    X, _ = tumours
    body = {"data": X.head(20).values.tolist()}
    onnx_answer = httpx.post(f"{url}/predict", json=body).json()
    assert httpx.get(f"{url}/readyz").json()["runtime"] == "onnx"
    proc, other = start_server(
        home,
        "models:/tumours@champion",
        "--server",
        "granian",
        "--workers",
        "2",
        "--runtime",
        "native",
        "--no-log",
    )
    try:
        assert httpx.get(f"{other}/readyz").json()["runtime"] == "native"
        with httpx.Client(base_url=other) as http:
            answers = [http.post("/predict", json=body).json() for _ in range(40)]
            # a new connection per scrape lands on either worker: each must show both workers' counts
            scrapes = [httpx.get(f"{other}/metrics").text for _ in range(4)]
        native_answer = answers[0]
        assert native_answer["predictions"] == onnx_answer["predictions"]
        assert (
            max(
                abs(a - b)
                for row_a, row_b in zip(
                    native_answer["probabilities"], onnx_answer["probabilities"], strict=True
                )
                for a, b in zip(row_a, row_b, strict=True)
            )
            < 1e-4
        )
        for text in scrapes:
            assert 'shipyard_requests_total{status="200"} 40.0' in text
    finally:
        stop_server(proc)
