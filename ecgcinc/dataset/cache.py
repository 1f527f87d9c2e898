"""Preprocessed-signal cache: every record of a folder is read and preprocessed once.

Reading and filtering 88,000 records takes far longer than an epoch on a GPU,
and researchers re-train many times on the same folder, so the first pass
writes every preprocessed signal (float16) into one flat file that later
trainings memory-map: the signals are paged in on demand and never all held in
RAM.  An entry lives in `<root>/<key>/` where the key hashes the cache format,
the preprocessing configuration and every header and signal file's name, size
and modification time, so changing either builds a new entry and a stale one is
never read.  An entry is built under a temporary name and renamed when
complete: an interrupted build leaves nothing that looks valid.

Files of an entry:
  signals.f16  (total_samples, 12) float16, the records' preprocessed signals one after another
  index.npz    per record: name, offset and length in signals.f16, meta vector, classic features
               and beat table (features.py, beats.py, from the record at its own rate), the classic
               features of every reduced view (lead_sets.views: the record restricted to the view's
               leads, as a reduced-lead record of it would be measured), Dx codes, age, sex, original fs
               and length, repaired defects; plus the records that could not
               be read, with the reason (the source is the name's prefix, derived on opening)
The index keeps Dx codes rather than encoded labels, so one entry serves any class set.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Sequence

import joblib
import numpy as np

from ..core.version import __version__
from ..core.config import PreprocessConfig
from ..io import records
from ..signals import beats, features, lead_sets, preprocess
from ..signals.beats import BEAT_COLUMNS, MAX_BEATS
from ..signals.features import N_FEATURES, checked_measures
from ..signals.lead_sets import as_seen, view_name, views, with_limb_leads
from ..signals.preprocess import N_META, preprocess_record
from ..io.records import Record, RecordError, find_records, read_record, record_prefix

CACHE_ENV = "ECGCINC_CACHE"
FORMAT_VERSION = 6
SIGNALS_FILE = "signals.f16"
INDEX_FILE = "index.npz"
Progress = Callable[[int, int], None]


def default_root() -> Path:
    """$ECGCINC_CACHE, else the user's cache folder (~/.cache/ecgcinc)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecgcinc"


# The modules whose code computes what an entry holds (reading, leads, preprocessing, features,
# beats, and this module's own building): the key carries a hash of their source and the package's
# version, so a user who upgrades (or edits a feature) never trains on values that today's code
# would not compute.  FORMAT_VERSION still names the layout of the files.
COMPUTING_MODULES = (records, lead_sets, preprocess, features, beats, sys.modules[__name__])


@lru_cache(maxsize=1)
def code_hash() -> str:
    digest = hashlib.sha256(__version__.encode())
    for module in COMPUTING_MODULES:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def cache_key(headers: Sequence[Path], cfg: PreprocessConfig) -> str:
    """Hash of the format, the code that computes the entry (code_hash), the preprocessing
    settings and each file's name, size and mtime."""
    digest = hashlib.sha256(json.dumps({"version": FORMAT_VERSION, "code": code_hash(), "preprocess": asdict(cfg)},
                                       sort_keys=True).encode())
    for header in headers:
        for path in (header, header.with_suffix(".mat")):
            try:
                stat = path.stat()
                digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{path.name}\0missing\n".encode())
    return digest.hexdigest()[:24]


class SignalStore:
    """Read-only view of records' signals: store[i] is record i's (n_i, 12) slice of one of the
    store's (total, 12) arrays, without a copy when the array is a memory map.  A folder's entry
    has one array; a store joined from two folders' (a user's and the generated records',
    training/generated_mix.py) keeps both arrays, so neither is copied into memory."""

    def __init__(self, data: np.ndarray | tuple[np.ndarray, ...], offsets: np.ndarray, lengths: np.ndarray,
                 allowed: np.ndarray | None = None, part: np.ndarray | None = None):
        """`part` (N,) names the array of `data` (a tuple) that holds each record; `allowed` (12,)
        bool, when given, zeroes the leads outside it in every slice read (a reduced-lead view of
        the same records, lead_sets.views)."""
        self.arrays = data if isinstance(data, tuple) else (data,)
        self.offsets, self.lengths = np.asarray(offsets), np.asarray(lengths)
        self.part = np.zeros(len(self.offsets), dtype=int) if part is None else np.asarray(part)
        self.allowed = allowed

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.offsets[i])
        signal = self.arrays[self.part[i]][start : start + int(self.lengths[i])]
        return signal if self.allowed is None else np.where(self.allowed, signal, np.float16(0))

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    def subset(self, index: np.ndarray) -> "SignalStore":
        return SignalStore(self.arrays, self.offsets[index], self.lengths[index], self.allowed, self.part[index])

    def restricted(self, allowed: np.ndarray) -> "SignalStore":
        return SignalStore(self.arrays, self.offsets, self.lengths, allowed, self.part)

    def joined(self, other: "SignalStore") -> "SignalStore":
        """This store's records, then `other`'s (neither restricted to a view)."""
        if self.allowed is not None or other.allowed is not None:
            raise ValueError("only whole-lead stores are joined")
        return SignalStore(self.arrays + other.arrays, np.concatenate([self.offsets, other.offsets]),
                           np.concatenate([self.lengths, other.lengths]), None,
                           np.concatenate([self.part, other.part + len(self.arrays)]))


@dataclass
class CacheEntry:
    """An opened cache entry: the index arrays and the memory-mapped signals."""
    path: Path
    names: np.ndarray      # (N,) str, records read successfully
    sources: np.ndarray    # (N,) str, record-name prefix (the source database)
    meta: np.ndarray       # (N, N_META) float32
    features: np.ndarray   # (N, N_FEATURES) float32, NaN where not measurable
    view_features: np.ndarray  # (N, V - 1, N_FEATURES) float32: the features of the reduced views
    beats: np.ndarray      # (N, MAX_BEATS, len(BEAT_COLUMNS)) float16, the beat tables (beats.py)
    dx: list[tuple[str, ...]]
    age: np.ndarray        # (N,) float, NaN when missing
    sex: np.ndarray        # (N,) str, "" when missing
    fs: np.ndarray         # (N,) original sampling frequency
    samples: np.ndarray    # (N,) original number of samples
    defects: np.ndarray    # (N,) str, "; "-joined repaired defects, "" for none
    feature_problems: np.ndarray  # (N,) str, why the features could not be measured ("" when they were)
    errors: list[tuple[str, str]]  # (record, reason) for records that could not be read
    signals: SignalStore
    built_seconds: float   # time the build took; 0.0 when an existing entry was opened

    def __len__(self) -> int:
        return len(self.names)


# Per-record index fields and their stored dtypes.
_FIELDS = {"names": str, "meta": np.float32, "features": np.float32, "view_features": np.float32,
           "beats": np.float16, "dx": str, "age": float, "sex": str, "fs": float, "samples": np.int64,
           "defects": str, "feature_problems": str}


def _prepare(path: Path, cfg: PreprocessConfig) -> tuple[dict | None, np.ndarray | None, tuple[str, str] | None]:
    """One record, in a worker: (index fields, float16 signal, None), or (None, None, (record, reason))."""
    try:
        raw = read_record(path)
        record = with_limb_leads(raw) if cfg.derive_limb_leads else raw
        if not record.mask.any():  # nothing to learn from; inference still answers such a record
            return None, None, (record.name, "; ".join(record.defects))
        x, meta = preprocess_record(record, cfg)
    except RecordError as error:
        return None, None, (error.record, error.problem)
    except (OSError, ValueError) as error:
        return None, None, (path.stem, str(error))
    h = record.header
    features, beat_table, problem = checked_measures(record)
    view_features, view_problem = _view_features(raw, cfg)
    fields = {"names": record.name, "meta": meta, "features": features, "view_features": view_features,
              "beats": beat_table, "feature_problems": problem or view_problem, "dx": ",".join(h.dx),
              "age": h.age, "sex": h.sex or "", "fs": h.fs, "samples": h.num_samples,
              "defects": "; ".join(record.defects)}
    return fields, x.astype(np.float16), None


def _view_features(raw: Record, cfg: PreprocessConfig) -> tuple[np.ndarray, str]:
    """(V - 1, N_FEATURES): the record's classic features in each reduced view, measured as a
    reduced-lead copy of it is at inference (restricted, then its limb leads derived), and the
    first view's failure ('' when none failed)."""
    reduced = views(cfg.derive_limb_leads)[1:]
    measured = [checked_measures(as_seen(raw, allowed, cfg.derive_limb_leads)) for allowed in reduced]
    problems = [f"in the {view_name(allowed)} view: {problem}" for allowed, (_, _, problem)
                in zip(reduced, measured) if problem]
    features = np.stack([f for f, _, _ in measured]) if measured else np.zeros((0, N_FEATURES), np.float32)
    return features, problems[0] if problems else ""


def _build(headers: Sequence[Path], cfg: PreprocessConfig, target: Path, workers: int,
           progress: Progress | None) -> None:
    """Preprocess every record in worker processes and append its signal to the flat file;
    results arrive in folder order, so the index order is the folder order."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        columns: dict[str, list] = {key: [] for key in _FIELDS}
        lengths: list[int] = []
        errors: list[tuple[str, str]] = []
        jobs = joblib.Parallel(n_jobs=workers if len(headers) > 64 else 1, batch_size=16, return_as="generator")
        with open(staging / SIGNALS_FILE, "wb") as out:
            results = jobs(joblib.delayed(_prepare)(path, cfg) for path in headers)
            for i, (fields, x, error) in enumerate(results, 1):
                if error:
                    errors.append(error)
                else:
                    out.write(np.ascontiguousarray(x).tobytes())
                    lengths.append(len(x))
                    for key, value in fields.items():
                        columns[key].append(value)
                if progress:
                    progress(i, len(headers))
        index = {key: np.array(values, dtype=_FIELDS[key]) for key, values in columns.items()}
        index["meta"] = index["meta"].reshape(-1, N_META)
        index["features"] = index["features"].reshape(-1, N_FEATURES)
        index["view_features"] = index["view_features"].reshape(len(lengths), -1, N_FEATURES)
        index["beats"] = index["beats"].reshape(-1, MAX_BEATS, len(BEAT_COLUMNS))
        sizes = np.array(lengths, dtype=np.int64)
        np.savez(staging / INDEX_FILE, **index, lengths=sizes,
                 offsets=np.cumsum(sizes) - sizes,
                 error_names=np.array([e[0] for e in errors], dtype=str),
                 error_reasons=np.array([e[1] for e in errors], dtype=str))
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / INDEX_FILE).is_file():  # not a concurrent build finishing first
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _open(path: Path, built_seconds: float) -> CacheEntry:
    with np.load(path / INDEX_FILE, allow_pickle=False) as index:
        arrays = {key: index[key] for key in index.files}
    total = int(arrays["lengths"].sum())
    data = (np.memmap(path / SIGNALS_FILE, dtype=np.float16, mode="r", shape=(total, 12)) if total
            else np.zeros((0, 12), dtype=np.float16))
    return CacheEntry(path=path, names=arrays["names"], sources=np.array([record_prefix(n) for n in arrays["names"]],
                      dtype=str), meta=arrays["meta"], features=arrays["features"],
                      view_features=arrays["view_features"], beats=arrays["beats"],
                      dx=[tuple(d.split(",")) if d else () for d in arrays["dx"]], age=arrays["age"],
                      sex=arrays["sex"], fs=arrays["fs"], samples=arrays["samples"], defects=arrays["defects"],
                      feature_problems=arrays["feature_problems"],
                      errors=list(zip(arrays["error_names"].tolist(), arrays["error_reasons"].tolist())),
                      signals=SignalStore(data, arrays["offsets"], arrays["lengths"]),
                      built_seconds=built_seconds)


def writable_root(root: Path) -> Path:
    """The cache root, or a temporary folder when it cannot be created or written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=root)
        probe.close()
        return root
    except OSError as error:
        fallback = Path(tempfile.gettempdir()) / "ecgcinc-cache"
        print(f"WARNING cache folder {root} is not writable ({error}); using {fallback}", file=sys.stderr)
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def spread(headers: Sequence[Path], count: int) -> list[Path]:
    """`count` of the headers, evenly spaced through the sorted folder: records are named by
    source, so each source keeps its share (the first `count` would be the first sources only)."""
    if count <= 0 or count >= len(headers):
        return list(headers)
    return [headers[i] for i in np.unique(np.linspace(0, len(headers) - 1, count).round().astype(int))]


def seconds_per_record(headers: Sequence[Path], cfg: PreprocessConfig, sample: int = 8) -> float:
    """What caching costs per record on one core, timed on `sample` records spread through the
    folder, in this process (the time budget's plan uses it before the cache is built)."""
    chosen = spread(headers, sample)
    started = time.perf_counter()
    for path in chosen:
        _prepare(path, cfg)
    return (time.perf_counter() - started) / max(len(chosen), 1)


def is_cached(data_dir: str | Path, cfg: PreprocessConfig, root: str | Path | None = None, max_records: int = 0) -> bool:
    """Whether open_cache would open an existing entry rather than build one."""
    headers = spread(find_records(data_dir), max_records)
    return (Path(root) if root else default_root()).joinpath(cache_key(headers, cfg), INDEX_FILE).is_file()


def open_cache(data_dir: str | Path, cfg: PreprocessConfig, root: str | Path | None = None,
               max_records: int = 0, workers: int = -1, progress: Progress | None = None) -> CacheEntry:
    """The cache entry of data_dir under cfg, built first if there is none (or the files changed);
    with `max_records`, of that many records spread through the folder."""
    headers = spread(find_records(data_dir), max_records)
    root = writable_root(Path(root) if root else default_root())
    target = root / cache_key(headers, cfg)
    if (target / INDEX_FILE).is_file():
        return _open(target, 0.0)
    started = time.perf_counter()
    _build(headers, cfg, target, workers, progress)
    return _open(target, time.perf_counter() - started)


def progress_printer(label: str, stream=None) -> Progress:
    """A progress line with rate and time left: redrawn in place on a terminal, about every
    10 % otherwise (so logs stay short).  The stream defaults to the stderr of the moment (not
    of the import, which a test's capture may have replaced and closed since)."""
    stream = stream or sys.stderr
    started = time.perf_counter()
    interactive = stream.isatty()

    def report(done: int, total: int) -> None:
        if not interactive and done != total and done % max(total // 10, 1):
            return
        elapsed = max(time.perf_counter() - started, 1e-9)
        rate = done / elapsed
        left = (total - done) / rate if rate else float("inf")
        line = f"{label} {done}/{total} ({rate:.0f}/s, {left:.0f} s left)"
        end = "\n" if done == total or not interactive else ""
        print(("\r" if interactive else "") + line, end=end, file=stream, flush=True)
    return report
