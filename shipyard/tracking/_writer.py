"""Buffered logging: the hot path appends, a background thread writes batches.

``log_metric`` costs a lock and a list append. A daemon thread writes what has
gathered every ``flush_interval`` seconds, or sooner once ``flush_max_points``
points wait, in one transaction, and sends heartbeats for live runs. ``flush()``
writes synchronously and raises what the store raised. If the store keeps
failing, points stay buffered and are retried; past a hard cap, logging calls
flush synchronously, so memory stays bounded and the error reaches the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from shipyard.store.base import LogBatch, MetricRow, RunEnd, Store

__all__ = ["BackgroundWriter"]

log = logging.getLogger("shipyard.tracking")


class BackgroundWriter:
    def __init__(
        self,
        store: Store,
        *,
        flush_interval: float = 1.0,
        flush_max_points: int = 20_000,
        heartbeat_interval: float = 30.0,
    ) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self.flush_max_points = flush_max_points
        self.hard_cap = max(50 * flush_max_points, 1_000_000)
        self.heartbeat_interval = heartbeat_interval
        # RLock: a signal handler may log while the main thread holds it
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._write_lock = threading.Lock()
        self._metrics: list[MetricRow] = []
        self._tags: list[tuple[str, str, str]] = []
        self._live: set[str] = set()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.last_error: BaseException | None = None

    # -- the hot path -------------------------------------------------------------------

    def add_metric(self, row: MetricRow) -> None:
        with self._lock:
            self._metrics.append(row)
            pending = len(self._metrics)
        if pending >= self.flush_max_points:
            self._after_add(pending)

    def add_metrics(self, rows: Iterable[MetricRow]) -> None:
        with self._lock:
            self._metrics.extend(rows)
            pending = len(self._metrics)
        if pending >= self.flush_max_points:
            self._after_add(pending)

    def add_tags(self, rows: Iterable[tuple[str, str, str]]) -> None:
        with self._lock:
            self._tags.extend(rows)
        self._ensure_thread()

    def _after_add(self, pending: int) -> None:
        if pending >= self.hard_cap:
            self.flush()  # the store is not keeping up or failing: make it the caller's problem
            return
        self._ensure_thread()
        with self._wake:
            self._wake.notify()

    # -- runs ---------------------------------------------------------------------------

    def run_started(self, run_id: str) -> None:
        with self._lock:
            self._live.add(run_id)
        self._ensure_thread()

    def end_run(self, end: RunEnd) -> None:
        """Write what is buffered and the run's end, in one transaction."""
        with self._lock:
            self._live.discard(end.run_id)
        self.flush(ends=[end])

    # -- writing ------------------------------------------------------------------------

    def flush(self, ends: list[RunEnd] | None = None, heartbeats: bool = False) -> None:
        with self._write_lock:
            with self._lock:
                batch = LogBatch(
                    metrics=self._metrics,
                    tags=self._tags,
                    heartbeats=sorted(self._live) if heartbeats else [],
                    ends=ends or [],
                )
                self._metrics, self._tags = [], []
            if not batch:
                return
            try:
                self.store.log_batch(batch)
            except BaseException:
                with self._lock:  # keep the points, in order, for the next try
                    self._metrics[:0] = batch.metrics
                    self._tags[:0] = batch.tags
                raise

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._metrics) + len(self._tags)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if (self._thread is None or not self._thread.is_alive()) and not self._closed:
                    self._thread = threading.Thread(
                        target=self._loop, name="shipyard-writer", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_interval
        backoff = self.flush_interval
        while True:
            with self._wake:
                self._wake.wait_for(
                    lambda: self._closed or len(self._metrics) >= self.flush_max_points,
                    timeout=backoff,
                )
                closed = self._closed
            beat = time.monotonic() >= next_beat
            try:
                self.flush(heartbeats=beat)
                self.last_error = None
                backoff = self.flush_interval
                if beat:
                    next_beat = time.monotonic() + self.heartbeat_interval
            except Exception as exc:  # kept and retried; flush() in the caller raises it
                if self.last_error is None:
                    log.warning("Shipyard could not write logged data yet (will retry): %s", exc)
                self.last_error = exc
                backoff = min(backoff * 2, 30.0)
            if closed:
                return

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        self.flush()
