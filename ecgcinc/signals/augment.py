"""Training augmentations of the domain-generalisation paper, vectorised per batch.

Each function takes a batch x (B, T, 12) of preprocessed signals, where it
matters the per-lead features `leads` (B, 12, K) (presence mask and scale; a
removed lead gets all zeros, a permutation moves them with the signal), a
random generator and the per-record probability p, and returns new arrays
(inputs are not modified).  Records are
chosen independently with probability p, so most of a batch stays clean.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..core.config import AUGMENTATIONS
from ..io.records import LEAD_SETS, TWELVE_LEADS

Array = np.ndarray


def _pick(rng: np.random.Generator, batch: int, p: float) -> Array:
    return rng.random(batch) < p


def _low_frequency_noise(rng: np.random.Generator, shape: tuple[int, ...], fs: float) -> Array:
    """Smooth noise below about 2 Hz: cumulative sums of white noise, detrended and scaled."""
    walk = np.cumsum(rng.normal(0, 1, shape), axis=1)
    walk -= np.linspace(walk[:, 0], walk[:, -1], shape[1], axis=1)
    kernel = max(int(fs / 2), 1)
    smooth = _moving_average(walk, kernel)
    return smooth / (smooth.std(axis=1, keepdims=True) + 1e-6)


def _moving_average(x: Array, size: int) -> Array:
    cumulative = np.cumsum(np.pad(x, [(0, 0), (size // 2, size - size // 2)] + [(0, 0)] * (x.ndim - 2),
                                  mode="edge"), axis=1)
    return (cumulative[:, size:] - cumulative[:, :-size]) / size


def zero_lead(x: Array, leads: Array, rng: np.random.Generator, p: float) -> tuple[Array, Array]:
    """One random lead of a chosen record set to zero and marked absent."""
    x, leads = x.copy(), leads.copy()
    rows = np.flatnonzero(_pick(rng, len(x), p))
    chosen = rng.integers(0, 12, len(rows))
    x[rows, :, chosen] = 0.0
    leads[rows, chosen] = 0.0
    return x, leads


def noise_lead(x: Array, rng: np.random.Generator, p: float, fs: float) -> Array:
    """One random lead of a chosen record replaced by low-frequency noise (a loose electrode)."""
    x = x.copy()
    rows = np.flatnonzero(_pick(rng, len(x), p))
    if rows.size:
        chosen = rng.integers(0, 12, len(rows))
        x[rows, :, chosen] = _low_frequency_noise(rng, (len(rows), x.shape[1]), fs)
    return x


def shuffle_leads(x: Array, leads: Array, rng: np.random.Generator, p: float) -> tuple[Array, Array]:
    """The 12 leads of a chosen record permuted (with their features)."""
    x, leads = x.copy(), leads.copy()
    for row in np.flatnonzero(_pick(rng, len(x), p)):
        order = rng.permutation(12)
        x[row], leads[row] = x[row][:, order], leads[row][order]
    return x, leads


def invert_leads(x: Array, rng: np.random.Generator, p: float) -> Array:
    """Chosen records have a random subset of leads multiplied by -1 (reversed electrodes)."""
    rows = _pick(rng, len(x), p)
    signs = np.where(rows[:, None] & (rng.random((len(x), 12)) < 0.5), -1.0, 1.0).astype(x.dtype)
    return x * signs[:, None, :]


def random_bandpass(x: Array, rng: np.random.Generator, p: float, fs: float) -> Array:
    """Chosen records filtered by one random band (0.5-3 Hz to 20-45 Hz), as another device would."""
    import scipy.signal  # here, not at the top: config.py imports this module's names, and scipy.signal
    # costs the command line and the evaluator a third of a second at start-up
    x = x.copy()
    rows = np.flatnonzero(_pick(rng, len(x), p))
    if rows.size:
        low, high = rng.uniform(0.5, 3.0), min(rng.uniform(20.0, 45.0), 0.45 * fs)
        sos = scipy.signal.butter(2, [low, high], btype="band", fs=fs, output="sos")
        x[rows] = scipy.signal.sosfiltfilt(sos, x[rows], axis=1).astype(x.dtype)
    return x


def scale_offset(x: Array, rng: np.random.Generator, p: float) -> Array:
    """Chosen records scaled per lead by 0.7-1.3 and shifted by up to 0.3 units."""
    rows = _pick(rng, len(x), p)[:, None, None]
    scale = rng.uniform(0.7, 1.3, (len(x), 1, 12)).astype(x.dtype)
    offset = rng.uniform(-0.3, 0.3, (len(x), 1, 12)).astype(x.dtype)
    return np.where(rows, x * scale + offset, x)


def baseline_artefact(x: Array, rng: np.random.Generator, p: float, fs: float) -> Array:
    """Chosen records get a 0.05-0.5 Hz wander added to every lead (breathing, movement)."""
    rows = np.flatnonzero(_pick(rng, len(x), p))
    x = x.copy()
    if rows.size:
        t = np.arange(x.shape[1]) / fs
        freq = rng.uniform(0.05, 0.5, (len(rows), 1, 1))
        phase = rng.uniform(0, 2 * np.pi, (len(rows), 1, 12))
        amp = rng.uniform(0.2, 1.0, (len(rows), 1, 12))
        x[rows] += (amp * np.sin(2 * np.pi * freq * t[None, :, None] + phase)).astype(x.dtype)
    return x


def short_crop(x: Array, rng: np.random.Generator, p: float, fs: float, min_s: float = 3.0) -> Array:
    """Chosen records keep only a random 3 s..T stretch, moved to the start and zero-padded."""
    x = x.copy()
    length = x.shape[1]
    for row in np.flatnonzero(_pick(rng, len(x), p)):
        keep = int(rng.uniform(min(min_s * fs, length), length))
        start = int(rng.integers(0, length - keep + 1))
        segment = x[row, start : start + keep].copy()
        x[row] = 0.0
        x[row, :keep] = segment
    return x


def reduced_leads(x: Array, leads: Array, rng: np.random.Generator, p: float,
                  sets: Array | None = None) -> tuple[Array, Array]:
    """Chosen records keep only one of `sets` ((S, 12) bool; by default the Challenge's 6/4/3/2-lead
    sets; the trainer passes the reduced views, lead_sets.views, whose limb leads are derived)."""
    x, leads = x.copy(), leads.copy()
    if sets is None:
        sets = np.array([[lead in chosen for lead in TWELVE_LEADS] for n, chosen in LEAD_SETS.items() if n < 12])
    for row in np.flatnonzero(_pick(rng, len(x), p)):
        drop = ~sets[int(rng.integers(len(sets)))]
        x[row][:, drop] = 0.0
        leads[row][drop] = 0.0
    return x, leads


def crop_or_pad(signal: Array, length: int, rng: np.random.Generator | None) -> Array:
    """(n, 12) -> (length, 12): a random window of a long record, or a short one zero-padded at a
    random offset; with rng None the window starts at 0 (deterministic, as at inference)."""
    n = signal.shape[0]
    out = np.zeros((length, signal.shape[1]), dtype=np.float32)
    if n >= length:
        start = int(rng.integers(0, n - length + 1)) if rng is not None else 0
        out[:] = signal[start : start + length]
    else:
        offset = int(rng.integers(0, length - n + 1)) if rng is not None else 0
        out[offset : offset + n] = signal
    return out


NAMES = AUGMENTATIONS  # the configuration's list, in the order they are applied


def augment_batch(x: Array, leads: Array, rng: np.random.Generator, enabled: list[str], p: float,
                  fs: float, reduced_p: float, reduced_sets: Array | None = None) -> tuple[Array, Array]:
    """Apply each enabled augmentation in turn; returns new (x, leads)."""
    unknown = set(enabled) - set(NAMES)
    if unknown:
        raise ValueError(f"unknown augmentation(s) {sorted(unknown)}; choose from {NAMES}")
    steps: dict[str, Callable[[Array, Array], tuple[Array, Array]]] = {
        "zero_lead": lambda a, m: zero_lead(a, m, rng, p),
        "noise_lead": lambda a, m: (noise_lead(a, rng, p, fs), m),
        "shuffle_leads": lambda a, m: shuffle_leads(a, m, rng, p),
        "invert_leads": lambda a, m: (invert_leads(a, rng, p), m),
        "random_bandpass": lambda a, m: (random_bandpass(a, rng, p, fs), m),
        "scale_offset": lambda a, m: (scale_offset(a, rng, p), m),
        "baseline_artefact": lambda a, m: (baseline_artefact(a, rng, p, fs), m),
        "short_crop": lambda a, m: (short_crop(a, rng, p, fs), m),
        "reduced_leads": lambda a, m: reduced_leads(a, m, rng, reduced_p, reduced_sets),
    }
    for name in NAMES:
        if name in enabled:
            x, leads = steps[name](x, leads)
    return x, leads
