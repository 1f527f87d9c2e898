"""Class loss of the domain-generalisation paper: BCE weighted per record and class.

The weights (Mw, Md) are computed in loss_weights.py, without Keras; they
travel in y_true next to the labels, a layout every Keras backend accepts.
"""
from __future__ import annotations

from .framework import keras
import numpy as np
from keras import ops

from .models import PACKAGE


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
