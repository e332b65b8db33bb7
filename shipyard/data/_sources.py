"""Reading what a user hands to ``log_dataset`` as a stream of canonical Arrow batches.

Accepted: a pandas or polars DataFrame, a pyarrow Table or RecordBatch, or a
path to a CSV or Parquet file or to a folder of them. Files are read in
batches, so a file larger than memory can be logged.

Canonical types: large strings and binaries become plain ones, dictionaries
(categoricals) become their values, and schema metadata is dropped, so the same
data gives the same digest whichever library produced it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from shipyard.errors import InvalidInput, NotFound

__all__ = ["Source", "canonical_schema", "open_source", "to_table"]

BATCH_ROWS = 65_536
_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass
class Source:
    """A stream of batches in one canonical schema."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    description: str
    total_bytes: int | None = None  # for progress bars over files
    bytes_read: Any = None  # callable giving bytes read so far


def canonical_type(typ: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(typ):
        return canonical_type(typ.value_type)
    if pa.types.is_large_string(typ) or getattr(pa.types, "is_string_view", lambda t: False)(typ):
        return pa.string()
    if pa.types.is_large_binary(typ):
        return pa.binary()
    return typ


def canonical_schema(schema: pa.Schema) -> pa.Schema:
    names = [f.name for f in schema]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInput(
            f"Column name(s) {dupes} appear more than once; give every column its own name."
        )
    return pa.schema([pa.field(f.name, canonical_type(f.type), f.nullable) for f in schema])


def _cast(batch: pa.RecordBatch, schema: pa.Schema, where: str) -> pa.RecordBatch:
    if batch.schema.equals(schema, check_metadata=False):
        return batch
    if batch.schema.names != schema.names:
        raise InvalidInput(
            f"{where} has the columns {batch.schema.names}, unlike the first part "
            f"({schema.names}). Every file of a dataset must have the same columns."
        )
    arrays = []
    for name, array, field in zip(schema.names, batch.columns, schema, strict=True):
        try:
            arrays.append(array.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInput(
                f"Column {name!r} in {where} is {array.type}, not {field.type} as before: {exc}"
            ) from exc
    return pa.record_batch(arrays, schema=schema)


def _from_table(table: pa.Table, description: str) -> Source:
    schema = canonical_schema(table.schema)
    batches = (_cast(b, schema, description) for b in table.to_batches(max_chunksize=BATCH_ROWS))
    return Source(schema, batches, description)


def to_table(data: Any) -> pa.Table:
    """An in-memory DataFrame or Arrow object as a pyarrow Table (paths are not read here)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        if not isinstance(data, pd.DataFrame):
            raise InvalidInput(f"Expected a DataFrame; got a pandas {type(data).__name__}.")
        try:
            return pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInput(_pandas_error(data, exc)) from exc
    if module == "polars":
        return data.to_arrow()
    raise InvalidInput(
        f"Cannot read a {type(data).__name__} as a table. Pass a pandas or polars DataFrame, "
        "a pyarrow Table, or the path of a CSV or Parquet file or folder."
    )


def _pandas_error(df: Any, exc: Exception) -> str:
    """Name the column and the types it mixes."""
    for name in df.columns:
        column = df[name]
        if column.dtype == object:
            present = column.dropna()
            kinds = sorted({type(v).__name__ for v in present.head(100_000)})
            if len(kinds) > 1:
                first = type(present.iloc[0])
                odd = next(
                    (i for i, v in enumerate(column) if v is not None and type(v) is not first),
                    None,
                )
                return (
                    f"Column {name!r} mixes types ({', '.join(kinds)}), e.g. a {first.__name__} at "
                    f"the start and a {type(column.iloc[odd]).__name__} at row {odd}. "
                    "Convert it to one type first (df[col].astype(str), pd.to_numeric, ...)."
                )
    return f"Cannot convert the DataFrame to Arrow: {exc}"


class _CountingFile:
    """A file wrapper that counts the bytes read, for progress bars."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.count = 0
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.fh.close()
        self.closed = True


def _csv_batches(
    path: Path, encoding: str, counter: _CountingFile
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    from pyarrow import csv

    bad_rows: list[str] = []

    def on_invalid_row(row: Any) -> str:
        bad_rows.append(row.text)
        return "error"

    read = csv.ReadOptions(block_size=16 << 20, encoding=encoding)
    parse = csv.ParseOptions(
        delimiter="\t" if path.suffix == ".tsv" else ",", invalid_row_handler=on_invalid_row
    )
    try:
        reader = csv.open_csv(counter, read_options=read, parse_options=parse)
    except pa.ArrowInvalid as exc:
        raise InvalidInput(_csv_message(path, exc, encoding, bad_rows)) from exc

    undecodable = [f.name for f in reader.schema if pa.types.is_binary(f.type)]
    if undecodable:  # Arrow types text that is not valid in the encoding as binary
        raise InvalidInput(
            f"{path} is not valid {encoding} text: column(s) {undecodable} hold bytes that are "
            "not characters in that encoding. Pass the file's encoding, e.g. encoding='latin-1'."
        )

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise InvalidInput(_csv_message(path, exc, encoding, bad_rows)) from exc
            yield batch

    return reader.schema, batches()


def _line_of(path: Path, text: str) -> int | None:
    """The 1-based line number where ``text`` stands alone in the file (only read on errors)."""
    target = text.rstrip("\r\n")
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for number, line in enumerate(fh, 1):
            if line.rstrip("\r\n") == target:
                return number
    return None


def _csv_message(
    path: Path, exc: Exception, encoding: str, bad_rows: list[str] | None = None
) -> str:
    text = str(exc)
    if "UTF8" in text or "UTF-8" in text or "decode" in text.lower():
        return (
            f"{path} is not valid {encoding} text ({text.splitlines()[0]}). "
            "Pass the file's encoding, e.g. encoding='latin-1'."
        )
    if "columns" in text and "Expected" in text:
        line = _line_of(path, bad_rows[0]) if bad_rows else None
        where = f" at line {line}" if line else ""
        return (
            f"{path} has a broken line{where}: {text.splitlines()[0]}. Fix the line or remove it."
        )
    return f"Cannot read {path} as CSV: {text.splitlines()[0]}"


def _file_parts(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
        if not files:
            raise InvalidInput(f"The folder {path} holds no .csv or .parquet files.")
        kinds = {_SUFFIXES[p.suffix.lower()] for p in files}
        if len(kinds) > 1:
            raise InvalidInput(
                f"The folder {path} mixes CSV and Parquet files; keep one kind per dataset."
            )
        return files
    if path.suffix.lower() not in _SUFFIXES:
        raise InvalidInput(
            f"Cannot tell the format of {path}: name it .csv, .tsv or .parquet (or pass a DataFrame)."
        )
    return [path]


def _open_files(path: Path, encoding: str) -> Source:
    files = _file_parts(path)
    total = sum(p.stat().st_size for p in files)
    kind = _SUFFIXES[files[0].suffix.lower()]
    state = {"done": 0, "current": None}

    def bytes_read() -> int:
        current = state["current"]
        return state["done"] + (current.count if current is not None else 0)  # type: ignore[attr-defined]

    def parts() -> Iterator[tuple[Path, pa.Schema, Iterator[pa.RecordBatch]]]:
        for part in files:
            if kind == "csv":
                counter = _CountingFile(open(part, "rb"))  # noqa: SIM115 - closed below
                state["current"] = counter
                try:
                    schema, batches = _csv_batches(part, encoding, counter)
                    yield part, schema, batches
                finally:
                    state["done"] += counter.count  # type: ignore[operator]
                    state["current"] = None
                    counter.close()
            else:
                import pyarrow.parquet as pq

                try:
                    parquet = pq.ParquetFile(part)
                except (pa.ArrowInvalid, OSError) as exc:
                    raise InvalidInput(f"{part} is not a readable Parquet file: {exc}") from exc
                yield part, parquet.schema_arrow, parquet.iter_batches(batch_size=BATCH_ROWS)
                state["done"] += part.stat().st_size  # type: ignore[operator]

    stream = parts()
    first_path, first_schema, first_batches = next(stream)
    schema = canonical_schema(first_schema)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in first_batches:
            yield _cast(batch, schema, str(first_path))
        for part, _, more in stream:
            for batch in more:
                yield _cast(batch, schema, str(part))

    description = str(path.resolve())
    return Source(schema, batches(), description, total_bytes=total, bytes_read=bytes_read)


def open_source(data: Any, *, encoding: str = "utf8") -> Source:
    """The batches of ``data``: a DataFrame, an Arrow object, or a file or folder path."""
    if isinstance(data, str | os.PathLike):
        path = Path(data).expanduser()
        if not path.exists():
            raise NotFound(f"Cannot log {str(data)!r}: no such file or folder.")
        return _open_files(path, encoding)
    table = to_table(data)
    module = type(data).__module__.split(".")[0]
    return _from_table(table, f"<{module}.{type(data).__name__}>")
