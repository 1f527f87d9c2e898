"""The arms of a comparison: the saved units of work, and the tables that compare them.

An experiment (experiments.py) computes units; the per-class tables and the
comparison of two saved runs (class_scores.py) read them.  Both build on the
types and tables here, so neither imports the other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..core import metrics
from ..core.classes import ClassSet
from .bootstrap import Comparison, PairedUnit, paired_bootstrap

RESULT_FILE = "result.json"
TEST_FILE = "test.npz"


@dataclass
class Unit:
    """One arm on one split with one seed: its held-out records as scored."""
    stratum: str
    seed: int
    scores: dict[str, float]
    labels: np.ndarray
    binary: np.ndarray
    arrays: dict[str, np.ndarray]


def challenge_of(classes: ClassSet, labels: np.ndarray, binary: np.ndarray) -> Callable[[np.ndarray], float]:
    return lambda idx: metrics.challenge_metric(classes.weights, labels[idx], binary[idx], classes.sinus_index)


def compare_units(classes: ClassSet, reference: list[Unit], variant: list[Unit]) -> Comparison:
    """Paired bootstrap of the challenge metric, units paired by (split, seed)."""
    by_key = {(u.stratum, u.seed): u for u in reference}
    pairs = [PairedUnit(v.stratum, len(v.labels), challenge_of(classes, v.labels, by_key[(v.stratum, v.seed)].binary),
                        challenge_of(classes, v.labels, v.binary)) for v in variant]
    return paired_bootstrap(pairs)


def mean_sd(values: list[float]) -> str:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return "n/a"
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return f"{values.mean():.3f} ± {sd:.3f}"


def markdown_table(header: list[str], rows: list[list[Any]], note: str = "") -> str:
    """A Markdown table (floats to 3 decimals) with an optional note under it."""
    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + ("\n\n" + note if note else "") + "\n"


ARM_HEADER = ["arm", "units", "challenge", "auroc", "f_measure", "Δ challenge vs reference [95 % CI]", "verdict"]


def arm_rows(classes: ClassSet, results: dict[str, list[Unit]], reference: str) -> list[list[Any]]:
    """One row of ARM_HEADER per arm: mean ± sd over units, then the paired difference from
    `reference`."""
    rows = []
    for arm, units in results.items():
        row = [arm, len(units)] + [mean_sd([u.scores[k] for u in units]) for k in ("challenge", "auroc", "f_measure")]
        if arm == reference:
            row += ["(reference)", ""]
        else:
            comparison = compare_units(classes, results[reference], units)
            row += [comparison.text(), comparison.verdict]
        rows.append(row)
    return rows


def unit_scores(classes: ClassSet, labels: np.ndarray, binary: np.ndarray, probabilities: np.ndarray) -> dict:
    """The official scores (one implementation with the evaluator) plus the 2020 F2/G2."""
    s = metrics.score_all(classes.weights, classes.sinus_index, labels, binary, probabilities)
    f_beta, g_beta = metrics.beta_measures(labels, binary, beta=2.0)
    return {"challenge": s.challenge_metric, "auroc": s.auroc, "auprc": s.auprc, "accuracy": s.accuracy,
            "f_measure": s.f_measure, "f_beta": f_beta, "g_beta": g_beta}


def in_lead_set(classes: ClassSet, unit: Unit, name: str) -> Unit:
    """A holdout unit as scored on the reduced-lead copies `name` of its test records; a name the
    unit was not scored on is an error naming those it was (never its 12-lead scores instead)."""
    held = sorted({key.split("@", 1)[1] for key in unit.arrays if "@" in key})
    if name not in held:
        raise ValueError(f"lead set {name!r}: the unit was scored on {', '.join(held) or 'no reduced-lead copies'}")
    arrays = {key: value for key, value in unit.arrays.items() if "@" not in key}
    arrays.update({key.removesuffix(f"@{name}"): value for key, value in unit.arrays.items()
                   if key.endswith(f"@{name}")})  # the lead set's own, whatever order the keys came in
    return Unit(unit.stratum, unit.seed, unit_scores(classes, unit.labels, arrays["binary"], arrays["probabilities"]),
                unit.labels, arrays["binary"], arrays)
