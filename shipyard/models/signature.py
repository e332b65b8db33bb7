"""Model signatures: the columns (or tensor) a model takes and what it returns.

A signature is inferred from an input example, stored in the model's manifest,
and checked on every prediction: missing or extra columns, and types that
cannot be converted safely, raise InvalidInput naming the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from shipyard.errors import InvalidInput

__all__ = ["ColumnSpec", "Signature", "TensorSpec", "infer_signature"]

#: logical types: what a column must hold
_KINDS = ("integer", "double", "boolean", "string", "datetime", "object")


def _kind_of(dtype: Any) -> str:
    """The logical type of a pandas or numpy dtype."""
    from pandas.api import types

    if types.is_bool_dtype(dtype):
        return "boolean"
    if types.is_integer_dtype(dtype):
        return "integer"
    if types.is_float_dtype(dtype):
        return "double"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_string_dtype(dtype) and not types.is_object_dtype(dtype):
        return "string"
    return "object"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str  # one of _KINDS
    required: bool = True


@dataclass(frozen=True)
class TensorSpec:
    dtype: str  # numpy dtype name
    shape: tuple[int, ...]  # -1 for any size along an axis


@dataclass
class Signature:
    inputs: list[ColumnSpec] | TensorSpec
    outputs: list[ColumnSpec] | TensorSpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def columns(self) -> list[str]:
        return [c.name for c in self.inputs] if isinstance(self.inputs, list) else []

    def to_dict(self) -> dict[str, Any]:
        def part(spec: Any) -> Any:
            if spec is None:
                return None
            if isinstance(spec, TensorSpec):
                return {"tensor": {"dtype": spec.dtype, "shape": list(spec.shape)}}
            return {
                "columns": [{"name": c.name, "type": c.type, "required": c.required} for c in spec]
            }

        return {"inputs": part(self.inputs), "outputs": part(self.outputs)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Signature:
        def part(spec: Any) -> Any:
            if spec is None:
                return None
            if "tensor" in spec:
                return TensorSpec(spec["tensor"]["dtype"], tuple(spec["tensor"]["shape"]))
            return [
                ColumnSpec(c["name"], c["type"], c.get("required", True)) for c in spec["columns"]
            ]

        return cls(part(raw["inputs"]), part(raw.get("outputs")))

    def compatible_with(self, other: Signature) -> list[str]:
        """Why a model with ``other``'s inputs could not take this one's traffic (empty if it can)."""
        problems = []
        if isinstance(self.inputs, TensorSpec) or isinstance(other.inputs, TensorSpec):
            if self.inputs != other.inputs:
                problems.append(f"inputs changed from {other.inputs} to {self.inputs}")
            return problems
        theirs = {c.name: c for c in other.inputs}
        for column in self.inputs:
            if column.required and column.name not in theirs:
                problems.append(f"new required column {column.name!r}")
            elif column.name in theirs and theirs[column.name].type != column.type:
                problems.append(
                    f"column {column.name!r} changed type {theirs[column.name].type} -> {column.type}"
                )
        return problems

    # -- checking input ---------------------------------------------------------------

    def prepare(self, data: Any) -> Any:
        """``data`` checked against the inputs and converted where that is safe.

        Columns come back in the signature's order; a missing or extra column,
        or a value that cannot be converted, raises InvalidInput naming it.
        """
        if isinstance(self.inputs, TensorSpec):
            return self._prepare_tensor(data)
        import pandas as pd

        if isinstance(data, dict):
            data = pd.DataFrame([data])
        elif isinstance(data, list):
            data = pd.DataFrame(data)
        elif not isinstance(data, pd.DataFrame):
            module = type(data).__module__.split(".")[0]
            if module in ("pyarrow", "polars"):
                data = data.to_pandas()
            else:
                raise InvalidInput(
                    f"This model takes a table with columns {self.columns}; got {type(data).__name__}."
                )
        expected = {c.name: c for c in self.inputs}
        missing = [c.name for c in self.inputs if c.required and c.name not in data.columns]
        extra = [str(c) for c in data.columns if c not in expected]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {missing}")
            if extra:
                parts.append(f"unexpected column(s) {extra}")
            raise InvalidInput(
                f"Input does not match the model's signature: {'; '.join(parts)}. Expected columns {self.columns}."
            )
        out = {}
        for spec in self.inputs:
            if spec.name in data.columns:
                out[spec.name] = _convert(data[spec.name], spec)
        return pd.DataFrame(out, index=data.index)

    def _prepare_tensor(self, data: Any) -> np.ndarray:
        spec = self.inputs
        assert isinstance(spec, TensorSpec)
        try:
            array = np.asarray(data)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"Cannot read the input as an array: {exc}.") from exc
        if array.ndim != len(spec.shape) or any(
            want not in (-1, got) for want, got in zip(spec.shape, array.shape, strict=False)
        ):
            raise InvalidInput(
                f"Input has shape {array.shape}; the model takes {tuple(spec.shape)} (-1: any size)."
            )
        want = np.dtype(spec.dtype)
        if array.dtype != want:
            if not np.can_cast(array.dtype, want, casting="safe"):
                raise InvalidInput(
                    f"Input has dtype {array.dtype}; the model takes {want}, and the cast is not safe."
                )
            array = array.astype(want)
        return array


def _convert(column: Any, spec: ColumnSpec) -> Any:
    import pandas as pd

    got = _kind_of(column.dtype)
    if got == spec.type or spec.type == "object":
        return column
    if spec.type == "double" and got in ("integer", "boolean"):
        return column.astype("float64")
    if spec.type == "integer" and got == "double":
        values = column.to_numpy()
        if np.isnan(values).any():
            rows = np.flatnonzero(np.isnan(values))[:5].tolist()
            raise InvalidInput(
                f"Column {spec.name!r} must be integer; it has missing values at rows {rows}."
            )
        if not np.all(np.mod(values, 1) == 0):
            rows = np.flatnonzero(np.mod(values, 1) != 0)[:5].tolist()
            raise InvalidInput(f"Column {spec.name!r} must be integer; rows {rows} have fractions.")
        return column.astype("int64")
    if spec.type in ("integer", "double") and got == "object":
        converted = pd.to_numeric(column, errors="coerce")
        bad = converted.isna() & column.notna()
        if bad.any():
            rows = np.flatnonzero(bad.to_numpy())[:5].tolist()
            raise InvalidInput(
                f"Column {spec.name!r} must be {spec.type}; rows {rows} hold {column[bad].iloc[0]!r}, not a number."
            )
        return converted.astype("float64") if spec.type == "double" else converted.astype("int64")
    if spec.type == "string" and got == "object":
        return column
    raise InvalidInput(f"Column {spec.name!r} must be {spec.type}; got {got} ({column.dtype}).")


def infer_signature(input_example: Any, output_example: Any = None) -> Signature:
    """A signature from an example input (a DataFrame, dict, list of dicts or array) and output."""
    return Signature(
        _spec(input_example, "input"),
        None if output_example is None else _spec(output_example, "output"),
    )


def _spec(example: Any, what: str) -> list[ColumnSpec] | TensorSpec:
    import pandas as pd

    if isinstance(example, dict):
        example = pd.DataFrame([example])
    elif isinstance(example, list) and example and isinstance(example[0], dict):
        example = pd.DataFrame(example)
    if isinstance(example, pd.Series):
        return [ColumnSpec(str(example.name or "prediction"), _kind_of(example.dtype))]
    if isinstance(example, pd.DataFrame):
        if example.empty and not len(example.columns):
            raise InvalidInput(f"The {what} example is empty; pass a few real rows.")
        return [ColumnSpec(str(name), _column_kind(example[name])) for name in example.columns]
    array = np.asarray(example)
    if array.dtype == object:
        raise InvalidInput(
            f"Cannot infer a signature from the {what} example of type {type(example).__name__}."
        )
    return TensorSpec(array.dtype.name, (-1, *array.shape[1:]))


def _column_kind(column: Any) -> str:
    kind = _kind_of(column.dtype)
    if kind == "object":
        values = column.dropna()
        if len(values) and all(isinstance(v, str) for v in values.head(100)):
            return "string"
    return kind
