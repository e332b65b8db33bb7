"""The model server: a plain ASGI application, with no framework on the request path.

    POST /predict, /v1/models/<name>/predict   predictions (and probabilities)
    POST /feedback                             ground-truth labels for request ids
    GET  /livez                                the process is up
    GET  /readyz                               the model is loaded and warmed up
    GET  /metrics                              Prometheus metrics
    GET  /openapi.json                         the API, with the model's signature

Errors are problem+json (RFC 9457): 400 malformed body, 413 body over the
limit, 422 input that does not match the signature, 404 unknown path, 500 a
model that raised (with the request id; the server keeps serving).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from pathlib import Path
from typing import Any

import orjson

from shipyard.errors import InvalidInput, NotFound, ShipyardError
from shipyard.serving.codec import Decoded, decode, encode
from shipyard.serving.deployments import DeploymentSpec, check_deployment_name
from shipyard.serving.predlog import PredictionLogger, write_labels
from shipyard.serving.routing import RUNTIMES, Lane, Plan, Routing
from shipyard.store.ids import new_id

__all__ = ["ModelServer"]

_JSON = [(b"content-type", b"application/json")]
_PROBLEM = [(b"content-type", b"application/problem+json")]


_log = logging.getLogger("shipyard.serving")


class _Metrics:
    """Prometheus metrics; with several workers, shared through PROMETHEUS_MULTIPROC_DIR."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        registry = None if self.multiprocess else CollectorRegistry()
        self.registry = registry
        self.requests = Counter(
            "shipyard_requests", "Prediction requests by status", ["status"], registry=registry
        )
        self.predictions = Counter(
            "shipyard_predictions",
            "Answered prediction requests by model version and role",
            ["version", "variant"],
            registry=registry,
        )
        self.latency = Histogram(
            "shipyard_request_seconds",
            "Prediction latency",
            registry=registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.batch_rows = Histogram(
            "shipyard_batch_rows",
            "Rows per model call",
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
        )
        self.errors = Counter("shipyard_errors", "Errors by kind", ["kind"], registry=registry)
        self.log_dropped = Counter(
            "shipyard_prediction_log_dropped_rows",
            "Rows the prediction log dropped because its buffer was full",
            registry=registry,
        )
        self.changes = Counter(
            "shipyard_deployment_changes",
            "Routing changes applied (hot swaps, canary and shadow changes)",
            registry=registry,
        )
        self.model = Gauge(
            "shipyard_model_info",
            "Model versions being served (1) and retired (0), by role",
            ["version", "variant", "flavor", "runtime"],
            registry=registry,
            multiprocess_mode="max",
        )

    def exposition(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess

        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class ModelServer:
    """An ASGI app serving a model URI, following its deployment and alias as they change."""

    def __init__(
        self,
        model_uri: str,
        *,
        home: str | None = None,
        deployment: str | None = None,
        max_body_bytes: int = 10 << 20,
        max_batch_rows: int = 512,
        log_predictions: bool = True,
        allow_pickle: bool = False,
        poll_seconds: float = 5.0,
        runtime: str = "auto",
        version_label: str | None = None,
    ) -> None:
        from shipyard.models.uris import parse_model_uri

        if runtime not in RUNTIMES:
            raise InvalidInput(f"Runtime {runtime!r} is not one of {', '.join(RUNTIMES)}.")
        self.runtime = runtime

        if ":/" in model_uri:  # a URI; anything else is a model folder (as in a container)
            kind, parts = parse_model_uri(model_uri)
        else:
            kind, parts = "folder", (Path(model_uri).resolve().name,)
        self.model_uri = model_uri
        self.model_name: str | None = parts[0] if kind == "models" else None
        self.home = home
        self.folder = kind == "folder"
        self.deployment = check_deployment_name(
            deployment or self.model_name or (parts[0] if self.folder else "run-" + parts[0])
        )
        self.version_label = version_label
        self.max_body_bytes = max_body_bytes
        self.max_batch_rows = max_batch_rows
        self.log_predictions = log_predictions
        self.allow_pickle = allow_pickle
        self.poll_seconds = poll_seconds
        self.metrics = _Metrics()
        self.ready = False
        self.lanes: dict[str, Lane] = {}
        self.routing: Routing | None = None
        self.logger: PredictionLogger | None = None
        self.labels_folder: Path | None = None
        self._client: Any = None
        self._watcher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def version(self) -> str:
        return self.routing.primary.version if self.routing is not None else ""

    @property
    def predictor(self) -> Any:
        return self.routing.primary.predictor if self.routing is not None else None

    # -- what to serve, and loading it (in threads) -----------------------------------------

    def _plan(self) -> Plan:
        """The versions to serve now: the URI's, and the deployment's candidate if any."""
        from shipyard.models.uris import resolve

        if self.model_name is None:
            return Plan(self.version_label or self.model_uri)
        primary = str(resolve(self.model_uri, self._client).version.version)  # type: ignore[union-attr]
        try:
            deployment = self._client.store.deployments.get(
                self._client.project_id, self.deployment
            )
        except NotFound:
            return Plan(primary)
        if deployment.model_name != self.model_name:
            return Plan(primary)
        spec = DeploymentSpec.from_json(deployment.spec)
        candidate = str(spec.candidate) if spec.candidate is not None else None
        if candidate is None or candidate == primary:
            return Plan(primary, sticky_key=spec.sticky_key)
        return Plan(primary, candidate, spec.mode, spec.weight, spec.sticky_key)

    def _load_lane(self, version: str) -> Lane:
        from shipyard import models

        uri = self.model_uri if self.model_name is None else f"models:/{self.model_name}/{version}"
        if self.folder:
            predictor = models.load(Path(uri), allow_pickle=self.allow_pickle)
            lane = Lane(
                version, predictor, max_batch_rows=self.max_batch_rows, runtime=self.runtime
            )
            lane.warm_up()
            return lane
        predictor = models.load(uri, allow_pickle=self.allow_pickle, client=self._client)
        lane = Lane(version, predictor, max_batch_rows=self.max_batch_rows, runtime=self.runtime)
        lane.warm_up()
        return lane

    def _load(self) -> tuple[Plan, dict[str, Lane]]:
        from shipyard.config import load_settings
        from shipyard.tracking import TrackingClient

        settings = load_settings(home=self.home)
        if not self.folder:  # a folder needs no store
            self._client = TrackingClient(settings)
        plan = self._plan()
        lanes = {v: self._load_lane(v) for v in plan.versions()}
        if self.log_predictions:
            folder = Path(settings.home) / "predictions" / self.deployment
            self.logger = PredictionLogger(folder / "requests", self.deployment)
            self.labels_folder = folder / "labels"
        return plan, lanes

    # -- lifecycle --------------------------------------------------------------------------

    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        plan, lanes = await loop.run_in_executor(None, self._load)
        self._apply(plan, lanes, first=True)
        gc.collect()
        gc.freeze()  # what loading made lives as long as the server: keep it out of GC passes
        if self.model_name is not None and self.poll_seconds > 0:
            self._watcher = loop.create_task(self._watch())
        self.ready = True

    async def shutdown(self) -> None:
        self.ready = False
        if self._watcher is not None:
            self._watcher.cancel()
        if self._background:
            await asyncio.wait(self._background, timeout=30)
        for lane in list(self.lanes.values()):
            await lane.drain_and_close()
        if self.logger is not None:
            self.logger.close()
        if self._client is not None:
            self._client.close()

    def _apply(self, plan: Plan, loaded: dict[str, Lane], first: bool = False) -> None:
        """Switch to ``plan`` in one assignment; lanes no longer needed drain, then close."""
        for lane in loaded.values():
            lane.start(self._on_batch)
        self.lanes.update(loaded)
        self.routing = Routing.of(plan, self.lanes)
        for version in [v for v in self.lanes if v not in plan.versions()]:
            lane = self.lanes.pop(version)
            self.metrics.model.labels(version, "retired", lane.flavor, lane.runtime).set(0)
            self._spawn(lane.drain_and_close())
        for lane, role in ((self.routing.primary, "primary"), (self.routing.candidate, plan.mode)):
            if lane is not None:
                self.metrics.model.labels(lane.version, role, lane.flavor, lane.runtime).set(1)
        if not first:
            self.metrics.changes.inc()
            _log.warning("now serving %s (deployment %s)", plan, self.deployment)

    async def _watch(self) -> None:
        """Follow the alias and the deployment: load what changed beside what serves, then swap."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.poll_seconds)  # the polling schedule
            try:
                plan = await loop.run_in_executor(None, self._plan)
                if self.routing is None or plan == self.routing.plan:
                    continue
                needed = [v for v in plan.versions() if v not in self.lanes]
                loaded = await loop.run_in_executor(
                    None, lambda needed=needed: {v: self._load_lane(v) for v in needed}
                )
                self._apply(plan, loaded)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving what serves; say why the change waits
                self.metrics.errors.labels("deployment_change").inc()
                _log.warning("could not apply a change of deployment %s: %s", self.deployment, exc)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _on_batch(self, requests: int, rows: int) -> None:
        self.metrics.batch_rows.observe(rows)

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/predict" or (path.startswith("/v1/models/") and path.endswith("/predict")):
            if method != "POST":
                await self._problem(send, 405, "Method not allowed", f"{path} takes POST.")
                return
            await self._predict(scope, receive, send)
        elif path == "/livez":
            await self._json(send, 200, b'{"status":"alive"}')
        elif path == "/readyz":
            if self.ready and self.routing is not None:
                plan = self.routing.plan
                await self._json(
                    send,
                    200,
                    orjson.dumps(
                        {
                            "status": "ready",
                            "model": self.model_uri,
                            "deployment": self.deployment,
                            "version": plan.primary,
                            "runtime": self.routing.primary.runtime,
                            "candidate": plan.candidate,
                            "mode": plan.mode,
                            "weight": plan.weight,
                            "sticky_key": plan.sticky_key,
                        }
                    ),
                )
            else:
                await self._problem(send, 503, "Not ready", "The model is still loading.")
        elif path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST

            body = self.metrics.exposition()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        elif path == "/feedback" and method == "POST":
            await self._feedback(scope, receive, send)
        elif path == "/openapi.json":
            await self._json(send, 200, orjson.dumps(self._openapi()))
        else:
            await self._problem(
                send,
                404,
                "Not found",
                f"There is no {path}; use /predict, /feedback, /livez, /readyz, /metrics.",
            )

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send(
                        {
                            "type": "lifespan.startup.failed",
                            "message": f"{type(exc).__name__}: {exc}",
                        }
                    )
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _body(self, scope: dict[str, Any], receive: Any) -> bytes | None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and int(value) > self.max_body_bytes:
                return None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _predict(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        request_id = new_id()
        routing = self.routing
        if not self.ready or routing is None:
            await self._problem(send, 503, "Not ready", "The model is still loading.", request_id)
            return
        body = await self._body(scope, receive)
        if body is None:
            self.metrics.errors.labels("too_large").inc()
            self.metrics.requests.labels("413").inc()
            await self._problem(
                send,
                413,
                "Body too large",
                f"The body is over {self.max_body_bytes:,} bytes.",
                request_id,
            )
            return
        try:
            decoded = decode(body, routing.primary.predictor.signature)
            lane, variant = routing.choose(scope.get("headers", ()), decoded)
            if lane.signature_key != routing.primary.signature_key:
                decoded = decode(body, lane.predictor.signature)
        except ShipyardError as exc:
            self.metrics.errors.labels("invalid_input").inc()
            self.metrics.requests.labels(str(exc.http_status)).inc()
            await self._problem(
                send, exc.http_status, exc.title, exc.message, request_id, exc.details
            )
            return
        try:
            predictions, probabilities = await lane.predict(decoded)
        except Exception as exc:
            self.metrics.errors.labels("model").inc()
            self.metrics.requests.labels("500").inc()
            await self._problem(
                send,
                500,
                "Model error",
                f"The model raised {type(exc).__name__}: {exc}",
                request_id,
            )
            return
        elapsed = time.perf_counter() - started
        await self._json(send, 200, encode(predictions, probabilities, lane.version, request_id))
        self.metrics.latency.observe(elapsed)
        self.metrics.requests.labels("200").inc()
        self.metrics.predictions.labels(lane.version, variant).inc()
        self._log(request_id, lane.version, variant, decoded, predictions, probabilities, elapsed)
        shadow = routing.shadow
        if shadow is not None:
            self._spawn(self._shadow(shadow, routing.primary, body, decoded, request_id))

    def _log(
        self,
        request_id: str,
        version: str,
        variant: str,
        decoded: Decoded,
        predictions: Any,
        probabilities: Any,
        elapsed: float,
    ) -> None:
        if self.logger is not None and not self.logger.log(
            request_id,
            version,
            decoded.columns,
            decoded.values,
            predictions,
            probabilities,
            elapsed * 1000,
            variant,
        ):
            self.metrics.log_dropped.inc(decoded.n)

    async def _shadow(
        self, lane: Lane, primary: Lane, body: bytes, decoded: Decoded, request_id: str
    ) -> None:
        """The candidate answers a copy of the request; its answer is logged, never returned."""
        started = time.perf_counter()
        try:
            if lane.signature_key != primary.signature_key:
                decoded = decode(body, lane.predictor.signature)
            predictions, probabilities = await lane.predict(decoded)
        except Exception:
            self.metrics.errors.labels("shadow").inc()
            return
        self.metrics.predictions.labels(lane.version, "shadow").inc()
        elapsed = time.perf_counter() - started
        self._log(request_id, lane.version, "shadow", decoded, predictions, probabilities, elapsed)

    async def _feedback(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await self._body(scope, receive)
        try:
            payload = orjson.loads(body or b"")
            items = payload if isinstance(payload, list) else [payload]
            labels = {str(item["request_id"]): item["label"] for item in items}
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await self._problem(
                send,
                400,
                "Invalid input",
                'Send {"request_id": ..., "label": ...} or a list of them.',
            )
            return
        if self.labels_folder is None:
            await self._problem(
                send,
                409,
                "Conflict",
                "This server does not log predictions, so it keeps no labels.",
            )
            return
        count = write_labels(self.labels_folder, labels)
        await self._json(send, 200, orjson.dumps({"labels": count}))

    def _openapi(self) -> dict[str, Any]:
        columns = self.predictor.signature.inputs if self.predictor is not None else []
        kinds = {"double": "number", "integer": "integer", "boolean": "boolean", "string": "string"}
        record = {
            "type": "object",
            "properties": {c.name: {"type": kinds.get(c.type, "string")} for c in columns},
            "required": [c.name for c in columns if c.required],
            "additionalProperties": False,
        }
        return {
            "openapi": "3.1.0",
            "info": {
                "title": f"Shipyard model server: {self.model_uri}",
                "version": self.version or "0",
            },
            "paths": {
                "/predict": {
                    "post": {
                        "requestBody": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "oneOf": [
                                            {"type": "array", "items": record},
                                            record,
                                            {
                                                "type": "object",
                                                "properties": {
                                                    "columns": {"type": "array"},
                                                    "data": {"type": "array"},
                                                },
                                            },
                                        ]
                                    }
                                }
                            }
                        },
                        "responses": {
                            "200": {"description": "predictions"},
                            "400": {"description": "malformed"},
                            "413": {"description": "too large"},
                            "422": {"description": "signature mismatch"},
                        },
                    }
                },
                "/livez": {"get": {"responses": {"200": {"description": "alive"}}}},
                "/readyz": {
                    "get": {
                        "responses": {
                            "200": {"description": "ready"},
                            "503": {"description": "loading"},
                        }
                    }
                },
            },
        }

    async def _json(self, send: Any, status: int, body: bytes) -> None:
        headers = [*_JSON, (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _problem(
        self,
        send: Any,
        status: int,
        title: str,
        detail: str,
        request_id: str | None = None,
        details: Any = None,
    ) -> None:
        problem: dict[str, Any] = {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
        }
        if request_id:
            problem["request_id"] = request_id
        if details:
            problem["details"] = details
        body = orjson.dumps(problem, default=str)
        headers = [*_PROBLEM, (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
