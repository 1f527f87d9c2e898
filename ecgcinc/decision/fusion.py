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

Per lead set: a 2-lead record's features are not a 12-lead record's with some
columns missing (R peaks, the median beat and the axis all come from fewer
leads), so a feature model fitted on 12-lead features and applied to them sees
records unlike any it was fitted on.  One feature model and one set of weights
are therefore fitted per view (lead_sets.views: the distinct lead sets that the
Challenge's five yield), each on the training and validation records as their
reduced-lead copies measure; a record is fused by the view of its leads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calibration import logit, ridge_logistic
from ..dataset.data import Examples
from .feature_model import FeatureModel, design_matrix
from ..signals.lead_sets import by_view, view_name
from ..signals.preprocess import LEAD_MASK

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


@dataclass
class LeadSetFusion:
    """One Fusion per view: members[v] was fitted on records in view v (lead_sets.views)."""
    views: np.ndarray       # (V, 12) bool
    members: list[Fusion]

    def combine_designs(self, network: np.ndarray, designs: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Fused probabilities of records from the network's probabilities (n, C), the feature
        model's design matrices (n, D) and the records' leads (n, 12): each record by the
        member of its view."""
        fused = np.empty(np.shape(network), dtype=np.float64)
        for v, rows in by_view(present, self.views):
            member = self.members[v]
            fused[rows] = member.combine(np.asarray(network)[rows], member.feature_model.probabilities_of(designs[rows]))
        return fused

    def probabilities(self, network: np.ndarray, examples: Examples) -> np.ndarray:
        """Fused probabilities of cached examples (their leads from the meta vector's mask)."""
        return self.combine_designs(network, design_matrix(examples.meta, examples.features),
                                    examples.meta[:, LEAD_MASK] > 0)

    def describe(self) -> str:
        return "; ".join(view_name(mask) for mask in self.views)
