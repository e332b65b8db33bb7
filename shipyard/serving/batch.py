"""Batch scoring: files of any size, scored in chunks, written as they go.

Columns the model does not take (ids, timestamps) pass through to the output;
the output adds ``prediction`` and, for classifiers, ``probability_<class>``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shipyard.errors import InvalidInput

__all__ = ["ScoreResult", "score_file"]


@dataclass
class ScoreResult:
    rows: int
    seconds: float
    output: Path
    chunks: int = 0
    engine: str = "local"  # or "ray"

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def score_file(
    model: str,
    source: str | Path,
    output: str | Path,
    *,
    batch_rows: int = 100_000,
    allow_pickle: bool = False,
    progress: bool | None = None,
    ray: bool = False,
    ray_address: str | None = None,
    client: Any = None,
) -> ScoreResult:
    """Score a CSV or Parquet file (or folder) with ``model`` into a Parquet file.

    With ``ray=True`` the chunks are scored by Ray tasks (at most two per CPU
    of the cluster in flight, so memory stays bounded) on the cluster at
    ``ray_address`` (default: the one ``RAY_ADDRESS`` names, or a local one),
    and written in input order.
    """
    from shipyard.data._sources import open_source
    from shipyard.models import load

    output = Path(output)
    if output.suffix.lower() != ".parquet":
        raise InvalidInput(f"Write scores to a .parquet file; got {output.name!r}.")
    predictor = load(model, allow_pickle=allow_pickle, client=client)
    columns = predictor.signature.columns if predictor.signature else []
    has_proba = bool(predictor.manifest.get("flavor_options", {}).get("predict_proba"))
    src = open_source(source)
    missing = [c for c in columns if c not in src.schema.names]
    if missing:
        raise InvalidInput(f"{source} lacks the model's input column(s) {missing}.")
    show = progress if progress is not None else sys.stderr.isatty()
    bar = task = None
    if show and src.total_bytes:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(
            TextColumn("scoring"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        bar.start()
        task = bar.add_task("scoring", total=src.total_bytes, rate="")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    writer = None
    rows = 0
    started = time.perf_counter()
    try:
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        scorer = _RayScorer(predictor, columns, has_proba, ray_address) if ray else None

        chunks = 0

        def flush(table: pa.Table) -> None:
            nonlocal chunks
            chunks += 1
            if scorer is None:
                write(score_table(predictor, columns, has_proba, table))
            else:
                for out in scorer.submit(table):
                    write(out)

        def write(out: pa.Table) -> None:
            nonlocal writer, rows
            if writer is None:
                writer = pq.ParquetWriter(partial, out.schema, compression="zstd")
            writer.write_table(out)
            rows += out.num_rows
            if bar is not None:
                elapsed = time.perf_counter() - started
                bar.update(task, completed=src.bytes_read(), rate=f"{rows / elapsed:,.0f} rows/s")

        for (
            batch
        ) in src.batches:  # chunks of exactly batch_rows rows, whatever the source's batches
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= batch_rows:
                table = pa.Table.from_batches(pending)
                flush(table.slice(0, batch_rows))
                rest = table.slice(batch_rows)
                pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows:
            flush(pa.Table.from_batches(pending))
        if scorer is not None:
            for out in scorer.drain():
                write(out)
    except BaseException:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        if bar is not None:
            bar.update(task, completed=src.total_bytes)
            bar.stop()
    if writer is None:
        raise InvalidInput(f"{source} has no rows to score.")
    writer.close()
    partial.replace(output)
    engine = "ray" if ray else "local"
    return ScoreResult(rows, time.perf_counter() - started, output, chunks, engine)


def score_table(predictor: Any, columns: list[str], has_proba: bool, table: pa.Table) -> pa.Table:
    """``table`` with ``prediction`` (and ``probability_<class>``) columns added."""
    frame = table.to_pandas()
    features = frame[columns] if columns else frame
    predictions = np.asarray(predictor.predict(features))
    out = table.append_column("prediction", pa.array(predictions.tolist()))
    if has_proba:
        probabilities = np.asarray(predictor.predict_proba(features))
        classes = getattr(predictor.model, "classes_", range(probabilities.shape[1]))
        for k, label in enumerate(classes):
            out = out.append_column(f"probability_{label}", pa.array(probabilities[:, k]))
    return out


class _RayScorer:
    """Chunks scored by Ray tasks, handed back in submission order, a bounded number in flight."""

    def __init__(
        self, predictor: Any, columns: list[str], has_proba: bool, address: str | None
    ) -> None:
        try:
            import ray
        except ImportError:
            from shipyard.errors import MissingDependency

            raise MissingDependency.for_extra("ray", "ray", "Scoring on Ray") from None
        import os
        from collections import deque

        if not ray.is_initialized():
            ray.init(
                address=address or os.environ.get("RAY_ADDRESS") or None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        self._ray = ray
        self._task = ray.remote(score_table)
        self._model = ray.put(predictor)
        self._columns, self._has_proba = columns, has_proba
        self._window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        self._in_flight: deque[Any] = deque()

    def submit(self, table: pa.Table) -> list[pa.Table]:
        """Start a chunk; return the chunks that had to finish to keep the window."""
        self._in_flight.append(
            self._task.remote(self._model, self._columns, self._has_proba, table)
        )
        done = []
        while len(self._in_flight) > self._window:
            done.append(self._ray.get(self._in_flight.popleft()))
        return done

    def drain(self) -> list[pa.Table]:
        done = [self._ray.get(ref) for ref in self._in_flight]
        self._in_flight.clear()
        return done
