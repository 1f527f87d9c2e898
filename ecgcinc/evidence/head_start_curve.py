"""Where the head start stops paying, read from the real records: the default (head start and
generated records) against training from scratch, with each split's real training records cut to
a fraction of themselves.

Why: the head start is worth most where a folder is small, and a folder large enough teaches the
network more than the generator can.  The project holds 248 real records, so the record count at
which the gain reaches zero cannot be reached here; what can be measured is whether the gain
shrinks as the real records grow.  A paired interval on the change of the gain between a fraction
and all the records says whether it does, and by how much per doubling.

Each fraction trains the study's two arms on the same random subset of every split's training
records (one draw per split, shared by the arms and the seeds, so the comparisons stay paired) and
scores them on the whole held-out source.  All the records (fraction 1) are the real-record
study's own units: run in its folder, they are read back rather than trained again.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core.classes import ClassSet
from .arms import Unit, challenge_of, compare_units, mean_sd
from .bootstrap import Comparison, PairedUnit, paired_bootstrap
from .experiments import Study, write_table
from .real_records import (DEFAULT, SCRATCH, assemble, loso_splits, open_real_study, pooled_units, run_arm,
                           scored)

CURVE_ARMS = (DEFAULT, SCRATCH)
DRAW_SEED = 36


def fewer_records(splits: list, fraction: float, seed: int = DRAW_SEED) -> list:
    """Every split with a random `fraction` of its training rows (at least one), drawn once per
    split from `seed`, so every arm and seed of one fraction trains on the same records."""
    if not 0 < fraction <= 1:
        raise ValueError(f"a fraction of the training records must be in (0, 1], not {fraction}")
    if fraction == 1:
        return splits
    out = []
    for i, (stratum, rest_rows, test_rows) in enumerate(splits):
        rng = np.random.default_rng([seed, i])
        keep = max(1, round(fraction * len(rest_rows)))
        out.append((stratum, np.sort(rng.choice(rest_rows, keep, replace=False)), test_rows))
    return out


def _gain(classes: ClassSet, reference: Unit, variant: Unit):
    """The challenge metric of `variant` minus that of `reference` on the records idx."""
    score_variant = challenge_of(classes, variant.labels, variant.binary)
    score_reference = challenge_of(classes, reference.labels, reference.binary)
    return lambda idx: score_variant(idx) - score_reference(idx)


def gain_change(classes: ClassSet, smaller: dict[str, list[Unit]], larger: dict[str, list[Unit]]) -> Comparison:
    """The head start's gain (default minus scratch) with fewer records minus its gain with more,
    paired by seed on the same held-out records: above 0 means the gain shrinks as records grow."""
    def by_seed(units: list[Unit]) -> dict[int, Unit]:
        return {u.seed: u for u in units}
    small_default, small_scratch = by_seed(smaller[DEFAULT]), by_seed(smaller[SCRATCH])
    large_default, large_scratch = by_seed(larger[DEFAULT]), by_seed(larger[SCRATCH])
    pairs = [PairedUnit(unit.stratum, len(unit.labels), _gain(classes, large_scratch[seed], unit),
                        _gain(classes, small_scratch[seed], small_default[seed]))
             for seed, unit in large_default.items()]
    return paired_bootstrap(pairs)


def _mean_records(study: Study, splits: list) -> float:
    """Labelled training records with a scored diagnosis per split, as the arms train on them."""
    return float(np.mean([len(scored(study.examples.subset(rest))) for _, rest, _ in splits]))


def curve_table(study: Study, points: dict[float, dict[str, list[Unit]]], counts: dict[float, float]) -> str:
    """One row per fraction: records, both arms, the gain and its change against all the records."""
    pooled = {f: {arm: pooled_units(study.classes, units) for arm, units in arms.items()} for f, arms in points.items()}
    rows = []
    for fraction in sorted(pooled, reverse=True):
        arms = pooled[fraction]
        change = "(reference)" if fraction == 1 else gain_change(study.classes, arms, pooled[1.0]).text()
        rows.append([f"{fraction:g}", f"{counts[fraction]:.0f}",
                     *(mean_sd([u.scores["challenge"] for u in arms[arm]]) for arm in CURVE_ARMS),
                     compare_units(study.classes, arms[SCRATCH], arms[DEFAULT]).text(), change])
    header = ["share of training records", "real training records per split", *CURVE_ARMS,
              "head start's gain [95 % CI]", "gain minus gain with all records [95 % CI]"]
    return write_table(study, "head_start_curve", header, rows,
                       f"Leave one source out over {len(study.examples)} real records, every held-out record "
                       "together; the training records of each split cut to the share (one draw per split). "
                       "Gain: default minus from scratch. A change above 0: the gain is larger with fewer records.")


def run(data_dirs: list[str | Path], out_dir: str | Path, fractions: tuple[float, ...] = (0.5,), seeds: int = 3,
        quick: bool = False, verbose: int = 1) -> str:
    """The curve's units (resumable; fraction 1 in the real-record study's own folders) and its table."""
    out = Path(out_dir)
    study = open_real_study(assemble(list(data_dirs), out / "records"), out, quick, seeds, verbose)
    splits = loso_splits(study.examples)
    points, counts = {}, {}
    for fraction in sorted(set(fractions) | {1.0}):
        part = study if fraction == 1 else replace(study, out=out / f"share-{fraction:g}")
        fewer = fewer_records(splits, fraction)
        counts[fraction] = _mean_records(study, fewer)
        points[fraction] = {arm: run_arm(part, arm, fewer) for arm in CURVE_ARMS}
    return curve_table(study, points, counts)
