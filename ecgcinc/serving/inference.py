"""Network probabilities of preprocessed signals: fixed batch shapes, inference windows,
and the scoring of labelled signals that training (checkpoint selection), the experiments
and the report share with the harness.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..core import metrics
from ..decision.calibration import Calibration
from ..core.classes import ClassSet
from ..core.config import Config, PreprocessConfig
from ..signals.preprocess import inference_windows
from ..decision.thresholds import decide

if TYPE_CHECKING:
    import keras


def _bucket(n: int, largest: int) -> int:
    """Batch size a call is padded to: the next power of two, at most `largest`.  A compiled
    function is specialised per input shape (one XLA program per shape on JAX), so padding
    bounds the number of compilations by log2(largest) + 1 whatever the records' lengths."""
    return min(1 << max(n - 1, 0).bit_length(), largest)


def forward(model: keras.Model, x: np.ndarray, meta: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Class probabilities of windows x (n, T, 12) with meta (n, M), through the model's one
    cached compiled predict function (predict_on_batch), never a per-call model.predict()."""
    out = []
    for i in range(0, len(x), batch_size):
        xb, mb = x[i : i + batch_size], meta[i : i + batch_size]
        pad = _bucket(len(xb), batch_size) - len(xb)
        if pad:
            xb = np.concatenate([xb, np.zeros((pad,) + xb.shape[1:], xb.dtype)])
            mb = np.concatenate([mb, np.zeros((pad,) + mb.shape[1:], mb.dtype)])
        out.append(np.asarray(model.predict_on_batch([xb, mb]))[: len(xb) - pad])
    return np.concatenate(out) if out else np.zeros((0, 0))


def predict_windows(model: keras.Model, windows: Sequence[np.ndarray], meta: np.ndarray,
                    batch_size: int = 64) -> np.ndarray:
    """Mean class probability per record over its windows: windows[i] (w_i, T, 12), meta (N, M)."""
    counts = np.array([len(w) for w in windows])
    out = forward(model, np.concatenate(windows), np.repeat(meta, counts, axis=0).astype(np.float32), batch_size)
    owners = np.repeat(np.arange(len(windows)), counts)
    sums = np.zeros((len(windows), out.shape[1]))
    np.add.at(sums, owners, out)
    return sums / counts[:, None]


def signal_probabilities(model: keras.Model, signals: Sequence[np.ndarray], meta: np.ndarray,
                         cfg: PreprocessConfig, chunk: int = 256) -> np.ndarray:
    """Probabilities of preprocessed signals (n_i, 12), each covered by its inference windows.
    Windows are cut `chunk` records at a time, so scoring a large validation set never holds
    all its windows (float32) in memory at once."""
    parts = [predict_windows(model, [inference_windows(signals[i], cfg) for i in range(start, min(start + chunk,
                             len(signals)))], meta[start : start + chunk])
             for start in range(0, len(signals), chunk)]
    return np.concatenate(parts)


@dataclass
class Scored:
    """Probabilities, decisions and the official scores of labelled, preprocessed records."""
    probabilities: np.ndarray
    binary: np.ndarray
    scores: metrics.Scores


def score_signals(network: keras.Model, signals: Sequence[np.ndarray], meta: np.ndarray, labels: np.ndarray,
                  thresholds: np.ndarray, classes: ClassSet, cfg: Config,
                  calibration: Calibration | None = None) -> Scored:
    """What every scorer of labelled records needs (checkpoint selection, experiments, report),
    through the same windows, calibration, decision rules and metrics as the harness and the
    evaluator.  `meta` is the network's meta input (Examples.network_meta)."""
    probabilities = signal_probabilities(network, signals, meta, cfg.preprocess)
    if calibration is not None:
        probabilities = calibration.apply(probabilities)
    return score_probabilities(probabilities, labels, thresholds, classes, cfg)


def score_probabilities(probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray, classes: ClassSet,
                        cfg: Config) -> Scored:
    """Decisions and the official scores of calibrated probabilities of labelled records."""
    binary = decide(probabilities, thresholds, classes, cfg.thresholds).astype(bool)
    return Scored(probabilities, binary,
                  metrics.score_all(classes.weights, classes.sinus_index, labels, binary, probabilities))


def warm_up(network: keras.Model) -> None:
    """Compile the predict function for one window (the network's own input shapes) now, so
    the first record is not slow."""
    signal, meta = (tuple(tensor.shape[1:]) for tensor in network.inputs)
    forward(network, np.zeros((1, *signal), np.float32), np.zeros((1, *meta), np.float32))
