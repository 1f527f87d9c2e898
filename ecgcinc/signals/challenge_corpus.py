"""A synthetic corpus with the 2021 Challenge training set's shape, for dry runs at its scale.

Why: the real corpus (88,253 records from eight sources) cannot be downloaded here, yet the
question "does training fit the organisers' machine and time" is about its shape: how many
records each source has, at which rate and how long (INCART's 74 half-hour records at 257 Hz
weigh as much as 18,000 ten-second ones), and which labels each source writes.  This module
draws records with the synthetic generator (synth.py) from eight sources with those facts:
the record counts and rates of the 2021 training set, and label priors and annotation habits
from the real per-source counts in dx_mapping_scored.csv (a class a source never writes is
a class it does not annotate).  `scale` writes a fraction of every source (at least one record
each), so a quarter-size run keeps the proportions.

Record names follow the real ones (A, Q, I, S, HR, E, JS), so the domains come out as for the
real folders; Chapman-Shaoxing and Ningbo share the JS prefix as they do in the real data.
"""
from __future__ import annotations

import csv
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..io.records import write_mat
from .synth import ALL_LABELS, CODES, SOURCES, Source, generate_record

MAPPING = Path(__file__).resolve().parents[1] / "resources" / "dx_mapping_scored.csv"
# The generator's labels whose real counts include an equivalent code's (scored as one class).
EQUIVALENT = {"CRBBB": "59118001", "CLBBB": "164909002", "PAC": "63593006", "PVC": "17338001"}
NORMAL_SHARE_OF_SINUS = 0.5      # of the records labelled sinus rhythm, this share carry nothing else


@dataclass(frozen=True)
class Database:
    """One source of the 2021 training set: its facts, and the acquisition it is drawn with."""
    name: str
    column: str                  # its column in dx_mapping_scored.csv
    prefix: str
    records: int
    fs: float
    duration_s: tuple[float, float]
    first_number: int = 1        # Ningbo's names continue Chapman-Shaoxing's JS numbering
    device: str = "XA"           # the synthetic source whose device (gain, noise, filter, header) it uses


DATABASES: tuple[Database, ...] = (
    Database("CPSC", "CPSC", "A", 6_877, 500, (6, 60)),
    Database("CPSC-Extra", "CPSC_Extra", "Q", 3_453, 500, (6, 60), device="XD"),
    Database("INCART", "StPetersburg", "I", 74, 257, (1800, 1800), device="XB"),
    Database("PTB", "PTB", "S", 516, 1000, (30, 120), device="XC"),
    Database("PTB-XL", "PTB_XL", "HR", 21_837, 500, (10, 10)),
    Database("Georgia", "Georgia", "E", 10_344, 500, (5, 10), device="XD"),
    Database("Chapman-Shaoxing", "Chapman_Shaoxing", "JS", 10_247, 500, (10, 10)),
    Database("Ningbo", "Ningbo", "JS", 34_905, 500, (10, 10), first_number=10_248),
)
FULL_SIZE = sum(d.records for d in DATABASES)


def _counts(mapping: Path = MAPPING) -> dict[str, dict[str, int]]:
    """Real records per (SNOMED code, source column)."""
    with open(mapping, newline="") as handle:
        return {row["SNOMEDCTCode"]: {d.column: int(row[d.column]) for d in DATABASES} for row in csv.DictReader(handle)}


def source_of(database: Database, counts: dict[str, dict[str, int]]) -> Source:
    """The synthetic source drawn for a database: its device's acquisition, its rate and lengths,
    and priors and habits from the real counts."""
    def real(label: str, code: str) -> int:
        return counts.get(code, {}).get(database.column, 0)
    prevalence = {label: (real(label, code) + real(label, EQUIVALENT.get(label, ""))) / database.records
                  for label, code in CODES.items()}
    normal = NORMAL_SHARE_OF_SINUS * prevalence["NSR"]
    priors = {label: min(share / (1 - normal), 0.9) for label, share in prevalence.items() if label != "NSR"}
    annotates = frozenset(label for label in ALL_LABELS if prevalence[label] > 0)
    alt_codes = {label: EQUIVALENT[label] for label in EQUIVALENT
                 if real(label, EQUIVALENT[label]) > real(label, CODES[label])}
    return replace(SOURCES[database.device], prefix=database.prefix, description=f"{database.name} (synthetic)",
                   fs=database.fs, duration_s=database.duration_s, priors={"normal": normal, **priors},
                   annotates=annotates, alt_codes=alt_codes)


def scaled_counts(scale: float) -> dict[str, int]:
    """Records per database at `scale` of the full size, at least one each."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale}")
    return {d.name: max(1, int(round(d.records * scale))) for d in DATABASES}


def _write_one(out_dir: str, source: Source, name: str, seed: np.random.SeedSequence) -> str:
    record = generate_record(source, name, np.random.default_rng(seed))
    Path(out_dir, f"{name}.hea").write_text(record.header_text())
    write_mat(Path(out_dir, f"{name}.mat"), record.adc)
    return name


def write_corpus(out_dir: str | Path, scale: float, seed: int = 0, workers: int = 1) -> dict[str, int]:
    """Write the corpus at `scale` into out_dir; returns the records written per database.
    Deterministic for a seed whatever the number of workers."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts, real = scaled_counts(scale), _counts()
    jobs = []
    for database, stream in zip(DATABASES, np.random.SeedSequence(seed).spawn(len(DATABASES))):
        source = source_of(database, real)
        for i, child in enumerate(stream.spawn(counts[database.name])):
            jobs.append((source, f"{database.prefix}{database.first_number + i:05d}", child))
    if workers <= 1:
        for job in jobs:
            _write_one(str(out_dir), *job)
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:  # no fork of a threaded process
            list(pool.map(_write_one, [str(out_dir)] * len(jobs), *zip(*jobs), chunksize=8))
    return counts
