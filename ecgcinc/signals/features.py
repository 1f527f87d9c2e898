"""Classic ECG features of a record: rhythm, intervals, axis, amplitudes, atrial activity.

Why: a gradient-boosting model on such features is the reference the network
must beat (`baseline.py`), and the same vector is the optional *wide* branch
of the network (`model.wide_features`), as in the 2020 Challenge's winning
wide-and-deep entry.  Whole-record rhythm measures (premature beats, sinus
arrhythmia, AF irregularity) are exactly what a network that sees one
10-20 s window of a long record can miss.

How: R peaks come from neurokit2 (`ecg_findpeaks`, its default detector) on the
cleanest present lead.  Delineation is done here, on a median beat rather
than beat by beat: neurokit2's wavelet delineation placed QRS boundaries at
about twice their true width on the generator's records, whereas the median
of the non-premature beats, aligned on R, is nearly noise-free, and the
spatial velocity (sum over leads of |d/dt|) marks the global QRS onset and
offset the way the classic interpretation programs do.  Every feature is in
physical units (s, mV, degrees, Hz), and NaN where it cannot be measured
(too few beats, an absent lead), so a model sees "missing" rather than a
made-up value.  Per-lead features of a lead marked absent are NaN, so a
reduced-lead record yields the features that its leads support.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np
import scipy.ndimage
import scipy.signal

from .beats import EARLY, SUMMARY_FEATURES, BeatSequence, beat_sequence, empty_table, local_median, rhythm_summary
from ..io.records import TWELVE_LEADS, Record

GLOBAL_FEATURES: tuple[str, ...] = (
    "beats", "heart_rate", "rr_mean", "rr_sd", "rr_cv", "rmssd_ratio", "successive_ratio", "pnn50",
    "rr_range_ratio", "premature_fraction", "pause_fraction", "rr_lag1_corr", "p_amplitude",
    "p_consistency", "pr_interval", "qrs_duration", "qt_interval", "qtc", "qrs_axis", "t_axis",
    "max_qrs_pp", "limb_qrs_pp", "residual_rms", "residual_peak_hz", "residual_concentration",
    "spike_ratio",
) + SUMMARY_FEATURES
PER_LEAD_FEATURES: tuple[str, ...] = ("r_amplitude", "s_amplitude", "qrs_area", "t_amplitude", "st_level")
FEATURE_NAMES: tuple[str, ...] = GLOBAL_FEATURES + tuple(
    f"{lead}_{name}" for name in PER_LEAD_FEATURES for lead in TWELVE_LEADS)
N_GLOBAL = len(GLOBAL_FEATURES)
N_FEATURES = len(FEATURE_NAMES)

_BEFORE_S, _AFTER_S = 0.45, 0.75        # median-beat window around R: a 320 ms PR, a 700 ms QT
_PAUSE = 1.15                           # RR above this share: a pause
VELOCITY_SMOOTH_S = 0.004               # QRS velocity of the beat smoothed so (1000-Hz noise broke quiet runs)
QRS_GAP_S = 0.03                        # a quiet run this long ends the QRS (a notch or a wide R's apex is shorter)
T_FLAT = 0.05                           # T's steepest descent under this share of the QRS's slope: too flat for a QT
T_WIDTH_S = 0.06                        # a T wave is wider at half its height; a P wave is about half as wide


@functools.lru_cache(maxsize=16)
def _band_pass(fs: float) -> np.ndarray:
    """The band-pass's second-order sections for a sampling rate (designed once per rate: the
    design cost as much as a tenth of a record's features)."""
    return scipy.signal.butter(2, [0.5, min(40.0, 0.45 * fs)], btype="band", fs=fs, output="sos")


def _filtered(signal: np.ndarray, fs: float) -> np.ndarray:
    """0.5-40 Hz zero-phase band-pass: wander and mains out, QRS and P shapes kept."""
    sos = _band_pass(fs)
    pad = 3 * (2 * len(sos) + 1)
    if signal.shape[-1] <= pad:
        return signal - signal.mean(axis=-1, keepdims=True)
    return scipy.signal.sosfiltfilt(sos, signal, axis=-1)


def detect_r_peaks(x: np.ndarray, mask: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices by neurokit2 on the present lead with the largest QRS energy
    (lead II when it is about as good: it is present in every Challenge lead set).  Its
    detector is called directly: `ecg_peaks` adds only a per-sample DataFrame, which cost more
    than the detection."""
    import neurokit2 as nk
    present = np.flatnonzero(mask)
    if not present.size or x.shape[1] < int(2 * fs):
        return np.zeros(0, dtype=int)
    energy = np.percentile(np.abs(np.diff(x[present], axis=-1)), 99, axis=-1)
    lead = present[int(np.argmax(energy))]
    if mask[1] and energy[list(present).index(1)] > 0.7 * energy.max():
        lead = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = nk.ecg_findpeaks(x[lead], sampling_rate=int(round(fs)), method="neurokit")
        except (ValueError, IndexError, ZeroDivisionError):
            return np.zeros(0, dtype=int)
    peaks = np.asarray(found["ECG_R_Peaks"], dtype=int)
    return _with_missed_beats(x, mask, peaks[(peaks >= 0) & (peaks < x.shape[1])], fs)


def _with_missed_beats(x: np.ndarray, mask: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """peaks plus the beats a slope-based detector misses: a wide ventricular beat has little
    steep slope, but on the spatial magnitude (RMS over the present leads, smoothed over 40 ms)
    it stands about as high as a QRS.  Only a gap between detected beats longer than 1.5 median
    RR is searched (a missed beat leaves one; noise or a T wave between regular beats does not),
    for the highest peak at least half the detected beats' median height that lies farther than
    250 ms and 40 % of the median RR from both ends of the gap."""
    if len(peaks) < 3:
        return peaks
    magnitude = scipy.ndimage.uniform_filter1d(np.sqrt(np.mean(x[mask] ** 2, axis=0)), max(int(0.04 * fs), 1))
    level = float(np.median(magnitude[peaks]))
    rr = float(np.median(np.diff(peaks)))
    margin = int(max(0.25 * fs, 0.4 * rr))
    added = []
    for left, right in zip(peaks[:-1], peaks[1:]):
        if right - left <= 1.5 * rr or right - left <= 2 * margin:
            continue
        inside = magnitude[left + margin : right - margin]
        best = int(np.argmax(inside))
        if inside[best] >= 0.5 * level:
            added.append(left + margin + best)
    return np.union1d(peaks, np.array(added, dtype=int)).astype(int)


def rhythm_features(peaks: np.ndarray, fs: float) -> dict[str, float]:
    """Rate and RR variability; premature beats and pauses relative to the local median RR
    (the median of the 5 intervals around each), so sinus arrhythmia's slow swings are not
    counted as ectopy while a coupled premature beat is."""
    out = {name: np.nan for name in GLOBAL_FEATURES[:12]}
    out["beats"] = float(len(peaks))
    if len(peaks) < 3:
        return out
    rr = np.diff(peaks) / fs
    out.update(rr_mean=float(rr.mean()), heart_rate=60.0 / float(rr.mean()), rr_sd=float(rr.std()),
               rr_cv=float(rr.std() / rr.mean()), rr_range_ratio=float(rr.max() / rr.min()))
    if len(rr) >= 3:
        diffs = np.diff(rr)
        rmssd = float(np.sqrt(np.mean(diffs**2)))
        local = local_median(rr, 2)
        out.update(rmssd_ratio=rmssd / float(rr.mean()),
                   successive_ratio=rmssd / max(float(rr.std()), 1e-6),
                   pnn50=float(np.mean(np.abs(diffs) > 0.05)),
                   premature_fraction=float(np.mean(rr < EARLY * local)),
                   pause_fraction=float(np.mean(rr > _PAUSE * local)),
                   rr_lag1_corr=_correlation(rr[:-1], rr[1:]))
    return out


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation, NaN when either side is constant (a perfectly regular rhythm)."""
    if a.std() < 1e-6 or b.std() < 1e-6:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


def _beat_matrix(x: np.ndarray, peaks: np.ndarray, fs: float) -> tuple[np.ndarray, int]:
    """(beats, leads, samples) windows around each R peak that fits, and R's offset in them."""
    before, after = int(_BEFORE_S * fs), int(_AFTER_S * fs)
    keep = peaks[(peaks - before >= 0) & (peaks + after <= x.shape[1])]
    if not keep.size:
        return np.zeros((0, x.shape[0], before + after)), before
    index = keep[:, None] + np.arange(-before, after)[None, :]
    return np.transpose(x[:, index], (1, 0, 2)), before


def _normal_beats(peaks: np.ndarray) -> np.ndarray:
    """Mask of beats whose preceding RR is not premature (the template's members)."""
    if len(peaks) < 4:
        return np.ones(len(peaks), dtype=bool)
    rr = np.diff(peaks)
    ok = np.r_[True, rr >= EARLY * np.median(rr)]
    return ok if ok.sum() >= 2 else np.ones(len(peaks), dtype=bool)


def _boundary(velocity: np.ndarray, centre: int, threshold: float, step: int, limit: int, hold: int) -> int:
    """First sample, walking from `centre` in direction `step`, of the first run of `hold`
    samples whose velocity stays below threshold.  Why the run: inside a wide or notched QRS
    (a bundle branch block's R and R', the broad apex of a left bundle branch block's R) the
    summed velocity dips for a while; a walk that stopped at the first dip put the QRS onset
    inside the QRS, and every baseline, PR and QT measured from it was wrong."""
    i, below = centre, 0
    while 0 < i < len(velocity) - 1 and abs(i - centre) < limit:
        below = below + 1 if velocity[i] < threshold else 0
        if below >= hold:
            return i - step * (hold - 1)
        i += step
    return i - step * below


def _tangent_crossing(curve: np.ndarray, at: int, level: float) -> float:
    """Where the tangent to `curve` at sample `at` reaches `level` (the tangent method of
    delineation: robust to the wave's amplitude and to noise in its low tail)."""
    slope = float(np.gradient(curve)[at])
    if abs(slope) < 1e-12:
        return float(at)
    return at + (level - float(curve[at])) / slope


def _t_wave(t: np.ndarray, r: int, qrs: tuple[int, int], rr_samples: int, fs: float) -> tuple[int, int | None]:
    """(peak, end) of the T wave of the median beat t (present leads, baseline-corrected), on
    the smoothed RMS over leads: the peak is the RMS maximum from 60 ms after the QRS to 80 % of
    the RR interval, and the end is where the tangent at the steepest descent after the peak
    meets the isoelectric level (the RMS floor before the QRS: the 5th percentile of the curve
    up to 80 ms before R).  The end is None when the T wave is too flat for a tangent: a
    steepest descent under T_FLAT of the QRS's steepest slope, or a bump narrower than
    T_WIDTH_S at half its height, which is the next beat's P wave standing in for a flat T
    (such records' QTc were among the longest of a folder)."""
    # smoothed (10 ms): at 500-1000 Hz the sample-to-sample noise of the slope outgrows a T wave's
    rms = scipy.ndimage.gaussian_filter1d(np.sqrt(np.mean(t**2, axis=0)), 0.01 * fs)
    slope = np.gradient(rms)
    onset, offset = qrs
    start = min(offset + int(round(0.06 * fs)), len(rms) - 2)
    limit = min(len(rms) - 1, r + int(0.8 * rr_samples))
    if limit - start <= int(0.05 * fs):
        return start, None
    peak = start + int(np.argmax(rms[start:limit]))
    if limit - peak < 3:
        return peak, None
    steepest = peak + int(np.argmin(slope[peak:limit]))
    level = float(np.percentile(rms[: max(r - int(0.08 * fs), 1)], 5))
    if (-slope[steepest] <= T_FLAT * np.abs(slope[onset:offset + 1]).max()
            or _half_width(rms, peak, level) < T_WIDTH_S * fs):
        return peak, None
    return peak, int(np.clip(round(_tangent_crossing(rms, steepest, level)), steepest, limit))


def _half_width(curve: np.ndarray, peak: int, level: float) -> int:
    """Width of the bump at `peak`, half way up from `level`: samples between the nearest
    samples on either side that are not above that height."""
    above = curve > level + 0.5 * (curve[peak] - level)
    left = peak - int(np.argmin(above[peak::-1])) if not above[: peak + 1].all() else 0
    right = peak + int(np.argmin(above[peak:])) if not above[peak:].all() else len(curve)
    return right - left


def _p_wave(lead: np.ndarray, start: int, stop: int, fs: float) -> tuple[int, int]:
    """(peak, onset) of the P wave in lead[start:stop]: the peak is the largest deflection of
    a band-pass (difference of Gaussians, 12 and 60 ms) that keeps a P wave's width and drops
    the slower tail of the previous T wave; the onset is where the tangent at the P wave's
    steepest rise, before the peak, meets the baseline (the line through the window's ends,
    both isoelectric: the T-P and the PR segments)."""
    segment = lead[start:stop]
    # a line through the window's ends takes out the previous T wave's tail, which the band
    # would otherwise turn into a peak at the window's start
    trend = np.linspace(segment[0], segment[-1], len(segment))
    detrended = segment - trend
    smooth = scipy.ndimage.gaussian_filter1d(detrended, 0.012 * fs, mode="nearest")
    band = smooth - scipy.ndimage.gaussian_filter1d(detrended, 0.06 * fs, mode="nearest")
    peak = int(np.argmax(np.abs(band)))
    polarity = np.sign(smooth[peak]) or 1.0
    rising = np.gradient(polarity * smooth)[: peak + 1]
    steepest = int(np.argmax(rising)) if peak > 0 else 0
    onset = _tangent_crossing(polarity * smooth, steepest, 0.0)
    return start + peak, start + int(np.clip(round(onset), 0, peak))


def template_features(x: np.ndarray, mask: np.ndarray, peaks: np.ndarray, fs: float,
                      rr_mean: float) -> tuple[dict[str, float], np.ndarray, np.ndarray | None, int]:
    """Intervals, axes and per-lead amplitudes from the median beat, delineated in steps: the
    QRS boundaries, the T wave, each lead's amplitudes, the axes, the P wave.  Returns the global
    features, the per-lead matrix (12, len(PER_LEAD_FEATURES)), the template and R's offset."""
    glob = dict.fromkeys(("p_amplitude", "p_consistency", "pr_interval", "qrs_duration", "qt_interval",
                          "qtc", "qrs_axis", "t_axis", "max_qrs_pp", "limb_qrs_pp"), np.nan)
    per_lead = np.full((12, len(PER_LEAD_FEATURES)), np.nan)
    beats, r = _beat_matrix(x, peaks, fs)
    in_window = peaks[(peaks - r >= 0) & (peaks + beats.shape[-1] - r <= x.shape[1])]
    if len(beats) < 2:
        return glob, per_lead, None, r
    normal = _normal_beats(in_window)
    template = np.median(beats[normal], axis=0)
    present = mask.astype(bool)
    onset, offset = qrs_bounds(template, present, r, fs)
    glob["qrs_duration"] = (offset - onset) / fs
    base = template[:, max(onset - _samples(PR_BASELINE_S, fs), 0) : onset].mean(axis=-1, keepdims=True)
    t = template - base
    rr_samples = int(rr_mean * fs) if np.isfinite(rr_mean) else t.shape[-1]
    t_peak, t_end = _t_wave(t[present], r, (onset, offset), rr_samples, fs)
    if t_end is not None:
        glob["qt_interval"] = (t_end - onset) / fs
        if np.isfinite(rr_mean):
            glob["qtc"] = glob["qt_interval"] / np.sqrt(rr_mean)  # Bazett
    per_lead = lead_amplitudes(t, present, (onset, offset), (t_peak, t_end), fs)
    glob.update(axes(per_lead, present))
    glob.update(p_wave_features(t, beats[normal], present, onset, t_end, rr_samples, fs))
    return glob, per_lead, template, r


# The median beat's delineation, in seconds unless said otherwise.
QRS_SEARCH_S = 0.12          # the QRS's fastest point is sought this far either side of the detected R
QRS_THRESHOLD = 0.08         # a QRS boundary: the spatial velocity falls to this share of its peak above the floor
QRS_WALK_S = 0.2             # the boundary walk from the peak goes at most this far
PR_BASELINE_S = 0.02         # the isoelectric baseline: the mean of this stretch before QRS onset
ST_AFTER_J_S = 0.06          # the ST level is read this long after the J point (QRS offset), J + 60 ms
T_FALLBACK_S = 0.1           # without a T end, a lead's T amplitude is sought up to this after T's peak
P_SEARCH_S = 0.40            # the P wave is sought from this long before QRS onset ...
P_GAP_S = 0.03               # ... to this long before it (the PR segment's end)
P_MIN_SEARCH_S = 0.05        # a shorter search window (a fast rhythm's P inside T) measures no P wave
ATRIAL_LEADS = (1, 6, 0)     # the P wave in II, else V1, else I: the leads where it shows best


def _samples(seconds: float, fs: float) -> int:
    return int(round(seconds * fs))


def qrs_bounds(template: np.ndarray, present: np.ndarray, r: int, fs: float) -> tuple[int, int]:
    """QRS onset and offset (samples) of the median beat from the spatial velocity of the
    present leads.  The walk starts at the velocity's peak: R's detector may have marked R' of
    a wide QRS."""
    smooth = scipy.ndimage.gaussian_filter1d(template[present], VELOCITY_SMOOTH_S * fs, axis=-1)
    velocity = np.abs(np.gradient(smooth, axis=-1)).sum(axis=0)
    search = max(r - _samples(QRS_SEARCH_S, fs), 0)
    centre = search + int(np.argmax(velocity[search : r + _samples(QRS_SEARCH_S, fs)]))
    floor = float(np.median(velocity))
    threshold = floor + QRS_THRESHOLD * (float(velocity[centre]) - floor)
    walk, gap = _samples(QRS_WALK_S, fs), _samples(QRS_GAP_S, fs)
    return (_boundary(velocity, centre, threshold, -1, walk, gap),
            _boundary(velocity, centre, threshold, +1, walk, gap))


def lead_amplitudes(t: np.ndarray, present: np.ndarray, qrs: tuple[int, int], t_wave: tuple[int, int | None],
                    fs: float) -> np.ndarray:
    """(12, len(PER_LEAD_FEATURES)) of the baseline-corrected median beat `t`: QRS maximum,
    minimum and area (mV s), T amplitude (measured also when the T wave is too flat for an end),
    and the ST level; NaN for absent leads."""
    (onset, offset), (t_peak, t_end) = qrs, t_wave
    per_lead = np.full((12, len(PER_LEAD_FEATURES)), np.nan)
    qrs_part = t[:, onset : offset + 1]
    after_j = _samples(ST_AFTER_J_S, fs)
    t_part = t[:, min(offset + after_j, t_peak) : (t_end if t_end is not None else t_peak + _samples(T_FALLBACK_S, fs))
               + 1]
    per_lead[:, 3] = t_part[np.arange(12), np.argmax(np.abs(t_part), axis=-1)]
    per_lead[:, 0] = qrs_part.max(axis=-1)
    per_lead[:, 1] = qrs_part.min(axis=-1)
    per_lead[:, 2] = qrs_part.sum(axis=-1) / fs
    per_lead[:, 4] = t[:, min(offset + after_j, t.shape[-1] - 1)]
    per_lead[~present] = np.nan
    return per_lead


def axes(per_lead: np.ndarray, present: np.ndarray) -> dict[str, float]:
    """QRS and T axes (degrees) from the areas and T amplitudes of leads I and II (aVF = II - I/2,
    which every Challenge lead set has), and the largest QRS peak-to-peak, overall and in the
    limb leads."""
    out = dict.fromkeys(("qrs_axis", "t_axis"), np.nan)
    if present[0] and present[1]:
        lead_i, lead_avf = per_lead[0, 2], per_lead[1, 2] - per_lead[0, 2] / 2
        out["qrs_axis"] = float(np.degrees(np.arctan2(lead_avf, lead_i)))
        ti, tavf = per_lead[0, 3], per_lead[1, 3] - per_lead[0, 3] / 2
        out["t_axis"] = float(np.degrees(np.arctan2(tavf, ti)))
    pp = per_lead[:, 0] - per_lead[:, 1]
    out["max_qrs_pp"] = float(np.nanmax(pp)) if np.isfinite(pp).any() else np.nan
    limb = pp[:6][present[:6]]
    out["limb_qrs_pp"] = float(np.max(limb)) if limb.size else np.nan
    return out


def p_wave_features(t: np.ndarray, beats: np.ndarray, present: np.ndarray, onset: int, t_end: int | None,
                    rr_samples: int, fs: float) -> dict[str, float]:
    """P amplitude, PR interval and the beats' P-wave consistency (median correlation of each
    normal beat's P segment with the median beat's) in the best atrial lead present, searched
    from the previous beat's T end (when measured) to P_GAP_S before the QRS."""
    out = dict.fromkeys(("p_amplitude", "pr_interval", "p_consistency"), np.nan)
    atrial = next((k for k in ATRIAL_LEADS if present[k]), None)
    p_start = max(onset - _samples(P_SEARCH_S, fs), t_end - rr_samples if t_end is not None else 0, 0)
    p_stop = max(onset - _samples(P_GAP_S, fs), 1)
    if atrial is None or p_stop - p_start <= _samples(P_MIN_SEARCH_S, fs):
        return out
    p_peak, p_onset = _p_wave(t[atrial], p_start, p_stop, fs)
    out["p_amplitude"] = float(t[atrial, p_peak])
    out["pr_interval"] = (onset - p_onset) / fs
    segment = t[atrial, p_start:p_stop]
    single = beats[:, atrial, p_start:p_stop]
    single = single - single.mean(axis=-1, keepdims=True)
    ref = segment - segment.mean()
    denom = np.linalg.norm(single, axis=-1) * np.linalg.norm(ref) + 1e-9
    out["p_consistency"] = float(np.median(single @ ref / denom))
    return out


def atrial_features(x: np.ndarray, mask: np.ndarray, peaks: np.ndarray, fs: float,
                    template: np.ndarray | None, r: int) -> dict[str, float]:
    """QRST cancellation: each beat's median template subtracted in V1 (else II); the residual's
    RMS and dominant 3-12 Hz frequency show fibrillatory (4-9 Hz, diffuse) or flutter (4-6 Hz,
    concentrated) activity.  Pacing spikes are measured as the largest slope relative to the QRS's."""
    out = {"residual_rms": np.nan, "residual_peak_hz": np.nan, "residual_concentration": np.nan,
           "spike_ratio": np.nan}
    lead = next((k for k in (6, 1, 0) if mask[k]), None)
    if lead is None or template is None:
        return out
    residual = x[lead].copy()
    width = template.shape[-1]
    for p in peaks:
        start = p - r
        if start >= 0 and start + width <= len(residual):
            residual[start : start + width] -= template[lead]
    out["residual_rms"] = float(np.sqrt(np.mean(residual**2)))
    if len(residual) >= int(2 * fs):
        freqs, power = scipy.signal.welch(residual, fs=fs, nperseg=min(len(residual), int(4 * fs)))
        band = (freqs >= 3) & (freqs <= 12)
        if band.any() and power[band].sum() > 0:
            peak = int(np.argmax(power[band]))
            peak_hz = float(freqs[band][peak])
            near = band & (np.abs(freqs - peak_hz) <= 0.5)
            out["residual_peak_hz"] = peak_hz
            out["residual_concentration"] = float(power[near].sum() / power[band].sum())
    slopes = np.abs(np.diff(x[mask.astype(bool)], axis=-1)) * fs
    qrs_slope = np.abs(np.gradient(template[mask.astype(bool)], axis=-1)).max() * fs
    out["spike_ratio"] = float(slopes.max() / max(qrs_slope, 1e-6))
    return out


def record_features(record: Record) -> np.ndarray:
    """The feature vector (N_FEATURES,) float32 of a record, NaN where not measurable (all NaN
    for a recording too short or too odd to delineate: missing values, never an exception)."""
    return record_measures(record)[0]


def record_measures(record: Record) -> tuple[np.ndarray, np.ndarray]:
    """(feature vector, beat table (beats.MAX_BEATS, len(beats.BEAT_COLUMNS))) of a record, from
    one R-peak detection and one median beat; a record that cannot be delineated gets missing
    features and an empty table (checked_measures says why)."""
    return checked_measures(record)[:2]


def checked_measures(record: Record) -> tuple[np.ndarray, np.ndarray, str]:
    """record_measures and, when the measurement failed, the cause ('ValueError: ...'; '' when it
    did not): the cache counts the failures of a run and shows the first, the driver warns per
    record, so a failure is never only a row of missing values."""
    try:
        return (*_record_measures(record), "")
    except (ValueError, IndexError, FloatingPointError, np.linalg.LinAlgError) as error:
        return np.full(N_FEATURES, np.nan, dtype=np.float32), empty_table(), f"{type(error).__name__}: {error}"


def _record_measures(record: Record) -> tuple[np.ndarray, np.ndarray]:
    values, per_lead, sequence = _measure(record)
    vector = np.array([values[name] for name in GLOBAL_FEATURES] + list(per_lead.T.ravel()), dtype=np.float64)
    return np.where(np.isfinite(vector), vector, np.nan).astype(np.float32), sequence.table()


def record_beats(record: Record) -> BeatSequence:
    """The record's beat sequence as record_measures measures it (for checks against a known
    answer: tests/test_beats.py, scripts/beat_truth.py)."""
    return _measure(record)[2]


def _measure(record: Record) -> tuple[dict[str, float], np.ndarray, BeatSequence]:
    """Global features, the per-lead matrix and the beat sequence, from one R-peak detection and
    one median beat."""
    fs = float(record.header.fs)
    mask = record.mask.astype(bool)
    x = _filtered(np.where(mask[:, None], record.signal, 0.0).astype(np.float64), fs)
    peaks = detect_r_peaks(x, mask, fs)
    values = rhythm_features(peaks, fs)
    glob, per_lead, template, r = template_features(x, mask, peaks, fs, values["rr_mean"])
    values.update(glob)
    values.update(atrial_features(x, mask, peaks, fs, template, r))
    sequence = beat_sequence(x, mask, peaks, fs, template, r)
    values.update(rhythm_summary(sequence))
    return values, per_lead, sequence


def per_lead_block(features: np.ndarray) -> np.ndarray:
    """(..., N_FEATURES) -> (..., 12, len(PER_LEAD_FEATURES)): the per-lead part, lead-major,
    so augmentations that drop or permute leads can move these features with their lead."""
    block = features[..., N_GLOBAL:].reshape(features.shape[:-1] + (len(PER_LEAD_FEATURES), 12))
    return np.swapaxes(block, -1, -2)


def with_per_lead_block(features: np.ndarray, block: np.ndarray) -> np.ndarray:
    """The inverse of per_lead_block: features with their per-lead part replaced by block."""
    out = features.copy()
    out[..., N_GLOBAL:] = np.swapaxes(block, -1, -2).reshape(features.shape[:-1] + (-1,))
    return out
