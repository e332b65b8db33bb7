"""`shipyard build`: the context passes hadolint, the manifests pass the Kubernetes schemas,
and the context's requirements make a virtual environment that serves the model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import kubernetes_validate
import pytest
import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.errors import InvalidInput, MissingDependency
from shipyard.serving.build import build
from tests.serving.helpers import free_port, stop_server, wait_ready

BIN = Path(sys.executable).parent


@pytest.fixture
def context(sqlite_home: Path, tmp_path: Path) -> Path:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with sy.start_run("train"):
        info = sy.models.log(LogisticRegression(max_iter=5000).fit(X, y), input_example=X.head(3))
    sy.registry.register(info, "churn")
    sy.registry.set_alias("churn", "champion", 1)
    done = subprocess.run(
        [
            str(BIN / "shipyard"),
            "build",
            "models:/churn@champion",
            "-o",
            str(tmp_path / "ctx"),
            "--k8s",
        ],
        env={**os.environ, "SHIPYARD_HOME": str(sqlite_home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "docker build -t churn:1" in done.stdout
    return tmp_path / "ctx"


def test_the_context_passes_hadolint_and_the_manifests_the_kubernetes_schemas(
    context: Path,
) -> None:
    dockerfile = (context / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile.replace(
        f"{sys.version_info.major}.{sys.version_info.minor}", "3.11"
    )
    assert "USER 10001" in dockerfile
    assert "HEALTHCHECK" in dockerfile
    assert "/readyz" in dockerfile
    lint = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "info", str(context / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    requirements = (context / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("scikit-learn==") for line in requirements)
    assert any(line.startswith("uvicorn") and "==" in line for line in requirements)
    assert (context / "model" / "shipyard-model.json").exists()
    kinds = set()
    for path in sorted((context / "k8s").glob("*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)  # raises on any error
        kinds.add(manifest["kind"])
    assert kinds == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    deployment = yaml.safe_load((context / "k8s" / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["resources"]["limits"]["memory"]


def test_the_context_serves_from_a_virtual_environment_built_from_its_requirements(
    context: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "-r", "requirements.txt"],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    port = free_port()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SHIPYARD_HOME": str(tmp_path / "data"),
        "PORT": str(port),
        "HOST": "127.0.0.1",
    }
    proc = subprocess.Popen(
        ["sh", str(context / "entrypoint.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, timeout=120)
        X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
        answer = httpx.post(f"{url}/predict", content=X.head(2).to_json(orient="records"))
        assert answer.status_code == 200
        assert answer.json()["model_version"] == "1"
        assert len(answer.json()["predictions"]) == 2
    finally:
        stop_server(proc)
    assert sy.serving.read_predictions("churn", home=tmp_path / "data").num_rows == 2


def test_build_refuses_a_used_folder_and_says_when_there_is_no_docker(
    context: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="not empty"):
        build("models:/churn@champion", context)
    path = os.environ["PATH"]
    os.environ["PATH"] = str(BIN)  # no docker here
    try:
        with pytest.raises(MissingDependency, match="No Docker engine was found"):
            build(
                "models:/churn@champion", tmp_path / "again", image="churn:test", docker_build=True
            )
    finally:
        os.environ["PATH"] = path
    assert (tmp_path / "again" / "Dockerfile").exists()  # the context is written all the same
