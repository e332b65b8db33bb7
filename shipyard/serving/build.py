"""Container build contexts (and Kubernetes manifests) for a model.

    shipyard build models:/churn@champion -o build/churn [--k8s] [--image churn:4]

The context holds the model package (files checked against their digests),
``requirements.txt`` (the model's pinned requirements and Shipyard's own
dependencies pinned to the versions installed here), a wheel of Shipyard
when it is not installed from a package index, ``entrypoint.sh`` (``shipyard
serve`` on the model folder) and a Dockerfile: a slim Python base of the
model's Python version, a non-root user, a HEALTHCHECK on /readyz. With
``k8s=True``: a Deployment with readiness and liveness probes and resources, a
Service and a HorizontalPodAutoscaler.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidInput, MissingDependency, ShipyardError

__all__ = ["BuildContext", "build", "build_image"]

PORT = 8000
_UID = 10001


@dataclass
class BuildContext:
    folder: Path
    model: str
    version: str
    image: str
    files: list[str] = field(default_factory=list)
    built_image: bool = False


def _name(requirement: str) -> str:
    """The distribution a requirement line names ("uvicorn[standard]>=0.30" -> "uvicorn")."""
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]


def _runtime_requirements() -> list[str]:
    """Shipyard's own dependencies (no extras), pinned to the versions installed here."""
    from shipyard.models.package import _installed

    pins = []
    for requirement in metadata.requires("shipyard") or []:
        if "extra ==" in requirement:
            continue
        name = _name(requirement)
        extras = re.search(r"\[([^\]]+)\]", requirement)
        version = _installed(name)
        extra = f"[{extras.group(1)}]" if extras else ""
        pins.append(f"{name}{extra}=={version}" if version else requirement)
    return pins


def _merge(pins: list[str]) -> list[str]:
    """One line per package; the model's pins (listed first) win."""
    seen: dict[str, str] = {}
    for pin in pins:
        seen.setdefault(_name(pin).lower().replace("_", "-"), pin)
    return sorted(seen.values(), key=str.lower)


def _shipyard_wheel(folder: Path) -> str | None:
    """A wheel of the installed Shipyard, when it was installed from a local source tree."""
    distribution = metadata.distribution("shipyard")
    direct = distribution.read_text("direct_url.json")
    if not direct:
        return None  # installed from an index: requirements.txt pins shipyard==version
    url = json.loads(direct).get("url", "")
    if not url.startswith("file://"):
        return None
    source = url.removeprefix("file://")
    wheels = folder / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), source],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ShipyardError(
            f"Could not build a wheel of Shipyard from {source}: {done.stderr[-500:]}"
        )
    (wheel,) = sorted(wheels.glob("shipyard-*.whl"))
    return f"wheels/{wheel.name}"


DOCKERFILE = """\
# Built by `shipyard build {uri}` (model {model} version {version}).
FROM python:{python}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    SHIPYARD_HOME=/data \\
    PORT={port} \\
    WORKERS=1

RUN groupadd --system --gid {uid} shipyard \\
    && useradd --system --uid {uid} --gid shipyard --home-dir /app --no-create-home shipyard \\
    && mkdir -p /data \\
    && chown shipyard:shipyard /data

WORKDIR /app
COPY requirements.txt ./
{copy_wheels}RUN pip install --no-cache-dir -r requirements.txt

COPY model/ ./model/
COPY entrypoint.sh ./

USER {uid}
EXPOSE {port}
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \\
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['PORT'], timeout=2)"]
ENTRYPOINT ["/app/entrypoint.sh"]
"""

ENTRYPOINT = """\
#!/bin/sh
# Serve the model in this image: {model} version {version}.
set -eu
cd "$(dirname "$0")"
exec shipyard serve ./model \\
    --host "${{HOST:-0.0.0.0}}" \\
    --port "${{PORT:-{port}}}" \\
    --workers "${{WORKERS:-1}}" \\
    --deployment "${{DEPLOYMENT:-{deployment}}}" \\
    --version-label {version} \\
    "$@"
"""


def _manifests(name: str, image: str, version: str) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/version": version}
    probe = {"periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": _UID, "fsGroup": _UID},
                    "containers": [
                        {
                            "name": "model",
                            "image": image,
                            "ports": [{"name": "http", "containerPort": PORT}],
                            "env": [
                                {"name": "WORKERS", "value": "1"},
                                {"name": "DEPLOYMENT", "value": name},
                            ],
                            "readinessProbe": {
                                "httpGet": {"path": "/readyz", "port": "http"},
                                "initialDelaySeconds": 5,
                                **probe,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/livez", "port": "http"},
                                "initialDelaySeconds": 30,
                                **probe,
                            },
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "512Mi"},
                                "limits": {"cpu": "2", "memory": "2Gi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                            },
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "terminationGracePeriodSeconds": 45,
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    autoscaler = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }
    return [deployment, service, autoscaler]


def build(
    uri: str,
    output: str | Path,
    *,
    k8s: bool = False,
    image: str | None = None,
    docker_build: bool = False,
    allow_pickle: bool = False,
    client: Any = None,
) -> BuildContext:
    """Write a container build context for a model (and Kubernetes manifests with ``k8s``).

    ``docker_build=True`` also runs ``docker build -t IMAGE`` on it; without a
    Docker engine that raises MissingDependency saying so (the context stays).
    """
    import yaml

    from shipyard import models
    from shipyard.models.uris import materialize, parse_model_uri, resolve
    from shipyard.serving.deployments import check_deployment_name
    from shipyard.tracking import client as default_client

    client = client or default_client()
    kind, parts = parse_model_uri(uri)
    resolved = resolve(uri, client)
    source = materialize(resolved, client)
    predictor = models.load(source, allow_pickle=allow_pickle)  # checks the files and the manifest
    model = parts[0] if kind == "models" else f"run-{parts[0][:8]}"
    version = str(resolved.version.version) if resolved.version else resolved.run_id[:8]
    name = check_deployment_name(re.sub(r"[^a-z0-9-]", "-", model.lower()).strip("-"))
    image = image or f"{name}:{version}"
    folder = Path(output)
    if folder.exists() and any(folder.iterdir()):
        raise InvalidInput(f"{folder} is not empty; pick a new folder for the build context.")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, folder / "model", ignore=shutil.ignore_patterns(".complete"))
    wheel = _shipyard_wheel(folder)
    pins = _merge([*predictor.manifest.get("requirements", []), *_runtime_requirements()])
    shipyard_line = f"./{wheel}" if wheel else f"shipyard=={metadata.version('shipyard')}"
    (folder / "requirements.txt").write_text(
        f"# {uri}: model {model} version {version}; pinned by shipyard build\n"
        + "\n".join([*pins, shipyard_line])
        + "\n"
    )
    python = ".".join(predictor.manifest.get("python_version", "3.11").split(".")[:2])
    fields = {
        "uri": uri,
        "model": model,
        "version": version,
        "python": python,
        "port": PORT,
        "uid": _UID,
        "deployment": name,
        "copy_wheels": "COPY wheels/ ./wheels/\n" if wheel else "",
    }
    (folder / "Dockerfile").write_text(DOCKERFILE.format(**fields))
    (folder / ".dockerignore").write_text("k8s/\n*.pyc\n__pycache__/\n")
    entrypoint = folder / "entrypoint.sh"
    entrypoint.write_text(ENTRYPOINT.format(**fields))
    entrypoint.chmod(0o755)
    if k8s:
        (folder / "k8s").mkdir()
        for manifest in _manifests(name, image, version):
            path = folder / "k8s" / f"{manifest['kind'].lower()}.yaml"
            path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    result = BuildContext(
        folder,
        model,
        version,
        image,
        sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()),
    )
    if docker_build:
        build_image(folder, image)
        result.built_image = True
    return result


def build_image(folder: Path, image: str) -> None:
    """``docker build -t IMAGE FOLDER``; MissingDependency, saying so, when no engine answers."""
    docker = shutil.which("docker")
    if docker is None:
        raise MissingDependency(
            f"No Docker engine was found (no `docker` on PATH), so the image {image} was not built. "
            f"The context is ready: docker build -t {image} {folder}",
            package="docker",
        )
    info = subprocess.run([docker, "info"], capture_output=True, text=True)
    if info.returncode != 0:
        raise MissingDependency(
            f"`docker` is installed but no Docker engine answers ({info.stderr.strip()[:200]}), "
            f"so the image {image} was not built. The context is ready: docker build -t {image} {folder}",
            package="docker",
        )
    done = subprocess.run([docker, "build", "-t", image, str(folder)])
    if done.returncode != 0:
        raise ShipyardError(f"docker build -t {image} {folder} failed (exit {done.returncode}).")
