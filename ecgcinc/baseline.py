"""The reference the network must beat: gradient boosting on classic ECG features.

One histogram gradient-boosting classifier (scikit-learn) per scored class on
the features of features.py plus age and sex; missing values stay NaN, which
the trees route natively.  It is trained on exactly the records the network
trains on, with the same domain mask Md as sample weights (a class a source
never annotates is not learnt as absent from that source), and its decision
rule is fitted by the same code as the network's (train.fit_decision) on the
same validation split, so a comparison differs only in the model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .classes import ClassSet
from .config import Config
from .data import Examples
from .losses import domain_annotation_mask
from .features import record_features
from .preprocess import N_DEMOGRAPHICS, preprocess_record
from .records import find_records

if TYPE_CHECKING:
    from .train import Decision

MAX_ITER = 200
LEARNING_RATE = 0.08


def design_matrix(meta: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Features and demographics (age/100, age missing, male, female, sex missing) of records'
    meta vectors (N, N_META) and classic features (N, N_FEATURES)."""
    demographics = meta[:, :N_DEMOGRAPHICS].astype(np.float64)
    demographics[demographics[:, 1] > 0, 0] = np.nan
    return np.concatenate([features.astype(np.float64), demographics], axis=1)


@dataclass
class FeatureModel:
    """One fitted classifier per class, with the design columns it was fitted on; None for a
    class without both labels in training (its probability is then the training prevalence,
    0 or 1)."""
    classifiers: list
    prevalence: np.ndarray
    columns: list = field(default_factory=list)   # per class: the columns with a value in training

    def probabilities(self, examples: Examples) -> np.ndarray:
        return self.probabilities_of(design_matrix(examples.meta, examples.features))

    def probabilities_of(self, x: np.ndarray) -> np.ndarray:
        out = np.tile(self.prevalence, (len(x), 1))
        for k, classifier in enumerate(self.classifiers):
            if classifier is not None:
                out[:, k] = classifier.predict_proba(x[:, self.columns[k]])[:, 1]
        return out


def fit_feature_model(training: Examples, seed: int = 0) -> FeatureModel:
    """Gradient boosting per class, sample-weighted by the domain mask Md."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    x = design_matrix(training.meta, training.features)
    mask = domain_annotation_mask(training.labels, training.domains)
    classifiers, columns = [], []
    for k in range(training.labels.shape[1]):
        y, rows = training.labels[:, k], mask[:, k] > 0
        # a column without any value among these records (a measure no record of them allowed)
        # cannot be binned; it is left out of this class's model
        usable = np.flatnonzero(np.isfinite(x[rows]).any(axis=0))
        if y[rows].all() or not y[rows].any():
            classifiers.append(None), columns.append(usable)
            continue
        model = HistGradientBoostingClassifier(max_iter=MAX_ITER, learning_rate=LEARNING_RATE, max_leaf_nodes=15,
                                               min_samples_leaf=10, l2_regularization=1.0, random_state=seed)
        classifiers.append(model.fit(x[rows][:, usable], y[rows])), columns.append(usable)
    return FeatureModel(classifiers, training.labels.mean(axis=0), columns)


@dataclass
class FittedBaseline:
    """The feature model, its decision rule and the validation probabilities it was fitted on."""
    model: FeatureModel
    decision: "Decision"
    held_out: np.ndarray


def fit_baseline(training: Examples, validation: Examples, classes: ClassSet, cfg: Config) -> FittedBaseline:
    """The feature model with its decision rule fitted on the validation split, as for the network."""
    from .train import fit_decision
    model = fit_feature_model(training, cfg.train.seed)
    held_out = model.probabilities(validation)
    return FittedBaseline(model, fit_decision(held_out, validation.labels, training.labels, classes, cfg), held_out)


@dataclass
class FeaturePredictor:
    """The fitted feature model behind run_model's contract, for one lead set: a record is read,
    repaired, restricted to the lead set and measured exactly as the network's Predictor does."""
    fitted: FittedBaseline
    classes: ClassSet
    cfg: Config
    allowed: np.ndarray

    def run(self, header_text: str, recording: np.ndarray) -> tuple[list[str], list[int], list[float]]:
        from .predict import decided_outputs, harness_record, restricted  # predict imports this module
        record = restricted(harness_record(header_text, recording), self.allowed)
        _, meta = preprocess_record(record, self.cfg.preprocess)
        x = design_matrix(meta[None], record_features(record)[None])
        probabilities = self.fitted.decision.calibration.apply(self.fitted.model.probabilities_of(x))[0]
        return decided_outputs(probabilities, self.fitted.decision.thresholds, self.classes, self.cfg)


def run_baseline(train_dir: str | Path, test_dir: str | Path, out_dir: str | Path, cfg: Config) -> int:
    """Train on train_dir's labelled records, then write a Challenge output file for every record
    of test_dir, labelled or not, through the driver's own loop (predict.write_folder): named
    by the header file, a best guess with a warning for repairable records, the empty output
    with an error line for unreadable ones.  Returns the number of files written; score them
    with evaluate_model.py."""
    from .classes import load_classes
    from .data import load_examples, stratified_split
    from .predict import lead_mask, per_lead_set, write_folder
    classes = load_classes()
    examples = load_examples(train_dir, classes, cfg)
    train_idx, val_idx = stratified_split(examples.labels, cfg.train.validation_fraction, cfg.train.seed)
    fitted = fit_baseline(examples.subset(train_idx), examples.subset(val_idx), classes, cfg)
    scorer = per_lead_set(lambda leads: FeaturePredictor(fitted, classes, cfg, lead_mask(leads)))
    write_folder(test_dir, out_dir, scorer, FeaturePredictor.run, verbose=0)
    return len(find_records(test_dir))
