"""The weights of the class loss (domain-generalisation paper), per record and class.

Mw = 1 - W + alpha I: for a record whose true class is i, the loss on output
j is weighted by how different i and j are clinically (1 - W[i, j]); the true
class itself gets 1 - W[i, i] + alpha = alpha.  A record with several labels
takes the element-wise minimum of their rows (the smallest penalty any of its
labels justifies); a record with no scored label gets weight 1.  Md zeroes the
classes that the record's source never annotates, so a class a source does not
label is not learnt as "absent".

Why apart from losses.py: the feature model weights its samples by Md too, and
it must not load Keras (it runs beside the network, and in the baseline alone).
"""
from __future__ import annotations

import numpy as np


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
