"""Class-wise attention maps: where in a record the network looked for each class.

The class-wise attention layer computes, per class, a softmax over time that
weights the feature map into that class's vector; this module reads it out,
maps it from the network's time steps back to seconds of the original record
(averaging the overlapping windows of a long record), and draws it under the
record's 12 leads for every class decided positive.  The model paper lists the
missing interpretability as its open limitation; the layer already has it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..networks.framework import keras
import numpy as np

from ..networks.models import attention_model
from .predict import Predictor, load_predictor
from ..signals.preprocess import inference_windows, window_starts
from ..io.records import TWELVE_LEADS, Record, read_record
from ..decision.thresholds import decide


@dataclass
class Explanation:
    record: Record
    probabilities: np.ndarray   # (C,), as run_model reports them
    decisions: np.ndarray       # (C,) bool
    thresholds: np.ndarray      # (C,)
    attention: np.ndarray       # (n', C) at the network's sampling rate, mean over windows, sums to ~1/class
    fs: float                   # rate of `attention` (the preprocessing rate)
    names: list[str]            # class abbreviations
    labels: list[str]           # the record's own scored labels (abbreviations), from its header


@lru_cache(maxsize=4)
def _attention_network(network: keras.Model) -> keras.Model:
    """Built once per network, so scoring many records reuses one compiled predict function."""
    return attention_model(network)


def class_attention(predictor: Predictor, record: Record) -> np.ndarray:
    """(n', C) attention over the preprocessed record: time step j of the feature map covers
    samples [j f, (j+1) f) of its window (f = 2^blocks), its weight is spread evenly over them,
    and overlapping windows are averaged."""
    if "cwa" not in {layer.name for layer in predictor.network.layers}:
        raise ValueError(f"{predictor.model_dir}: attention maps need a ResNet-CWA model with class-wise attention")
    cfg = predictor.cfg.preprocess
    x, meta, _, _ = predictor.inputs(record)
    windows = inference_windows(x, cfg)
    _, attention = _attention_network(predictor.network).predict_on_batch(
        [windows, np.repeat(meta[None], len(windows), axis=0)])
    attention = np.asarray(attention)                      # (w, T', C)
    factor = 2 ** len(predictor.cfg.model.filters)         # one /2 max-pool per residual block
    step_of_sample = np.minimum(np.arange(cfg.window) // factor, attention.shape[1] - 1)
    per_sample = attention[:, step_of_sample, :] / factor  # each step's weight spread over its samples
    n = x.shape[0]
    total = np.zeros((max(n, cfg.window), attention.shape[2]))
    count = np.zeros((max(n, cfg.window), 1))
    for start, a in zip(window_starts(n, cfg), per_sample):
        total[start : start + cfg.window] += a
        count[start : start + cfg.window] += 1
    return (total / np.maximum(count, 1))[:n]


def explain_record(model_dir: str | Path, record_path: str | Path) -> Explanation:
    """explain() for a Challenge record's path (with or without .hea)."""
    header = Path(record_path).with_suffix(".hea")
    if not header.is_file():
        raise FileNotFoundError(f"record {Path(record_path).resolve()}: no header file {header.resolve()}")
    return explain(load_predictor(model_dir), read_record(header))


def explain(predictor: Predictor, record: Record) -> Explanation:
    """The record's probabilities, decisions and class-wise attention, with its own labels."""
    probabilities = predictor.probabilities([record])[0]
    decisions = decide(probabilities[None], predictor.thresholds, predictor.classes, predictor.cfg.thresholds)[0]
    own = predictor.classes.encode_many([record.header.dx])[0]
    names = predictor.classes.abbreviations
    return Explanation(record, probabilities, decisions.astype(bool), predictor.thresholds,
                       class_attention(predictor, record), predictor.cfg.preprocess.fs, names,
                       [names[k] for k in np.flatnonzero(own)])


def plot_explanation(e: Explanation, out: str | Path) -> Path:
    """12 leads (mV, original sampling), then one attention row per positive class, shared time axis."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    positive = np.flatnonzero(e.decisions)
    rows = 12 + len(positive)
    fig, axes = plt.subplots(rows, 1, sharex=True, figsize=(14, 0.75 * 12 + 1.0 * len(positive) + 1),
                             gridspec_kw={"height_ratios": [1] * 12 + [1.3] * len(positive)})
    t_signal = np.arange(e.record.signal.shape[1]) / e.record.header.fs
    for lead in range(12):
        ax = axes[lead]
        ax.plot(t_signal, e.record.signal[lead], lw=0.6, color="black" if e.record.mask[lead] else "0.7")
        ax.set_ylabel(TWELVE_LEADS[lead], rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    t_attention = np.arange(e.attention.shape[0]) / e.fs
    for row, k in enumerate(positive):
        ax = axes[12 + row]
        ax.fill_between(t_attention, e.attention[:, k], color="tab:red", alpha=0.6, lw=0)
        ax.set_ylabel(e.names[k], rotation=0, ha="right", va="center", fontsize=8, color="tab:red")
        ax.set_title(f"{e.names[k]}: probability {e.probabilities[k]:.2f}, threshold {e.thresholds[k]:.2f}",
                     fontsize=8, loc="left")
        ax.set_yticks([])
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].set_xlabel("time (s) of the original record")
    fig.suptitle(f"{e.record.name}: class-wise attention of the classes decided positive "
                 f"({', '.join(e.names[k] for k in positive) or 'none'}); the record's own labels: "
                 f"{', '.join(e.labels) or 'none scored'}", fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
