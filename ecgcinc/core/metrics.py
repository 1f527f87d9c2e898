"""The Challenge 2021 scores, vectorised.

Definitions follow the official evaluation code (physionetchallenges/
evaluation-2021): AUROC is the trapezoid area of TNR against TPR and AUPRC the
step area of PPV against TPR, both over the distinct output values; accuracy
counts records whose whole label vector is right; F is 2TP/(2TP+FP+FN) per
class; the challenge metric credits each (true, predicted) class pair with W,
each record's contribution divided by the size of the union of its true and
predicted classes, and is normalised between "always sinus rhythm" (0) and
perfect (1).  Classes without positives (or negatives) give NaN per class and
are skipped by the macro averages, as officially.  The evaluator and the
training loop both score through this module.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _nanmean_or_nan(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def operating_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(TPR, TNR, PPV) at every distinct score used as threshold, from 'nothing positive' on:
    the points both the official areas and the report's curves are drawn through."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # Cumulative counts at the last record of each group of tied scores.
    last_of_group = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    tp = np.r_[0.0, np.cumsum(sorted_labels)[last_of_group]]
    fp = np.r_[0.0, np.cumsum(~sorted_labels)[last_of_group]]
    positives, negatives = float(labels.sum()), float((~labels).sum())
    tpr = tp / positives if positives else np.full_like(tp, np.nan)
    tnr = (negatives - fp) / negatives if negatives else np.full_like(fp, np.nan)
    return tpr, tnr, _ratio(tp, tp + fp)


def class_auc(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """AUROC and AUPRC of one class: labels (n,) bool, scores (n,) float."""
    tpr, tnr, ppv = operating_points(labels, scores)
    d_tpr = np.diff(tpr)
    auroc = float(np.sum(0.5 * d_tpr * (tnr[1:] + tnr[:-1])))
    auprc = float(np.sum(d_tpr * ppv[1:]))
    return auroc, auprc


def compute_auc(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Macro AUROC, macro AUPRC and the per-class values."""
    per_class = np.array([class_auc(labels[:, k], scores[:, k]) for k in range(labels.shape[1])])
    per_class = per_class.reshape(-1, 2)
    auroc, auprc = per_class[:, 0], per_class[:, 1]
    return _nanmean_or_nan(auroc), _nanmean_or_nan(auprc), auroc, auprc


def compute_accuracy(labels: np.ndarray, outputs: np.ndarray) -> float:
    """Share of records whose whole binary label vector is right."""
    return float(np.mean(np.all(labels.astype(bool) == outputs.astype(bool), axis=1)))


def compute_f_measure(labels: np.ndarray, outputs: np.ndarray) -> tuple[float, np.ndarray]:
    """Macro F-measure over classes with any positive label or output, and the per-class F."""
    labels, outputs = labels.astype(bool), outputs.astype(bool)
    tp = np.sum(labels & outputs, axis=0).astype(np.float64)
    fp = np.sum(~labels & outputs, axis=0).astype(np.float64)
    fn = np.sum(labels & ~outputs, axis=0).astype(np.float64)
    per_class = _ratio(2 * tp, 2 * tp + fp + fn)
    return _nanmean_or_nan(per_class), per_class


def sensitivity_specificity(labels: np.ndarray, outputs: np.ndarray) -> tuple[float, float]:
    """Macro sensitivity TP/(TP+FN) and specificity TN/(TN+FP) over the classes where defined."""
    labels, outputs = labels.astype(bool), outputs.astype(bool)
    tp = np.sum(labels & outputs, axis=0).astype(np.float64)
    tn = np.sum(~labels & ~outputs, axis=0).astype(np.float64)
    sensitivity = _ratio(tp, labels.sum(axis=0).astype(np.float64))
    specificity = _ratio(tn, (~labels).sum(axis=0).astype(np.float64))
    return _nanmean_or_nan(sensitivity), _nanmean_or_nan(specificity)


def beta_measures(labels: np.ndarray, outputs: np.ndarray, beta: float = 2.0) -> tuple[float, float]:
    """Macro F-beta and G-beta of the 2020 Challenge's unofficial phase: per-class counts with
    each record weighted 1/(its number of labels); F = (1+b^2)TP/((1+b^2)TP+FP+b^2 FN),
    G = TP/(TP+FP+b FN); classes where a denominator is 0 are skipped."""
    labels, outputs = labels.astype(bool), outputs.astype(bool)
    weight = 1.0 / np.maximum(labels.sum(axis=1), 1)[:, None]
    tp = np.sum(weight * (labels & outputs), axis=0)
    fp = np.sum(weight * (~labels & outputs), axis=0)
    fn = np.sum(weight * (labels & ~outputs), axis=0)
    f_beta = _ratio((1 + beta**2) * tp, (1 + beta**2) * tp + fp + beta**2 * fn)
    g_beta = _ratio(tp, tp + fp + beta * fn)
    return _nanmean_or_nan(f_beta), _nanmean_or_nan(g_beta)


def modified_confusion(labels: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """A[i, j]: credit for true class i predicted as j, each record weighted 1/|labels ∪ outputs|."""
    labels = labels.astype(np.float64)
    outputs = outputs.astype(np.float64)
    union = np.maximum(np.sum(np.maximum(labels, outputs), axis=1), 1.0)
    return labels.T @ (outputs / union[:, None])


def challenge_metric(weights: np.ndarray, labels: np.ndarray, outputs: np.ndarray, sinus_index: int) -> float:
    """Normalised challenge score: 0 for 'always sinus rhythm', 1 for perfect outputs."""
    labels, outputs = labels.astype(bool), outputs.astype(bool)
    observed = np.nansum(weights * modified_confusion(labels, outputs))
    correct = np.nansum(weights * modified_confusion(labels, labels))
    inactive_outputs = np.zeros_like(labels)
    inactive_outputs[:, sinus_index] = True
    inactive = np.nansum(weights * modified_confusion(labels, inactive_outputs))
    if correct == inactive:
        return 0.0
    return float((observed - inactive) / (correct - inactive))


@dataclass(frozen=True)
class Scores:
    """The official summary: macro scores and per-class values."""

    auroc: float
    auprc: float
    auroc_classes: np.ndarray
    auprc_classes: np.ndarray
    accuracy: float
    f_measure: float
    f_measure_classes: np.ndarray
    challenge_metric: float


def score_all(weights: np.ndarray, sinus_index: int, labels: np.ndarray,
              binary: np.ndarray, probabilities: np.ndarray) -> Scores:
    """Every official score for a label matrix, binary outputs and probabilities."""
    auroc, auprc, auroc_classes, auprc_classes = compute_auc(labels, probabilities)
    f_measure, f_classes = compute_f_measure(labels, binary)
    return Scores(
        auroc=auroc, auprc=auprc, auroc_classes=auroc_classes, auprc_classes=auprc_classes,
        accuracy=compute_accuracy(labels, binary), f_measure=f_measure, f_measure_classes=f_classes,
        challenge_metric=challenge_metric(weights, labels, binary, sinus_index),
    )


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> np.ndarray:
    """ECE per class: over `bins` equal-width probability bins, the record-weighted mean of
    |mean predicted probability - share of positives|.  0 is perfectly calibrated.  NaN for a
    class with no positive (its calibration is not assessable on these records)."""
    labels = np.asarray(labels, dtype=bool)
    probabilities = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    out = np.full(labels.shape[1], np.nan)
    for k in range(labels.shape[1]):
        if not labels[:, k].any():
            continue
        mean_p = np.bincount(which[:, k], probabilities[:, k], minlength=bins)
        positives = np.bincount(which[:, k], labels[:, k].astype(np.float64), minlength=bins)
        out[k] = float(np.abs(mean_p - positives).sum() / len(labels))
    return out
