"""Decision thresholds: from probabilities to the binary labels the Challenge scores.

CICST (Liu et al. 2021) derives each class's threshold from the training
labels and the benefit matrix W alone, with no search on validation data:

1. C' = 1 - W is the cost of predicting class j for a record of class i.
2. Each training record's labels are normalised to sum to 1 (divided by
   max(#labels, 1)) and multiplied by C': cost[r, j] is what predicting j costs
   on record r.  Entries of the record's own labels are zeroed (predicting a
   true class costs nothing), and the mean over records is the false-positive
   cost c'_j of class j.
3. The imbalance ratio IR_j = negatives/positives gives the imbalance-only
   false-positive cost 1/IR_j, whose threshold 1/(1 + IR_j) is the class prior.
4. The two are merged by beta in [0, 1] on the log scale:
       c_FP,j = c'_j^(1 - beta) * (1/IR_j)^beta.
   The threshold odds t/(1 - t) equal c_FP / c_FN, so this interpolates the
   log-odds of the threshold linearly between the cost-only (beta = 0) and the
   imbalance-only (beta = 1) thresholds; costs and ratios are multiplicative
   quantities, and an arithmetic mix would let the larger one swamp the other.
5. t_j = c_FP,j / (c_FP,j + c_FN,j) with c_FN = 1 and correct decisions free.

A class with no training positive gets threshold 1 (never predicted): there is
nothing to justify predicting it.
"""
from __future__ import annotations

import numpy as np

ALWAYS_OFF = 1.0


def false_positive_costs(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """c'_j: mean over training records of the cost of predicting j where j is false."""
    labels = labels.astype(np.float64)
    normalised = labels / np.maximum(labels.sum(axis=1, keepdims=True), 1.0)
    cost = normalised @ (1.0 - weights)
    cost[labels.astype(bool)] = 0.0
    return cost.mean(axis=0)


def imbalance_ratio(labels: np.ndarray) -> np.ndarray:
    """IR_j = negatives / positives (inf for a class without positives)."""
    positives = labels.astype(bool).sum(axis=0).astype(np.float64)
    negatives = labels.shape[0] - positives
    with np.errstate(divide="ignore"):
        return np.where(positives > 0, negatives / np.maximum(positives, 1), np.inf)


def cicst(labels: np.ndarray, weights: np.ndarray, beta: float = 0.5, fn_cost: float = 1.0) -> np.ndarray:
    """Class-imbalance and cost-sensitive thresholds from training labels (n, C) and W (C, C)."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must lie in [0, 1], got {beta}")
    cost = false_positive_costs(labels, weights)
    ir = imbalance_ratio(labels)
    with np.errstate(divide="ignore"):
        imbalance_cost = np.where(np.isfinite(ir), 1.0 / np.maximum(ir, 1e-12), 0.0)
        fp_cost = np.power(cost, 1.0 - beta) * np.power(imbalance_cost, beta)
    thresholds = fp_cost / (fp_cost + fn_cost)
    return np.where(np.isfinite(ir), thresholds, ALWAYS_OFF)


def apply_thresholds(probabilities: np.ndarray, thresholds: np.ndarray, at_least_one: bool = True,
                     sinus_index: int | None = None, exclusive_with_sinus: tuple[int, ...] = ()) -> np.ndarray:
    """Binary outputs (n, C).  Optional post-rules: a record with no positive class gets its
    most probable class; sinus rhythm is dropped where a contradicting rhythm is positive."""
    probabilities = np.atleast_2d(probabilities)
    binary = probabilities >= thresholds[None, :]
    if at_least_one:
        empty = ~binary.any(axis=1)
        binary[empty, np.argmax(probabilities[empty], axis=1)] = True
    if sinus_index is not None and exclusive_with_sinus:
        contradicted = binary[:, list(exclusive_with_sinus)].any(axis=1)
        binary[contradicted, sinus_index] = False
    return binary
