"""The decision rule: how probabilities become the 0/1 outputs the Challenge scores.

Per class, a calibration (calibration.py; the identity by default) and then a
threshold (thresholds.py; CICST by default).  The network, its fusion with the
feature model and the command-line baseline all fit their rule here, by the
same code on the same kind of held-out predictions, so a comparison between
them differs only in the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import thresholds as thresholding
from .calibration import Calibration, fit_calibration
from ..core.classes import ClassSet
from ..core.config import Config


@dataclass
class Decision:
    """How probabilities become outputs: per-class calibration, then thresholds."""
    calibration: Calibration
    thresholds: np.ndarray


def fit_decision(probabilities: np.ndarray, labels: np.ndarray, train_labels: np.ndarray, classes: ClassSet,
                 cfg: Config) -> Decision:
    """Calibration and thresholds from held-out probabilities and their labels (the validation
    split, or an ensemble's out-of-fold predictions).  CICST and fixed thresholds use only the
    training labels; the search methods search the calibrated held-out probabilities."""
    t = cfg.thresholds
    calibration = fit_calibration(t.calibration, probabilities, labels)
    thresholds = thresholding.choose(t.method, train_labels, classes.weights, classes.sinus_index, t.beta, t.fixed,
                                     calibration.apply(probabilities), labels, cfg.train.seed)
    return Decision(calibration, thresholds)
