"""Lanes and routing: the model versions a server holds, and which one answers a request.

A :class:`Lane` is one loaded model version with its own micro-batcher and a
count of requests in flight. A :class:`Routing` is an immutable snapshot (the
primary lane, and a candidate on canary or in shadow); the server swaps the
whole snapshot in one assignment, so every request sees one consistent
routing, and a retired lane closes only once its in-flight requests are done.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from shipyard.serving.batcher import MicroBatcher
from shipyard.serving.codec import Decoded, decode
from shipyard.serving.deployments import route_share

__all__ = ["RUNTIMES", "Lane", "Plan", "Routing"]

_log = logging.getLogger("shipyard.serving")


RUNTIMES = ("auto", "onnx", "native")
_ONNX_AUTO = {"sklearn", "xgboost", "lightgbm"}  # flavors "auto" compiles
_NUMERIC = {"double", "integer", "boolean"}
_INLINE_BELOW = 0.0005  # model calls faster than this run on the event loop, not in a thread


class Lane:
    """One model version being served.

    ``runtime``: "native" calls the model's own predict; "onnx" converts it to
    ONNX and runs it with onnxruntime (checked against the native model at
    load); "auto" uses ONNX for scikit-learn, XGBoost and LightGBM models with
    numeric inputs when the conversion passes its check, else native.
    """

    def __init__(
        self, version: str, predictor: Any, *, max_batch_rows: int = 512, runtime: str = "auto"
    ) -> None:
        self.version = version
        self.predictor = predictor
        self.flavor = predictor.flavor
        self.has_proba = bool(predictor.manifest.get("flavor_options", {}).get("predict_proba"))
        signature = predictor.signature
        self.signature_key = (
            tuple((c.name, c.type) for c in signature.inputs) if signature is not None else ()
        )
        self.numeric = bool(self.signature_key) and all(
            t in _NUMERIC for _, t in self.signature_key
        )
        self.max_batch_rows = max_batch_rows
        self.requested_runtime = runtime
        self.runtime = "native"
        self.onnx: Any = None
        self.inline = False
        self.batcher: MicroBatcher | None = None
        self.inflight = 0
        self._idle: asyncio.Event | None = None

    def warm_up(self) -> None:
        """Pick the runtime and warm it up on the input example (in the loading thread)."""
        from shipyard.errors import ShipyardError

        wanted = self.requested_runtime
        if wanted == "onnx" or (wanted == "auto" and self.flavor in _ONNX_AUTO and self.numeric):
            from shipyard.models.export import to_onnx

            try:
                onnx = to_onnx(self.predictor)
                if onnx.has_proba != self.has_proba:
                    raise ShipyardError("the ONNX model does not give the same outputs")
                self.onnx, self.runtime = onnx, "onnx"
            except ShipyardError as exc:
                if wanted == "onnx":
                    raise
                _log.warning("version %s runs natively (no ONNX: %s)", self.version, exc)
        if self.predictor.input_example is None:
            return
        example = orjson.dumps(self.predictor.input_example, option=orjson.OPT_SERIALIZE_NUMPY)
        decoded = decode(example, self.predictor.signature)
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            self.run([decoded])
            timings.append(time.perf_counter() - started)
        self.inline = sorted(timings)[2] < _INLINE_BELOW

    def start(self, on_batch: Any = None) -> None:
        """Start the batcher (on the event loop)."""
        self._idle = asyncio.Event()
        self._idle.set()
        self.batcher = MicroBatcher(
            self.run, max_batch_rows=self.max_batch_rows, on_batch=on_batch, inline=self.inline
        )
        self.batcher.start()

    async def predict(self, decoded: Decoded) -> tuple[Any, Any]:
        assert self.batcher is not None
        assert self._idle is not None
        self.inflight += 1
        self._idle.clear()
        try:
            return await self.batcher.submit(decoded)
        finally:
            self.inflight -= 1
            if self.inflight == 0:
                self._idle.set()

    async def drain_and_close(self, timeout: float = 60.0) -> None:
        """Wait until no request is in flight here (at most ``timeout``), then stop the batcher."""
        if self._idle is not None:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except TimeoutError:
                pass
        if self.batcher is not None:
            await self.batcher.close()

    def run(self, inputs: list[Decoded]) -> list[tuple[Any, Any]]:
        """The model call for a batch of requests (in the lane's model thread)."""
        import pandas as pd

        columns = inputs[0].columns
        matrix = None
        if all(isinstance(d.values, np.ndarray) for d in inputs):
            matrix = inputs[0].values if len(inputs) == 1 else np.vstack([d.values for d in inputs])
        if matrix is not None and self.onnx is not None:
            predictions, probabilities = self.onnx.run(matrix)
            return _split(inputs, predictions, probabilities)
        if matrix is not None:
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
        return _split(inputs, predictions, probabilities)


def _split(inputs: list[Decoded], predictions: Any, probabilities: Any) -> list[tuple[Any, Any]]:
    """Cut a batch's outputs back into one (predictions, probabilities) per request."""
    if len(inputs) == 1:
        return [(predictions, probabilities)]
    out, start = [], 0
    for d in inputs:
        stop = start + d.n
        out.append(
            (predictions[start:stop], None if probabilities is None else probabilities[start:stop])
        )
        start = stop
    return out


@dataclass(frozen=True)
class Plan:
    """What should be served: versions by role, the canary's share, the sticky key."""

    primary: str
    candidate: str | None = None
    mode: str | None = None
    weight: float = 0.0
    sticky_key: str | None = None

    def versions(self) -> list[str]:
        return [self.primary] + ([self.candidate] if self.candidate is not None else [])


@dataclass(frozen=True)
class Routing:
    """The lanes of one plan; swapped whole."""

    plan: Plan
    primary: Lane
    candidate: Lane | None = None
    _header: bytes = field(default=b"", repr=False)

    @classmethod
    def of(cls, plan: Plan, lanes: dict[str, Lane]) -> Routing:
        candidate = lanes[plan.candidate] if plan.candidate is not None else None
        header = (plan.sticky_key or "").lower().encode()
        return cls(plan, lanes[plan.primary], candidate, header)

    @property
    def shadow(self) -> Lane | None:
        return self.candidate if self.plan.mode == "shadow" else None

    def choose(self, headers: Any, decoded: Decoded) -> tuple[Lane, str]:
        """The lane that answers this request, and its role."""
        if self.candidate is None or self.plan.mode != "canary":
            return self.primary, "primary"
        share = self._sticky_share(headers, decoded)
        if share is None:
            share = random.random()
        if share < self.plan.weight:
            return self.candidate, "canary"
        return self.primary, "primary"

    def _sticky_share(self, headers: Any, decoded: Decoded) -> float | None:
        key = self.plan.sticky_key
        if not key:
            return None
        for name, value in headers:
            if name == self._header:
                return route_share(value.decode("latin-1"))
        if key in decoded.columns:
            j = decoded.columns.index(key)
            return route_share(str(decoded.values[0][j]))
        return None
