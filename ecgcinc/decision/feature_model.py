"""The feature model: gradient boosting on the classic ECG features, one classifier per class.

Why its own module: every prediction of the default uses it (the network is
fused with it, fusion.py), and the command-line baseline (baseline.py) is the
same model with a decision rule of its own.  It sits below both, and below
the trainer and the predictor, so neither has to reach up into a command.

One histogram gradient-boosting classifier (scikit-learn) per scored class on
the features of features.py plus age and sex; missing values stay NaN, which
the trees route natively.  It is trained with the domain mask Md as sample
weights, so a class a source never annotates is not learnt as absent from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..dataset.data import Examples
from ..networks.loss_weights import domain_annotation_mask
from ..signals.preprocess import N_DEMOGRAPHICS
from .tree_ensemble import CompiledTrees, compile_trees

MAX_ITER = 200
LEARNING_RATE = 0.08
# Below this many training records the classifiers fit on one thread: on a few thousand records
# OpenMP's per-iteration synchronisation costs more than the threads save, and far more when the
# cores are busy (2026-12-04, a 2-core machine running a training beside it, load average 5-6,
# the same model either way: 320 records 7.5-21 s on one thread against 26-36 s on all, three
# runs each, interleaved; 2,400 records 27 s against 79-81 s).  Larger folders keep every core.
SINGLE_THREAD_BELOW = 10_000


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
    0 or 1).  Predictions come from the classifiers' trees compiled into one evaluator
    (tree_ensemble.py): every class in one call, without threads, equal to predict_proba."""
    classifiers: list
    prevalence: np.ndarray
    columns: list = field(default_factory=list)   # per class: the columns with a value in training
    trees: CompiledTrees | None = None

    def probabilities(self, examples: Examples) -> np.ndarray:
        return self.probabilities_of(design_matrix(examples.meta, examples.features))

    def __getstate__(self) -> dict:
        """What a model folder or an experiment unit saves: the compiled trees, not the
        scikit-learn classifiers they came from.  Predictions need only the trees, and
        unpickling the classifiers (78 of them with the fusion's three views) took 3.9 s of
        every load_model on 2 cores; a loaded model has no classifiers."""
        return {**self.__dict__, "classifiers": []}

    def probabilities_of(self, x: np.ndarray) -> np.ndarray:
        out = self.trees.probabilities(x)
        return np.where(np.isnan(self.trees.baseline), self.prevalence, out)


def fit_feature_model(training: Examples, seed: int = 0) -> FeatureModel:
    """Gradient boosting per class, sample-weighted by the domain mask Md."""
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency, loaded with it
    with threadpool_limits(1 if len(training) < SINGLE_THREAD_BELOW else None, user_api="openmp"):
        return _fit(training, seed)


def _fit(training: Examples, seed: int) -> FeatureModel:
    from sklearn.ensemble import HistGradientBoostingClassifier  # scikit-learn loads when a model is fitted
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
    return FeatureModel(classifiers, training.labels.mean(axis=0), columns, compile_trees(classifiers, columns))
