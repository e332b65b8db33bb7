"""The digest of a table's canonical content, independent of how it was chunked.

Batches are re-cut into fixed-size chunks of rows. Each column of a chunk is
hashed, after the schema's names and types, as two arrays in Arrow IPC form:
its validity mask, and its values with nulls replaced by a fixed zero (what
lies under a null slot is undefined in Arrow). Both are copied into fresh
buffers first, because IPC writes a sliced array's offsets as they are. So the
same rows and columns give the same digest however they were chunked or
built; a changed value, null, type, column name or column order gives another.
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["CHUNK_ROWS", "ContentHasher"]

CHUNK_ROWS = 65_536


class ContentHasher:
    def __init__(self, schema: pa.Schema, chunk_rows: int = CHUNK_ROWS) -> None:
        self.schema = schema
        self.chunk_rows = chunk_rows
        self._sha = hashlib.sha256()
        self._sha.update(json.dumps([[f.name, str(f.type)] for f in schema]).encode())
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.num_rows = 0

    def update(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.num_rows += batch.num_rows
        if self._pending_rows >= self.chunk_rows:
            table = pa.Table.from_batches(self._pending, schema=self.schema)
            start = 0
            while table.num_rows - start >= self.chunk_rows:
                self._hash(table.slice(start, self.chunk_rows))
                start += self.chunk_rows
            rest = table.slice(start)
            self._pending = rest.to_batches()
            self._pending_rows = rest.num_rows

    def _hash(self, table: pa.Table) -> None:
        arrays: list[pa.Array] = []
        for column in table.columns:
            values = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
            arrays.append(_fresh(pc.is_valid(values)))
            arrays.append(_fresh(_fill_nulls(values)))
        names = [str(i) for i in range(len(arrays))]
        self._sha.update(pa.record_batch(arrays, names=names).serialize())

    def hexdigest(self) -> str:
        if self._pending_rows:
            self._hash(pa.Table.from_batches(self._pending, schema=self.schema))
            self._pending, self._pending_rows = [], 0
        return self._sha.hexdigest()


def _fresh(array: pa.Array) -> pa.Array:
    """The same values in newly allocated buffers that start at offset zero."""
    return pa.concat_arrays([array, array.slice(0, 0)])


def _fill_nulls(array: pa.Array) -> pa.Array:
    if array.null_count == 0:
        return array
    typ = array.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        zero = pa.scalar("", typ)
    elif pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        zero = pa.scalar(b"", typ)
    elif pa.types.is_boolean(typ):
        zero = pa.scalar(False)
    elif pa.types.is_null(typ):
        return array
    else:
        try:
            zero = pa.scalar(0).cast(typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # nested types: their text form is canonical enough for a digest
            return pa.array(
                [None if v is None else repr(v) for v in array.to_pylist()], pa.string()
            )
    return pc.fill_null(array, zero)
