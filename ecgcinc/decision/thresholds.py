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
SINUS_CONTRADICTING = ("164889003", "164890007", "10370003")  # AF, atrial flutter, pacing rhythm


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


def decide(probabilities: np.ndarray, thresholds: np.ndarray, classes, rules) -> np.ndarray:
    """apply_thresholds with the post-rules of a ThresholdConfig (`at_least_one`,
    `sinus_exclusive`), for a ClassSet."""
    contradicting = tuple(i for i in (classes.index(c) for c in SINUS_CONTRADICTING) if i is not None)
    exclusive = rules.sinus_exclusive
    return apply_thresholds(probabilities, thresholds, rules.at_least_one,
                            classes.sinus_index if exclusive else None, contradicting if exclusive else ())


# ---------------------------------------------------------------------------
# Baselines the model paper compares CICST with
# ---------------------------------------------------------------------------

def fixed(num_classes: int, value: float) -> np.ndarray:
    return np.full(num_classes, float(value))


def top_k_outputs(probabilities: np.ndarray, k: int = 1) -> np.ndarray:
    """Rank-based decision: the k most probable classes of each record are positive."""
    binary = np.zeros(probabilities.shape, dtype=bool)
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    np.put_along_axis(binary, top, True, axis=1)
    return binary


def proportional(probabilities: np.ndarray, train_labels: np.ndarray) -> np.ndarray:
    """Per class, the threshold at which the share of positive outputs on `probabilities`
    equals the class's prevalence in the training labels."""
    prevalence = train_labels.astype(bool).mean(axis=0)
    thresholds = np.array([np.quantile(probabilities[:, j], 1.0 - prevalence[j]) if prevalence[j] > 0
                           else ALWAYS_OFF for j in range(probabilities.shape[1])])
    return np.clip(thresholds, 1e-6, ALWAYS_OFF)


def _challenge(weights: np.ndarray, sinus_index: int, labels: np.ndarray, probabilities: np.ndarray,
               thresholds: np.ndarray) -> float:
    from ..core.metrics import challenge_metric
    return challenge_metric(weights, labels, apply_thresholds(probabilities, thresholds), sinus_index)


def grid_search(probabilities: np.ndarray, labels: np.ndarray, weights: np.ndarray, sinus_index: int,
                start: np.ndarray, grid: np.ndarray | None = None, rounds: int = 2) -> np.ndarray:
    """Coordinate ascent on the challenge metric (the domain-generalisation paper's search):
    class by class, the grid value that scores best is kept if it beats the current score,
    so the result never scores below `start` on the data searched."""
    grid = np.linspace(0.05, 0.95, 19) if grid is None else grid
    best = np.asarray(start, dtype=np.float64).copy()
    best_score = _challenge(weights, sinus_index, labels, probabilities, best)
    for _ in range(rounds):
        improved = False
        for j in range(len(best)):
            for value in grid:
                trial = best.copy()
                trial[j] = value
                score = _challenge(weights, sinus_index, labels, probabilities, trial)
                if score > best_score + 1e-12:
                    best, best_score, improved = trial, score, True
        if not improved:
            break
    return best


def differential_evolution(probabilities: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                           sinus_index: int, seed: int = 0, maxiter: int = 30) -> np.ndarray:
    """scipy's differential evolution over all thresholds at once (the strongest search baseline)."""
    import scipy.optimize
    result = scipy.optimize.differential_evolution(
        lambda t: -_challenge(weights, sinus_index, labels, probabilities, t),
        bounds=[(0.01, 0.99)] * probabilities.shape[1], seed=seed, maxiter=maxiter, popsize=8,
        polish=False, tol=1e-6)
    return result.x


SEARCH_METHODS = ("grid", "de", "proportional")
METHODS = ("cicst", "fixed") + SEARCH_METHODS


def choose(method: str, train_labels: np.ndarray, weights: np.ndarray, sinus_index: int, beta: float = 0.5,
           value: float = 0.5, probabilities: np.ndarray | None = None, labels: np.ndarray | None = None,
           seed: int = 0) -> np.ndarray:
    """Thresholds by name.  cicst and fixed need only the training labels; the search methods
    also need probabilities (and, except proportional, labels) of the data they are fitted on."""
    if method == "cicst":
        return cicst(train_labels, weights, beta)
    if method == "fixed":
        return fixed(train_labels.shape[1], value)
    if probabilities is None:
        raise ValueError(f"threshold method {method!r} needs probabilities of fitting data (--data)")
    if method == "proportional":
        return proportional(probabilities, train_labels)
    if labels is None:
        raise ValueError(f"threshold method {method!r} needs labelled fitting data")
    if method == "grid":
        return grid_search(probabilities, labels, weights, sinus_index, cicst(train_labels, weights, beta))
    if method == "de":
        return differential_evolution(probabilities, labels, weights, sinus_index, seed)
    raise ValueError(f"unknown threshold method {method!r}; choose from {METHODS}")
