"""Per-class AUROC of experiment arms, and the comparison of arms saved by separate runs.

Why: the challenge metric sums over every class, so a change aimed at a few of
them (the beat-timing classes: premature atrial contraction, sinus arrhythmia,
prolonged QT, 1st-degree AV block) is read in those classes' AUROC, arm by arm,
mean ± sd over seeds.  And a change of *code* (better features) cannot be an
arm of one run: the runs before and after it are compared from their saved
units instead, which is paired as long as both used the same splits, seeds and
test records (checked here by the test records' names).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core import metrics
from ..core.classes import ClassSet, load_classes
from .bootstrap import PairedUnit, paired_bootstrap
from .arms import ARM_HEADER, RESULT_FILE, TEST_FILE, Unit, arm_rows, in_lead_set, markdown_table, mean_sd
from ..io.outputs import atomic_write_text


def class_rows(classes: ClassSet, results: dict[str, Sequence[Unit]]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the per-class AUROC table: one row per class with positives among
    the test records, one column per arm (mean ± sd over its units)."""
    # the evaluator's per-class AUROC (NaN for a class whose test records are all of one label)
    per_arm = {arm: [metrics.compute_auc(u.labels, u.arrays["probabilities"])[2] for u in units]
               for arm, units in results.items()}
    first = next(iter(results.values()))[0]
    rows = []
    for k, name in enumerate(classes.abbreviations):
        positives = int(first.labels[:, k].sum())
        if positives:
            rows.append([name, positives] + [mean_sd([v[k] for v in values]) for values in per_arm.values()])
    return ["class", "positives", *results], rows


def _both_labels(labels: np.ndarray) -> bool:
    """Whether a class's labels hold positives and negatives, so that its AUROC is defined."""
    return 0 < labels.sum() < len(labels)


def _within_source(units: Sequence[Unit], k: int) -> float:
    """Class k's AUROC on each unit's test records alone (one held-out source each), averaged with
    the unit's positives as weights; NaN where no unit has both labels."""
    scores = [(int(u.labels[:, k].sum()), metrics.class_auc(u.labels[:, k].astype(bool), u.arrays["probabilities"][:, k])[0])
              for u in units if _both_labels(u.labels[:, k])]
    return float(np.average([a for _, a in scores], weights=[n for n, _ in scores])) if scores else float("nan")


def within_source_rows(classes: ClassSet, results: dict[str, Sequence[Unit]]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the per-class AUROC within each held-out source: per seed, each class's
    AUROC on every split's test records alone, averaged over the splits with its positives as
    weights; then the macro row; mean ± sd over seeds.  Why: pooled across splits, each record is
    scored by another split's models, whose probabilities differ by an offset that ranks one
    source's negatives above another's positives; the Challenge scores each test source alone."""
    first = next(iter(results.values()))
    seeds = sorted({u.seed for u in first})
    per_arm = {arm: np.array([[_within_source([u for u in units if u.seed == seed], k)
                               for k in range(len(classes.abbreviations))] for seed in seeds])
               for arm, units in results.items()}
    present = [k for k in range(len(classes.abbreviations))
               if any(_both_labels(u.labels[:, k]) for u in first)]
    rows = [[classes.abbreviations[k], sum(int(u.labels[:, k].sum()) for u in first if u.seed == seeds[0])]
            + [mean_sd(list(values[:, k])) for values in per_arm.values()] for k in present]
    rows.append(["macro AUROC", ""] + [mean_sd(list(np.nanmean(values[:, present], axis=1)))
                                       for values in per_arm.values()])
    return ["class", "positives", *results], rows


def _class_score(unit: Unit, k: int):
    """The class-k AUROC of a unit on resampled test records; 0.5 when a resample holds one label
    only (both arms get the same records, so such a replicate adds no difference)."""
    labels, probabilities = unit.labels[:, k].astype(bool), unit.arrays["probabilities"][:, k]

    def score(idx: np.ndarray) -> float:
        y = labels[idx]
        return metrics.class_auc(y, probabilities[idx])[0] if _both_labels(y) else 0.5
    return score


def _macro_score(unit: Unit, ks: list[int]):
    """The mean AUROC over the classes ks (macro AUROC, as the evaluator reports it)."""
    scores = [_class_score(unit, k) for k in ks]
    return lambda idx: float(np.mean([score(idx) for score in scores]))


def class_differences(classes: ClassSet, reference: Sequence[Unit], arms: dict[str, Sequence[Unit]]
                      ) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: per class with positives, then their mean (macro AUROC), each arm's AUROC
    minus the reference's with the two-stage paired bootstrap interval (evidence.py) and its
    verdict."""
    by_key = {(u.stratum, u.seed): u for u in reference}
    present = [k for k in range(len(classes.abbreviations)) if reference[0].labels[:, k].any()]

    def cell(units: Sequence[Unit], score) -> str:
        comparison = paired_bootstrap([PairedUnit(u.stratum, len(u.labels), score(by_key[(u.stratum, u.seed)]),
                                                  score(u)) for u in units])
        return f"{comparison.text()} {comparison.verdict}"
    rows = [[classes.abbreviations[k], int(reference[0].labels[:, k].sum())]
            + [cell(units, lambda unit, k=k: _class_score(unit, k)) for units in arms.values()] for k in present]
    rows.append(["macro AUROC", ""]
                + [cell(units, lambda unit: _macro_score(unit, present)) for units in arms.values()])
    return ["class", "positives", *(f"{arm}: Δ AUROC [95 % CI]" for arm in arms)], rows


def signal_rows(classes: ClassSet, units: Sequence[Unit], folder: tuple[list[str], np.ndarray, np.ndarray]
                ) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: per class with positives, the AUROC against the written labels and the
    AUROC without the positives whose signal does not show the class (mean ± sd over units).
    `folder` is synth.shown_labels of the synthetic folder the units were tested on; its written
    labels must be the units' (a wrong --n or --seed is refused, not scored).  Why: on a
    synthetic folder, a premature-beat label on a record that holds no such beat caps the first
    AUROC below what the model does with the beats it is given; the second measures that."""
    names, shown, written = folder
    index = {name: i for i, name in enumerate(names)}
    tested = units[0].arrays["names"]
    rows_of = np.array([index.get(str(name), -1) for name in tested])
    if (rows_of < 0).any() or not np.array_equal(written[rows_of], units[0].labels.astype(bool)):
        raise ValueError("the arm's test records are not those of this synthetic folder (check --n, --seed "
                         "and --sources against the test folder's synth command)")
    rows = []
    for k, name in enumerate(classes.abbreviations):
        labels = units[0].labels[:, k].astype(bool)
        if not labels.any():
            continue
        keep = ~(labels & ~shown[rows_of, k])
        all_records = [metrics.class_auc(labels, u.arrays["probabilities"][:, k])[0] for u in units]
        seen = [metrics.class_auc(labels[keep], u.arrays["probabilities"][keep, k])[0] for u in units]
        rows.append([name, int(labels.sum()), int((~keep).sum()), mean_sd(all_records), mean_sd(seen)])
    return ["class", "positives", "positives the signal does not show", "AUROC (written labels)",
            "AUROC without those positives"], rows


def load_arm(folder: str | Path) -> list[Unit]:
    """The units an experiment saved under one arm's folder (`<split>-seed<k>/`), in order."""
    units = []
    for directory in sorted(Path(folder).iterdir()):
        if not (directory / RESULT_FILE).is_file():
            continue
        stratum, _, seed = directory.name.rpartition("-seed")
        scores = json.loads((directory / RESULT_FILE).read_text())["scores"]
        with np.load(directory / TEST_FILE) as data:
            arrays = {key: data[key] for key in data.files}
        units.append(Unit(stratum, int(seed), scores, arrays["labels"], arrays["binary"], arrays))
    if not units:
        raise ValueError(f"{folder}: no saved units (<split>-seed<k>/{RESULT_FILE})")
    return units


def check_paired(reference: Sequence[Unit], variant: Sequence[Unit]) -> None:
    """Both arms' units must cover the same (split, seed) pairs and the same test records."""
    by_key = {(u.stratum, u.seed): u for u in reference}
    for unit in variant:
        other = by_key.get((unit.stratum, unit.seed))
        if other is None:
            raise ValueError(f"the reference has no unit {unit.stratum}, seed {unit.seed}")
        if not np.array_equal(other.arrays["names"], unit.arrays["names"]):
            raise ValueError(f"{unit.stratum}, seed {unit.seed}: the two arms were tested on different records")


def compare_saved(reference_dir: str | Path, variant_dir: str | Path, out_dir: str | Path,
                  names: tuple[str, str], lead_sets: Sequence[str] = ()) -> str:
    """The arm table (challenge metric with the paired interval) and the per-class AUROC table
    (with each class's paired interval) of two saved arms, written to out_dir as compare.md and
    compare_classes.md; with `lead_sets` (names of a holdout's reduced-lead copies, '6 leads'),
    the arm table also compares the two on each lead set's copies (compare_lead_sets.md)."""
    reference, variant = load_arm(reference_dir), load_arm(variant_dir)
    check_paired(reference, variant)
    classes = load_classes()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lead_text = _compare_lead_sets(classes, reference, variant, names, lead_sets, out) if lead_sets else ""
    rows = arm_rows(classes, dict(zip(names, (reference, variant))), names[0])
    note = (f"Saved units of two runs ({reference_dir}, {variant_dir}), paired by split, seed and test records; "
            "two-stage paired bootstrap (ecgcinc/evidence/bootstrap.py), 1000 replicates.")
    text = markdown_table(ARM_HEADER, rows, note)
    atomic_write_text(out / "compare.md", text)
    header, class_table = class_rows(classes, dict(zip(names, (reference, variant))))
    _, differences = class_differences(classes, reference, {names[1]: variant})
    header.append("Δ AUROC [95 % CI]")
    class_table = [row + [difference[-1]] for row, difference in zip(class_table, differences)]
    macro = [mean_sd([u.scores["auroc"] for u in units]) for units in (reference, variant)]
    class_table.append(["macro AUROC", "", *macro, differences[-1][-1]])
    classes_text = markdown_table(header, class_table, "AUROC per class, mean ± sd over seeds; Δ: the two-stage "
                                  "paired bootstrap of the class's AUROC.")
    atomic_write_text(out / "compare_classes.md", classes_text)
    return text + "\n" + classes_text + lead_text


def _compare_lead_sets(classes: ClassSet, reference: Sequence[Unit], variant: Sequence[Unit], names: tuple[str, str],
                       lead_sets: Sequence[str], out: Path) -> str:
    rows = []
    for name in lead_sets:
        by_arm = {arm: [in_lead_set(classes, u, name) for u in units] for arm, units in zip(names, (reference, variant))}
        rows += [[name, *row] for row in arm_rows(classes, by_arm, names[0])]
    text = markdown_table(["leads", *ARM_HEADER], rows, "The two arms on each lead set's reduced-lead copies of the "
                          "same test records, paired by split and seed; two-stage paired bootstrap, 1000 replicates.")
    atomic_write_text(out / "compare_lead_sets.md", text)
    return "\n" + text

