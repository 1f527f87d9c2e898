"""Inference: a loaded model folder turned into probabilities and Challenge outputs.

`Predictor` is built once per model folder (and lead set) and reused for every
record.  A record is preprocessed exactly as in training; a record longer than
the network window is covered by overlapping windows whose probabilities are
averaged, a shorter one is zero-padded.
"""
from __future__ import annotations

import itertools
import json
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import keras
import numpy as np

from . import metrics, models  # importing models also registers the custom layers for loading
from .calibration import Calibration
from .classes import ClassSet
from .config import Config, PreprocessConfig, config_from_dict
from .features import record_features
from .preprocess import inference_windows, network_meta, preprocess_record
from .outputs import write_outputs
from .records import (TWELVE_LEADS, Header, Record, RecordError, find_records, lead_slot, load_mat,
                      make_record, parse_header)
from .thresholds import decide

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
CLASSES_FILE = "classes.json"
THRESHOLDS_FILE = "thresholds.json"
HISTORY_FILE = "history.json"
TRAIN_LABELS_FILE = "train_labels.npy"
CALIBRATION_FILE = "calibration.json"
PROBABILITY_DECIMALS = 6
READ_AHEAD = 4  # records read by the background thread ahead of the model


def _bucket(n: int, largest: int) -> int:
    """Batch size a call is padded to: the next power of two, at most `largest`.  A compiled
    function is specialised per input shape (one XLA program per shape on JAX), so padding
    bounds the number of compilations by log2(largest) + 1 whatever the records' lengths."""
    return min(1 << max(n - 1, 0).bit_length(), largest)


def forward(model: keras.Model, x: np.ndarray, meta: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Class probabilities of windows x (n, T, 12) with meta (n, M), through the model's one
    cached compiled predict function (predict_on_batch), never a per-call model.predict()."""
    out = []
    for i in range(0, len(x), batch_size):
        xb, mb = x[i : i + batch_size], meta[i : i + batch_size]
        pad = _bucket(len(xb), batch_size) - len(xb)
        if pad:
            xb = np.concatenate([xb, np.zeros((pad,) + xb.shape[1:], xb.dtype)])
            mb = np.concatenate([mb, np.zeros((pad,) + mb.shape[1:], mb.dtype)])
        out.append(np.asarray(model.predict_on_batch([xb, mb]))[: len(xb) - pad])
    return np.concatenate(out) if out else np.zeros((0, 0))


def predict_windows(model: keras.Model, windows: Sequence[np.ndarray], meta: np.ndarray,
                    batch_size: int = 64) -> np.ndarray:
    """Mean class probability per record over its windows: windows[i] (w_i, T, 12), meta (N, M)."""
    counts = np.array([len(w) for w in windows])
    out = forward(model, np.concatenate(windows), np.repeat(meta, counts, axis=0).astype(np.float32), batch_size)
    owners = np.repeat(np.arange(len(windows)), counts)
    sums = np.zeros((len(windows), out.shape[1]))
    np.add.at(sums, owners, out)
    return sums / counts[:, None]


def signal_probabilities(model: keras.Model, signals: Sequence[np.ndarray], meta: np.ndarray,
                         cfg: PreprocessConfig, chunk: int = 256) -> np.ndarray:
    """Probabilities of preprocessed signals (n_i, 12), each covered by its inference windows.
    Windows are cut `chunk` records at a time, so scoring a large validation set never holds
    all its windows (float32) in memory at once."""
    parts = [predict_windows(model, [inference_windows(signals[i], cfg) for i in range(start, min(start + chunk,
                             len(signals)))], meta[start : start + chunk])
             for start in range(0, len(signals), chunk)]
    return np.concatenate(parts)


@dataclass
class Scored:
    """Probabilities, decisions and the official scores of labelled, preprocessed records."""
    probabilities: np.ndarray
    binary: np.ndarray
    scores: metrics.Scores


def score_signals(network: keras.Model, signals: Sequence[np.ndarray], meta: np.ndarray, labels: np.ndarray,
                  thresholds: np.ndarray, classes: ClassSet, cfg: Config,
                  calibration: Calibration | None = None) -> Scored:
    """What every scorer of labelled records needs (checkpoint selection, experiments, report),
    through the same windows, calibration, decision rules and metrics as the harness and the
    evaluator.  `meta` is the network's meta input (Examples.network_meta)."""
    probabilities = signal_probabilities(network, signals, meta, cfg.preprocess)
    if calibration is not None:
        probabilities = calibration.apply(probabilities)
    binary = decide(probabilities, thresholds, classes, cfg.thresholds).astype(bool)
    return Scored(probabilities, binary,
                  metrics.score_all(classes.weights, classes.sinus_index, labels, binary, probabilities))


class Predictor:
    """A trained model folder, ready to score records of one lead set."""

    def __init__(self, model_dir: str | Path, network: keras.Model, cfg: Config, classes: ClassSet,
                 thresholds: np.ndarray, leads: Sequence[str] | None = None,
                 calibration: Calibration | None = None):
        self.model_dir = Path(model_dir)
        self.network = network
        self.cfg = cfg
        self.classes = classes
        self.thresholds = thresholds
        self.calibration = calibration or Calibration.identity(len(classes))
        slots = [lead_slot(lead) for lead in leads] if leads else list(range(12))
        self.allowed = np.zeros(12, dtype=bool)
        self.allowed[[s for s in slots if s is not None]] = True

    def inputs(self, record: Record) -> tuple[np.ndarray, np.ndarray]:
        """(preprocessed signal (n', 12), network meta input) of a record, leads outside the
        predictor's lead set counted as absent, exactly as training saw such records."""
        mask = record.mask & self.allowed
        restricted = Record(record.header, np.where(mask[:, None], record.signal, 0.0), mask, record.defects)
        x, meta = preprocess_record(restricted, self.cfg.preprocess)
        wide = self.cfg.model.wide_features
        features = record_features(restricted)[None] if wide else None
        return x, network_meta(meta[None], features, wide)[0]

    def probabilities(self, records: Sequence[Record]) -> np.ndarray:
        """Calibrated class probabilities of records, as the decision rule sees them."""
        signals, metas = zip(*(self.inputs(record) for record in records))
        raw = signal_probabilities(self.network, signals, np.stack(metas), self.cfg.preprocess)
        return self.calibration.apply(raw)

    def outputs(self, record: Record) -> tuple[list[str], list[int], list[float]]:
        """Class names, 0/1 labels and probabilities for one record (Challenge order)."""
        probabilities = self.probabilities([record])[0]
        binary = decide(probabilities[None], self.thresholds, self.classes, self.cfg.thresholds)[0]
        return (self.classes.names, [int(b) for b in binary],
                [round(float(p), PROBABILITY_DECIMALS) for p in probabilities])

    def run(self, header_text: str, recording: np.ndarray) -> tuple[list[str], list[int], list[float]]:
        """run_model's contract: the header text and the raw `val` array of one record."""
        return self.outputs(make_record(parse_header(header_text), recording))


_NETWORKS: dict[Path, tuple[keras.Model, Config, ClassSet]] = {}


def _load_network(model_dir: Path) -> tuple[keras.Model, Config, ClassSet]:
    """The parts of a model folder that only training writes, loaded once per folder."""
    if model_dir not in _NETWORKS:
        missing = [f for f in (MODEL_FILE, CONFIG_FILE, CLASSES_FILE, THRESHOLDS_FILE)
                   if not (model_dir / f).is_file()]
        if missing:
            raise FileNotFoundError(f"model folder {model_dir} lacks {', '.join(missing)}; train a model first")
        cfg = config_from_dict(json.loads((model_dir / CONFIG_FILE).read_text()))
        info = json.loads((model_dir / CLASSES_FILE).read_text())
        classes = ClassSet(codes=tuple(tuple(c) for c in info["codes"]), weights=np.array(info["weights"]))
        network = models.inference_model(keras.saving.load_model(model_dir / MODEL_FILE, compile=False))
        warm_up(network, cfg.preprocess)
        _NETWORKS[model_dir] = (network, cfg, classes)
    return _NETWORKS[model_dir]


def warm_up(network: keras.Model, cfg: PreprocessConfig) -> None:
    """Compile the predict function for one window now, so the first record is not slow."""
    forward(network, np.zeros((1, cfg.window, 12), np.float32), np.zeros((1, network.inputs[1].shape[-1]), np.float32))


def load_calibration(model_dir: Path, num_classes: int) -> Calibration:
    """The folder's calibration; the identity for folders written before calibration existed."""
    path = model_dir / CALIBRATION_FILE
    if not path.is_file():
        return Calibration.identity(num_classes)
    return Calibration.from_dict(json.loads(path.read_text()))


def load_predictor(model_dir: str | Path, leads: Sequence[str] | None = None) -> Predictor:
    """The network is loaded once per folder and shared by the predictors of every lead set;
    thresholds and calibration are read on every call, since re-targeting rewrites them in place."""
    model_dir = Path(model_dir).resolve()
    network, cfg, classes = _load_network(model_dir)
    thresholds = np.array(json.loads((model_dir / THRESHOLDS_FILE).read_text())["thresholds"])
    return Predictor(model_dir, network, cfg, classes, thresholds, leads, load_calibration(model_dir, len(classes)))


def sort_leads(leads: Sequence[str]) -> tuple[str, ...]:
    """Standard leads in 12-lead order, then the others in their given order (the harness's key)."""
    order = {lead: i for i, lead in enumerate(TWELVE_LEADS)}
    return tuple(sorted(leads, key=lambda lead: order.get(lead, len(order) + list(leads).index(lead))))


@dataclass
class _Read:
    """One record's files as read ahead of the model: what was read, or the error."""
    record_id: str
    header_text: str = ""
    header: Header | None = None
    recording: np.ndarray | None = None
    error: Exception | None = None


def _read(path: Path) -> _Read:
    read = _Read(path.stem)
    try:
        read.header_text = path.read_text(errors="replace")
        read.header = parse_header(read.header_text, path.stem)
        read.record_id = read.header.record
        read.recording = load_mat(path.with_suffix(".mat"), read.header.record)
    except (RecordError, OSError, ValueError) as error:
        read.error = error
    return read


def _read_ahead(headers: Sequence[Path], depth: int) -> Iterator[tuple[Path, _Read]]:
    """Records in order, each read by a background thread up to `depth` records ahead, so
    disk and parsing overlap the model's work on the previous record."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: deque = deque()
        paths = iter(headers)
        for path in itertools.islice(paths, depth):
            pending.append((path, pool.submit(_read, path)))
        while pending:
            path, future = pending.popleft()
            for later in itertools.islice(paths, 1):
                pending.append((later, pool.submit(_read, later)))
            yield path, future.result()


def predict_folder(model_dir: str | Path, data_dir: str | Path, out_dir: str | Path, verbose: int = 1,
                   load_model=None, run_model=None, timings: list[float] | None = None) -> int:
    """Write `<record>.csv` for every header in data_dir; returns the number of failed records.

    A record that cannot be read or scored is reported on stderr as one line naming it and
    gets the official harness's empty output, so every record has a file and the run goes on.
    load_model/run_model default to this module's; driver.py passes team_code's.  `timings`,
    when given, receives each record's seconds from its turn to its written output file.
    """
    load_model = load_model or load_predictor
    run_model = run_model or Predictor.run
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    predictors: dict[tuple[str, ...], object] = {}
    headers = find_records(data_dir)
    failures = 0
    for i, (path, read) in enumerate(_read_ahead(headers, READ_AHEAD), 1):
        started = time.perf_counter()
        try:
            if read.error:
                raise read.error
            leads = sort_leads(read.header.leads)
            if leads not in predictors:
                predictors[leads] = load_model(model_dir, leads)
            classes, labels, probabilities = run_model(predictors[leads], read.header_text, read.recording)
        except (RecordError, OSError, ValueError) as error:
            message = str(error) if isinstance(error, RecordError) else f"{path.stem}: {error}"
            print(f"ERROR {message}", file=sys.stderr, flush=True)
            failures += 1
            classes, labels, probabilities = [], [], []
        write_outputs(out_dir / f"{path.stem}.csv", read.record_id, classes, labels, probabilities)
        if timings is not None:
            timings.append(time.perf_counter() - started)
        if verbose:
            print(f"    {i}/{len(headers)} {path.stem}", flush=True)
    return failures
