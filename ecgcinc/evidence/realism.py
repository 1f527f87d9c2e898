"""How real the generated records look, source by source.

Why: a network pretrained on generated records learns the generator; where a source's generated
records differ from its real ones (rate, QRS width, amplitudes, noise, baseline wander, sampling
rate, length), what it learned carries over less.  Two measures per source with records on both
sides:

- the medians of what differs (real against generated): heart rate, QRS width, the R amplitude of
  every lead, baseline wander (share of the power below 0.5 Hz), noise (share above 40 Hz), the
  sampling rate and the length;
- a realism score: the cross-validated AUROC of a classifier told to tell the source's real
  records from its generated ones on those measures (0.5: it cannot, they look alike; 1.0: every
  record gives itself away).  With few real records the score is rough; it ranks the sources.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal

from ..core.config import CINC_DOMAINS
from ..dataset.data import domain_of
from ..io.records import TWELVE_LEADS, Record, find_records, read_record
from ..signals.features import FEATURE_NAMES, checked_measures
from .arms import markdown_table

WANDER_HZ, NOISE_HZ = 0.5, 40.0
MEASURES = ("heart_rate", "qrs_duration", *(f"{lead}_r_amplitude" for lead in TWELVE_LEADS),
            "wander_share", "noise_share", "fs", "seconds")
SHOWN = ("heart_rate", "qrs_duration", "II_r_amplitude", "V1_r_amplitude", "V5_r_amplitude", "wander_share",
         "noise_share", "fs", "seconds")
FOLDS = 5


def spectrum_shares(record: Record) -> tuple[float, float]:
    """Shares of lead II's power (or the first present lead's) below WANDER_HZ and above NOISE_HZ."""
    lead = 1 if record.mask[1] else int(np.argmax(record.mask))
    fs = record.header.fs
    freqs, power = scipy.signal.welch(record.signal[lead], fs=fs, nperseg=min(int(8 * fs), record.signal.shape[1]))
    total = float(power.sum()) or 1.0
    return float(power[freqs < WANDER_HZ].sum()) / total, float(power[freqs > NOISE_HZ].sum()) / total


def measures(record: Record) -> np.ndarray:
    """MEASURES of one record (NaN where the features could not be measured)."""
    features = checked_measures(record)[0]
    picked = [features[FEATURE_NAMES.index(name)] for name in MEASURES[:14]]
    wander, noise = spectrum_shares(record)
    return np.array([*picked, wander, noise, record.header.fs, record.signal.shape[1] / record.header.fs])


def folder_measures(folder: str | Path) -> tuple[np.ndarray, list[str]]:
    """(records, MEASURES) and each record's source, for every readable record of a folder."""
    rows, sources = [], []
    for header in find_records(folder):
        try:
            record = read_record(header)
        except ValueError:
            continue
        rows.append(measures(record))
        sources.append(domain_of(header.stem, CINC_DOMAINS))
    return np.array(rows), sources


def realism_score(real: np.ndarray, generated: np.ndarray, seed: int = 0) -> float:
    """Cross-validated AUROC of gradient boosting telling real (1) from generated (0) records."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    x = np.vstack([real, generated])
    y = np.r_[np.ones(len(real)), np.zeros(len(generated))]
    folds = StratifiedKFold(min(FOLDS, len(real)), shuffle=True, random_state=seed)
    scores = cross_val_predict(HistGradientBoostingClassifier(max_iter=100, random_state=seed), x, y, cv=folds,
                               method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


def compare(real_dirs: list[str | Path], generated_dir: str | Path, min_records: int = 5) -> str:
    """The Markdown table of every source with at least `min_records` real records."""
    parts = [folder_measures(folder) for folder in real_dirs]
    real, real_sources = np.vstack([p[0] for p in parts]), sum((p[1] for p in parts), [])
    generated, generated_sources = folder_measures(generated_dir)
    rows = []
    for source in sorted(set(real_sources) & set(generated_sources)):
        mine = real[np.array(real_sources) == source]
        theirs = generated[np.array(generated_sources) == source]
        if len(mine) < min_records:
            continue
        medians = [f"{_median(mine, m)} / {_median(theirs, m)}" for m in SHOWN]
        rows.append([source, len(mine), len(theirs), realism_score(mine, theirs), *medians])
    header = ["source", "real", "generated", "realism AUROC", *(f"{m} (real / generated)" for m in SHOWN)]
    return markdown_table(header, rows, "Medians of real / generated records; realism AUROC: a classifier telling "
                                        f"them apart on every measure, {FOLDS}-fold cross-validated (0.5: alike).")


def _median(rows: np.ndarray, name: str) -> str:
    values = rows[:, MEASURES.index(name)]
    values = values[np.isfinite(values)]
    return f"{np.median(values):.3g}" if values.size else "n/a"
