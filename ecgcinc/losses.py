"""Class loss of the domain-generalisation paper: BCE weighted per record and class.

Mw = 1 - W + alpha I: for a record whose true class is i, the loss on output
j is weighted by how different i and j are clinically (1 - W[i, j]); the true
class itself gets 1 - W[i, i] + alpha = alpha.  A record with several labels
takes the element-wise minimum of their rows (the smallest penalty any of its
labels justifies); a record with no scored label gets weight 1.  Md zeroes the
classes that the record's source never annotates, so a class a source does not
label is not learnt as "absent".  The weights travel in y_true next to the
labels, a layout every Keras backend accepts.
"""
from __future__ import annotations

from .framework import keras
import numpy as np
from keras import ops

from .models import PACKAGE


def benefit_weights(labels: np.ndarray, weights: np.ndarray, alpha: float) -> np.ndarray:
    """Mw per record and class: (n, C) from labels (n, C) and W (C, C)."""
    m = 1.0 - weights + alpha * np.eye(len(weights))
    out = np.ones(labels.shape, dtype=np.float32)
    for i, row in enumerate(labels.astype(bool)):
        if row.any():
            out[i] = m[row].min(axis=0)
    return out


def domain_annotation_mask(labels: np.ndarray, domains: np.ndarray) -> np.ndarray:
    """Md per record and class: 0 where the record's domain has no positive of a class that
    some other domain does annotate.  A class with no positive anywhere stays weighted 1: no
    source labels it, so the only thing to learn is that it is absent (masking it everywhere
    would leave its output untrained)."""
    mask = np.ones(labels.shape, dtype=np.float32)
    annotated_somewhere = labels.any(axis=0)
    for domain in np.unique(domains):
        rows = domains == domain
        never = ~labels[rows].any(axis=0) & annotated_somewhere
        mask[np.ix_(rows, never)] = 0.0
    return mask


def pack_targets(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """y_true for WeightedBCE: [labels, weights] along the class axis."""
    return np.concatenate([labels.astype(np.float32), weights.astype(np.float32)], axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightedBCE(keras.losses.Loss):
    """Mean over classes of weight x BCE (or focal BCE when gamma > 0)."""

    def __init__(self, gamma: float = 0.0, name: str = "weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.gamma = float(gamma)

    def call(self, y_true, y_pred):
        classes = ops.shape(y_pred)[-1]
        labels, weights = y_true[..., :classes], y_true[..., classes:]
        p = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
        bce = -(labels * ops.log(p) + (1.0 - labels) * ops.log(1.0 - p))
        if self.gamma:
            p_true = labels * p + (1.0 - labels) * (1.0 - p)
            bce = bce * ops.power(1.0 - p_true, self.gamma)
        return ops.mean(weights * bce, axis=-1)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma}
