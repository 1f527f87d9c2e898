"""The feature model's trees as flat arrays, evaluated for every class in one vectorised pass.

Why: the driver scores one record at a time, and scikit-learn's gradient boosting
predicts one class per call, each call validating its input and starting OpenMP
threads.  For one record that overhead is most of the cost (26 calls), and the
threads fight for the cores whenever anything else runs: on 2 busy cores one
record took 256 ms, and 44 ms with one thread.  Here every tree of every class
is one row range of a few NumPy arrays; a batch of records descends all trees
together, one level per step (at most the trees' depth, 15 leaves each), with no
threads at all.

Exactly scikit-learn's arithmetic: a missing value follows the node's
`missing_go_to_left`, a value goes left when it is <= the node's threshold, the
raw score is the class's baseline plus its trees' leaf values added in
iteration order, and the probability is its logistic (scipy.special.expit), so
the probabilities equal `predict_proba`'s to the last bit (tests/test_feature_model.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.special


@dataclass
class CompiledTrees:
    """Every tree of the binary gradient-boosting classifiers of some classes, nodes concatenated."""
    feature: np.ndarray       # (nodes,) column of the design matrix a node splits on
    threshold: np.ndarray     # (nodes,) float64: go left when the value is <= this
    missing_left: np.ndarray  # (nodes,) bool: where a missing value goes
    left: np.ndarray          # (nodes,) global index of the left child
    right: np.ndarray         # (nodes,) global index of the right child
    leaf: np.ndarray          # (nodes,) bool
    value: np.ndarray         # (nodes,) float64, a leaf's contribution
    roots: np.ndarray         # (trees,) global index of each tree's root
    tree_class: np.ndarray    # (trees,) the class (column of the output) each tree belongs to
    tree_iteration: np.ndarray  # (trees,) its boosting iteration: the order in which leaves are added
    baseline: np.ndarray      # (classes,) raw score before any tree; NaN for a class without trees

    @cached_property
    def in_order(self) -> np.ndarray:
        """(classes, most iterations) index of each class's trees in iteration order; a class with
        fewer iterations (its early stopping) is padded with the index one past the last tree,
        whose leaf value is 0."""
        classes, trees = len(self.baseline), len(self.roots)
        counts = np.bincount(self.tree_class, minlength=classes)
        order = np.full((classes, int(counts.max(initial=0))), trees)
        for k in np.flatnonzero(counts):
            mine = np.flatnonzero(self.tree_class == k)
            order[k, : len(mine)] = mine[np.argsort(self.tree_iteration[mine], kind="stable")]
        return order

    def raw(self, x: np.ndarray, chunk: int = 256) -> np.ndarray:
        """(n, classes) raw scores of design rows x (n, D); NaN for classes without trees.  Each
        class's leaves are added to its baseline one by one in iteration order (a running sum,
        np.add.accumulate, never a pairwise one) as scikit-learn adds them, `chunk` rows at a time."""
        x = np.asarray(x, dtype=np.float64)
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        while not self.leaf[node].all():
            value = x[rows, self.feature[node]]
            go_left = np.where(np.isnan(value), self.missing_left[node], value <= self.threshold[node])
            node = np.where(self.leaf[node], node, np.where(go_left, self.left[node], self.right[node]))
        leaves = np.concatenate([self.value[node], np.zeros((len(x), 1))], axis=1)  # the padding's 0
        raw = np.empty((len(x), len(self.baseline)))
        for start in range(0, len(x), chunk):
            terms = leaves[start : start + chunk][:, self.in_order]          # (rows, classes, iterations)
            series = np.concatenate([np.broadcast_to(self.baseline[:, None], (*terms.shape[:2], 1)), terms], axis=-1)
            raw[start : start + chunk] = np.add.accumulate(series, axis=-1)[..., -1]
        return raw

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(n, classes) positive-class probabilities; NaN for classes without trees."""
        return scipy.special.expit(self.raw(x))


def compile_trees(classifiers: list, columns: list[np.ndarray]) -> CompiledTrees:
    """The trees of fitted binary HistGradientBoostingClassifiers (None for a class without
    one), class k's features being the design columns `columns[k]`."""
    parts: dict[str, list] = {name: [] for name in ("feature", "threshold", "missing_left", "left", "right", "leaf",
                                                    "value")}
    roots, tree_class, tree_iteration = [], [], []
    baseline = np.full(len(classifiers), np.nan)
    offset = 0
    for k, classifier in enumerate(classifiers):
        if classifier is None:
            continue
        if classifier.n_trees_per_iteration_ != 1:
            raise ValueError(f"class {k}: only binary classifiers can be compiled")
        baseline[k] = float(np.ravel(classifier._baseline_prediction)[0])
        for iteration, (predictor,) in enumerate(classifier._predictors):
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError(f"class {k}: categorical splits cannot be compiled")
            parts["feature"].append(np.asarray(columns[k])[nodes["feature_idx"]])
            parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
            parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
            parts["left"].append(nodes["left"].astype(np.int64) + offset)
            parts["right"].append(nodes["right"].astype(np.int64) + offset)
            parts["leaf"].append(nodes["is_leaf"].astype(bool))
            parts["value"].append(nodes["value"].astype(np.float64))
            roots.append(offset), tree_class.append(k), tree_iteration.append(iteration)
            offset += len(nodes)
    flat = {name: (np.concatenate(values) if values else np.zeros(0, dtype=np.int64)) for name, values in parts.items()}
    return CompiledTrees(**flat, roots=np.array(roots, dtype=np.int64), tree_class=np.array(tree_class, dtype=np.int64),
                         tree_iteration=np.array(tree_iteration, dtype=np.int64), baseline=baseline)
