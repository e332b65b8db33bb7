"""Gates: the predefined tests a model version must pass before an alias moves to it.

Declared per registered model, in YAML (or the same structure in Python):

    gates:
      - metric: roc_auc >= 0.85                          # a threshold on the candidate's evaluation
      - beat_champion: {metric: roc_auc, margin: 0.005}  # better than the alias's holder, same data
      - slice_floor: {metric: recall, min: 0.7}          # no slice below a floor
      - signature_compatible: true                       # takes what the holder takes
      - latency: {p95_ms: 50}                            # one-row predictions on the input example
      - fairness: {column: sex, metric: positive_rate, max_difference: 0.1}
      - custom: my_gate                                  # registered with @sy.registry.register_gate

Metrics where lower is better (log_loss, brier, calibration_error, mae, rmse,
mape) are compared the other way round by beat_champion.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.errors import InvalidInput

__all__ = ["Gate", "GateContext", "GateResult", "parse_gates", "register_gate", "run_gates"]

CLASSIFICATION = {
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "brier",
    "calibration_error",
    "positive_rate",
}
REGRESSION = {"mae", "rmse", "r2", "mape"}
METRICS = CLASSIFICATION | REGRESSION
LOWER_IS_BETTER = {"log_loss", "brier", "calibration_error", "mae", "rmse", "mape"}
_ALIASES = {"auc": "roc_auc"}
_KINDS = (
    "metric",
    "beat_champion",
    "slice_floor",
    "signature_compatible",
    "latency",
    "fairness",
    "custom",
)
_THRESHOLD = re.compile(
    r"^\s*([A-Za-z_]+)\s*(>=|<=|>|<|==)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$"
)
_CUSTOM: dict[str, Callable[[GateContext], tuple[bool, Any, str]]] = {}


def register_gate(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a custom gate. It receives a :class:`GateContext` and returns
    ``(passed, measured, detail)``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        _CUSTOM[name] = func
        return func

    return decorate


@dataclass(frozen=True)
class Gate:
    kind: str
    spec: Any
    text: str


@dataclass
class GateResult:
    gate: str
    passed: bool
    measured: Any
    bound: str
    detail: str = ""


@dataclass
class GateContext:
    """What a gate may look at."""

    candidate: Any  # ModelVersion
    predictor: Any  # its loaded Predictor
    evaluation: Any  # its Evaluation on the promotion's data, or None
    champion: Any = None  # the alias's current holder (ModelVersion) or None
    champion_predictor: Any = None
    champion_evaluation: Any = None
    alias: str = "champion"


def _metric(name: Any, where: str) -> str:
    name = _ALIASES.get(str(name), str(name))
    if name not in METRICS:
        raise InvalidInput(
            f"{where}: unknown metric {name!r}; known metrics are {', '.join(sorted(METRICS))} (auc = roc_auc)."
        )
    return name


def _number(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{where}: {what} must be a number; got {value!r}.")
    return float(value)


def parse_gates(source: Any) -> list[Gate]:
    """Gates from YAML text or path, a mapping with 'gates', or a list; errors name the gate."""
    from shipyard.data._yaml import read_document

    if source is None:
        return []
    raw, where = read_document(source, "gate file")
    items = raw.get("gates") if isinstance(raw, dict) else raw
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidInput(f"{where}: 'gates' must be a list.")
    gates = []
    for i, item in enumerate(items):
        here = f"{where}, gate {i + 1}"
        if not isinstance(item, dict) or len(item) != 1:
            raise InvalidInput(f"{here}: write each gate as {{kind: settings}}; got {item!r}.")
        ((kind, spec),) = item.items()
        if kind not in _KINDS:
            raise InvalidInput(f"{here}: unknown gate {kind!r}; gates are {', '.join(_KINDS)}.")
        gates.append(_gate(kind, spec, here))
    return gates


def _gate(kind: str, spec: Any, here: str) -> Gate:
    if kind == "metric":
        m = _THRESHOLD.match(str(spec))
        if not m:
            raise InvalidInput(
                f"{here}: {spec!r} is not a threshold; write it like 'roc_auc >= 0.85'."
            )
        name, op, bound = _metric(m.group(1), here), m.group(2), float(m.group(3))
        return Gate(kind, (name, op, bound), f"{name} {op} {bound:g}")
    if kind == "beat_champion":
        if not isinstance(spec, dict) or "metric" not in spec:
            raise InvalidInput(f"{here}: beat_champion takes {{metric: roc_auc, margin: 0.0}}.")
        name = _metric(spec["metric"], here)
        margin = _number(spec.get("margin", 0.0), "margin", here)
        return Gate(kind, (name, margin), f"beats the holder on {name} by {margin:g}")
    if kind == "slice_floor":
        if not isinstance(spec, dict) or "metric" not in spec or "min" not in spec:
            raise InvalidInput(f"{here}: slice_floor takes {{metric: recall, min: 0.7}}.")
        name = _metric(spec["metric"], here)
        return Gate(
            kind,
            (name, _number(spec["min"], "min", here)),
            f"every slice's {name} >= {spec['min']:g}",
        )
    if kind == "signature_compatible":
        if spec is not True:
            raise InvalidInput(f"{here}: write signature_compatible: true.")
        return Gate(kind, True, "signature compatible with the holder")
    if kind == "latency":
        if not isinstance(spec, dict) or "p95_ms" not in spec:
            raise InvalidInput(f"{here}: latency takes {{p95_ms: 50}}.")
        budget = _number(spec["p95_ms"], "p95_ms", here)
        return Gate(kind, budget, f"p95 latency <= {budget:g} ms")
    if kind == "fairness":
        if not isinstance(spec, dict) or not {"column", "max_difference"} <= set(spec):
            raise InvalidInput(
                f"{here}: fairness takes {{column: sex, metric: positive_rate, max_difference: 0.1}}."
            )
        name = _metric(spec.get("metric", "positive_rate"), here)
        if name not in ("positive_rate", "recall"):
            raise InvalidInput(
                f"{here}: fairness compares positive_rate or recall across groups; got {name!r}."
            )
        bound = _number(spec["max_difference"], "max_difference", here)
        return Gate(
            kind,
            (str(spec["column"]), name, bound),
            f"{name} gap across {spec['column']} <= {bound:g}",
        )
    if not isinstance(spec, str):
        raise InvalidInput(f"{here}: custom takes the name of a registered gate; got {spec!r}.")
    return Gate(kind, spec, f"custom: {spec}")


def slice_columns(gates: list[Gate]) -> list[str]:
    return [g.spec[0] for g in gates if g.kind == "fairness"]


def needs_evaluation(gates: list[Gate]) -> bool:
    return any(g.kind in ("metric", "beat_champion", "slice_floor", "fairness") for g in gates)


_OPS = {">=": np.greater_equal, "<=": np.less_equal, ">": np.greater, "<": np.less, "==": np.equal}


def _check(gate: Gate, ctx: GateContext) -> GateResult:
    ev = ctx.evaluation
    if gate.kind in ("metric", "beat_champion", "slice_floor", "fairness") and ev is None:
        return GateResult(
            gate.text,
            False,
            None,
            "",
            "no evaluation of the candidate: pass data= and target= to promote, or run sy.models.evaluate first",
        )
    if gate.kind == "metric":
        name, op, bound = gate.spec
        value = ev.metrics.get(name)
        if value is None:
            return GateResult(
                gate.text, False, None, f"{op} {bound:g}", f"the evaluation has no {name}"
            )
        return GateResult(
            gate.text, bool(_OPS[op](value, bound)), round(value, 6), f"{op} {bound:g}"
        )
    if gate.kind == "beat_champion":
        name, margin = gate.spec
        mine = ev.metrics.get(name)
        mine = round(mine, 6) if mine is not None else None
        if ctx.champion is None:
            return GateResult(gate.text, True, mine, "no holder", f"{ctx.alias} has no holder yet")
        if ctx.champion.version == ctx.candidate.version:
            return GateResult(
                gate.text,
                True,
                mine,
                "same version",
                "the candidate already holds the alias",
            )
        theirs = ctx.champion_evaluation
        if theirs is None or theirs.dataset_version_id != ev.dataset_version_id:
            return GateResult(
                gate.text,
                False,
                mine,
                "",
                f"no evaluation of v{ctx.champion.version} on the same data",
            )
        ours_value, theirs_value = ev.metrics.get(name), theirs.metrics.get(name)
        if ours_value is None or theirs_value is None:
            return GateResult(
                gate.text, False, ours_value, "", f"{name} is missing from an evaluation"
            )
        if name in LOWER_IS_BETTER:
            bound = theirs_value - margin
            passed = ours_value <= bound
            shown = f"<= {bound:.6g} (v{ctx.champion.version}: {theirs_value:.6g} - {margin:g})"
        else:
            bound = theirs_value + margin
            passed = ours_value >= bound
            shown = f">= {bound:.6g} (v{ctx.champion.version}: {theirs_value:.6g} + {margin:g})"
        return GateResult(gate.text, passed, round(ours_value, 6), shown)
    if gate.kind == "slice_floor":
        name, floor = gate.spec
        worst = None
        for column, groups in ev.slices.items():
            for group, values in groups.items():
                if name in values and (worst is None or values[name] < worst[0]):
                    worst = (values[name], f"{column}={group}")
        if worst is None:
            return GateResult(gate.text, True, None, f">= {floor:g}", "no slices were evaluated")
        return GateResult(
            gate.text,
            worst[0] >= floor,
            round(worst[0], 6),
            f">= {floor:g}",
            f"worst slice {worst[1]}",
        )
    if gate.kind == "fairness":
        column, name, bound = gate.spec
        groups = ev.slices.get(column)
        if not groups:
            return GateResult(
                gate.text,
                False,
                None,
                f"<= {bound:g}",
                f"column {column!r} was not evaluated as a slice",
            )
        values = {g: v[name] for g, v in groups.items() if name in v}
        gap = max(values.values()) - min(values.values()) if values else 0.0
        lo, hi = min(values, key=values.get), max(values, key=values.get)
        return GateResult(
            gate.text,
            gap <= bound,
            round(gap, 6),
            f"<= {bound:g}",
            f"{column}={hi}: {values[hi]:.3f}, {column}={lo}: {values[lo]:.3f}",
        )
    if gate.kind == "signature_compatible":
        if (
            ctx.champion_predictor is None
            or ctx.predictor.signature is None
            or ctx.champion_predictor.signature is None
        ):
            return GateResult(gate.text, True, "-", "compatible", "nothing to compare with")
        problems = ctx.predictor.signature.compatible_with(ctx.champion_predictor.signature)
        return GateResult(
            gate.text, not problems, "; ".join(problems) or "compatible", "compatible"
        )
    if gate.kind == "latency":
        p95 = _p95_ms(ctx.predictor)
        if p95 is None:
            return GateResult(
                gate.text,
                False,
                None,
                f"<= {gate.spec:g} ms",
                "the model has no input example to time",
            )
        return GateResult(gate.text, p95 <= gate.spec, round(p95, 3), f"<= {gate.spec:g} ms")
    func = _CUSTOM.get(gate.spec)
    if func is None:
        raise InvalidInput(
            f"No custom gate is registered as {gate.spec!r}; register it with @sy.registry.register_gate({gate.spec!r})."
        )
    passed, measured, detail = func(ctx)
    return GateResult(gate.text, bool(passed), measured, "custom", detail)


def _p95_ms(predictor: Any, repeats: int = 50) -> float | None:
    example = getattr(predictor, "input_example", None)
    if example is None:
        return None
    row = example[:1]
    predictor.predict(row)  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predictor.predict(row)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 95))


def run_gates(gates: list[Gate], ctx: GateContext) -> list[GateResult]:
    return [_check(gate, ctx) for gate in gates]
