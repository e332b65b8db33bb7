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
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from shipyard.errors import ShipyardError
from shipyard.serving.batcher import MicroBatcher
from shipyard.serving.codec import Decoded, decode, encode
from shipyard.serving.predlog import PredictionLogger, write_labels
from shipyard.store.ids import new_id

__all__ = ["ModelServer"]

_JSON = [(b"content-type", b"application/json")]
_PROBLEM = [(b"content-type", b"application/problem+json")]


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "shipyard_requests", "Prediction requests", ["status"], registry=self.registry
        )
        self.latency = Histogram(
            "shipyard_request_seconds",
            "Prediction latency",
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.batch_rows = Histogram(
            "shipyard_batch_rows",
            "Rows per model call",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
        )
        self.errors = Counter("shipyard_errors", "Errors by kind", ["kind"], registry=self.registry)
        self.log_dropped = Gauge(
            "shipyard_prediction_log_dropped_rows",
            "Rows the prediction log dropped",
            registry=self.registry,
        )
        self.model = Info("shipyard_model", "The model being served", registry=self.registry)


class ModelServer:
    """An ASGI app serving one model URI (loaded at startup)."""

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
    ) -> None:
        self.model_uri = model_uri
        self.home = home
        self.deployment = deployment or model_uri.replace("models:/", "").replace("/", "-").replace(
            "@", "-"
        )
        self.max_body_bytes = max_body_bytes
        self.max_batch_rows = max_batch_rows
        self.log_predictions = log_predictions
        self.allow_pickle = allow_pickle
        self.metrics = _Metrics()
        self.ready = False
        self.predictor: Any = None
        self.version = ""
        self.batcher: MicroBatcher | None = None
        self.logger: PredictionLogger | None = None
        self.labels_folder: Path | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def _load(self) -> None:
        from shipyard import models
        from shipyard.config import load_settings
        from shipyard.tracking import TrackingClient

        client = TrackingClient(load_settings(home=self.home))
        self.predictor = models.load(self.model_uri, allow_pickle=self.allow_pickle, client=client)
        if self.model_uri.startswith("models:/"):
            from shipyard.models.uris import resolve

            version = resolve(self.model_uri, client).version
            self.version = str(version.version) if version else ""
        self.version = self.version or self.model_uri
        self.metrics.model.info(
            {"uri": self.model_uri, "version": self.version, "flavor": self.predictor.flavor}
        )
        self.has_proba = bool(
            self.predictor.manifest.get("flavor_options", {}).get("predict_proba")
        )
        if self.predictor.input_example is not None:  # warm up before saying ready
            self._run(
                [decode(orjson.dumps(self.predictor.input_example), self.predictor.signature)]
            )
        if self.log_predictions:
            folder = Path(client.settings.home) / "predictions" / self.deployment
            self.logger = PredictionLogger(folder / "requests", self.deployment)
            self.labels_folder = folder / "labels"
        client.close()

    async def startup(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._load)
        self.batcher = MicroBatcher(
            self._run, max_batch_rows=self.max_batch_rows, on_batch=self._on_batch
        )
        self.batcher.start()
        self.ready = True

    async def shutdown(self) -> None:
        self.ready = False
        if self.batcher is not None:
            await self.batcher.close()
        if self.logger is not None:
            self.logger.close()

    def _on_batch(self, requests: int, rows: int) -> None:
        self.metrics.batch_rows.observe(rows)

    # -- the model call (in the model thread) ------------------------------------------------

    def _run(self, inputs: list[Decoded]) -> list[tuple[Any, Any]]:
        import pandas as pd

        columns = inputs[0].columns
        if all(isinstance(d.values, np.ndarray) for d in inputs):
            matrix = inputs[0].values if len(inputs) == 1 else np.vstack([d.values for d in inputs])
            frame = pd.DataFrame(matrix, columns=columns)
        else:
            rows = [
                row
                for d in inputs
                for row in (d.values.tolist() if isinstance(d.values, np.ndarray) else d.values)
            ]
            frame = self.predictor.signature.prepare(pd.DataFrame(rows, columns=columns))
        model = self.predictor.model
        predictions = np.asarray(model.predict(frame))
        probabilities = np.asarray(model.predict_proba(frame)) if self.has_proba else None
        out, start = [], 0
        for d in inputs:
            stop = start + d.n
            out.append(
                (
                    predictions[start:stop],
                    None if probabilities is None else probabilities[start:stop],
                )
            )
            start = stop
        return out

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
            if self.ready:
                await self._json(
                    send,
                    200,
                    orjson.dumps(
                        {"status": "ready", "model": self.model_uri, "version": self.version}
                    ),
                )
            else:
                await self._problem(send, 503, "Not ready", "The model is still loading.")
        elif path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            if self.logger is not None:
                self.metrics.log_dropped.set(self.logger.dropped)
            body = generate_latest(self.metrics.registry)
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
        if not self.ready:
            await self._problem(send, 503, "Not ready", "The model is still loading.", request_id)
            return
        body = await self._body(scope, receive)
        if body is None:
            self.metrics.errors.labels("too_large").inc()
            await self._problem(
                send,
                413,
                "Body too large",
                f"The body is over {self.max_body_bytes:,} bytes.",
                request_id,
            )
            return
        try:
            decoded = decode(body, self.predictor.signature)
        except ShipyardError as exc:
            self.metrics.errors.labels("invalid_input").inc()
            self.metrics.requests.labels(str(exc.http_status)).inc()
            await self._problem(
                send, exc.http_status, exc.title, exc.message, request_id, exc.details
            )
            return
        try:
            predictions, probabilities = await self.batcher.submit(decoded)  # type: ignore[union-attr]
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
        await self._json(send, 200, encode(predictions, probabilities, self.version, request_id))
        self.metrics.latency.observe(elapsed)
        self.metrics.requests.labels("200").inc()
        if self.logger is not None:
            self.logger.log(
                request_id,
                self.version,
                decoded.columns,
                decoded.values,
                predictions,
                probabilities,
                elapsed * 1000,
            )

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
        await send({"type": "http.response.start", "status": status, "headers": _JSON})
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
        await send({"type": "http.response.start", "status": status, "headers": _PROBLEM})
        await send({"type": "http.response.body", "body": orjson.dumps(problem, default=str)})
