"""Evidence on real records: leave one source out over real Challenge records, every way of
using the generated records side by side, every lead set, against the feature baseline.

Why: a figure on generated records says how well the entry learns the generator; real records
say how well it learns ECGs.  The project's real records are few (248 of six sources), which is
the situation most users start in, so the question is what the generated corpus adds to them:

  default                  what `train_model.py` does: the shipped pretrained network
                           (training/head_start.py) trained further on the real records with
                           about 500 generated records beside them (training/generated_mix.py)
  head start, real only    the shipped network trained further on the real records alone
  from scratch             the real records alone, random initial weights
  synthetic only           the pretrained model folder as it is (network, fusion, thresholds
                           all fitted on generated records): it never saw a real record
  generated + real, from scratch
                           the real and the generated records, random initial weights
  default, unscored as negatives
                           the default, with the records that carry no scored diagnosis
                           trained as negatives for every class
  default, weights averaged with the head start
                           the default, each weight then averaged with the pretrained one
                           (train.fine_tuned_share 0.5, WiSE-FT)
  default, fine-tuned at a tenth of the learning rate
                           the default at train.fine_tune_rate 0.1, the usual fine-tuning rate
  default, backbone frozen the default at train.fine_tuned_layers "heads": the pretrained
                           convolutional backbone kept, the attention and heads trained
  feature baseline         the gradient-boosting feature model alone, on the real records

Every held-out source with at least MIN_TEST_RECORDS records is a split; smaller sources always
train.  The test records are all the held-out source's labelled records, those without a scored
diagnosis included, as the official evaluator scores them.  The synthetic-only model is one
training (the shipped pretrained folder): its units repeat its predictions under every seed, so
its intervals carry the other arm's seed variation only.  Units are computed and resumed as the
experiments' are (experiments.run_unit).
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.classes import ClassSet, load_classes
from ..core.config import Config, with_overrides
from ..dataset.data import Examples, load_examples
from ..decision.thresholds import decide
from ..io.records import find_records, read_header, read_record
from ..training import sizes
from .arms import Unit, mean_sd, unit_scores
from .class_scores import class_rows, within_source_rows
from .experiments import (BASELINE, Study, lead_set_tables, slug, arm_table, base_config, lead_set_leads,
                          lead_set_name, reduced_copies, run_unit, write_table)

DEFAULT = "default (head start, generated + real)"
REAL_ONLY = "head start, real only"
SCRATCH = "from scratch"
SYNTHETIC = "synthetic only"
MIXED = "generated + real, from scratch"
NEGATIVES = "default, unscored as negatives"
AVERAGED = "default, weights averaged with the head start"
SLOWER = "default, fine-tuned at a tenth of the learning rate"
FROZEN = "default, backbone frozen"
_OWN = {"unscored_negatives": False}
_DEFAULT = {**_OWN, "head_start": "auto", "generated_mix": "auto"}   # what train_model.py does
ARMS: dict[str, dict[str, Any]] = {
    DEFAULT: {"train": {**_DEFAULT}},
    REAL_ONLY: {"train": {**_OWN, "head_start": "auto", "generated_mix": "off"}},
    SCRATCH: {"train": {**_OWN, "head_start": "off", "generated_mix": "off"}},
    NEGATIVES: {"train": {**_DEFAULT, "unscored_negatives": True}},
    MIXED: {"train": {**_OWN, "head_start": "off", "generated_mix": "on"}},
    AVERAGED: {"train": {**_DEFAULT, "fine_tuned_share": 0.5}},
    SLOWER: {"train": {**_DEFAULT, "fine_tune_rate": 0.1}},
    FROZEN: {"train": {**_DEFAULT, "fine_tuned_layers": "heads"}},
    BASELINE: {"train": {**_OWN, "generated_mix": "off"}},
}
ALL_ARMS = (DEFAULT, REAL_ONLY, SCRATCH, SYNTHETIC, BASELINE, NEGATIVES, MIXED, AVERAGED, SLOWER, FROZEN)
MIN_TEST_RECORDS = 5
LEAD_TOKENS = ("6", "4", "3", "2")


def assemble(folders: list[str | Path], out: str | Path) -> Path:
    """One folder of links to every record of `folders` (a record name may appear once)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Path] = {}
    for folder in folders:
        for header in find_records(folder):
            if header.stem in seen and seen[header.stem].resolve() != header.resolve():
                raise ValueError(f"record {header.stem} is in both {seen[header.stem].parent} and {folder}")
            seen[header.stem] = header
            for path in (header, header.with_suffix(".mat")):
                link = out / path.name
                if not link.exists():
                    os.symlink(path.resolve(), link)
    return out


def loso_splits(examples: Examples) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(source, training rows, test rows) for every source with enough records to test on."""
    splits = []
    for d, name in enumerate(examples.domain_names):
        test = np.flatnonzero(examples.domains == d)
        if len(test) >= MIN_TEST_RECORDS:
            splits.append((name, np.flatnonzero(examples.domains != d), test))
    if len(splits) < 2:
        raise ValueError("leaving one source out needs at least two sources of "
                         f"{MIN_TEST_RECORDS} or more records")
    return splits


def scored(examples: Examples) -> Examples:
    """The records with a scored diagnosis: those the arms train on unless unscored ones train as negatives."""
    return examples.subset(np.flatnonzero(examples.labels.any(axis=1)))


def _folder_unit(predictors: dict[str, Any], folders: dict[str, str], test: Examples, stratum: str,
                 seed: int, classes: ClassSet) -> Unit:
    """A trained model folder's unit on `test` (and its reduced-lead copies): what the driver
    would decide for each record."""
    arrays: dict[str, np.ndarray] = {"labels": test.labels}
    for name, predictor in predictors.items():
        headers = headers_by_record(folders[name])  # a header may name its record unlike its file
        records = [read_record(headers[record]) for record in test.names]
        probabilities = predictor.probabilities(records)
        binary = decide(probabilities, predictor.thresholds, classes, predictor.cfg.thresholds).astype(bool)
        suffix = f"@{name}" if name else ""
        arrays.update({f"probabilities{suffix}": probabilities, f"binary{suffix}": binary})
    scores = unit_scores(classes, test.labels, arrays["binary"], arrays["probabilities"])
    return Unit(stratum, seed, scores, test.labels, arrays["binary"], arrays)


def headers_by_record(folder: str | Path) -> dict[str, Path]:
    return {read_header(h).record: h for h in find_records(folder)}


def _synthetic_units(study: Study, splits: list, model_dir: Path) -> list[Unit]:
    from ..serving.predict import load_predictor  # Keras loads here
    folders = {"": study.examples.folder, **{name: e.folder for name, e in study.lead_sets.items()}}
    leads = {"": None, **{lead_set_name(t): lead_set_leads(t) for t in LEAD_TOKENS}}
    predictors = {name: load_predictor(model_dir, leads[name]) for name in folders}
    units = []
    for stratum, _, test_rows in splits:
        unit = _folder_unit(predictors, folders, study.examples.subset(test_rows), stratum, 0, study.classes)
        units += [replace(unit, seed=seed) for seed in range(study.seeds)]
    return units


def _split_study(study: Study, test_rows: np.ndarray) -> Study:
    test = study.examples.subset(test_rows)
    return replace(study, test=test, lead_sets={name: e.subset(test_rows) for name, e in study.lead_sets.items()})


def run_arm(study: Study, arm: str, splits: list) -> list[Unit]:
    """Every split and seed of one trained arm (resumable); the generated records join the
    training records as `train_model.py` adds them (generated_mix.add_generated)."""
    from ..training.generated_mix import add_generated
    cfg = with_overrides(study.cfg, ARMS[arm])
    units = []
    for stratum, rest_rows, test_rows in splits:
        split_study = _split_study(study, test_rows)
        rest = study.examples.subset(rest_rows)
        rest, _ = add_generated(rest if cfg.train.unscored_negatives else scored(rest), study.classes, cfg)
        for seed in range(study.seeds):
            folder = study.out / "real" / slug(arm) / f"{slug(stratum)}-seed{seed}"
            units.append(run_unit(split_study, folder, cfg, arm, (stratum, rest, split_study.test), seed))
    return units


def open_real_study(data_dir: Path, out: Path, quick: bool, seeds: int, verbose: int) -> Study:
    """The real records with every labelled record kept (the test sets need them), at the size
    "auto" picks for them, with their reduced-lead copies."""
    records = sizes.count_records(data_dir)
    cfg, _ = sizes.resolve(base_config(quick, overrides={"train": {"unscored_negatives": True}}), records)
    classes = load_classes()
    examples = load_examples(data_dir, classes, cfg)
    out.mkdir(parents=True, exist_ok=True)
    copies = reduced_copies(data_dir, examples, out, list(LEAD_TOKENS), classes, cfg)
    return Study(examples, classes, cfg, out, 0, seeds, verbose, lead_sets=copies)


def run(data_dirs: list[str | Path], out_dir: str | Path, synthetic_model: str | Path | None = None, seeds: int = 3, arms: list[str] | None = None, quick: bool = False,
        verbose: int = 1) -> str:
    """The real-record study; returns its tables (also written under OUT as .md and .csv)."""
    out = Path(out_dir)
    data = assemble(list(data_dirs), out / "records")
    study = open_real_study(data, out, quick, seeds, verbose)
    splits = loso_splits(study.examples)
    wanted = selected_arms(arms)
    if SYNTHETIC in wanted and not synthetic_model:
        raise ValueError("the synthetic-only arm needs the pretrained model folder (--synthetic-model)")
    results = {arm: (_synthetic_units(study, splits, Path(synthetic_model)) if arm == SYNTHETIC
                     else run_arm(study, arm, splits)) for arm in wanted}
    return tables(study, results, splits)


def selected_arms(names: list[str] | None) -> list[str]:
    """The arms named (by name or slug, e.g. 'synthetic-only'), in the study's order; all for None."""
    if not names:
        return list(ALL_ARMS)
    unknown = set(names) - set(ALL_ARMS) - {slug(a) for a in ALL_ARMS}
    if unknown:
        raise ValueError(f"unknown arm(s) {sorted(unknown)}; choose from {', '.join(slug(a) for a in ALL_ARMS)}")
    return [a for a in ALL_ARMS if a in names or slug(a) in names]


def tables(study: Study, results: dict[str, list[Unit]], splits: list) -> str:
    """The arms against the default: on every held-out record at once (each scored by the
    models that never saw its source), then per held-out source, per class and per lead set."""
    reference = DEFAULT if DEFAULT in results else next(iter(results))
    held = ", ".join(f"{name} ({len(test)})" for name, _, test in splits)
    pooled = {arm: pooled_units(study.classes, units) for arm, units in results.items()}
    text = arm_table(study, "real", pooled, reference,
                     f"Leave one source out over {len(study.examples)} real records; held out in turn: {held}. "
                     "Every held-out record scored together, each by the models trained without its source. "
                     f"Δ is each arm minus '{reference}'.")
    text += "\n" + arm_table(study, "real_splits", results, reference,
                             "The same units, the challenge metric of each held-out source averaged over the "
                             f"sources (a source of 7 records weighs as one of 139). Δ is each arm minus '{reference}'.")
    rows = [[name, len(test)] + [mean_sd([u.scores["challenge"] for u in units if u.stratum == name])
                                 for units in results.values()] for name, _, test in splits]
    text += "\n" + write_table(study, "real_sources", ["held-out source", "records", *results], rows,
                               "Challenge metric on each held-out source (mean ± sd over seeds).")
    text += "\n" + write_table(study, "real_classes", *class_rows(study.classes, pooled),
                               "AUROC per class, every held-out record together, mean ± sd over seeds.")
    text += "\n" + write_table(study, "real_classes_within", *within_source_rows(study.classes, results),
                               "AUROC per class on each held-out source alone, averaged over the sources with "
                               "the class's positives as weights (then over the classes: macro), mean ± sd over seeds.")
    if BASELINE in results:
        text += "\n" + lead_set_tables(study, pooled, "real")
    return text


def pooled_units(classes: ClassSet, units: list[Unit]) -> list[Unit]:
    """One unit per seed with every split's test records stacked: the held-out records scored
    together, as a test set of several unseen sources is (a source of 7 records alone says little)."""
    pooled = []
    for seed in sorted({u.seed for u in units}):
        mine = [u for u in units if u.seed == seed]
        keys = [key for key in mine[0].arrays if all(key in u.arrays for u in mine)]
        arrays = {key: np.concatenate([u.arrays[key] for u in mine]) for key in keys
                  if key.startswith(("probabilities", "binary", "labels"))}
        labels, binary = np.concatenate([u.labels for u in mine]), np.concatenate([u.binary for u in mine])
        scores = unit_scores(classes, labels, binary, arrays["probabilities"])
        pooled.append(Unit("all held-out records", seed, scores, labels, binary, arrays))
    return pooled


def score_folder(model_dir: str | Path, data_dirs: list[str | Path], out: str | Path) -> dict[str, dict[str, Any]]:
    """A model folder scored on every labelled record of `data_dirs` as the driver and the
    evaluator would (records without a scored diagnosis count), overall and per source."""
    from .folder_comparison import predictions
    classes, labels, probabilities, binary, sources = predictions(model_dir, find_records(assemble(list(data_dirs), out)))
    groups = {"all": np.ones(len(labels), dtype=bool), **{s: sources == s for s in sorted(set(sources))}}
    return {name: {"records": int(rows.sum()), **{k: round(v, 4) if np.isfinite(v) else None for k, v in unit_scores(
                classes, labels[rows], binary[rows], probabilities[rows]).items() if k in ("challenge", "auroc")}}
            for name, rows in groups.items()}
