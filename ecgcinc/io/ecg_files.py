"""ECGs from users' own files: WFDB records of any format, NumPy arrays and CSV, as Records.

Why: a Challenge entry reads only the Challenge's `.hea` + `.mat`, while users hold PTB-XL's and
MIMIC-IV-ECG's WFDB records (format 16; 212 in older databases), arrays from their own pipelines
and CSV exports.  Every input becomes the same Record the driver builds (records.make_record:
millivolts in the 12 standard lead slots, a presence mask, the defects found), so what follows,
the preprocessing, the features and the network, cannot tell where a record came from.

- WFDB records (`NAME.hea` beside its signal files): a Challenge record (signal file `.mat`) is
  read by this project's reader, exactly as the driver reads it; any other by `wfdb.rdrecord`,
  in physical units converted to mV.  Age, sex and Dx come from the header's comments when it
  has them.  Channels that are not ECG leads (a pulse, a pressure) are left out with a warning.
- `.npy` (one array) and `.npz` (one array, or the one named `signal`): leads x samples (samples x
  leads is accepted when only that reading fits the lead count); `fs` and `leads` must be given,
  age and sex may be.
- `.csv`: a header row naming one column per lead (a `time` column is ignored); `fs` must be given.

Lead names match case-insensitively (`AVR` is aVR) and through LEAD_ALIASES where the alias is
unambiguous (MLII is lead II unless the record also has a II).  A lead name the user gives that
is no ECG lead is one error naming it.  Arrays and CSV are taken as mV unless `units` says
otherwise.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from .records import TWELVE_LEADS, Header, RecordError, lead_slot, make_record, parse_header, read_record

LEAD_ALIASES = {"mli": "I", "mlii": "II", "mliii": "III", "d1": "I", "d2": "II", "d3": "III"}
UNITS_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3, "nv": 1e-6}
ARRAY_SUFFIXES = (".npy", ".npz")
INPUT_SUFFIXES = (".hea", *ARRAY_SUFFIXES, ".csv")
TIME_COLUMNS = ("time", "t", "seconds", "sample", "index")


@dataclass
class Input:
    """One record read from a user's file: the Record and where it came from."""
    record: Record
    source: str
    warnings: list[str] = field(default_factory=list)


def canonical_leads(names: Sequence[str], where: str, strict: bool) -> list[str | None]:
    """The standard name of each lead name (None for a channel that is not an ECG lead, when
    not `strict`); an alias counts only when its standard lead is not also among `names`."""
    direct = {lead_slot(name) for name in names} - {None}
    out: list[str | None] = []
    for name in names:
        slot = lead_slot(name)
        alias = LEAD_ALIASES.get(name.strip().lower())
        if slot is None and alias and lead_slot(alias) not in direct:
            slot = lead_slot(alias)
        if slot is None and strict:
            raise ValueError(f"{where}: {name!r} is not an ECG lead name; use {', '.join(TWELVE_LEADS)} "
                             f"(any case) or {', '.join(sorted(LEAD_ALIASES))}")
        out.append(None if slot is None else TWELVE_LEADS[slot])
    return out


def find_inputs(paths: Sequence[str | Path]) -> list[Path]:
    """The files to classify: each path given (a record may be named without `.hea`), and every
    input file in a folder given, sorted by name."""
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            found += sorted(p for p in given.iterdir() if p.suffix.lower() in INPUT_SUFFIXES
                            and not p.name.startswith("."))
        elif given.suffix.lower() in INPUT_SUFFIXES and given.is_file():
            found.append(given)
        elif given.with_name(given.name + ".hea").is_file():
            found.append(given.with_name(given.name + ".hea"))
        else:
            raise FileNotFoundError(f"{given}: no such record, folder or file (.hea, .npy, .npz, .csv)")
    return found


def read_input(path: Path, fs: float | None = None, leads: Sequence[str] | None = None, units: str = "mV",
               age: float | None = None, sex: str | None = None) -> Input:
    """The record in `path` (raises RecordError naming the file and the problem).  `age` and
    `sex` (inputs of the network and the feature model) apply to arrays and CSV, which carry
    none; a WFDB record's header gives its own."""
    suffix = path.suffix.lower()
    if suffix == ".hea":
        return _read_wfdb(path)
    if suffix == ".csv":
        names, data = _read_csv(path)
        if leads:
            raise RecordError(str(path), "a CSV names its leads in its header row: leave out --leads")
    else:
        if not leads:
            raise RecordError(str(path), "an array needs its lead names: give --leads (e.g. I II V1)")
        names, data = list(leads), _read_array(path)
    return from_array(data, fs, names, units, age, sex, path)


def from_array(data: np.ndarray, fs: float, leads: Sequence[str], units: str = "mV", age: float | None = None,
               sex: str | None = None, path: str | Path = "signal") -> Input:
    """A (leads, samples) array of lead names `leads` in `units` as a record named after `path`
    (raises RecordError naming it and the problem)."""
    path = Path(path)
    if fs is None or not math.isfinite(fs) or fs <= 0:
        raise RecordError(str(path), "an array or CSV needs its sampling rate: give --fs HZ")
    data = _oriented(np.asarray(data, dtype=np.float64), len(leads), path)
    found = _from_millivolts(path, path.stem, list(leads), data * _millivolts_per(units, str(path)), fs, strict=True)
    header = replace(found.record.header, age=float("nan") if age is None else float(age), sex=_sex(sex, str(path)))
    found.record = replace(found.record, header=header)
    return found


def _sex(sex: str | None, where: str) -> str | None:
    if sex is None:
        return None
    if sex.strip().lower() not in ("male", "female", "m", "f"):
        raise ValueError(f"{where}: sex {sex!r}: use male or female")
    return "Male" if sex.strip().lower() in ("male", "m") else "Female"


def _read_wfdb(header_path: Path) -> Input:
    text = header_path.read_text(errors="replace")
    header = parse_header(text, header_path.stem)
    signal_files = [line.split()[0] for line in text.splitlines()[1:] if line.strip() and not line.startswith("#")]
    if signal_files and all(name.lower().endswith(".mat") for name in signal_files):
        return Input(read_record(header_path), str(header_path))  # a Challenge record, read as the driver reads it
    import wfdb
    try:
        raw = wfdb.rdrecord(str(header_path.with_suffix("")), physical=True)
    except Exception as error:  # wfdb raises many types; the record is named either way
        raise RecordError(str(header_path), f"wfdb cannot read it: {error}") from error
    signal = np.asarray(raw.p_signal, dtype=np.float64).T
    scale = np.array([_millivolts_per(unit or "mV", f"{header_path} lead {name}")
                      for unit, name in zip(raw.units, raw.sig_name)])
    found = _from_millivolts(header_path, header.record, list(raw.sig_name), signal * scale[:, None], raw.fs,
                             strict=False)
    found.record = replace(found.record, header=replace(found.record.header, age=header.age, sex=header.sex,
                                                        dx=header.dx))
    return found


def _from_millivolts(path: Path, name: str, names: list[str], millivolts: np.ndarray, fs: float,
                     strict: bool) -> Input:
    """A Record of signals already in mV (gain 1, baseline 0), named leads mapped to their slots."""
    standard = canonical_leads(names, str(path), strict)
    warnings = [f"channel {given!r} is not an ECG lead; left out" for given, lead in zip(names, standard) if lead is None]
    keep = [i for i, lead in enumerate(standard) if lead is not None]
    if not keep:
        raise RecordError(str(path), f"no ECG lead among its channels ({', '.join(names)})")
    data = millivolts[keep]
    header = Header(record=name, num_signals=len(keep), fs=float(fs), num_samples=data.shape[1],
                    leads=tuple(standard[i] for i in keep), gains=np.ones(len(keep)), baselines=np.zeros(len(keep)),
                    age=float("nan"), sex=None, dx=())
    return Input(make_record(header, data), str(path), warnings)


def _read_array(path: Path) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise RecordError(str(path), f"not a NumPy file ({error})") from error
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.files)
            if len(keys) != 1 and "signal" not in keys:
                raise RecordError(str(path), f"holds arrays {', '.join(keys)}: name the record's 'signal' or keep one")
            return np.asarray(loaded["signal" if "signal" in keys else keys[0]], dtype=np.float64)
    return np.asarray(loaded, dtype=np.float64)


def _oriented(data: np.ndarray, leads: int, path: Path) -> np.ndarray:
    """leads x samples; samples x leads is turned when only that reading fits the lead count."""
    if data.ndim != 2:
        raise RecordError(str(path), f"array has {data.ndim} dimensions, expected 2 (leads x samples)")
    if data.shape[0] == leads:
        return data
    if data.shape[1] == leads:
        return data.T
    raise RecordError(str(path), f"array of shape {data.shape} does not hold the {leads} leads named")


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 2:
        raise RecordError(str(path), "a CSV needs a header row naming the leads and at least one row of samples")
    columns = [i for i, name in enumerate(rows[0]) if name.strip().lower() not in TIME_COLUMNS]
    try:
        data = np.array([[float(row[i]) if row[i].strip() else np.nan for i in columns] for row in rows[1:]
                         if any(cell.strip() for cell in row)], dtype=np.float64)
    except (ValueError, IndexError) as error:
        raise RecordError(str(path), f"a cell is not a number, or a row is short ({error})") from error
    return [rows[0][i].strip() for i in columns], data.T


def _millivolts_per(units: str, where: str) -> float:
    factor = UNITS_TO_MV.get(units.strip().lower())
    if factor is None:
        raise ValueError(f"{where}: unknown units {units!r}; use mV, uV or V")
    return factor
