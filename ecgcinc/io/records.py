"""Reading Challenge records (`.hea` + MATLAB v4 `.mat`) robustly.

The official helper functions read only the original header style (`#Dx:`,
gains `1000/mV`); files rewritten by wfdb write `# Dx:` and `1000.0(0)/mV` and
the official helpers then see no labels and zero gains.  This module parses
both, maps leads *by name* into a fixed 12-slot order with a presence mask,
and turns every problem into a `RecordError` that names the record.

Defects that leave a usable recording (some NaN samples, flat or clipped
leads) are repaired where a repair is sound and reported in `Record.defects`,
so inference can still predict while training can choose to skip the record.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

TWELVE_LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF",
                                 "V1", "V2", "V3", "V4", "V5", "V6")
LEAD_SETS: dict[int, tuple[str, ...]] = {
    12: TWELVE_LEADS,
    6: ("I", "II", "III", "aVR", "aVL", "aVF"),
    4: ("I", "II", "III", "V2"),
    3: ("I", "II", "V2"),
    2: ("I", "II"),
}
_LEAD_INDEX = {name.lower(): i for i, name in enumerate(TWELVE_LEADS)}
WFDB_DEFAULT_GAIN = 200.0  # ADC units per mV when a header gives none (WFDB convention)
FLAT_PTP_MV = 1e-3         # a lead whose peak-to-peak is below 1 µV carries no signal
CLIP_FRACTION = 0.05       # share of samples pinned at the extremes that marks clipping
NO_USABLE_LEAD = "no usable standard lead (all missing, unknown, flat or NaN)"


class RecordError(ValueError):
    """A record that cannot be used; str() is one line naming the record and the problem."""

    def __init__(self, record: str, problem: str) -> None:
        super().__init__(f"{record}: {problem}")
        self.record = record
        self.problem = problem


@dataclass(frozen=True)
class Header:
    """The parts of a WFDB header this project uses."""

    record: str
    num_signals: int
    fs: float
    num_samples: int
    leads: tuple[str, ...]
    gains: np.ndarray      # ADC units per mV, one per signal line
    baselines: np.ndarray  # ADC value of 0 mV, one per signal line
    age: float             # NaN when missing or not a number
    sex: str | None        # "Male", "Female" or None
    dx: tuple[str, ...]    # every code on the Dx line, scored or not


@dataclass
class Record:
    """A recording in millivolts mapped to the 12 standard lead slots."""

    header: Header
    signal: np.ndarray   # (12, samples) float32, zeros where a lead is absent
    mask: np.ndarray     # (12,) bool: lead present and usable
    defects: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.header.record


# ---------------------------------------------------------------------------
# Header parsing
# ---------------------------------------------------------------------------

def _number(text: str) -> float | None:
    match = re.match(r"\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)", text)
    return float(match.group(1)) if match else None


def _parse_gain(field_text: str) -> tuple[float | None, float | None]:
    """`1000/mV`, `1000.0(0)/mV`, `2000/mv`, `200(1024)/mV` -> (gain, baseline or None)."""
    value = field_text.split("/")[0]
    baseline = None
    paren = re.search(r"\(([^)]*)\)", value)
    if paren:
        baseline = _number(paren.group(1))
        value = value[: paren.start()]
    return _number(value), baseline


def _parse_age(text: str) -> float:
    value = _number(text)
    if value is None or not math.isfinite(value) or value < 0 or value > 130:
        return float("nan")
    return value


def _parse_sex(text: str) -> str | None:
    value = text.strip().lower()
    if value in ("male", "m"):
        return "Male"
    if value in ("female", "f"):
        return "Female"
    return None


def _comment_fields(lines: Sequence[str]) -> dict[str, str]:
    """`#Age: 60` and `# Age: 60` -> {"age": "60"}; the first occurrence wins."""
    fields: dict[str, str] = {}
    for line in lines:
        match = re.match(r"\s*#\s*([A-Za-z]+)\s*:(.*)$", line)
        if match:
            fields.setdefault(match.group(1).lower(), match.group(2).strip())
    return fields


def parse_header(text: str, record_hint: str = "<header>") -> Header:
    """Parse header text; raise RecordError for an empty or malformed header."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    content = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not content:
        raise RecordError(record_hint, "empty header")
    first = content[0].split()
    record = first[0].split("/")[0] if first else record_hint
    if len(first) < 2:
        raise RecordError(record, "header record line has no signal count")
    num_signals = _number(first[1])
    fs = _number(first[2].split("/")[0]) if len(first) > 2 else 250.0
    num_samples = _number(first[3]) if len(first) > 3 else None
    if num_signals is None or num_signals < 1 or num_signals != int(num_signals):
        raise RecordError(record, f"invalid signal count {first[1]!r}")
    if fs is None or fs <= 0:
        raise RecordError(record, f"invalid sampling frequency {first[2]!r}")
    num_signals = int(num_signals)
    signal_lines = content[1 : 1 + num_signals]
    if len(signal_lines) < num_signals:
        raise RecordError(record, f"header declares {num_signals} signals but describes {len(signal_lines)}")
    leads, gains, baselines = [], [], []
    for line in signal_lines:
        entries = line.split()
        gain, baseline = _parse_gain(entries[2]) if len(entries) > 2 else (None, None)
        adc_zero = _number(entries[4]) if len(entries) > 4 else None
        leads.append(entries[-1] if len(entries) > 1 else "")
        gains.append(gain if gain else WFDB_DEFAULT_GAIN)
        baselines.append(baseline if baseline is not None else (adc_zero or 0.0))
    fields = _comment_fields(lines)
    return Header(
        record=record,
        num_signals=num_signals,
        fs=float(fs),
        num_samples=int(num_samples) if num_samples is not None else -1,
        leads=tuple(leads),
        gains=np.asarray(gains, dtype=np.float64),
        baselines=np.asarray(baselines, dtype=np.float64),
        age=_parse_age(fields.get("age", "")),
        sex=_parse_sex(fields.get("sex", "")),
        dx=parse_dx(text),
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as error:
        raise RecordError(path.stem, f"cannot read header: {error.strerror or error}") from None


def read_header(path: str | Path) -> Header:
    path = Path(path)
    return parse_header(_read_text(path), path.stem)


def parse_dx(text: str) -> tuple[str, ...]:
    """Codes on the `#Dx:`/`# Dx:` line; label files need no signal lines."""
    field_text = _comment_fields(text.split("\n")).get("dx", "")
    return tuple(code.strip() for code in field_text.split(",") if code.strip())


def read_dx(path: str | Path) -> tuple[str, ...]:
    return parse_dx(_read_text(Path(path)))


# ---------------------------------------------------------------------------
# Signals
# ---------------------------------------------------------------------------

def load_mat(path: str | Path, record: str, key: str = "val") -> np.ndarray:
    """The `val` matrix of a MATLAB file, as read by scipy (leads x samples)."""
    import scipy.io  # here: the evaluator reads headers only and starts faster without it
    path = Path(path)
    if not path.is_file():
        raise RecordError(record, f"missing recording file {path.name}")
    try:
        contents = scipy.io.loadmat(str(path))
    except Exception as error:  # scipy raises many types for truncated/corrupt files
        raise RecordError(record, f"cannot read {path.name}: {type(error).__name__}: {error}") from None
    if key not in contents:
        found = sorted(name for name in contents if not name.startswith("__"))
        raise RecordError(record, f"{path.name} has no variable {key!r} (found: {', '.join(found) or 'none'})")
    return np.asarray(contents[key])


def lead_slot(name: str) -> int | None:
    """Index of a lead name in the 12-lead order, case-insensitively (`AVR` == `aVR`)."""
    return _LEAD_INDEX.get(name.strip().lower())


def _check_shape(header: Header, data: np.ndarray) -> None:
    if data.ndim != 2:
        raise RecordError(header.record, f"recording has {data.ndim} dimensions, expected 2 (leads x samples)")
    rows, samples = data.shape
    if rows < header.num_signals:
        raise RecordError(header.record, f"recording has {rows} leads but the header declares {header.num_signals}")
    if rows > header.num_signals:
        raise RecordError(header.record, f"recording has {rows} rows but the header declares {header.num_signals} leads")
    if samples == 0:
        raise RecordError(header.record, "recording has 0 samples")
    if header.num_samples >= 0 and samples != header.num_samples:
        raise RecordError(header.record, f"recording has {samples} samples but the header declares {header.num_samples}")


def _lead_defects(name: str, raw: np.ndarray, millivolts: np.ndarray) -> tuple[bool, str | None]:
    """(usable, defect message) for one lead; a flat lead is unusable, a clipped one is kept."""
    if np.ptp(millivolts) < FLAT_PTP_MV:
        return False, f"lead {name} is flat"
    high, low = raw.max(), raw.min()
    pinned = np.count_nonzero(raw == high) + np.count_nonzero(raw == low)
    if raw.size >= 100 and pinned > CLIP_FRACTION * raw.size:
        return True, f"lead {name} is clipped ({pinned / raw.size:.0%} of samples at its extremes)"
    return True, None


def make_record(header: Header, data: np.ndarray) -> Record:
    """Scale raw ADC data to mV and map it by lead name into 12 slots.  A record with no usable
    lead (every sample NaN, every lead flat, missing or unknown) is a RecordError: any answer for
    it would be a guess from age and sex alone, which must not pass for a reading of the ECG (the
    driver writes its empty output and an error line, classify an error row, training skips it)."""
    data = np.asarray(data)
    _check_shape(header, data)
    raw = data.astype(np.float64)
    defects: list[str] = []
    nan = ~np.isfinite(raw)
    if nan.all():
        raise RecordError(header.record, f"every sample is NaN: {NO_USABLE_LEAD}")
    if nan.any():
        defects.append(f"{int(nan.sum())} non-finite samples set to 0 mV")
    millivolts = (raw - header.baselines[:, None]) / header.gains[:, None]
    millivolts[nan] = 0.0
    signal = np.zeros((len(TWELVE_LEADS), data.shape[1]), dtype=np.float32)
    mask = np.zeros(len(TWELVE_LEADS), dtype=bool)
    for row, name in enumerate(header.leads):
        slot = lead_slot(name)
        if slot is None or mask[slot]:
            continue  # not one of the 12 standard leads, or a duplicate
        usable, defect = _lead_defects(name, np.where(nan[row], 0.0, raw[row]), millivolts[row])
        if defect:
            defects.append(defect)
        if usable:
            signal[slot] = millivolts[row]
            mask[slot] = True
    if not mask.any():
        raise RecordError(header.record, "; ".join([*defects, NO_USABLE_LEAD]))
    return Record(header=header, signal=signal, mask=mask, defects=defects)


def read_record(header_path: str | Path) -> Record:
    """Read `<name>.hea` and `<name>.mat` into a Record (raises RecordError)."""
    header_path = Path(header_path)
    header = read_header(header_path)
    data = load_mat(header_path.with_suffix(".mat"), header.record)
    return make_record(header, data)


def find_records(data_dir: str | Path) -> list[Path]:
    """Header files of a Challenge folder, sorted by name (hidden files skipped)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder {data_dir} does not exist")
    return sorted(Path(entry.path) for entry in os.scandir(data_dir)
                  if entry.name.endswith(".hea") and not entry.name.startswith(".") and entry.is_file())


def require_records(data_dir: str | Path) -> list[Path]:
    """find_records, and one error when the folder holds none: a run that read nothing must
    not look like one that read everything (the driver's loop, training, their commands)."""
    headers = find_records(data_dir)
    if not headers:
        raise FileNotFoundError(f"data folder {Path(data_dir).resolve()} holds no record (no .hea file)")
    return headers


def record_prefix(name: str) -> str:
    """Leading letters of a record name (`HR06000` -> `HR`): the Challenge's source code."""
    match = re.match(r"[A-Za-z]+", name)
    return match.group(0).upper() if match else ""


# ---------------------------------------------------------------------------
# Writing Challenge-format files
# ---------------------------------------------------------------------------

def _checksum(row: np.ndarray) -> int:
    """WFDB checksum: the 16-bit two's-complement sum of the samples."""
    total = int(np.sum(row.astype(np.int64))) & 0xFFFF
    return total - 0x10000 if total >= 0x8000 else total


def format_header(name: str, fs: float, data: np.ndarray, leads: Sequence[str], gains: Sequence[float],
                  baselines: Sequence[int], comments: dict[str, str], style: str = "original",
                  units: str = "mV") -> str:
    """Header text for int16 `data` (leads x samples) stored as `<name>.mat`.

    style "original" writes the Challenge's own form (`1000/mV`, `#Dx:`);
    "wfdb" the form wfdb rewrites it to (`1000.0(0)/mV`, `# Dx:`).
    """
    if style not in ("original", "wfdb"):
        raise ValueError(f"unknown header style {style!r}")
    fs_text = f"{fs:g}"
    lines = [f"{name} {len(leads)} {fs_text} {data.shape[1]}"]
    for row, lead, gain, baseline in zip(data, leads, gains, baselines):
        if style == "original":
            gain_text, fmt = f"{gain:g}/{units}", "16+24"
        else:
            gain_text, fmt = f"{float(gain)}({int(baseline)})/{units}", "16x1+24"
        first = int(row[0]) if row.size else 0
        lines.append(f"{name}.mat {fmt} {gain_text} 16 {int(baseline)} {first} {_checksum(row)} 0 {lead}")
    prefix = "#" if style == "original" else "# "
    lines += [f"{prefix}{key}: {value}" for key, value in comments.items()]
    return "\n".join(lines) + "\n"


def write_mat(path: str | Path, data: np.ndarray) -> None:
    """MATLAB v4 file with one int16 variable `val`, as in the Challenge data."""
    import scipy.io
    scipy.io.savemat(str(path), {"val": np.ascontiguousarray(data, dtype=np.int16)}, format="4")


def extract_leads(src_dir: str | Path, dst_dir: str | Path, leads: Sequence[str]) -> int:
    """Copy every record of src_dir keeping only `leads` (in that order); returns the count.

    The header keeps its comments and each kept signal line verbatim, so a
    reduced-lead copy reads exactly like the organisers' reduced-lead test data.
    """
    dst_dir = Path(dst_dir)
    dst_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    for header_path in find_records(src_dir):
        text = header_path.read_text()
        lines = text.split("\n")
        header = parse_header(text, header_path.stem)
        first = lines[0].split(" ")
        missing = [lead for lead in leads if lead not in header.leads]
        if missing:
            raise RecordError(header.record, f"has no lead {', '.join(missing)} to keep (its leads: "
                                             f"{', '.join(header.leads)})")
        keep = [header.leads.index(lead) for lead in leads]
        data = load_mat(header_path.with_suffix(".mat"), header.record)
        signal_lines = lines[1 : 1 + header.num_signals]
        first[1] = str(len(keep))
        new_lines = [" ".join(first)] + [signal_lines[i] for i in keep] + lines[1 + header.num_signals :]
        (dst_dir / header_path.name).write_text("\n".join(new_lines))
        write_mat(dst_dir / (header_path.stem + ".mat"), data[keep])
        count += 1
    return count
