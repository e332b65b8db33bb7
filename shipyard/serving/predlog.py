"""The prediction log: every request's inputs and outputs, in append-only Arrow segments.

The request path only appends to an in-memory buffer. A background thread
writes the buffer every ``flush_interval`` seconds to the open segment (an Arrow
IPC stream, ``*.arrow.partial``) and rotates segments by size and age into
``*.arrow``. Memory is bounded: past ``max_pending_rows`` waiting rows, new
rows are dropped and counted (exported as a metric), never silently lost and
never blocking a request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from shipyard.store.ids import new_id, now_ms

__all__ = ["PredictionLogger", "read_labels", "read_predictions", "write_labels"]


class PredictionLogger:
    def __init__(
        self,
        folder: Path,
        deployment: str,
        *,
        flush_interval: float = 0.5,
        segment_bytes: int = 64 << 20,
        segment_seconds: float = 300.0,
        max_pending_rows: int = 1_000_000,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.deployment = deployment
        self.flush_interval = flush_interval
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self.max_pending_rows = max_pending_rows
        self.dropped = 0
        self.written = 0
        self._pending: list[tuple[Any, ...]] = []
        self._pending_rows = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None
        self._sink: Any = None
        self._segment: Path | None = None
        self._opened = 0.0
        self._schema: pa.Schema | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shipyard-predlog", daemon=True)
        self._thread.start()

    # -- the request path: an append under a lock ----------------------------------------

    def log(
        self,
        request_id: str,
        model_version: str,
        columns: Sequence[str],
        values: Any,
        predictions: Any,
        probabilities: Any,
        latency_ms: float,
        variant: str = "primary",
    ) -> bool:
        """Queue one request's rows; False (and counted in ``dropped``) if the buffer is full."""
        n = len(predictions)
        with self._lock:
            if self._pending_rows + n > self.max_pending_rows:
                self.dropped += n
                return False
            self._pending.append(
                (
                    request_id,
                    now_ms(),
                    model_version,
                    list(columns),
                    values,
                    predictions,
                    probabilities,
                    latency_ms,
                    variant,
                )
            )
            self._pending_rows += n
        return True

    # -- the writer thread -----------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                self._write()
            except Exception:  # keep logging alive; the failure shows as rows never written
                pass

    def _batch(self, items: list[tuple[Any, ...]]) -> pa.RecordBatch:
        """One record batch for queued requests of one input shape, built column-wise."""
        counts = np.fromiter((len(item[5]) for item in items), np.int64, len(items))
        total = int(counts.sum())
        owner = np.repeat(np.arange(len(items)), counts)  # the request of each row
        starts = np.cumsum(counts) - counts

        def per_request(index: int, kind: Any) -> pa.Array:
            return pa.array([item[index] for item in items], kind).take(owner)

        arrays = {
            "request_id": per_request(0, pa.string()),
            "ts_ms": per_request(1, pa.int64()),
            "deployment": pa.array([self.deployment], pa.string()).take(np.zeros(total, np.int64)),
            "model_version": per_request(2, pa.string()),
            "variant": per_request(8, pa.string()),
            "latency_ms": per_request(7, pa.float64()),
            "row": pa.array((np.arange(total) - starts[owner]).astype(np.int32)),
        }
        columns = items[0][3]
        if all(isinstance(item[4], np.ndarray) for item in items):
            matrix = np.vstack([item[4] for item in items])
            for j, name in enumerate(columns):
                arrays[f"input.{name}"] = pa.array(matrix[:, j])
        else:
            rows = [
                row
                for item in items
                for row in (item[4].tolist() if isinstance(item[4], np.ndarray) else item[4])
            ]
            for j, name in enumerate(columns):
                arrays[f"input.{name}"] = pa.array([row[j] for row in rows])
        arrays["prediction"] = pa.array(np.concatenate([np.asarray(item[5]) for item in items]))
        probabilities = [item[6] for item in items]
        if all(p is not None for p in probabilities):
            stacked = np.vstack(probabilities).astype(np.float64)
            width = stacked.shape[1]
            offsets = np.arange(0, total * width + 1, width, dtype=np.int32)
            arrays["probabilities"] = pa.ListArray.from_arrays(offsets, stacked.ravel())
        else:
            arrays["probabilities"] = pa.array(
                [
                    row
                    for p, n in zip(probabilities, counts, strict=True)
                    for row in (np.asarray(p).tolist() if p is not None else [None] * n)
                ],
                pa.list_(pa.float64()),
            )
        return pa.record_batch(list(arrays.values()), names=list(arrays))

    def _write(self) -> None:
        with self._write_lock:
            with self._lock:
                items, self._pending, self._pending_rows = self._pending, [], 0
            if items:
                # rows of different model versions may have different inputs: one batch per shape
                groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
                for item in items:
                    groups.setdefault(tuple(item[3]), []).append(item)
                for group in groups.values():
                    batch = self._batch(group)
                    if self._schema is not None and not batch.schema.equals(self._schema):
                        self._rotate()
                    if self._writer is None:
                        self._open(batch.schema)
                    self._writer.write_batch(batch)  # type: ignore[union-attr]
                    self.written += batch.num_rows
                self._sink.flush()
            if self._writer is not None and (
                self._sink.tell() >= self.segment_bytes
                or time.monotonic() - self._opened >= self.segment_seconds
            ):
                self._rotate()

    def _open(self, schema: pa.Schema) -> None:
        self._segment = self.folder / f"{new_id()}.arrow.partial"
        self._sink = open(self._segment, "wb")  # noqa: SIM115 - closed in _rotate
        self._writer = pa.ipc.new_stream(self._sink, schema)
        self._schema = schema
        self._opened = time.monotonic()

    def _rotate(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._sink.close()
        assert self._segment is not None
        self._segment.rename(self._segment.with_suffix(""))  # drop ".partial"
        self._writer = self._sink = self._segment = self._schema = None

    def flush(self) -> None:
        """Write everything pending and close the segment, so readers see it."""
        self._write()
        with self._write_lock:
            self._rotate()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.flush()


def read_predictions(
    folder: Path,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    last: int | None = None,
    variant: str | None = None,
) -> pa.Table:
    """A deployment's prediction log, optionally within [start, end), of one ``variant``.

    Closed segments are read whole; a segment still being written (by a
    running server) is read up to its last complete batch, so rows show up
    within the writer's flush interval (half a second). A segment last
    written before ``start_ms`` is not opened. With ``last``, only the newest
    segments that can hold the newest ``last`` rows are read (a row is always
    older than its segment's last write), and the rows come in time order.
    """
    segments = []
    for path in Path(folder).glob("*.arrow*"):
        if path.suffix == ".arrow" or path.name.endswith(".arrow.partial"):
            try:
                written = path.stat().st_mtime_ns // 1_000_000
            except FileNotFoundError:  # a segment closed (renamed) just now
                continue
            if start_ms is None or written >= start_ms:
                segments.append((written, path))

    def rows(path: Path) -> pa.Table | None:
        tables = _segment(path)
        if not tables:
            return None
        table = pa.concat_tables(tables)
        return _within(table, start_ms, end_ms, variant)

    tables: list[pa.Table] = []
    if last is None:
        for _, path in sorted(segments, key=lambda s: s[1].name):  # ids: creation order
            table = rows(path)
            if table is not None and table.num_rows:
                tables.append(table)
    else:
        newest: int | None = None  # ts of the last-th newest row read so far
        for written, path in sorted(segments, reverse=True):
            if newest is not None and written < newest:
                break  # this segment and older ones hold only older rows
            table = rows(path)
            if table is not None and table.num_rows:
                tables.append(table)
                times = np.sort(np.concatenate([t["ts_ms"].to_numpy() for t in tables]))
                if len(times) >= last:
                    newest = int(times[-last])
    if not tables:
        return pa.table(
            {"request_id": pa.array([], pa.string()), "ts_ms": pa.array([], pa.int64())}
        )
    table = pa.concat_tables(tables, promote_options="permissive")
    if last is not None:
        order = np.argsort(table["ts_ms"].to_numpy(), kind="stable")
        table = table.take(order[max(0, len(order) - last) :])
    return table


def _within(
    table: pa.Table, start_ms: int | None, end_ms: int | None, variant: str | None
) -> pa.Table:
    import pyarrow.compute as pc

    if start_ms is not None:
        table = table.filter(pc.greater_equal(table["ts_ms"], start_ms))
    if end_ms is not None:
        table = table.filter(pc.less(table["ts_ms"], end_ms))
    if variant is not None and "variant" in table.column_names:
        table = table.filter(pc.equal(table["variant"], variant))
    return table


def _segment(path: Path) -> list[pa.Table]:
    """A segment's rows: whole when closed, its complete batches while being written."""
    if path.suffix == ".arrow":
        with pa.OSFile(str(path), "rb") as source:
            return [pa.ipc.open_stream(source).read_all()]
    tables = _complete_batches(path)
    closed = path.with_suffix("")  # ".partial" dropped
    if not tables and not path.exists() and closed.exists():  # closed while we looked
        return _segment(closed)
    return tables


def _complete_batches(path: Path) -> list[pa.Table]:
    """The complete batches of a segment another process is appending to."""
    batches = []
    try:
        with pa.OSFile(str(path), "rb") as source:
            reader = pa.ipc.open_stream(source)
            while True:
                batches.append(reader.read_next_batch())
    except (StopIteration, pa.ArrowInvalid, OSError):
        pass  # the end, or a batch still being written, or the segment was just closed
    return [pa.Table.from_batches(batches)] if batches else []


def write_labels(folder: Path, labels: dict[str, Any]) -> int:
    """Append ground-truth labels for request ids as a labels segment."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "request_id": pa.array(list(labels), pa.string()),
            "label": pa.array([labels[k] for k in labels]),
            "ts_ms": pa.array([now_ms()] * len(labels), pa.int64()),
        }
    )
    partial = folder / f"{new_id()}.arrow.partial"
    with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    partial.rename(partial.with_suffix(""))
    return table.num_rows


def read_labels(folder: Path) -> pa.Table:
    return read_predictions(folder)
