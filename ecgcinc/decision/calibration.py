"""Per-class probability calibration, fitted on held-out predictions.

Why: CICST turns costs into thresholds t = c_FP / (c_FP + c_FN), which is the
Bayes decision only when a class's output is a calibrated probability.  A
network trained with benefit-weighted, domain-masked BCE and selected on the
challenge metric is not calibrated (the weights alone shift every class's
output), so the thresholds land in the wrong place.

How: Platt scaling per class, p' = sigmoid(a * logit(p) + b), fitted by
minimising the binary cross-entropy on held-out predictions (the validation
split that training holds out, or the out-of-fold predictions of an
ensemble).  A validation split holds few positives of a rare class, so the
fit is pulled towards the identity (a = 1, b = 0) by a ridge penalty; a class
without both positives and negatives keeps the identity.  The map is monotone
per class, so AUROC and AUPRC are unchanged; only decisions move.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

METHODS = ("none", "platt")
_EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class Calibration:
    """Per-class slope a and intercept b on the logit scale; a = 1, b = 0 is the identity."""
    method: str
    slope: np.ndarray
    intercept: np.ndarray

    @classmethod
    def identity(cls, num_classes: int) -> "Calibration":
        return cls("none", np.ones(num_classes), np.zeros(num_classes))

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        if self.method == "none":
            return probabilities
        z = self.slope * logit(np.asarray(probabilities, dtype=np.float64)) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {"method": self.method, "slope": self.slope.tolist(), "intercept": self.intercept.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        return cls(data["method"], np.asarray(data["slope"], float), np.asarray(data["intercept"], float))


def ridge_logistic(x: np.ndarray, y: np.ndarray, prior: np.ndarray, ridge: float,
                   bounds: list[tuple[float, float]]) -> np.ndarray:
    """Coefficients w (m + 1: m slopes, then the intercept) minimising the mean BCE of
    sigmoid(x w[:m] + w[m]) + ridge * |w - prior|^2 / n, for inputs x (n, m) and labels y (n,):
    a logistic regression pulled towards `prior` when the labels are few."""
    n, m = x.shape
    design = np.concatenate([x, np.ones((n, 1))], axis=1)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        u = design @ w
        # log(1 + e^u) - y u, computed stably; its gradient is sigmoid(u) - y
        value = np.logaddexp(0.0, u) - y * u
        residual = 1.0 / (1.0 + np.exp(-u)) - y
        penalty = ridge * float(np.sum((w - prior) ** 2)) / n
        return float(value.mean() + penalty), design.T @ residual / n + 2 * ridge * (w - prior) / n

    return scipy.optimize.minimize(loss, prior.astype(float), jac=True, method="L-BFGS-B", bounds=bounds).x


def _platt_class(z: np.ndarray, y: np.ndarray, ridge: float) -> tuple[float, float]:
    """(a, b) minimising mean BCE of sigmoid(a z + b) + ridge ((a - 1)^2 + b^2) / n."""
    a, b = ridge_logistic(z[:, None], y, np.array([1.0, 0.0]), ridge, [(0.05, 20.0), (-20.0, 20.0)])
    return float(a), float(b)


def fit_platt(probabilities: np.ndarray, labels: np.ndarray, ridge: float = 2.0) -> Calibration:
    """Platt scaling per class on held-out probabilities (n, C) and labels (n, C)."""
    labels = labels.astype(bool)
    slope, intercept = np.ones(labels.shape[1]), np.zeros(labels.shape[1])
    z = logit(np.asarray(probabilities, dtype=np.float64))
    for k in range(labels.shape[1]):
        if 0 < labels[:, k].sum() < len(labels):
            slope[k], intercept[k] = _platt_class(z[:, k], labels[:, k].astype(float), ridge)
    return Calibration("platt", slope, intercept)


def fit_calibration(method: str, probabilities: np.ndarray, labels: np.ndarray) -> Calibration:
    """The configured calibration (`thresholds.calibration`) fitted on held-out predictions."""
    if method == "none":
        return Calibration.identity(labels.shape[1])
    if method == "platt":
        return fit_platt(probabilities, labels)
    raise ValueError(f"unknown calibration {method!r}; choose from {METHODS}")
