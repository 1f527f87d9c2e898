"""The driver's loop over a folder: one Challenge output file per record, whatever happens.

Why apart from the network's predictor: the network (predict.py) and the
feature baseline (baseline.py) write their outputs through this one loop, and
the loop needs no Keras.  Records are read by a background thread ahead of the
model; a record that cannot be read or scored gets one error line naming it and
the official harness's empty output, and the run goes on.
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

import numpy as np

from ..core.classes import ClassSet
from ..core.config import Config
from ..signals.lead_sets import sort_leads
from ..io.outputs import PROBABILITY_DECIMALS, write_outputs
from ..io.records import Header, Record, RecordError, load_mat, make_record, parse_header, require_records
from ..decision.thresholds import decide

READ_AHEAD = 4  # records read by the background thread ahead of the model


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
    except Exception as error:  # any failure is this record's: the loop reports it and goes on
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
    A record that cannot be read or scored, whatever the exception (as the official
    test_model.py, which catches every one), is reported on stderr as one line naming it and
    the exception, and gets the official harness's empty output, so every record has a file
    and the run goes on.  A folder without any record is an error: a run that scored nothing
    must not look like one that scored everything.  `timings`, when given, receives each
    record's seconds from its turn to its written file.
    """
    headers = require_records(data_dir)
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
        except Exception as error:  # noqa: BLE001  one record's failure never stops the run
            message = str(error) if isinstance(error, RecordError) else f"{path.stem}: {type(error).__name__}: {error}"
            print(f"ERROR {message}", file=sys.stderr, flush=True)
            failures += 1
            classes, labels, probabilities = [], [], []
        try:
            write_outputs(out_dir / f"{path.stem}.csv", read.record_id, classes, labels, probabilities)
        except OSError as error:  # a full disk or a lost permission: this record's failure, not the run's
            print(f"ERROR {path.stem}: cannot write its output: {error.strerror or error}", file=sys.stderr, flush=True)
            failures += 1 if classes else 0  # a record that failed already is counted once
        if timings is not None:
            timings.append(time.perf_counter() - started)
        if verbose:
            print(f"    {i}/{len(headers)} {path.stem}", flush=True)
    return failures
