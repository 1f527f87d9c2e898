"""Synthetic multi-source 12-lead ECGs in the exact Challenge file format.

Why: the real corpus cannot be downloaded here, yet tests, the demo and the
experiments need data that (a) a model can learn, (b) differs between sources
the way the Challenge databases do, and (c) goes through the same reader as
real records.

How: each beat is a sum of Gaussian waves of a 3-D cardiac dipole (x left,
y inferior, z anterior); leads I and II and V1-V6 are projections of the
dipole and III, aVR, aVL, aVF follow from Einthoven's and Goldberger's
relations.  Every label is *produced by* the parameter that draws it: the
rhythm (sinus, atrial fibrillation with f-waves and irregular RR, flutter with
saw-tooth F-waves, pacing spikes), the rate, the PR interval, the QRS width
and terminal forces (bundle branch blocks), the frontal axis, the QT, the T
wave, the QRS voltage, pathological Q waves and premature beats.  Sources
differ in sampling rate, length, gain, ADC baseline, noise, mains frequency,
device filter, header style, label priors and which classes they annotate at
all (the reason for the domain mask Md).  Record names start with the source
prefix, so the domain is recoverable from the name.
"""
from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.signal

from ..core.classes import load_classes
from ..core.metrics import challenge_metric
from ..io.records import TWELVE_LEADS, format_header, write_mat

# SNOMED codes of the classes the generator draws (facts from the Challenge mapping).
CODES: dict[str, str] = {
    "NSR": "426783006", "SB": "426177001", "STach": "427084000", "SA": "427393009",
    "AF": "164889003", "AFL": "164890007", "PR": "10370003", "IAVB": "270492004",
    "LAD": "39732003", "RAD": "47665007", "CRBBB": "713427006", "CLBBB": "733534002",
    "IRBBB": "713426002", "PVC": "427172004", "PAC": "284470004", "LQT": "111975006",
    "TInv": "59931005", "TAb": "164934002", "LQRSV": "251146004", "QAb": "164917005",
}
ALL_LABELS = frozenset(CODES)
RHYTHM_LABELS = frozenset({"NSR", "SB", "STach", "SA", "AF", "AFL", "PR", "PVC", "PAC"})


@dataclass(frozen=True)
class Source:
    """An acquisition source: its device, its population and its annotation habits."""

    prefix: str
    description: str
    fs: float
    duration_s: tuple[float, float]
    gain: float                      # ADC units per mV
    adc_baseline: int
    units: str
    header_style: str
    noise_mv: float
    mains_hz: float
    mains_mv: float
    wander_mv: float
    device_band: tuple[float, float] | None
    priors: dict[str, float]
    annotates: frozenset[str] = ALL_LABELS
    alt_codes: dict[str, str] = field(default_factory=dict)   # equivalent codes this source writes
    age_range: tuple[int, int] = (20, 90)
    missing_age: float = 0.0
    unknown_sex: float = 0.0
    extra_unscored: float = 0.0     # chance of an unscored code on the Dx line


_BASE_PRIORS = {"normal": 0.4, "AF": 0.10, "AFL": 0.04, "PR": 0.03, "SB": 0.20, "STach": 0.15, "SA": 0.08,
                "IAVB": 0.08, "CRBBB": 0.07, "CLBBB": 0.04, "IRBBB": 0.06, "LAD": 0.12, "RAD": 0.05,
                "TInv": 0.08, "TAb": 0.10, "LQT": 0.08, "LQRSV": 0.06, "QAb": 0.06, "PVC": 0.08, "PAC": 0.08}

SOURCES: dict[str, Source] = {s.prefix: s for s in (
    Source("XA", "hospital, 500 Hz, 10 s, 0.05-150 Hz device filter, 60 Hz mains", 500, (10, 10), 1000, 0,
           "mV", "original", 0.012, 60, 0.02, 0.10, (0.05, 150), dict(_BASE_PRIORS), extra_unscored=0.1),
    Source("XB", "Holter-like, 257 Hz, 20-40 s, gain 200 and ADC baseline 1024, rhythm annotations only",
           257, (20, 40), 200, 1024, "mV", "wfdb", 0.03, 50, 0.04, 0.30, (0.5, 40),
           {**_BASE_PRIORS, "normal": 0.3, "AF": 0.15, "PVC": 0.30, "PAC": 0.25, "SA": 0.12},
           annotates=RHYTHM_LABELS, alt_codes={"PVC": "17338001", "PAC": "63593006"},
           missing_age=0.15, age_range=(30, 85)),
    Source("XC", "research, 1000 Hz, 10 s, unfiltered, 50 Hz mains, morphology-rich population", 1000, (10, 10),
           1000, 0, "mV", "original", 0.02, 50, 0.06, 0.15, None,
           {**_BASE_PRIORS, "QAb": 0.15, "LAD": 0.15, "CRBBB": 0.10, "CLBBB": 0.06, "IRBBB": 0.08,
            "TInv": 0.12, "TAb": 0.15, "LQRSV": 0.08, "SA": 0.0, "normal": 0.5},
           annotates=ALL_LABELS - {"SA"}, alt_codes={"CRBBB": "59118001", "CLBBB": "164909002"},
           age_range=(18, 95), unknown_sex=0.05),
    Source("XD", "clinic, 500 Hz, 5-15 s, gain 2000/mv, 0.67-100 Hz filter, rhythm-heavy population", 500, (5, 15),
           2000, 0, "mv", "wfdb", 0.015, 60, 0.01, 0.12, (0.67, 100),
           {**_BASE_PRIORS, "AF": 0.20, "AFL": 0.12, "STach": 0.25, "SB": 0.30, "QAb": 0.0, "LQRSV": 0.0},
           annotates=ALL_LABELS - {"QAb", "LQRSV", "TAb"}, missing_age=0.05, unknown_sex=0.1,
           extra_unscored=0.2),
)}
UNSCORED_EXTRAS = ("55930002", "164951009", "251180001")


# ---------------------------------------------------------------------------
# The dipole model
# ---------------------------------------------------------------------------

def _unit(*v: float) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def _frontal(angle_deg: float, z: float = 0.0) -> np.ndarray:
    a = math.radians(angle_deg)
    return _unit(math.cos(a), math.sin(a), z)


# Precordial lead directions: horizontal-plane angle from +x (left) towards +z (anterior).
_PRECORDIAL = np.stack([_unit(math.cos(math.radians(a)), 0.1, math.sin(math.radians(a))) * 1.3
                        for a in (115, 95, 75, 60, 30, 0)])


@dataclass
class Wave:
    time: float          # centre, seconds
    width: float         # Gaussian sigma, seconds
    vector: np.ndarray   # 3-D amplitude, mV


@dataclass
class Patient:
    """Every parameter that decides a label, drawn once per record."""

    labels: set[str]
    rate_bpm: float
    pr_s: float
    qrs_s: float
    axis_deg: float
    qtc_s: float
    amplitude: float
    t_scale: float
    rotation: np.ndarray
    flutter_hz: float = 0.0
    conduction_ratio: int = 0


def _choose(rng: np.random.Generator, options: dict[str, float]) -> str | None:
    """At most one label of a mutually exclusive group, by its prior."""
    draw, total = rng.random(), 0.0
    for label, p in options.items():
        total += p
        if draw < total:
            return label
    return None


def draw_patient(rng: np.random.Generator, priors: dict[str, float]) -> Patient:
    """Labels and the parameters that produce them.  priors["normal"] is the share of records
    with a normal ECG (only a sinus-rate label), as most records of the real corpus are.  The
    draws come in a fixed order (rhythm, conduction and axis, repolarisation, then the
    parameters), so a seed always gives the same patient."""
    normal = rng.random() < priors.get("normal", 0.0)
    p = lambda name: 0.0 if normal and name not in ("SB", "STach") else priors.get(name, 0.0)  # noqa: E731
    labels, rhythm, rate, flutter_hz, ratio = _rhythm(rng, p)
    if rhythm != "PR":
        labels |= _conduction_and_axis(rng, p)
    labels |= _repolarisation(rng, p)
    return _parameters(rng, labels, rate, flutter_hz, ratio)


def _rhythm(rng: np.random.Generator, p) -> tuple[set[str], str, float, float, int]:
    """(labels, rhythm, rate in bpm, flutter frequency in Hz, conduction ratio) of the rhythm."""
    labels: set[str] = set()
    rhythm = _choose(rng, {"AF": p("AF"), "AFL": p("AFL"), "PR": p("PR")}) or "sinus"
    if rhythm == "sinus":
        rate_label = _choose(rng, {"SB": p("SB"), "STach": p("STach")}) or "NSR"
        rate = {"SB": rng.uniform(38, 56), "STach": rng.uniform(105, 150), "NSR": rng.uniform(62, 98)}[rate_label]
        labels.add(rate_label)
        for name in ("SA", "IAVB", "PAC"):
            if rng.random() < p(name):
                labels.add(name)
    else:
        labels.add(rhythm)
        rate = {"AF": rng.uniform(70, 130), "AFL": 0.0, "PR": rng.uniform(60, 80)}[rhythm]
    flutter_hz, ratio = (rng.uniform(4.2, 5.4), int(rng.choice([2, 3, 4]))) if rhythm == "AFL" else (0.0, 0)
    if rhythm == "AFL":
        rate = 60 * flutter_hz / ratio
    return labels, rhythm, rate, flutter_hz, ratio


def _conduction_and_axis(rng: np.random.Generator, p) -> set[str]:
    """A bundle branch block, an axis deviation, Q waves and ectopic ventricular beats (not
    under a paced rhythm)."""
    labels: set[str] = set()
    conduction = _choose(rng, {"CRBBB": p("CRBBB"), "CLBBB": p("CLBBB"), "IRBBB": p("IRBBB")})
    if conduction:
        labels.add(conduction)
    axis_label = _choose(rng, {"LAD": p("LAD"), "RAD": p("RAD")})
    if axis_label:
        labels.add(axis_label)
    for name in ("QAb", "PVC"):
        if rng.random() < p(name):
            labels.add(name)
    return labels


def _repolarisation(rng: np.random.Generator, p) -> set[str]:
    """T-wave changes, a long QT and low QRS voltages."""
    labels: set[str] = set()
    t_label = _choose(rng, {"TInv": p("TInv"), "TAb": p("TAb")})
    for name in ("LQT", "LQRSV"):
        if rng.random() < p(name):
            labels.add(name)
    if t_label:
        labels.add(t_label)
    return labels


def _parameters(rng: np.random.Generator, labels: set[str], rate: float, flutter_hz: float, ratio: int) -> Patient:
    """The waves' parameters that make `labels` show."""
    axis = (rng.uniform(-80, -38) if "LAD" in labels else rng.uniform(100, 160) if "RAD" in labels
            else rng.uniform(5, 75))
    qrs = (rng.uniform(0.13, 0.16) if labels & {"CRBBB", "CLBBB"} else rng.uniform(0.10, 0.115)
           if "IRBBB" in labels else rng.uniform(0.08, 0.095))
    angle = rng.normal(0, 0.12, 3)
    rotation = _rotation(angle)
    return Patient(
        labels=labels, rate_bpm=rate,
        pr_s=rng.uniform(0.23, 0.32) if "IAVB" in labels else rng.uniform(0.13, 0.19),
        qrs_s=qrs, axis_deg=axis,
        qtc_s=rng.uniform(0.49, 0.56) if "LQT" in labels else rng.uniform(0.38, 0.43),
        amplitude=rng.uniform(0.2, 0.3) if "LQRSV" in labels else rng.uniform(0.8, 1.4),
        t_scale=-1.0 if "TInv" in labels else rng.uniform(0.05, 0.12) if "TAb" in labels else 1.0,
        rotation=rotation, flutter_hz=flutter_hz, conduction_ratio=ratio,
    )


def _rotation(angles: np.ndarray) -> np.ndarray:
    """Small anatomical rotation of the heart (x, y, z Euler angles in radians)."""
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx



def _qrs_waves(p: Patient, t: float, rng: np.random.Generator) -> list[Wave]:
    """Depolarisation of a conducted beat whose R peak is at time t."""
    w = p.qrs_s / 0.09
    main = _frontal(p.axis_deg, -0.35)
    amp = p.amplitude * rng.uniform(0.95, 1.05)
    if "CLBBB" in p.labels:  # no septal q, broad notched left-posterior R
        left = _unit(main[0] + 0.3, main[1], -0.8)
        waves = [Wave(t - 0.02, 0.022, 1.1 * amp * left), Wave(t + 0.025, 0.022, 1.0 * amp * left)]
    else:
        waves = [Wave(t - 0.025 * w, 0.008 * w, 0.15 * amp * _unit(-0.6, 0.2, 0.7)),
                 Wave(t, 0.011 * w, 1.3 * amp * main),
                 Wave(t + 0.026 * w, 0.010 * w, 0.35 * amp * _unit(-0.3, -0.6, -0.5))]
    if "CRBBB" in p.labels:  # late R' towards the right and front
        waves.append(Wave(t + 0.060, 0.020, 0.8 * amp * _unit(-0.7, 0.0, 0.7)))
    elif "IRBBB" in p.labels:
        waves.append(Wave(t + 0.040, 0.012, 0.45 * amp * _unit(-0.7, 0.0, 0.7)))
    if "QAb" in p.labels:  # inferior necrosis: deep broad q in II, III, aVF
        waves.append(Wave(t - 0.028, 0.014, 0.6 * amp * _unit(0.0, -1.0, 0.1)))
    return waves


def _t_wave(p: Patient, t: float, rr: float, direction: np.ndarray) -> Wave:
    qt = p.qtc_s * math.sqrt(min(max(rr, 0.3), 2.0))
    width = 0.045 * (qt / 0.4)
    return Wave(t - 0.045 + qt - 2.2 * width, width, 0.35 * p.t_scale * direction)


def _beat_times(p: Patient, duration: float, rng: np.random.Generator) -> tuple[list[float], list[str]]:
    """R-peak times and the kind of each beat ('sinus', 'af', 'flutter', 'paced', 'pvc', 'pac')."""
    times, kinds = [], []
    rr = 60.0 / p.rate_bpm
    t = rng.uniform(0.1, rr)
    kind = "af" if "AF" in p.labels else "flutter" if "AFL" in p.labels else "paced" if "PR" in p.labels else "sinus"
    ectopic = [k for k in ("PVC", "PAC") if k in p.labels]
    ectopic_chance = 0.18 if ectopic else 0.0
    while t < duration - 0.05:
        if ectopic and kinds and kinds[-1] not in ("pvc", "pac") and rng.random() < ectopic_chance:
            which = ectopic[int(rng.integers(len(ectopic)))].lower()
            coupling = rng.uniform(0.55, 0.68) if which == "pvc" else rng.uniform(0.62, 0.75)
            t_ect = times[-1] + coupling * rr
            if t_ect < duration - 0.05:
                times.append(t_ect), kinds.append(which)
            # a PVC leaves a compensatory pause; a PAC resets the sinus node
            t = times[-2] + 2 * rr if which == "pvc" else t_ect + rr
            continue
        times.append(t), kinds.append(kind)
        if kind == "af":
            t += rr * float(np.clip(rng.gamma(6.0, 1 / 6.0), 0.45, 1.9))
        elif kind == "sinus" and "SA" in p.labels:
            t += rr * (1 + 0.22 * math.sin(2 * math.pi * 0.22 * t + 1.0))
        else:
            t += rr * rng.uniform(0.985, 1.015)
    return times, kinds


def _beats(p: Patient, times: list[float], kinds: list[str], rng: np.random.Generator) -> list[Wave]:
    t_dir = _frontal(p.axis_deg - 15, 0.3)
    if "CLBBB" in p.labels:
        t_dir = -_frontal(p.axis_deg, -0.6)  # discordant repolarisation
    waves: list[Wave] = []
    pvc_dir = _unit(*rng.normal(0, 1, 3))
    for i, (t, kind) in enumerate(zip(times, kinds)):
        rr = times[i] - times[i - 1] if i else 60.0 / p.rate_bpm
        if kind in ("sinus", "pac"):
            p_dir = _frontal(60, 0.2) if kind == "sinus" else _frontal(-100, 0.1)
            # P centre 10 ms later than R minus PR: P onset and QRS onset are about PR apart
            waves.append(Wave(t - p.pr_s + 0.01, 0.022, 0.13 * p_dir))
        if kind == "pvc":
            waves += [Wave(t, 0.035, 1.6 * p.amplitude * pvc_dir), Wave(t + 0.3, 0.06, -0.5 * pvc_dir)]
            continue
        if kind == "paced":
            spike_dir = _unit(0.2, 0.9, 0.3)
            waves.append(Wave(t - 0.07, 0.0012, 3.0 * spike_dir))
            paced = _frontal(-70, -0.7)
            waves += [Wave(t - 0.02, 0.025, 1.2 * p.amplitude * paced), Wave(t + 0.03, 0.025, 0.8 * p.amplitude * paced)]
            waves.append(Wave(t + 0.32, 0.06, -0.4 * paced))
            continue
        waves += _qrs_waves(p, t, rng)
        waves.append(_t_wave(p, t, rr, t_dir))
    return waves


def _render(waves: list[Wave], n: int, fs: float) -> np.ndarray:
    """Dipole (n, 3) from Gaussian waves, each drawn only within ±5 sigma."""
    dipole = np.zeros((n, 3))
    for wave in waves:
        lo = max(int((wave.time - 5 * wave.width) * fs), 0)
        hi = min(int((wave.time + 5 * wave.width) * fs) + 2, n)
        if hi <= lo:
            continue
        t = np.arange(lo, hi) / fs
        dipole[lo:hi] += np.exp(-0.5 * ((t - wave.time) / wave.width) ** 2)[:, None] * wave.vector
    return dipole


def _atrial_activity(p: Patient, n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / fs
    if "AF" in p.labels:  # fibrillatory waves: a few drifting 4-9 Hz components, largest in V1
        f = sum(rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * rng.uniform(4, 9) * t + rng.uniform(0, 6.3))
                for _ in range(4))
        return (rng.uniform(0.04, 0.08) * f)[:, None] * _unit(-0.3, 0.3, 0.9)
    if "AFL" in p.labels:  # saw-tooth F-waves, negative in the inferior leads
        saw = scipy.signal.sawtooth(2 * np.pi * p.flutter_hz * t, width=0.8)
        return (0.18 * saw)[:, None] * _unit(0.0, -1.0, 0.25)
    return np.zeros((n, 3))


def dipole_to_leads(dipole: np.ndarray) -> np.ndarray:
    """(n, 3) dipole -> (12, n) leads in standard order, limb leads by Einthoven/Goldberger."""
    lead_i = dipole @ _frontal(0)
    lead_ii = dipole @ _frontal(60)
    limb = np.stack([lead_i, lead_ii, lead_ii - lead_i, -(lead_i + lead_ii) / 2,
                     lead_i - lead_ii / 2, lead_ii - lead_i / 2])
    return np.concatenate([limb, _PRECORDIAL @ dipole.T])


def _acquire(leads_mv: np.ndarray, source: Source, rng: np.random.Generator) -> np.ndarray:
    """What the source's device adds: wander, mains, noise, muscle bursts, its filter."""
    n = leads_mv.shape[1]
    t = np.arange(n) / source.fs
    wander = sum(rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * rng.uniform(0.05, 0.4) * t + rng.uniform(0, 6.3))
                 for _ in range(3))
    lead_gain = rng.uniform(0.5, 1.5, (12, 1))
    out = leads_mv + source.wander_mv * lead_gain * wander
    if source.mains_hz < source.fs / 2:
        out = out + source.mains_mv * lead_gain * np.sin(2 * np.pi * source.mains_hz * t + rng.uniform(0, 6.3))
    out = out + rng.normal(0, source.noise_mv, out.shape)
    if rng.random() < 0.3:  # a burst of muscle noise
        start = int(rng.integers(n))
        burst = slice(start, min(n, start + int(source.fs * rng.uniform(0.5, 2))))
        out[:, burst] += rng.normal(0, 4 * source.noise_mv, out[:, burst].shape)
    if source.device_band:
        low, high = source.device_band
        sos = scipy.signal.butter(2, [low, min(high, 0.45 * source.fs)], btype="band", fs=source.fs, output="sos")
        out = scipy.signal.sosfilt(sos, out, axis=1)
    return out


def written_codes(labels: set[str], source: Source) -> list[str]:
    """The Dx codes a source writes for a patient's true labels: only the classes it annotates,
    in its own equivalent codes."""
    return [source.alt_codes.get(label, CODES[label]) for label in sorted(labels & source.annotates)]


def _comments(patient: Patient, source: Source, rng: np.random.Generator) -> dict[str, str]:
    age = "NaN" if rng.random() < source.missing_age else str(int(rng.integers(*source.age_range)))
    sex = "Unknown" if rng.random() < source.unknown_sex else ("Male" if rng.random() < 0.55 else "Female")
    dx = written_codes(patient.labels, source)
    if rng.random() < source.extra_unscored:
        dx.append(str(rng.choice(UNSCORED_EXTRAS)))
    return {"Age": age, "Sex": sex, "Dx": ",".join(dx), "Rx": "Unknown", "Hx": "Unknown", "Sx": "Unknown"}


@dataclass
class SyntheticRecord:
    name: str
    source: Source
    patient: Patient
    adc: np.ndarray        # (12, samples) int16
    comments: dict[str, str]
    beat_times: tuple[float, ...] = ()  # R-peak (or ectopic QRS) times in seconds: ground truth for
    beat_kinds: tuple[str, ...] = ()    # attention checks ('sinus', 'af', 'pvc', 'pac', ...)

    def header_text(self) -> str:
        s = self.source
        return format_header(self.name, s.fs, self.adc, TWELVE_LEADS, [s.gain] * 12, [s.adc_baseline] * 12,
                             self.comments, style=s.header_style, units=s.units)


def generate_record(source: Source, name: str, rng: np.random.Generator) -> SyntheticRecord:
    patient = draw_patient(rng, source.priors)
    duration = float(rng.uniform(*source.duration_s))
    n = int(round(duration * source.fs))
    times, kinds = _beat_times(patient, duration, rng)
    dipole = _render(_beats(patient, times, kinds, rng), n, source.fs) + _atrial_activity(patient, n, source.fs, rng)
    leads = _acquire(dipole_to_leads(dipole @ patient.rotation.T), source, rng)
    adc = np.clip(np.round(leads * source.gain + source.adc_baseline), -32768, 32767).astype(np.int16)
    return SyntheticRecord(name, source, patient, adc, _comments(patient, source, rng), tuple(times), tuple(kinds))


def _patient(prefix: str, seed: np.random.SeedSequence) -> Patient:
    """The patient of a planned record: `generate_record` draws it first from the record's stream."""
    return draw_patient(np.random.default_rng(seed), SOURCES[prefix].priors)


def annotation_ceiling(n: int, seed: int, sources: list[str] | None = None) -> dict[str, float]:
    """Challenge metric of every record's *true* conditions scored against its written labels,
    per source and over all records ("all"), for the folder `write_dataset(_, n, seed, sources)`.

    Why: a source that never annotates a class writes its true cases as negatives, so even a
    model that finds every condition, but knows nothing of the sources' habits, loses there.
    This is the most such a source-agnostic model can score on the folder; a table's distance
    from it says how much is left to learn.  No signal is rendered."""
    classes = load_classes()
    plan = record_plan(n, seed, sources or list(SOURCES))
    true, written, prefixes = [], [], []
    for prefix, _, record_seed in plan:
        labels = _patient(prefix, record_seed).labels
        true.append(classes.encode(CODES[label] for label in labels))
        written.append(classes.encode(written_codes(labels, SOURCES[prefix])))
        prefixes.append(prefix)
    true, written, prefixes = np.array(true), np.array(written), np.array(prefixes)

    def score(keep: np.ndarray) -> float:
        return challenge_metric(classes.weights, written[keep], true[keep], classes.sinus_index)
    ceiling = {str(prefix): score(prefixes == prefix) for prefix in dict.fromkeys(prefixes)}
    return {**ceiling, "all": score(np.ones(len(plan), dtype=bool))}


EVENT_KINDS = {"PAC": "pac", "PVC": "pvc"}   # labels that need at least one such beat to be seen
# labels a rhythm's beats do not render: paced beats are drawn with their own repolarisation, so a
# paced patient's QTc and T-wave labels leave no trace in the signal
HIDDEN_BY_RHYTHM = {"PR": frozenset({"LQT", "TInv", "TAb"})}


def shown_labels(n: int, seed: int, sources: list[str] | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(record names, shown, written) of the folder `write_dataset(_, n, seed, sources)`: per record
    the classes its signal shows and the classes its header writes (bool (n, classes)).  Shown is
    the true label, for premature beats only with at least one such beat in the record (the
    generator labels a patient with premature beats even when the record happens to contain
    none), and without the labels its rhythm does not render (HIDDEN_BY_RHYTHM).  No signal is
    rendered: the draws before it are replayed."""
    classes = load_classes()
    names, shown, written = [], [], []
    for prefix, name, record_seed in record_plan(n, seed, sources or list(SOURCES)):
        source, rng = SOURCES[prefix], np.random.default_rng(record_seed)
        patient = draw_patient(rng, source.priors)   # the draws of generate_record, in its order
        _, kinds = _beat_times(patient, float(rng.uniform(*source.duration_s)), rng)
        hidden = set().union(*(HIDDEN_BY_RHYTHM.get(label, ()) for label in patient.labels))
        seen = {label for label in patient.labels - hidden if label not in EVENT_KINDS or EVENT_KINDS[label] in kinds}
        names.append(name)
        shown.append(classes.encode(CODES[label] for label in seen))
        written.append(classes.encode(written_codes(patient.labels, source)))
    return names, np.array(shown, dtype=bool), np.array(written, dtype=bool)


def class_ceiling(n: int, seed: int, sources: list[str] | None = None) -> dict[str, float]:
    """Per class, the AUROC against the written labels of a score that knows what the record's
    signal shows (`shown_labels`): the most a model that reads the signal, blind to the sources'
    habits, can reach per class on the folder `write_dataset(_, n, seed, sources)`."""
    from ..core.metrics import class_auc
    classes = load_classes()
    _, shown, written = shown_labels(n, seed, sources)
    return {name: class_auc(written[:, k], shown[:, k].astype(float))[0]
            for k, name in enumerate(classes.abbreviations) if 0 < written[:, k].sum() < len(written)}


def record_plan(n: int, seed: int, sources: list[str]) -> list[tuple[str, str, np.random.SeedSequence]]:
    """(source prefix, record name, seed) per record: sources in turn, one seed stream each."""
    children = np.random.SeedSequence(seed).spawn(n)
    plan = []
    for i in range(n):
        prefix = sources[i % len(sources)]
        plan.append((prefix, f"{prefix}{i // len(sources) + 1:05d}", children[i]))
    return plan


def _write_one(out_dir: str, prefix: str, name: str, seed: np.random.SeedSequence) -> str:
    record = generate_record(SOURCES[prefix], name, np.random.default_rng(seed))
    Path(out_dir, f"{name}.hea").write_text(record.header_text())
    write_mat(Path(out_dir, f"{name}.mat"), record.adc)
    return name


def write_dataset(out_dir: str | Path, n: int, seed: int = 0, sources: list[str] | None = None,
                  workers: int = 1) -> list[str]:
    """Write n records to out_dir, deterministic for a seed whatever the number of workers."""
    sources = sources or list(SOURCES)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown synthetic source(s) {unknown}; choose from {sorted(SOURCES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = record_plan(n, seed, sources)
    if workers <= 1:
        return [_write_one(str(out_dir), *item) for item in plan]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:  # no fork of a threaded process
        return list(pool.map(_write_one, [str(out_dir)] * n, *zip(*plan), chunksize=16))
