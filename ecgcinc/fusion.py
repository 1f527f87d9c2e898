"""Fusion of the network with the feature model: per class, a logistic regression on both logits.

Why: gradient boosting on the classic features separates some interval classes
better than the network whose heads are linear in the same features (1st-degree
AV block on the development folder: AUROC 0.984 against 0.938), because trees
find thresholds and interactions a linear head cannot ("a P wave is present
and the PR is long"; with atrial fibrillation the PR is missing, not short).
Stacking the two, as the issue "beat timing" proposes among its non-linear
paths, lets each class take what each model does best.

How: the feature model (feature_model.py) is fitted on the training split before
the network is trained as usual; on the validation split, class by class,
p = sigmoid(a logit(p_network) + b logit(p_features) + c) is fitted by a ridge
logistic regression pulled towards (1, 0, 0), the network alone, so a class
with few validation positives stays near the network.  The decision rule is
then fitted on the fused validation probabilities.  The feature model and the
weights travel in the model folder (model_folder.py), and the driver computes
the features it needs from each record (predict.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .feature_model import FeatureModel
from .calibration import logit, ridge_logistic

RIDGE = 2.0
PRIOR = np.array([1.0, 0.0, 0.0])
BOUNDS = [(0.0, 20.0), (0.0, 20.0), (-20.0, 20.0)]


@dataclass
class Fusion:
    """The feature model and, per class, the weights (network, feature model, intercept)."""
    feature_model: FeatureModel
    weights: np.ndarray     # (C, 3)

    def combine(self, network: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Fused probabilities from both models' probabilities (n, C) of the same records (the
        network's raw, the feature model's from FeatureModel.probabilities or probabilities_of)."""
        z = (self.weights[:, 0] * logit(np.asarray(network, np.float64)) + self.weights[:, 1] * logit(features)
             + self.weights[:, 2])
        return 1.0 / (1.0 + np.exp(-z))


def fit_fusion(feature_model: FeatureModel, labels: np.ndarray, network_held_out: np.ndarray,
               features_held_out: np.ndarray) -> Fusion:
    """The per-class weights from held-out probabilities of both models on the same records (the
    validation split, or an ensemble's out-of-fold predictions) and their labels; a class
    without both labels there keeps the network alone.  `feature_model` is the one the fusion
    will use; it is fitted first (feature_model.fit_feature_model), before the network trains, so
    its time counts against the training budget like the epochs'."""
    z = np.stack([logit(np.asarray(network_held_out, np.float64)), logit(features_held_out)], axis=-1)
    labels = labels.astype(bool)
    weights = np.tile(PRIOR, (labels.shape[1], 1))
    for k in range(labels.shape[1]):
        if 0 < labels[:, k].sum() < len(labels):
            weights[k] = ridge_logistic(z[:, k], labels[:, k].astype(float), PRIOR, RIDGE, BOUNDS)
    return Fusion(feature_model, weights)
