"""Request bodies in, response bodies out, checked against the model's signature.

Accepted bodies:

    [{"age": 41, "plan": "pro"}, ...]                        records
    {"columns": ["age", "plan"], "data": [[41, "pro"], ...]}  columns
    {"data": [[41, "pro"], ...]}                              rows in the signature's order
    {"age": 41, "plan": "pro"}                                one object

Malformed JSON is a 400; a body that does not match the signature (missing,
extra or mistyped columns) is a 422 naming each column and what was expected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from shipyard.errors import InvalidInput, ValidationFailed
from shipyard.models.signature import Signature

__all__ = ["Decoded", "decode", "encode"]

_NUMERIC = {"double", "integer", "boolean"}


class Decoded:
    """The rows of one request, in signature order."""

    __slots__ = ("columns", "n", "values")

    def __init__(self, values: Any, columns: list[str], n: int) -> None:
        self.values = values  # a float64 matrix when every input is numeric, else a list of rows
        self.columns = columns
        self.n = n


def decode(body: bytes, signature: Signature | None) -> Decoded:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"The body is not valid JSON: {exc}. Send records, {{columns, data}} or one object."
        ) from None
    if signature is None or not signature.columns:
        raise ValidationFailed(
            "This model has no column signature; the server cannot check input for it."
        )
    columns = signature.columns
    if (
        isinstance(payload, dict)
        and "data" in payload
        and ("columns" in payload or len(payload) == 1)
    ):
        given, data = payload.get("columns", columns), payload["data"]
        if (
            not isinstance(given, list)
            or not isinstance(data, list)
            or not all(isinstance(r, list) for r in data)
        ):
            raise InvalidInput(
                "'columns' must be a list of names and 'data' a list of rows (lists)."
            )
        _check_names(given, columns)
        if any(len(row) != len(given) for row in data):
            bad = next(i for i, row in enumerate(data) if len(row) != len(given))
            raise ValidationFailed(
                f"Row {bad} has {len(data[bad])} values for {len(given)} columns."
            )
        if given == columns:
            rows = data
        else:
            order = [given.index(c) for c in columns]
            rows = [[row[i] for i in order] for row in data]
    else:
        records = [payload] if isinstance(payload, dict) else payload
        if (
            not isinstance(records, list)
            or not records
            or not all(isinstance(r, dict) for r in records)
        ):
            raise InvalidInput(
                'Send a list of records ([{...}]), {"columns": [...], "data": [[...]]}, or one object.'
            )
        expected = set(columns)
        for i, record in enumerate(records):
            if record.keys() != expected:
                _check_names(list(record), columns, row=i)
        rows = [[record[c] for c in columns] for record in records]
    if not rows:
        raise InvalidInput("The body has no rows.")
    return _typed(rows, signature)


def _check_names(given: list[Any], columns: list[str], row: int | None = None) -> None:
    if given == columns:
        return
    missing = [c for c in columns if c not in given]
    extra = [str(c) for c in given if c not in columns]
    if missing or extra:
        where = f" (row {row})" if row is not None else ""
        parts = ([f"missing column(s) {missing}"] if missing else []) + (
            [f"unexpected column(s) {extra}"] if extra else []
        )
        raise ValidationFailed(
            f"The input does not match the model's signature{where}: {'; '.join(parts)}. Expected {columns}.",
            missing=missing,
            unexpected=extra,
        )


def _typed(rows: list[list[Any]], signature: Signature) -> Decoded:
    columns = signature.columns
    kinds = [c.type for c in signature.inputs]  # type: ignore[union-attr]
    if all(k in _NUMERIC for k in kinds):
        try:
            matrix = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            matrix = None
        if matrix is not None and matrix.ndim == 2:
            return Decoded(matrix, columns, len(rows))
    problems = []
    for j, (name, kind) in enumerate(zip(columns, kinds, strict=True)):
        for i, row in enumerate(rows):
            value = row[j]
            if value is None:
                continue
            ok = (
                (
                    (
                        kind in _NUMERIC
                        and isinstance(value, int | float)
                        and not isinstance(value, bool)
                    )
                    or (kind == "boolean" and isinstance(value, bool))
                )
                or (kind in ("string", "object", "datetime") and isinstance(value, str))
                or kind == "object"
            )
            if not ok:
                problems.append(f"{name!r} must be {kind}; row {i} has {value!r}")
                break
    if problems:
        raise ValidationFailed(
            "The input has values of the wrong type: " + "; ".join(problems) + ".", columns=problems
        )
    return Decoded(rows, columns, len(rows))


def encode(
    predictions: np.ndarray, probabilities: np.ndarray | None, version: str, request_id: str
) -> bytes:
    body: dict[str, Any] = {
        "predictions": predictions,
        "model_version": version,
        "request_id": request_id,
    }
    if probabilities is not None:
        body["probabilities"] = probabilities
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
