"""The record's sequence of beats: timing and shape of every beat against the dominant beat.

Why: premature atrial and ventricular beats and sinus arrhythmia are defined by
when beats come and what each looks like against its neighbours, over the
whole record.  A network that sees one 10-20 s window of filtered signal, and
record-level averages such as the RR standard deviation, confuses them: sinus
arrhythmia's slow swing with respiration, an early beat with a normal QRS and
an odd P wave (atrial), an early wide beat followed by a full compensatory
pause (ventricular) all raise the same averages.  This module measures, beat by
beat, what tells them apart, and gives it in two forms:

- `BeatSequence.table()`: a fixed-size (MAX_BEATS, len(BEAT_COLUMNS)) table the
  network's beat branch encodes (`beat_branch.py`);
- `rhythm_summary()`: record-level features (features.py) for the feature
  baseline and the wide branch.

How: each beat's RR before and after is taken relative to the local median RR
(the median of the nine intervals around it), so a slow respiratory swing stays
near 1 while a coupled early beat does not.  A beat's QRS (R +-60 ms, every
present lead) and P-wave segment (330-50 ms before R in the atrial lead) are
compared with the median beat's (QRS: relative RMS difference; P: correlation).
A beat is *ectopic* when it is early and its QRS or its P wave differs from the
dominant beat's, or when it is very early; the sinus tachogram is
the RR series without the intervals that touch an ectopic beat, and sinus
arrhythmia is measured on it: its variation, how smoothly it changes from beat
to beat, and the depth of the best sinusoid at breathing frequencies
(0.12-0.45 Hz) fitted to it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MAX_BEATS = 128                  # table rows: the most central beats of a longer record
BEAT_COLUMNS: tuple[str, ...] = ("present", "log_rr_before", "log_rr_after", "log_rr_seconds", "qrs_difference",
                                 "p_similarity")
BEAT_TABLE_SIZE = MAX_BEATS * len(BEAT_COLUMNS)
SUMMARY_FEATURES: tuple[str, ...] = (
    "atrial_ectopic_fraction", "ventricular_ectopic_fraction", "coupling_ratio", "compensation_ratio",
    "early_p_similarity", "sinus_rr_cv", "sinus_rr_smoothness", "resp_rr_depth", "resp_rr_share")
EARLY = 0.85                     # RR below this share of the local median: an early beat
COUPLED = 0.75                   # ... below this share: ectopic whatever its shape
GAP = 1.6                        # RR above this share: a pause or a missed beat, not a sinus interval
SAME_QRS = 0.5                   # QRS difference below this: the dominant (supraventricular) QRS
P_LIKE = 0.5                     # P-wave similarity at or above: the dominant (sinus) P wave
_ALIGN_S = 0.025                 # a beat's QRS is aligned with the median beat's within this
_LOCAL = 4                       # intervals each side of the local median
_QRS_S = 0.06                    # half-width of the QRS window around R
_P_WINDOW_S = (0.33, 0.05)       # P-wave segment: this long before R to this long before R
_RESP_HZ = np.arange(0.12, 0.451, 0.01)
_MIN_SINUS_INTERVALS = 6
_BLOCK = 32                      # peaks measured at once by _segment_measures


@dataclass
class BeatSequence:
    """Per-beat measures of a record (NaN where not measurable), in beat order."""
    times: np.ndarray            # R peak, s
    rr_before: np.ndarray        # s, NaN for the first beat
    rr_after: np.ndarray         # s, NaN for the last beat
    local_rr: np.ndarray         # local median RR around the beat, s
    qrs_difference: np.ndarray   # RMS of (beat - median beat) over the QRS, relative to the median beat's
    p_similarity: np.ndarray     # correlation of the beat's P-wave segment with the median beat's

    def __len__(self) -> int:
        return len(self.times)

    @property
    def early(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return self.rr_before < EARLY * self.local_rr

    @property
    def ectopic(self) -> np.ndarray:
        """Early beats whose QRS or P wave is not the dominant beat's (a missing measure counts
        as different: an early beat hidden in the previous T wave is not a sinus beat), and
        beats so early that no respiratory swing explains them."""
        with np.errstate(invalid="ignore"):
            odd_qrs = ~(self.qrs_difference < SAME_QRS)
            odd_p = ~(self.p_similarity >= P_LIKE)
            coupled = self.rr_before < COUPLED * self.local_rr
        return (self.early & (odd_qrs | odd_p)) | coupled

    def table(self) -> np.ndarray:
        """(MAX_BEATS, len(BEAT_COLUMNS)) float32 for the beat branch: the central MAX_BEATS
        beats, rows past the last beat all zero ("present" 0); missing measures are 0, which
        the log-ratios and similarities read as "typical"."""
        out = np.zeros((MAX_BEATS, len(BEAT_COLUMNS)), dtype=np.float32)
        start = max((len(self) - MAX_BEATS) // 2, 0)
        rows = slice(start, start + MAX_BEATS)
        with np.errstate(divide="ignore", invalid="ignore"):
            columns = [np.ones(len(self)), np.log(self.rr_before / self.local_rr),
                       np.log(self.rr_after / self.local_rr), np.log(self.rr_before), self.qrs_difference,
                       self.p_similarity - 1.0]
        block = np.stack([c[rows] for c in columns], axis=-1)
        out[: len(block)] = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
        return out


def empty_table() -> np.ndarray:
    """The table of a record without beats."""
    return np.zeros((MAX_BEATS, len(BEAT_COLUMNS)), dtype=np.float32)


def local_median(rr: np.ndarray, half: int = _LOCAL) -> np.ndarray:
    """Median of the intervals within `half` of each (fewer at the ends), in one vectorised
    pass (a 30-min record has thousands of beats): each window sorted with the missing places
    at the ends as NaN, which sort last, and the middle one or two of its finite values taken."""
    padded = np.pad(np.asarray(rr, dtype=float), half, constant_values=np.nan)
    windows = np.sort(sliding_window_view(padded, 2 * half + 1), axis=-1)
    count = np.isfinite(windows).sum(axis=-1)
    rows = np.arange(len(rr))
    return (windows[rows, (count - 1) // 2] + windows[rows, count // 2]) / 2


def _similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of segments a (leads, ..., width) with b (leads, width), each taken
    flat over its leads and samples; NaN where either is flat."""
    axes = (0, a.ndim - 1)
    a = a - a.mean(axis=axes, keepdims=True)
    b = (b - b.mean())[(slice(None),) + (None,) * (a.ndim - 2)]
    denominator = np.sqrt(np.sum(a * a, axis=axes)) * float(np.sqrt(np.sum(b * b)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 1e-9, np.sum(a * b, axis=axes) / denominator, np.nan)


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS of a - b relative to b's, for segments a (leads, ..., width) and b (leads, width): 0
    for the same wave, about 1 or more for another one.  Why not a correlation: a wide
    ventricular QRS centred on the same R correlates well with a narrow one; its width and
    amplitude differ, which this measure keeps."""
    scale = float(np.sqrt(np.mean(b**2)))
    if scale <= 1e-9:
        return np.full(a.shape[1:-1], np.nan)
    b = b[(slice(None),) + (None,) * (a.ndim - 2)]
    return np.sqrt(np.mean((a - b) ** 2, axis=(0, a.ndim - 1))) / scale


def _segment_measures(measure, x: np.ndarray, peaks: np.ndarray, reference: np.ndarray, start: int,
                      shift: int = 0) -> np.ndarray:
    """measure(x[:, p + start + s : ... + width], reference) per peak, the smallest over shifts s
    within +-shift samples (for a difference: R-peak jitter would otherwise make a normal QRS
    look different); NaN where it does not fit.  Vectorised over peaks and shifts, in blocks of
    _BLOCK peaks so a 30-min record's thousands of beats stay within a few MB."""
    width = reference.shape[-1]
    last = x.shape[-1] - width
    out = np.full(len(peaks), np.nan)
    if last < 0:
        return out
    windows = sliding_window_view(x, width, axis=-1)              # (leads, last + 1, width), a view
    offsets = start + np.arange(-shift, shift + 1)
    for first in range(0, len(peaks), _BLOCK):
        where = peaks[first : first + _BLOCK, None] + offsets[None, :]
        fits = (where >= 0) & (where <= last)
        values = measure(windows[:, np.clip(where, 0, last)], reference)
        values = np.where(fits, values, np.inf)
        best = values.min(axis=-1)
        out[first : first + _BLOCK] = np.where(fits.any(axis=-1) & ~np.isinf(best), best, np.nan)
    return out


def beat_sequence(x: np.ndarray, mask: np.ndarray, peaks: np.ndarray, fs: float, template: np.ndarray | None,
                  r: int) -> BeatSequence:
    """The measures of every detected beat.  x: (12, n) filtered signal; template: the median
    beat (12, width) with R at sample r, or None (then the shapes are missing)."""
    n = len(peaks)
    rr = np.diff(peaks) / fs
    local = np.full(n, np.nan)
    rr_before, rr_after = np.full(n, np.nan), np.full(n, np.nan)
    if n >= 2:
        rr_before[1:], rr_after[:-1] = rr, rr
        around = local_median(rr)
        local[1:] = around
        local[0] = around[0]
    qrs, p_wave = np.full(n, np.nan), np.full(n, np.nan)
    present = np.flatnonzero(mask)
    if template is not None and present.size:
        half = int(round(_QRS_S * fs))
        qrs = _segment_measures(_difference, x[present], peaks, template[present, r - half : r + half + 1], -half,
                                int(round(_ALIGN_S * fs)))
        atrial = next((k for k in (1, 6, 0) if mask[k]), int(present[0]))
        first, last = r - int(round(_P_WINDOW_S[0] * fs)), r - int(round(_P_WINDOW_S[1] * fs))
        if first >= 0:
            p_wave = _segment_measures(_similarity, x[atrial : atrial + 1], peaks,
                                       template[atrial : atrial + 1, first:last], first - r)
    return BeatSequence(peaks / fs, rr_before, rr_after, local, qrs, p_wave)


def _sinus_intervals(seq: BeatSequence) -> tuple[np.ndarray, np.ndarray]:
    """(times, RR) of the intervals between two consecutive non-ectopic beats (so neither the
    coupling interval nor the pause after an ectopic beat), gaps (a missed beat, a pause) left
    out too."""
    ectopic = seq.ectopic
    keep = ~ectopic[1:] & ~ectopic[:-1]
    with np.errstate(invalid="ignore"):
        keep &= ~(seq.rr_before[1:] > GAP * seq.local_rr[1:])
    return seq.times[1:][keep], np.diff(seq.times)[keep]


def _respiratory_fit(times: np.ndarray, rr: np.ndarray) -> tuple[float, float]:
    """(depth, share): the best sinusoid at a breathing frequency fitted to the RR series by
    least squares; depth is its amplitude relative to the mean RR, share the fraction of the
    RR variance it explains."""
    centred = rr - rr.mean()
    total = float(centred @ centred)
    if total <= 1e-12:
        return 0.0, 0.0
    phase = 2 * np.pi * _RESP_HZ[:, None] * times[None, :]                 # (frequencies, intervals)
    basis = np.stack([np.cos(phase), np.sin(phase), np.ones_like(phase)], axis=-1)
    coefficients = np.linalg.pinv(basis) @ rr                                # (frequencies, 3)
    residual = rr[None, :] - np.einsum("fnk,fk->fn", basis, coefficients)
    shares = 1.0 - np.einsum("fn,fn->f", residual, residual) / total
    best = int(np.argmax(shares))
    if shares[best] <= 0.0:
        return 0.0, 0.0
    return float(np.hypot(*coefficients[best, :2])) / float(rr.mean()), float(shares[best])


def rhythm_summary(seq: BeatSequence) -> dict[str, float]:
    """Record-level features of the beat sequence (SUMMARY_FEATURES), NaN where not measurable.
    Fractions count beats (ectopic with the dominant QRS: atrial; with another QRS:
    ventricular); the ratios and the P similarity are medians over the early beats."""
    out = {name: np.nan for name in SUMMARY_FEATURES}
    if len(seq) < 3:
        return out
    early, ectopic = seq.early, seq.ectopic
    with np.errstate(invalid="ignore"):
        narrow = seq.qrs_difference < SAME_QRS
    judged = np.isfinite(seq.rr_before)
    out["atrial_ectopic_fraction"] = float(np.mean((ectopic & narrow)[judged]))
    out["ventricular_ectopic_fraction"] = float(np.mean((ectopic & ~narrow)[judged]))
    if early.any():
        ratio = seq.rr_before[early] / seq.local_rr[early]
        pause = (seq.rr_before[early] + seq.rr_after[early]) / (2 * seq.local_rr[early])
        out["coupling_ratio"] = float(np.median(ratio))
        out["compensation_ratio"] = float(np.nanmedian(pause)) if np.isfinite(pause).any() else np.nan
        p = seq.p_similarity[early & narrow]
        out["early_p_similarity"] = float(np.nanmedian(p)) if np.isfinite(p).any() else np.nan
    times, rr = _sinus_intervals(seq)
    if len(rr) >= _MIN_SINUS_INTERVALS:
        out["sinus_rr_cv"] = float(rr.std() / rr.mean())
        variance = float(rr.var())
        steps = np.diff(rr)
        out["sinus_rr_smoothness"] = 1.0 - float(np.mean(steps**2)) / (2 * variance) if variance > 1e-12 else 0.0
        out["resp_rr_depth"], out["resp_rr_share"] = _respiratory_fit(times, rr)
    return out
