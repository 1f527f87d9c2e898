"""Paired comparisons with 95 % bootstrap intervals: does a part help, hurt, or not show?

A claim that a variant beats a reference rests on differences measured on the
same held-out records by runs that differ only in the variant.  Two sources of
noise matter: which records were tested (a few hundred records move the
challenge metric by several hundredths) and which random seed trained the
network (initial weights, batch order, augmentation).  The interval here covers
both with a two-stage paired bootstrap, stratified by the design's folds:

- the strata (cross-validation folds, held-out sources, or one hold-out split)
  are fixed by the design, so each replicate keeps every stratum;
- within a stratum, the seeds are drawn with replacement (training noise);
- within a stratum, the test records are drawn with replacement once per
  replicate and shared by every drawn seed and by both arms (test-set noise,
  paired: both arms are scored on the very same resampled records);
- the statistic is the mean over the drawn units of score(variant) -
  score(reference), the score recomputed on the resampled records (the
  challenge metric is a normalised ratio, not a mean of per-record terms, so
  it must be recomputed, not averaged).

Why not a bootstrap over units alone: with 3 seeds x 4 folds it would see 12
numbers and ignore that each comes from 100-odd records; why not over records
alone: a single seed would hide how much another seed moves the result.  The
verdict is read off the interval only: "helps" when it lies above 0, "hurts"
when below, else "no detectable difference".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

Score = Callable[[np.ndarray], float]   # score of one arm on the given record indices
REPLICATES = 1000


@dataclass(frozen=True)
class PairedUnit:
    """One training run's held-out records scored by both arms: `reference(idx)` and
    `variant(idx)` score the records idx of this unit's test set."""
    stratum: str
    records: int
    reference: Score
    variant: Score


@dataclass(frozen=True)
class Comparison:
    difference: float      # mean over units of variant - reference, on all records
    low: float
    high: float
    units: int

    @property
    def verdict(self) -> str:
        if self.low > 0:
            return "helps"
        if self.high < 0:
            return "hurts"
        return "no detectable difference"

    def text(self) -> str:
        return f"{self.difference:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


def paired_bootstrap(units: Sequence[PairedUnit], replicates: int = REPLICATES, seed: int = 0,
                     level: float = 0.95) -> Comparison:
    """Mean paired difference and its percentile interval (see the module docstring)."""
    if not units:
        raise ValueError("no paired units to compare")
    strata: dict[str, list[PairedUnit]] = {}
    for unit in units:
        strata.setdefault(unit.stratum, []).append(unit)
    for name, members in strata.items():
        if len({u.records for u in members}) != 1:
            raise ValueError(f"stratum {name}: its units were tested on different numbers of records")
    point = float(np.mean([u.variant(np.arange(u.records)) - u.reference(np.arange(u.records)) for u in units]))
    rng = np.random.default_rng(seed)
    stats = np.empty(replicates)
    for r in range(replicates):
        diffs = []
        for members in strata.values():
            idx = rng.integers(0, members[0].records, members[0].records)
            for pick in rng.integers(0, len(members), len(members)):
                unit = members[pick]
                diffs.append(unit.variant(idx) - unit.reference(idx))
        stats[r] = np.mean(diffs)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return Comparison(point, float(low), float(high), len(units))
