"""Signal preprocessing shared by training and inference.

Records arrive at 257-1000 Hz with baseline wander, mains and different
gains; the network sees one rate (`preprocess.fs`), no wander, one band
and a per-lead scale.  The per-lead scale is also returned (as log10 mV)
because normalising erases absolute voltage, which low-QRS-voltage needs.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
import scipy.ndimage
import scipy.signal

from .beats import BEAT_TABLE_SIZE
from ..core.config import ModelConfig, PreprocessConfig
from .features import N_FEATURES
from ..io.records import Record


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along the last axis (257 -> 250 Hz is 250/257)."""
    if abs(fs_in - fs_out) < 1e-9:
        return signal
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return scipy.signal.resample_poly(signal, ratio.numerator, ratio.denominator, axis=-1)


@lru_cache(maxsize=8)
def _band_sos(fs: float, low: float, high: float) -> np.ndarray:
    return scipy.signal.butter(2, [low, min(high, 0.45 * fs)], btype="band", fs=fs, output="sos")


def remove_baseline(signal: np.ndarray, fs: float, window_s: float) -> np.ndarray:
    """Subtract a moving average (the wander) of window_s seconds."""
    size = max(int(round(window_s * fs)), 1)
    return signal - scipy.ndimage.uniform_filter1d(signal, size=size, axis=-1, mode="nearest")


def bandpass(signal: np.ndarray, fs: float, band: tuple[float, float]) -> np.ndarray:
    """Zero-phase Butterworth band-pass; very short records are mirrored to the filter's pad length."""
    sos = _band_sos(fs, *band)
    n = signal.shape[-1]
    pad = 3 * (2 * len(sos) + 1)
    if n <= pad:
        reps = int(np.ceil((pad + 1) / n)) + 1
        tiled = np.concatenate([signal, signal[..., ::-1]] * reps, axis=-1)
        return scipy.signal.sosfiltfilt(sos, tiled, axis=-1)[..., :n]
    return scipy.signal.sosfiltfilt(sos, signal, axis=-1)


def lead_scale(signal: np.ndarray, mask: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """Per-lead scale in mV: the robust standard deviation (1.4826 * MAD), floored."""
    if cfg.normalise == "constant":
        return np.full(signal.shape[0], cfg.constant_scale_mv, dtype=np.float32)
    centred = signal - np.median(signal, axis=-1, keepdims=True)
    mad = 1.4826 * np.median(np.abs(centred), axis=-1)
    std = np.maximum(mad, np.std(signal, axis=-1) * 0.5)
    if cfg.normalise == "record":
        present = std[mask] if mask.any() else std
        std = np.full_like(std, float(np.median(present)))
    elif cfg.normalise != "lead":
        raise ValueError(f"unknown normalisation {cfg.normalise!r}")
    return np.maximum(std, cfg.min_scale_mv).astype(np.float32)


def preprocess_signal(signal: np.ndarray, fs: float, mask: np.ndarray,
                      cfg: PreprocessConfig) -> tuple[np.ndarray, np.ndarray]:
    """(12, n) mV at fs -> ((n', 12) float32 normalised at cfg.fs, (12,) log10 scale)."""
    x = resample(np.asarray(signal, dtype=np.float64), fs, cfg.fs)
    if cfg.filter:
        x = bandpass(remove_baseline(x, cfg.fs, cfg.baseline_window_s), cfg.fs, cfg.band_hz)
    scale = lead_scale(x, mask, cfg)
    x = np.where(mask[:, None], x / scale[:, None], 0.0)
    log_scale = np.where(mask, np.log10(scale), 0.0).astype(np.float32)
    return np.ascontiguousarray(x.T, dtype=np.float32), log_scale


def demographics(age: float, sex: str | None) -> np.ndarray:
    """[age/100, age missing, male, female, sex missing]: missing values are explicit, never NaN."""
    age_missing = not np.isfinite(age)
    return np.array([0.0 if age_missing else age / 100.0, float(age_missing), float(sex == "Male"),
                     float(sex == "Female"), float(sex is None)], dtype=np.float32)


N_DEMOGRAPHICS = 5
N_META = N_DEMOGRAPHICS + 12 + 12  # demographics, lead mask, lead log-scales
LEAD_MASK = slice(N_DEMOGRAPHICS, N_DEMOGRAPHICS + 12)       # the meta vector's lead mask
LEAD_SCALE = slice(N_DEMOGRAPHICS + 12, N_META)              # and its per-lead log10 scales


def meta_vector(record: Record, log_scale: np.ndarray) -> np.ndarray:
    """Side information appended to every class vector: demographics, lead mask and scales."""
    return np.concatenate([demographics(record.header.age, record.header.sex),
                           record.mask.astype(np.float32), log_scale]).astype(np.float32)


def meta_size(model: ModelConfig) -> int:
    """Length of the network's meta input: the meta vector, then the raw classic features when
    the wide branch is on (the network scales them itself, see models.FeatureScaling), then the
    flattened beat table when the beat branch is on."""
    return N_META + (N_FEATURES if model.wide_features else 0) + (BEAT_TABLE_SIZE if model.beat_branch else 0)


def network_meta(meta: np.ndarray, features: np.ndarray | None, beat_tables: np.ndarray | None,
                 model: ModelConfig) -> np.ndarray:
    """The network's meta input (N, meta_size(model)) from meta (N, N_META), the classic features
    (N, N_FEATURES) and the beat tables (N, MAX_BEATS, len(BEAT_COLUMNS)); the last two are used
    only when the model's wide or beat branch is on."""
    parts = [meta]
    if model.wide_features:
        parts.append(features)
    if model.beat_branch:
        parts.append(beat_tables.reshape(len(beat_tables), -1))
    return np.concatenate(parts, axis=-1).astype(np.float32)


def preprocess_record(record: Record, cfg: PreprocessConfig) -> tuple[np.ndarray, np.ndarray]:
    """A Record -> ((n', 12) network signal, (N_META,) meta vector)."""
    x, log_scale = preprocess_signal(record.signal, record.header.fs, record.mask, cfg)
    return x, meta_vector(record, log_scale)


def window_starts(n: int, cfg: PreprocessConfig) -> np.ndarray:
    """Start samples of the inference windows of an n-sample signal: [0] when it fits in one
    window, else up to cfg.max_windows evenly spaced starts, the first at 0 and the last
    ending at n, about half a window apart."""
    length = cfg.window
    if n <= length:
        return np.zeros(1, dtype=int)
    count = min(int(np.ceil(n / length)) * 2 - 1, cfg.max_windows)
    return np.linspace(0, n - length, count).round().astype(int)


def inference_windows(x: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """(n, 12) -> (w, window, 12) at window_starts: a short record is zero-padded at the end;
    the caller averages the windows' probabilities."""
    length = cfg.window
    n = x.shape[0]
    if n <= length:
        out = np.zeros((1, length, x.shape[1]), dtype=np.float32)
        out[0, :n] = x
        return out
    return np.stack([x[s : s + length] for s in window_starts(n, cfg)]).astype(np.float32)
