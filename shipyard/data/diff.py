"""Comparing two versions: schema drift, row counts, and per-column statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.data.profile import Profile

__all__ = ["ColumnChange", "DatasetDiff", "diff"]


@dataclass
class ColumnChange:
    column: str
    old: dict[str, Any]
    new: dict[str, Any]
    flags: list[str] = field(default_factory=list)


@dataclass
class DatasetDiff:
    old: str
    new: str
    rows: tuple[int, int]
    added: list[str]
    removed: list[str]
    retyped: list[tuple[str, str, str]]  # column, old type, new type
    columns: list[ColumnChange]

    @property
    def schema_changed(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    @property
    def flagged(self) -> list[ColumnChange]:
        return [c for c in self.columns if c.flags]

    def summary(self) -> str:
        lines = [f"{self.old} -> {self.new}: rows {self.rows[0]:,} -> {self.rows[1]:,}"]
        lines += [f"  added column {c!r}" for c in self.added]
        lines += [f"  removed column {c!r}" for c in self.removed]
        lines += [f"  column {c!r} retyped {a} -> {b}" for c, a, b in self.retyped]
        lines += [f"  column {c.column!r}: {'; '.join(c.flags)}" for c in self.flagged]
        return "\n".join(lines)


def _stats(profile: Profile, name: str) -> dict[str, Any]:
    c = profile.columns[name]
    return {
        "type": c.type,
        "null_share": round(c.null_share, 6),
        "distinct": c.distinct,
        "min": c.min,
        "max": c.max,
        "mean": c.mean,
    }


def diff(
    old: Any, new: Any, *, null_rate_jump: float = 0.05, cardinality_change: float = 0.5
) -> DatasetDiff:
    """Compare two dataset versions (handles) from their stored profiles.

    Flags a column whose null share rises or falls by more than ``null_rate_jump``
    (absolute), or whose distinct count changes by more than ``cardinality_change``
    (relative).
    """
    a, b = old.profile(), new.profile()
    a_cols, b_cols = list(a.columns), list(b.columns)
    added = [c for c in b_cols if c not in a.columns]
    removed = [c for c in a_cols if c not in b.columns]
    shared = [c for c in a_cols if c in b.columns]
    retyped = [
        (c, a.columns[c].type, b.columns[c].type)
        for c in shared
        if a.columns[c].type != b.columns[c].type
    ]
    changes = []
    for name in shared:
        before, after = _stats(a, name), _stats(b, name)
        flags = []
        jump = after["null_share"] - before["null_share"]
        if abs(jump) > null_rate_jump:
            flags.append(f"null share {before['null_share']:.1%} -> {after['null_share']:.1%}")
        if before["distinct"]:
            ratio = after["distinct"] / before["distinct"]
            if abs(ratio - 1) > cardinality_change:
                flags.append(f"distinct values {before['distinct']:,} -> {after['distinct']:,}")
        changes.append(ColumnChange(name, before, after, flags))
    return DatasetDiff(old.uri, new.uri, (a.num_rows, b.num_rows), added, removed, retyped, changes)
