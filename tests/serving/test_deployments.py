"""Deployments: the stored traffic spec, and a real server following it (hot swap, canary, shadow)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.serving import deployments
from tests.serving.helpers import start_server, stop_server, wait_until


def _register(n: int) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    for c in (1.0, 0.1, 0.01)[:n]:
        with sy.start_run("train"):
            info = sy.models.log(
                LogisticRegression(C=c, max_iter=5000).fit(X, y), input_example=X.head(3)
            )
        sy.registry.register(info, "churn")
    sy.registry.set_alias("churn", "champion", 1)


def test_a_deployment_records_every_change_and_refuses_bad_ones(sy_home: Path) -> None:
    _register(2)
    created = deployments.deploy("churn")
    assert (created.revision, created.model_name, created.spec["candidate"]) == (1, "churn", None)
    canary = deployments.deploy("churn", 2, canary="10%", reason="try v2")
    assert canary.spec["candidate"] == 2
    assert canary.spec["mode"] == "canary"
    assert canary.spec["weight"] == pytest.approx(0.1)
    assert deployments.deploy("churn", canary="25%").spec["weight"] == pytest.approx(0.25)
    for bad, words in [
        (dict(version=2, canary="150%"), "at most 100%"),
        (dict(version=2, canary="ten"), "not a number"),
        (dict(version=2, canary="10%", shadow=True), "not both"),
        (dict(version=2), "--canary 10% or --shadow"),
        (dict(version=1, shadow=True), "already holds @champion"),
    ]:
        with pytest.raises(InvalidInput, match=words):
            deployments.deploy("churn", **bad)
    with pytest.raises(NotFound, match="no version 7"):
        deployments.deploy("churn", 7, canary="10%")
    with pytest.raises(InvalidInput, match="not valid"):
        deployments.deploy("churn/../x")
    assert deployments.get_deployment("churn").revision == 3  # the refused changes stored nothing
    # a change prepared against an old revision is refused
    client = sy.tracking.client()
    stale = deployments.get_deployment("churn")
    deployments.deploy("churn", 2, shadow=True)
    with pytest.raises(Conflict, match="revision 4 now, not 3"):
        client.store.deployments.save(
            client.project_id, "churn", stale.model_id, {}, action="x", expected_revision=3
        )
    # promote moves the alias through the gates and drops the candidate
    promotion = deployments.promote("churn", reason="shadow looked fine")
    assert promotion.version.version == 2
    assert sy.registry.get_model("churn").aliases["champion"] == 2
    assert deployments.get_deployment("churn").spec["candidate"] is None
    # rollback with no candidate moves the alias back
    deployments.rollback("churn")
    assert sy.registry.get_model("churn").aliases["champion"] == 1
    actions = [e.action for e in deployments.deployment_history("churn")]
    assert actions == ["create", "canary", "canary", "shadow", "promote", "rollback"]
    assert [d.name for d in deployments.list_deployments()] == ["churn"]


def test_the_server_swaps_versions_under_load_and_routes_canary_shadow_sticky(
    sqlite_home: Path,
) -> None:
    _register(3)
    X, _y = load_breast_cancer(return_X_y=True, as_frame=True)
    body = X.head(1).to_json(orient="records")
    proc, url = start_server(sqlite_home, "models:/churn@champion", "--poll-seconds", "0.1")
    try:
        # hot swap under load: the alias moves while 4 threads keep sending
        answers: list[tuple[int, str]] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=url, timeout=30) as http:
                while not stop.is_set():
                    r = http.post("/predict", content=body)
                    answers.append((r.status_code, r.json().get("model_version", "")))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(answers) > 50, what="load before the swap")
        sy.registry.set_alias("churn", "champion", 2)
        wait_until(lambda: sum(v == "2" for _, v in answers) > 50, what="answers from version 2")
        stop.set()
        for t in threads:
            t.join()
        assert {code for code, _ in answers} == {200}, "a request failed during the swap"
        assert [v for _, v in answers][-40:] == ["2"] * 40
        assert httpx.get(f"{url}/readyz").json()["version"] == "2"

        # canary: version 3 takes about 30% of requests
        deployments.deploy("churn", 3, canary="30%")
        wait_until(lambda: httpx.get(f"{url}/readyz").json()["candidate"] == "3", what="canary")
        with httpx.Client(base_url=url) as http:
            versions = [
                http.post("/predict", content=body).json()["model_version"] for _ in range(400)
            ]
            assert set(versions) == {"2", "3"}
            assert 0.2 < versions.count("3") / 400 < 0.4
        deployments.deploy("churn", sticky_key="user")
        wait_until(
            lambda: httpx.get(f"{url}/readyz").json()["sticky_key"] == "user",
            what="the sticky key applied",
        )
        with httpx.Client(base_url=url) as http:  # sticky: one key, one version, every time
            for user in ("ann", "bob", "cy", "dee", "eve", "fay"):
                seen = {
                    http.post("/predict", content=body, headers={"user": user}).json()[
                        "model_version"
                    ]
                    for _ in range(10)
                }
                assert len(seen) == 1, f"user {user} reached versions {seen}"

        # shadow: version 3 answers a copy of every request; clients only see version 2
        deployments.deploy("churn", 3, shadow=True)
        wait_until(lambda: httpx.get(f"{url}/readyz").json()["mode"] == "shadow", what="shadow")
        with httpx.Client(base_url=url) as http:
            shadowed = [http.post("/predict", content=body).json() for _ in range(30)]
        assert {a["model_version"] for a in shadowed} == {"2"}
        # promote: the candidate takes @champion and everything
        deployments.promote("churn")
        wait_until(lambda: httpx.get(f"{url}/readyz").json()["version"] == "3", what="promotion")
    finally:
        stop_server(proc)
    log = sy.serving.read_predictions("churn", home=sqlite_home)
    rows = log.to_pylist()
    ids = {a["request_id"] for a in shadowed}
    shadow_rows = [r for r in rows if r["request_id"] in ids]
    assert sorted((r["variant"], r["model_version"]) for r in shadow_rows) == sorted(
        [("primary", "2")] * 30 + [("shadow", "3")] * 30
    )
    assert {r["variant"] for r in rows} == {"primary", "canary", "shadow"}


def test_the_deploy_command(sqlite_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shipyard.cli import main

    _register(2)

    def run(*args: str) -> int:
        with pytest.raises(SystemExit) as code:
            main(["--home", str(sqlite_home), "deploy", *args])
        return int(code.value.code or 0)

    assert (
        run("churn", "--version", "2", "--canary", "10%") == 0
    )  # `deploy NAME` is `deploy set NAME`
    assert "version 2 on 10% canary" in capsys.readouterr().out
    assert run("churn", "--version", "2", "--canary", "150%") != 0
    assert "at most 100%" in capsys.readouterr().err
    assert run("show", "churn") == 0
    assert "candidate   version 2, canary: 10% of requests" in capsys.readouterr().out
    assert run("promote", "churn") == 0
    assert "version 2 holds @champion" in capsys.readouterr().out
    assert run("history", "churn") == 0
    assert "promote" in capsys.readouterr().out
    assert run("rollback", "churn") == 0
    assert sy.registry.get_model("churn").aliases["champion"] == 1
