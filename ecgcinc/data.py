"""Training examples from a Challenge folder: read, check, label, preprocess.

Kept apart from the trainer so the same examples feed training, validation
scoring and the threshold tools.  A record that cannot be read is skipped with
a one-line warning naming it; so is a repaired one when the configuration says
so; a record without any scored label is left out (it teaches nothing the
scoring asks for).  Records are read in parallel worker processes (joblib),
results in folder order, and signals are kept as float16 to halve the memory
of a large corpus.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import joblib
import numpy as np

from .classes import ClassSet
from .config import Config
from .preprocess import preprocess_record
from .records import RecordError, find_records, read_record, record_prefix


@dataclass
class Examples:
    names: list[str]
    signals: list[np.ndarray]  # each (n_i, 12) float16, preprocessed
    meta: np.ndarray           # (N, N_META)
    labels: np.ndarray         # (N, C) bool
    domains: np.ndarray        # (N,) int index into domain_names
    domain_names: list[str]

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, index: np.ndarray) -> "Examples":
        return Examples([self.names[i] for i in index], [self.signals[i] for i in index], self.meta[index],
                        self.labels[index], self.domains[index], self.domain_names)


def domain_of(name: str, mapping: dict[str, str]) -> str:
    """Source database of a record from its name prefix; an unknown prefix is its own domain."""
    prefix = record_prefix(name)
    return mapping.get(prefix, prefix or "unknown")


def warn(message: str) -> None:
    print(f"WARNING {message}", file=sys.stderr, flush=True)


def _load_one(path: Path, classes: ClassSet, cfg: Config) -> tuple[str, object]:
    """("ok", (name, x, meta, labels)), ("skip", warning) or ("unlabelled", name) for one header."""
    try:
        record = read_record(path)
    except RecordError as error:
        return "skip", f"skipping {error}"
    if record.defects and cfg.train.skip_defective:
        return "skip", f"skipping {record.name}: {'; '.join(record.defects)}"
    y = classes.encode(record.header.dx)
    if not y.any():
        return "unlabelled", record.name
    x, meta = preprocess_record(record, cfg.preprocess)
    return "ok", (record.name, x.astype(np.float16), meta, y)


def load_examples(data_dir: str | Path, classes: ClassSet, cfg: Config,
                  progress: Callable[[int, int], None] | None = None, workers: int = -1) -> Examples:
    headers = find_records(data_dir)
    if cfg.train.max_records:
        headers = headers[: cfg.train.max_records]
    names, signals, metas, labels, domains = [], [], [], [], []
    jobs = joblib.Parallel(n_jobs=workers if len(headers) > 64 else 1, batch_size=32, return_as="generator")
    results = jobs(joblib.delayed(_load_one)(path, classes, cfg) for path in headers)
    for i, (kind, payload) in enumerate(results):
        if progress:
            progress(i + 1, len(headers))
        if kind == "skip":
            warn(payload)
        elif kind == "ok":
            name, x, meta, y = payload
            names.append(name), signals.append(x), metas.append(meta), labels.append(y)
            domains.append(domain_of(name, cfg.train.domains))
    if not names:
        raise ValueError(f"no usable record with a scored label in {data_dir}")
    domain_names = sorted(set(domains))
    return Examples(names, signals, np.stack(metas), np.stack(labels),
                    np.array([domain_names.index(d) for d in domains]), domain_names)


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices; records are grouped by their rarest label and each group
    is split in proportion, so rare classes appear on both sides."""
    rng = np.random.default_rng(seed)
    counts = labels.sum(axis=0)
    rarity = np.where(labels, counts[None, :], np.inf)
    group = np.argmin(rarity, axis=1)
    train, validation = [], []
    for g in np.unique(group):
        members = rng.permutation(np.flatnonzero(group == g))
        take = int(round(fraction * len(members)))
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        validation.extend(members[:take]), train.extend(members[take:])
    return np.sort(np.array(train, dtype=int)), np.sort(np.array(validation, dtype=int))
