"""The public Python API: three functions, for a notebook as for a script.

    >>> import ecgcinc
    >>> ecg = ecgcinc.read("tests/data/real/E07500.hea")
    >>> ecg.leads[:3], ecg.fs, ecg.signal.shape
    (('I', 'II', 'III'), 500.0, (12, 5000))
    >>> result = ecgcinc.load().predict(ecg.signal, ecg.fs, ecg.leads, age=ecg.age, sex=ecg.sex)
    >>> result["view"]
    'I-II-III-aVR-aVL-aVF-V1-V2-V3-V4-V5-V6'
    >>> sorted(result["classes"][0])
    ['abbreviation', 'code', 'label', 'name', 'probability', 'threshold']

`load()` without a folder is the ready model that ships with the package (serving/ready.py);
`load(MODEL)` any folder `train` or `train_model.py` wrote, or one `ecgcinc export` wrote (then
without TensorFlow).  The command line and the Challenge harness stand on the same functions:
`ecgcinc classify` prints `predict_files`' rows, `train_model.py` calls `train`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .core.config import load_config, with_overrides
from .io.ecg_files import read_input
from .io.records import TWELVE_LEADS
from .serving.classify import Classifier
from .serving.ready import READY_MODEL


@dataclass(frozen=True)
class ECG:
    """One record as read: (leads, samples) in mV, its lead names in that order, its sampling rate
    (Hz), the patient's age (NaN when unknown) and sex (None), its labels (SNOMED codes), and what
    the reader had to repair or leave out."""
    name: str
    signal: np.ndarray
    leads: tuple[str, ...]
    fs: float
    age: float
    sex: str | None
    dx: tuple[str, ...]
    warnings: tuple[str, ...]


def read(path: str | Path, fs: float | None = None, leads: Sequence[str] | None = None, units: str = "mV",
         age: float | None = None, sex: str | None = None) -> ECG:
    """Any record `ecgcinc classify` reads: a Challenge or other WFDB record (NAME.hea), a .npy or
    .npz array (with `fs` and `leads`) or a CSV whose header row names the leads (with `fs`)."""
    found = read_input(Path(path), fs, leads, units, age, sex)
    record, header = found.record, found.record.header
    present = np.flatnonzero(record.mask)
    return ECG(record.name, record.signal[present], tuple(TWELVE_LEADS[i] for i in present), header.fs,
               header.age, header.sex, header.dx, tuple(found.warnings + record.defects))


def load(model_dir: str | Path | None = None, runtime: str = "auto") -> Classifier:
    """A classifier of the model folder `model_dir` (None: the ready model).  Its `predict(signal,
    fs, leads, age=None, sex=None)` and `predict_files(paths)` give a result per record: for each
    class its code, abbreviation, name, probability, threshold and label, with the leads and the
    lead-set view used and any warnings."""
    return Classifier(READY_MODEL if model_dir is None else model_dir, runtime)


def train(data_dir: str | Path, model_dir: str | Path, verbose: int = 1, **settings: Any) -> dict:
    """Train on a folder of labelled Challenge records and write the model folder, as
    `train_model.py` does; `settings` are configuration sections, e.g.
    `train(DATA, MODEL, train={"head_start": "off"}, model={"size": "medium"})`.  Returns the
    training history."""
    from .training.train import train as train_folder  # Keras loads here
    return train_folder(data_dir, model_dir, with_overrides(load_config(), settings), verbose=verbose)
