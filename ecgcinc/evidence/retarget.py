"""New decision costs or threshold methods for a trained model, without retraining.

`retarget` rewrites only `thresholds.json` of a model folder (the previous file
is kept as `thresholds.<time>.json`); the network files are not opened for
writing.  CICST needs only the stored training labels and a benefit matrix, so
a user who edits a copy of weights.csv (say, to make false positives of one
class cheaper) re-targets in seconds.  `compare` reproduces the model paper's
comparison of threshold methods on held-out data.
"""
from __future__ import annotations

import csv
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import metrics
from ..decision import thresholds as th
from ..core.classes import ClassSet, load_classes
from ..core.config import ThresholdConfig
from ..dataset.data import Examples, load_examples
from ..serving import model_folder
from ..serving.predict import Predictor, load_predictor


def _same_classes(a: ClassSet, b: ClassSet) -> None:
    if [set(c) for c in a.codes] != [set(c) for c in b.codes]:
        raise ValueError("the new weights file must score the same classes, in the same order, as the model")


def data_probabilities(predictor: Predictor, data_dir: str | Path) -> tuple[Examples, np.ndarray]:
    """The labelled records of data_dir and their calibrated probabilities."""
    examples = load_examples(data_dir, predictor.classes, predictor.cfg)
    return examples, predictor.examples_probabilities(examples)


def retarget(model_dir: str | Path, method: str = "cicst", beta: float | None = None,
             weights_file: str | Path | None = None, data_dir: str | Path | None = None,
             value: float = 0.5) -> np.ndarray:
    """Recompute and store the thresholds; returns them."""
    model_dir = Path(model_dir)
    predictor = load_predictor(model_dir)
    classes = predictor.classes
    if weights_file is not None:
        new = load_classes(weights_file)
        _same_classes(classes, new)
        classes = new
    beta = predictor.cfg.thresholds.beta if beta is None else beta
    train_labels = model_folder.read_train_labels(model_dir)
    probabilities = labels = None
    if method in th.SEARCH_METHODS:
        if data_dir is None:
            raise ValueError(f"method {method!r} searches on data: give --data")
        examples, probabilities = data_probabilities(predictor, data_dir)
        labels = examples.labels
    new_thresholds = th.choose(method, train_labels, classes.weights, classes.sinus_index, beta, value,
                               probabilities, labels)
    backup = model_dir / f"thresholds.{time.strftime('%Y%m%d-%H%M%S')}.json"
    shutil.copy2(model_dir / model_folder.THRESHOLDS_FILE, backup)
    model_folder.write_thresholds(model_dir, new_thresholds, method, beta,
                                  str(weights_file or model_folder.TRAINING_WEIGHTS))
    return new_thresholds


@dataclass
class Row:
    method: str
    challenge: float
    f_measure: float
    accuracy: float
    sensitivity: float
    specificity: float


def _row(name: str, labels: np.ndarray, binary: np.ndarray, classes: ClassSet) -> Row:
    sens, spec = metrics.sensitivity_specificity(labels, binary)
    return Row(name, metrics.challenge_metric(classes.weights, labels, binary, classes.sinus_index),
               metrics.compute_f_measure(labels, binary)[0], metrics.compute_accuracy(labels, binary), sens, spec)


def compare(model_dir: str | Path, data_dir: str | Path, seed: int = 0, with_de: bool = False) -> list[Row]:
    """Every threshold method for a model folder on the records of data_dir."""
    model_dir = Path(model_dir)
    predictor = load_predictor(model_dir)
    examples, probabilities = data_probabilities(predictor, data_dir)
    return compare_probabilities(probabilities, examples.labels, model_folder.read_train_labels(model_dir),
                                 predictor.classes, predictor.cfg.thresholds, seed, with_de)


def compare_probabilities(probabilities: np.ndarray, labels: np.ndarray, train_labels: np.ndarray,
                          classes: ClassSet, t: ThresholdConfig, seed: int = 0, with_de: bool = False) -> list[Row]:
    """Every method on the same held-out records: search methods fit on one half (`fit`), all
    are scored on the other (`test`); CICST and the fixed thresholds never see either."""
    order = np.random.default_rng(seed).permutation(len(labels))
    fit, test = order[: len(order) // 2], order[len(order) // 2 :]
    p_fit, y_fit, p_test, y_test = probabilities[fit], labels[fit], probabilities[test], labels[test]

    def by_thresholds(name: str, values: np.ndarray) -> Row:
        return _row(name, y_test, th.decide(p_test, values, classes, t), classes)

    mean_labels = max(int(round(train_labels.sum(axis=1).mean())), 1)
    rows = [by_thresholds("fixed 0.5", th.fixed(len(classes), 0.5)),
            by_thresholds("fixed 0.2", th.fixed(len(classes), 0.2)),
            _row(f"top-{mean_labels} (rank)", y_test, th.top_k_outputs(p_test, mean_labels), classes),
            by_thresholds("proportional", th.proportional(p_fit, train_labels)),
            by_thresholds("grid search", th.grid_search(p_fit, y_fit, classes.weights, classes.sinus_index,
                                                        th.cicst(train_labels, classes.weights, t.beta)))]
    if with_de:
        rows.append(by_thresholds("differential evolution",
                                  th.differential_evolution(p_fit, y_fit, classes.weights, classes.sinus_index, seed)))
    for beta in (0.0, 0.25, 0.5, 0.75, 1.0):
        rows.append(by_thresholds(f"CICST beta={beta:g}", th.cicst(train_labels, classes.weights, beta)))
    return rows


def format_table(rows: list[Row]) -> str:
    lines = ["| method | challenge | macro F | accuracy | sensitivity | specificity |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.method} | {r.challenge:.3f} | {r.f_measure:.3f} | {r.accuracy:.3f} | {r.sensitivity:.3f} | "
              f"{r.specificity:.3f} |" for r in rows]
    return "\n".join(lines)


def write_csv(rows: list[Row], path: str | Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "challenge", "f_measure", "accuracy", "sensitivity", "specificity"])
        writer.writerows([[r.method, r.challenge, r.f_measure, r.accuracy, r.sensitivity, r.specificity]
                          for r in rows])
