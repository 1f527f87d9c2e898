"""The papers' experiments on any Challenge-format folder: cv, ablation, lodo, thresholds.

Every unit of work (a fold, a variant, a held-out source) is one training on its own
split and one evaluation on records it never saw.  A unit writes its model folder,
its test probabilities and its scores under <out>/<experiment>/<unit>/, the scores
last and atomically; a unit whose scores exist for the same configuration and the
same records is not recomputed, so an interrupted run resumes where it stopped.
Each experiment writes <out>/<experiment>.csv and <out>/<experiment>.md.

The seeds are fixed (train.seed): folds, splits, initial weights and augmentation
repeat exactly.  `quick` is the size for 2 CPU cores (the small network, 8 epochs,
at most 600 records drawn at random); the full size is the paper-sized network and
belongs on a GPU.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import metrics
from .classes import ClassSet, load_classes
from .config import SMALL_CONFIG, AugmentConfig, Config, load_config, with_overrides
from .data import Examples, load_examples, stratified_folds, stratified_split
from .models import inference_model
from .outputs import atomic_write, atomic_write_text
from .predict import score_signals
from .retarget import compare_probabilities
from .train import fit, save_model_folder

QUICK_RECORDS = 600
QUICK_TRAIN = {"epochs": 8, "patience": 8}
SCORES = ("challenge", "auroc", "auprc", "accuracy", "f_measure", "f_beta", "g_beta")
RESULT_FILE = "result.json"
TEST_FILE = "test.npz"

# The domain-generalisation paper's controls (C1-C4) and the model paper's components.
ABLATIONS: dict[str, dict[str, Any]] = {
    "CNN+BiLSTM, full": {"model": {"backbone": "cnn_bilstm"}},
    "C1: no augmentation but pad/crop": {"model": {"backbone": "cnn_bilstm"}, "augment": {"enabled": []}},
    "C2: no short-crop": {"model": {"backbone": "cnn_bilstm"},
                          "augment": {"enabled": [a for a in AugmentConfig().enabled if a != "short_crop"]}},
    "C3: fine-kernel CNN only": {"model": {"backbone": "cnn_bilstm", "branches": ["fine"]}},
    "C4: coarse-kernel CNN only": {"model": {"backbone": "cnn_bilstm", "branches": ["coarse"]}},
    "ResNet-CWA, full": {"model": {"backbone": "resnet_cwa"}},
    "ResNet-CWA, global pooling (no attention)": {"model": {"backbone": "resnet_cwa", "attention": False}},
    "ResNet-CWA, without Mw": {"model": {"backbone": "resnet_cwa"}, "loss": {"benefit_weighting": False}},
    "ResNet-CWA, without Md": {"model": {"backbone": "resnet_cwa"}, "loss": {"domain_mask": False}},
}
PAPERS = {
    "cv": "Published on the real 2020 data (5-fold): ResNet-CWA paper 0.641 ± 0.009, domain-generalisation "
          "paper 0.629 ± 0.003 (challenge metric).",
    "lodo": "Published (domain-generalisation paper, real 2020 data): 0.352 with the adversarial head, "
            "0.343 without (mean challenge metric over held-out sources).",
}


@dataclass
class Study:
    """What every unit of an experiment shares."""
    examples: Examples
    classes: ClassSet
    cfg: Config
    out: Path
    folds: int
    verbose: int


def base_config(quick: bool, config_file: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> Config:
    """Defaults (or the quick size), then a partial config file, then explicit overrides."""
    cfg = with_overrides(load_config(SMALL_CONFIG), {"train": QUICK_TRAIN}) if quick else Config()
    if config_file:
        cfg = with_overrides(cfg, json.loads(Path(config_file).read_text()))
    return with_overrides(cfg, overrides or {})


def open_study(data_dir: str | Path, out_dir: str | Path, cfg: Config, folds: int, max_records: int = 0,
               verbose: int = 1) -> Study:
    classes = load_classes()
    examples = load_examples(data_dir, classes, cfg)
    if max_records and len(examples) > max_records:
        rng = np.random.default_rng(cfg.train.seed)
        examples = examples.subset(np.sort(rng.choice(len(examples), max_records, replace=False)))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return Study(examples, classes, cfg, out, folds, verbose)


def evaluate(model, thresholds: np.ndarray, test: Examples, classes: ClassSet,
             cfg: Config) -> tuple[dict[str, float], np.ndarray]:
    """The official scores (one implementation with the evaluator) plus the 2020 F2/G2."""
    scored = score_signals(inference_model(model), test.signals, test.meta, test.labels, thresholds, classes, cfg)
    s = scored.scores
    f_beta, g_beta = metrics.beta_measures(test.labels, scored.binary, beta=2.0)
    return ({"challenge": s.challenge_metric, "auroc": s.auroc, "auprc": s.auprc, "accuracy": s.accuracy,
             "f_measure": s.f_measure, "f_beta": f_beta, "g_beta": g_beta}, scored.probabilities)


def _fingerprint(cfg: Config, train_names: list[str], test_names: list[str]) -> str:
    text = json.dumps({"config": cfg.to_dict(), "train": train_names, "test": test_names}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_unit(study: Study, directory: Path, cfg: Config, train_index: np.ndarray,
             test_index: np.ndarray) -> dict[str, float]:
    """Train on train_index (with its own validation split), score on test_index; resumable."""
    examples = study.examples
    rest, test = examples.subset(np.flatnonzero(train_index)), examples.subset(np.flatnonzero(test_index))
    fingerprint = _fingerprint(cfg, rest.names, test.names)
    result_file = directory / RESULT_FILE
    if result_file.is_file():
        saved = json.loads(result_file.read_text())
        if saved.get("fingerprint") == fingerprint:
            return saved["scores"]
    inner, validation = stratified_split(rest.labels, cfg.train.validation_fraction, cfg.train.seed)
    training = rest.subset(inner)
    if study.verbose:
        print(f"[{directory.parent.name}/{directory.name}] training on {len(training)}, "
              f"testing on {len(test)} records", flush=True)
    fitted = fit(training, rest.subset(validation), study.classes, cfg, verbose=0)
    scores, probabilities = evaluate(fitted.model, fitted.thresholds, test, study.classes, cfg)
    directory.mkdir(parents=True, exist_ok=True)
    save_model_folder(directory / "model", fitted.model, cfg, study.classes, fitted.thresholds, fitted.history,
                      training.labels)
    atomic_write(directory / TEST_FILE, lambda handle: np.savez(
        handle, probabilities=probabilities, labels=test.labels, train_labels=training.labels,
        names=np.array(test.names)))
    atomic_write_text(result_file, json.dumps({"fingerprint": fingerprint, "scores": scores,
                                               "train_records": len(training), "test_records": len(test),
                                               "best_epoch": fitted.history["best_epoch"]}, indent=2))
    if study.verbose:
        print(f"[{directory.parent.name}/{directory.name}] challenge {scores['challenge']:.3f}, "
              f"AUROC {scores['auroc']:.3f}", flush=True)
    return scores


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def mean_sd(values: list[float]) -> str:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return "n/a"
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return f"{values.mean():.3f} ± {sd:.3f}"


def write_table(study: Study, name: str, header: list[str], rows: list[list[Any]], note: str = "") -> str:
    """<out>/<name>.csv (numbers in full) and <out>/<name>.md (3 decimals); returns the Markdown."""
    with open(study.out / f"{name}.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)

    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    text = "\n".join(lines) + ("\n\n" + note if note else "") + "\n"
    atomic_write_text(study.out / f"{name}.md", text)
    return text


def _cv_units(study: Study) -> list[dict[str, float]]:
    folds = stratified_folds(study.examples.labels, study.folds, study.cfg.train.seed)
    return [run_unit(study, study.out / "cv" / f"fold{f + 1}", study.cfg, folds != f, folds == f)
            for f in range(study.folds)]


def cv(study: Study) -> str:
    results = _cv_units(study)
    rows = [[f"fold {i + 1}"] + [r[k] for k in SCORES] for i, r in enumerate(results)]
    rows.append(["mean ± sd"] + [mean_sd([r[k] for r in results]) for k in SCORES])
    note = (f"{study.folds}-fold cross-validation stratified by label set, {len(study.examples)} records. "
            + PAPERS["cv"])
    return write_table(study, "cv", ["fold", *SCORES], rows, note)


def ablation(study: Study) -> str:
    folds = stratified_folds(study.examples.labels, max(study.folds, 2), study.cfg.train.seed)
    rows = []
    for name, overrides in ABLATIONS.items():
        cfg = with_overrides(study.cfg, overrides)
        r = run_unit(study, study.out / "ablation" / _slug(name), cfg, folds != 0, folds == 0)
        rows.append([name] + [r[k] for k in SCORES])
    note = (f"One hold-out split (fold 1 of {max(study.folds, 2)}, {int(np.sum(folds == 0))} test records); "
            "C1-C4 are the domain-generalisation paper's control models.")
    return write_table(study, "ablation", ["model", *SCORES], rows, note)


def lodo(study: Study) -> str:
    examples = study.examples
    rows, with_head, without_head = [], [], []
    for d in np.unique(examples.domains):
        name = examples.domain_names[d]
        held_out = examples.domains == d
        if len(np.unique(examples.domains[~held_out])) < 2:
            raise ValueError("leave-one-domain-out needs at least three sources")
        scores = {}
        for head in (True, False):
            cfg = with_overrides(study.cfg, {"model": {"domain_head": head}})
            unit = study.out / "lodo" / f"{_slug(name)}-{'adversarial' if head else 'plain'}"
            scores[head] = run_unit(study, unit, cfg, ~held_out, held_out)
        with_head.append(scores[True]["challenge"]), without_head.append(scores[False]["challenge"])
        rows.append([name, int(held_out.sum()), scores[True]["challenge"], scores[False]["challenge"],
                     scores[True]["auroc"], scores[False]["auroc"]])
    rows.append(["mean ± sd", "", mean_sd(with_head), mean_sd(without_head),
                 mean_sd([r[4] for r in rows]), mean_sd([r[5] for r in rows])])
    header = ["held-out source", "records", "challenge, adversarial", "challenge, plain",
              "AUROC, adversarial", "AUROC, plain"]
    return write_table(study, "lodo", header, rows, PAPERS["lodo"])


def threshold_methods(study: Study) -> str:
    """Every threshold method on each cross-validation fold's held-out records (the cv units
    are reused when they exist)."""
    _cv_units(study)
    by_method: dict[str, list] = {}
    for f in range(study.folds):
        saved = np.load(study.out / "cv" / f"fold{f + 1}" / TEST_FILE)
        rows = compare_probabilities(saved["probabilities"], saved["labels"], saved["train_labels"],
                                     study.classes, study.cfg.thresholds, study.cfg.train.seed)
        for row in rows:
            by_method.setdefault(row.method, []).append(row)
    rows = [[method, mean_sd([r.challenge for r in results]), mean_sd([r.f_measure for r in results]),
             mean_sd([r.accuracy for r in results]), mean_sd([r.sensitivity for r in results]),
             mean_sd([r.specificity for r in results])] for method, results in by_method.items()]
    note = (f"Mean ± sd over the {study.folds} cross-validation folds; on each fold the search methods are "
            "fitted on one half of the held-out records and every method is scored on the other half.")
    return write_table(study, "thresholds", ["method", "challenge", "macro F", "accuracy", "sensitivity",
                                             "specificity"], rows, note)


EXPERIMENTS: dict[str, Callable[[Study], str]] = {"cv": cv, "ablation": ablation, "lodo": lodo,
                                                  "thresholds": threshold_methods}


def run_experiment(name: str, data_dir: str | Path, out_dir: str | Path, quick: bool = False,
                   config_file: str | Path | None = None, folds: int = 5,
                   overrides: dict[str, Any] | None = None, max_records: int | None = None,
                   verbose: int = 1) -> str:
    """Run one experiment; returns its Markdown table."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    cfg = base_config(quick, config_file, overrides)
    limit = max_records if max_records is not None else (QUICK_RECORDS if quick else 0)
    return EXPERIMENTS[name](open_study(data_dir, out_dir, cfg, folds, limit, verbose))
