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
    client: Any = None,
) -> ScoreResult:
    """Score a CSV or Parquet file (or folder) with ``model`` into a Parquet file."""
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

        def flush(batches: list[pa.RecordBatch]) -> None:
            nonlocal writer, rows
            table = pa.Table.from_batches(batches)
            frame = table.to_pandas()
            features = frame[columns] if columns else frame
            predictions = np.asarray(predictor.predict(features))
            out = table.append_column("prediction", pa.array(predictions.tolist()))
            if has_proba:
                probabilities = np.asarray(predictor.predict_proba(features))
                classes = getattr(predictor.model, "classes_", range(probabilities.shape[1]))
                for k, label in enumerate(classes):
                    out = out.append_column(f"probability_{label}", pa.array(probabilities[:, k]))
            if writer is None:
                writer = pq.ParquetWriter(partial, out.schema, compression="zstd")
            writer.write_table(out)
            rows += out.num_rows
            if bar is not None:
                elapsed = time.perf_counter() - started
                bar.update(task, completed=src.bytes_read(), rate=f"{rows / elapsed:,.0f} rows/s")

        for batch in src.batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= batch_rows:
                flush(pending)
                pending, pending_rows = [], 0
        if pending:
            flush(pending)
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
    return ScoreResult(rows, time.perf_counter() - started, output)
