"""Inference: a loaded model folder turned into probabilities and Challenge outputs.

`Predictor` is built once per model folder (and lead set) and reused for every
record.  A record is preprocessed exactly as in training; a record longer than
the network window is covered by overlapping windows whose probabilities are
averaged, a shorter one is zero-padded.
"""
from __future__ import annotations

import itertools
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .framework import keras
import numpy as np

from . import model_folder
from .calibration import Calibration
from .classes import ClassSet
from .config import Config
from .baseline import design_matrix
from .data import Examples
from .features import record_measures
from .fusion import Fusion
from .inference import signal_probabilities
from .preprocess import network_meta, preprocess_record
from .outputs import PROBABILITY_DECIMALS, write_outputs
from .records import (TWELVE_LEADS, Header, Record, RecordError, find_records, lead_slot, load_mat,
                      make_record, parse_header)
from .thresholds import decide

READ_AHEAD = 4  # records read by the background thread ahead of the model


def lead_mask(leads: Sequence[str] | None) -> np.ndarray:
    """(12,) bool: the standard slots of a lead set (all twelve for None)."""
    slots = [lead_slot(lead) for lead in leads] if leads else list(range(12))
    allowed = np.zeros(12, dtype=bool)
    allowed[[s for s in slots if s is not None]] = True
    return allowed


def restricted(record: Record, allowed: np.ndarray) -> Record:
    """The record with the leads outside `allowed` absent (zeros, masked), as training saw
    records of a reduced lead set."""
    mask = record.mask & allowed
    return Record(record.header, np.where(mask[:, None], record.signal, 0.0), mask, record.defects)


def harness_record(header_text: str, recording: np.ndarray) -> Record:
    """run_model's arguments (header text, raw `val` array) as a Record; a record with repaired
    defects (flat, clipped or NaN leads; no usable lead at all) gets one warning line naming it."""
    record = make_record(parse_header(header_text), recording)
    if record.defects:
        print(f"WARNING {record.name}: {'; '.join(record.defects)}", file=sys.stderr, flush=True)
    return record


def decided_outputs(probabilities: np.ndarray, thresholds: np.ndarray, classes: ClassSet,
                    cfg: Config) -> tuple[list[str], list[int], list[float]]:
    """Class names, 0/1 labels and rounded probabilities of one record (Challenge order)."""
    binary = decide(probabilities[None], thresholds, classes, cfg.thresholds)[0]
    return (classes.names, [int(b) for b in binary], [round(float(p), PROBABILITY_DECIMALS) for p in probabilities])


class Predictor:
    """A trained model folder, ready to score records of one lead set."""

    def __init__(self, model_dir: str | Path, network: keras.Model, cfg: Config, classes: ClassSet,
                 thresholds: np.ndarray, leads: Sequence[str] | None = None,
                 calibration: Calibration | None = None, fusion: Fusion | None = None):
        self.model_dir = Path(model_dir)
        self.network = network
        self.cfg = cfg
        self.classes = classes
        self.thresholds = thresholds
        self.calibration = calibration or Calibration.identity(len(classes))
        self.fusion = fusion
        self.allowed = lead_mask(leads)

    def inputs(self, record: Record) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(preprocessed signal (n', 12), network meta input, the feature model's input or None
        without fusion) of a record, leads outside the predictor's lead set counted as absent,
        exactly as training saw such records."""
        record = restricted(record, self.allowed)
        x, meta = preprocess_record(record, self.cfg.preprocess)
        model = self.cfg.model
        measured = model.wide_features or model.beat_branch or self.fusion is not None
        features, beat_table = record_measures(record) if measured else (None, None)
        measures = (features[None], beat_table[None]) if measured else (None, None)
        design = design_matrix(meta[None], features[None])[0] if self.fusion else None
        return x, network_meta(meta[None], *measures, model)[0], design

    def probabilities(self, records: Sequence[Record]) -> np.ndarray:
        """Calibrated class probabilities of records, as the decision rule sees them."""
        signals, metas, designs = zip(*(self.inputs(record) for record in records))
        raw = signal_probabilities(self.network, signals, np.stack(metas), self.cfg.preprocess)
        features = self.fusion.feature_model.probabilities_of(np.stack(designs)) if self.fusion else None
        return self._calibrated(raw, features)

    def examples_probabilities(self, examples: Examples) -> np.ndarray:
        """Calibrated probabilities of cached examples (retargeting, the report), by the same
        network, fusion and calibration as records."""
        raw = signal_probabilities(self.network, examples.signals, examples.network_meta(self.cfg.model),
                                   self.cfg.preprocess)
        return self._calibrated(raw, self.fusion.feature_model.probabilities(examples) if self.fusion else None)

    def _calibrated(self, raw: np.ndarray, features: np.ndarray | None) -> np.ndarray:
        """The network's raw probabilities fused with the feature model's (when the folder has a
        fusion), then calibrated."""
        return self.calibration.apply(self.fusion.combine(raw, features) if self.fusion else raw)

    def outputs(self, record: Record) -> tuple[list[str], list[int], list[float]]:
        """Class names, 0/1 labels and probabilities for one record (Challenge order)."""
        return decided_outputs(self.probabilities([record])[0], self.thresholds, self.classes, self.cfg)

    def run(self, header_text: str, recording: np.ndarray) -> tuple[list[str], list[int], list[float]]:
        """run_model's contract: the header text and the raw `val` array of one record."""
        return self.outputs(harness_record(header_text, recording))


def load_predictor(model_dir: str | Path, leads: Sequence[str] | None = None) -> Predictor:
    """The network is loaded once per folder version and shared by the predictors of every lead
    set; thresholds and calibration are read on every call, since re-targeting rewrites them."""
    model_dir = model_folder.check(model_dir)
    network = model_folder.load_network(model_dir)
    cfg, classes = model_folder.read_config(model_dir), model_folder.read_classes(model_dir)
    decision = model_folder.read_decision(model_dir, len(classes))
    return Predictor(model_dir, network, cfg, classes, decision.thresholds, leads, decision.calibration,
                     model_folder.read_fusion(model_dir, cfg))


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

    The model folder is checked and loaded before any record is read: a folder that cannot be
    read or loaded is one ModelFolderError for the run.  load_model/run_model default to this
    module's; driver.py passes team_code's.  See write_folder for the records.
    """
    model_folder.check(model_dir)  # before any record is read or any output written
    load_model = load_model or load_predictor
    try:  # the network is loaded once, for every lead set: a folder that cannot load fails the run here
        first = load_model(model_dir, TWELVE_LEADS)
    except Exception as error:
        raise model_folder.ModelFolderError(f"model folder {Path(model_dir).resolve()} cannot be loaded: "
                                            f"{error}") from error
    scorer = per_lead_set(lambda leads: load_model(model_dir, leads), {TWELVE_LEADS: first})
    return write_folder(data_dir, out_dir, scorer, run_model or Predictor.run, verbose, timings)


def per_lead_set(make: Callable[[tuple[str, ...]], object],
                 made: dict[tuple[str, ...], object] | None = None) -> Callable[[tuple[str, ...]], object]:
    """A scorer for write_folder: make(leads) once per lead set, then the same object."""
    made = {} if made is None else made

    def scorer(leads: tuple[str, ...]) -> object:
        if leads not in made:
            made[leads] = make(leads)
        return made[leads]
    return scorer


def write_folder(data_dir: str | Path, out_dir: str | Path, scorer: Callable[[tuple[str, ...]], object],
                 run: Callable[[object, str, np.ndarray], tuple], verbose: int = 1,
                 timings: list[float] | None = None) -> int:
    """`<record>.csv` (named by the header file) for every header in data_dir, from
    run(scorer(record's leads), header text, recording); returns the number of failed records.

    The network's driver and the feature baseline write their outputs through this one loop.
    A record that cannot be read or scored is reported on stderr as one line naming it and
    gets the official harness's empty output, so every record has a file and the run goes on.
    `timings`, when given, receives each record's seconds from its turn to its written file.
    """
    headers = find_records(data_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for i, (path, read) in enumerate(_read_ahead(headers, READ_AHEAD), 1):
        started = time.perf_counter()
        try:
            if read.error:
                raise read.error
            classes, labels, probabilities = run(scorer(sort_leads(read.header.leads)), read.header_text,
                                                 read.recording)
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
