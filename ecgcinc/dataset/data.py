"""Training examples from a Challenge folder: cached signals, labels, domains.

Kept apart from the trainer so the same examples feed training, validation
scoring and the threshold tools.  Signals come from the preprocessed cache
(cache.py), memory-mapped, so a corpus larger than RAM trains.  A record that
cannot be read is skipped with a one-line warning naming it; so is a repaired
one when the configuration says so; a record without any scored label is left
out, or trains as a negative for every class with `train.unscored_negatives`.
Every record of the folder is accounted for (`Examples.left_out`).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .cache import Progress, SignalStore, open_cache
from ..core.classes import ClassSet
from ..core.config import Config, ModelConfig
from ..signals.preprocess import LEAD_MASK, LEAD_SCALE, network_meta
from ..io.records import record_prefix


@dataclass
class Examples:
    names: list[str]
    signals: SignalStore       # signals[i] is (n_i, 12) float16, preprocessed
    meta: np.ndarray           # (N, N_META)
    features: np.ndarray       # (N, N_FEATURES), classic features, NaN where not measurable
    view_features: np.ndarray  # (N, V - 1, N_FEATURES), the features in each reduced view (cache.py)
    beats: np.ndarray          # (N, MAX_BEATS, len(BEAT_COLUMNS)), the beat tables (beats.py)
    labels: np.ndarray         # (N, C) bool
    domains: np.ndarray        # (N,) int index into domain_names
    domain_names: list[str]
    folder: str = ""           # the folder they were read from, so they can be preprocessed anew
    rates: np.ndarray | None = None  # (N,) the records' own sampling rates (Hz), for the model card
    left_out: dict[str, int] = field(default_factory=dict)  # records of the folder not here, by reason
    generated: np.ndarray | None = None  # (N,) bool, records drawn by the generator (None: none were)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def own(self) -> int:
        """How many of the records are the folder's own (not generated_mix's generated ones)."""
        return len(self) if self.generated is None else int((~self.generated).sum())

    def subset(self, index: np.ndarray) -> "Examples":
        return Examples([self.names[i] for i in index], self.signals.subset(index), self.meta[index],
                        self.features[index], self.view_features[index], self.beats[index], self.labels[index],
                        self.domains[index], self.domain_names, self.folder,
                        None if self.rates is None else self.rates[index], self.left_out,
                        None if self.generated is None else self.generated[index])

    def in_view(self, view: int, masks: np.ndarray) -> "Examples":
        """The same records as their reduced-lead copies in view `view` of `masks`
        (lead_sets.views) would be: the view's features, and the leads outside it absent from
        the signals and the meta vector.  View 0 (all twelve leads) is the records as they are.
        The beat tables stay those of the whole record (the beat branch is an option, off by
        default, and is not fitted per view)."""
        if view == 0:
            return self
        allowed = masks[view]
        meta = self.meta.copy()
        present = (meta[:, LEAD_MASK] > 0) & allowed
        meta[:, LEAD_MASK] = present
        meta[:, LEAD_SCALE] = np.where(present, meta[:, LEAD_SCALE], 0.0)
        return replace(self, signals=self.signals.restricted(allowed), meta=meta,
                       features=self.view_features[:, view - 1])

    def network_meta(self, model: ModelConfig) -> np.ndarray:
        """The meta input of a network with the model's wide and beat branches."""
        return network_meta(self.meta, self.features, self.beats, model)


def with_generated(own: Examples, generated: Examples) -> Examples:
    """`own`'s records, then `generated`'s, marked as generated: one training set.  A source of
    both (a generated CPSC-shaped record and a real CPSC one) is one domain, as it was when both
    lay in one folder; the folder, its accounting and the rates of the card stay `own`'s."""
    names = sorted(set(own.domain_names) | set(generated.domain_names))
    domains = np.concatenate([[names.index(own.domain_names[d]) for d in own.domains],
                              [names.index(generated.domain_names[d]) for d in generated.domains]]).astype(int)
    rates = None if own.rates is None or generated.rates is None else np.concatenate([own.rates, generated.rates])
    mask = np.concatenate([np.zeros(own.own, dtype=bool) if own.generated is None else own.generated,
                           np.ones(len(generated), dtype=bool)])
    return Examples(own.names + generated.names, own.signals.joined(generated.signals),
                    np.concatenate([own.meta, generated.meta]), np.concatenate([own.features, generated.features]),
                    np.concatenate([own.view_features, generated.view_features]),
                    np.concatenate([own.beats, generated.beats]), np.concatenate([own.labels, generated.labels]),
                    domains, names, own.folder, rates, own.left_out, mask)


def domain_of(name: str, mapping: dict[str, str]) -> str:
    """Source database of a record from its name prefix; an unknown prefix is its own domain."""
    prefix = record_prefix(name)
    return mapping.get(prefix, prefix or "unknown")


def warn(message: str) -> None:
    print(f"WARNING {message}", file=sys.stderr, flush=True)


def load_examples(data_dir: str | Path, classes: ClassSet, cfg: Config, progress: Progress | None = None,
                  workers: int = -1, cache_root: str | Path | None = None) -> Examples:
    """The usable, labelled records of data_dir in folder order, through the cache."""
    entry = open_cache(data_dir, cfg.preprocess, cache_root, cfg.train.max_records, workers, progress)
    for name, reason in entry.errors:
        warn(f"skipping {name}: {reason}")
    failed = np.flatnonzero(entry.feature_problems != "")
    if failed.size:
        first = failed[0]
        warn(f"classic features could not be measured for {failed.size} of {len(entry)} records of {data_dir} "
             f"(their features are missing values); the first, {entry.names[first]}: {entry.feature_problems[first]}")
    keep = np.ones(len(entry), dtype=bool)
    if cfg.train.skip_defective:
        for i in np.flatnonzero(entry.defects != ""):
            warn(f"skipping {entry.names[i]}: {entry.defects[i]}")
        keep &= entry.defects == ""
    labels = classes.encode_many(entry.dx)
    unscored = keep & ~labels.any(axis=1) & np.array([len(dx) > 0 for dx in entry.dx], dtype=bool)
    unlabelled = keep & ~labels.any(axis=1) & ~unscored
    keep &= labels.any(axis=1) | (unscored & cfg.train.unscored_negatives)
    left_out = {"unreadable": len(entry.errors), "defective": int((entry.defects != "").sum()) if
                cfg.train.skip_defective else 0, "no diagnosis": int(unlabelled.sum()),
                "no scored diagnosis": 0 if cfg.train.unscored_negatives else int(unscored.sum())}
    index = np.flatnonzero(keep)
    if not len(index):
        raise ValueError(f"no usable record with a scored label in {data_dir}")
    domains = [domain_of(entry.sources[i], cfg.train.domains) for i in index]
    domain_names = sorted(set(domains))
    return Examples([str(entry.names[i]) for i in index], entry.signals.subset(index), entry.meta[index],
                    entry.features[index], entry.view_features[index], entry.beats[index], labels[index],
                    np.array([domain_names.index(d) for d in domains]),
                    domain_names, str(data_dir), np.asarray(entry.fs)[index],
                    {reason: n for reason, n in left_out.items() if n})


def accounting(examples: Examples) -> str:
    """Where every record of the folder went: "248 records: 178 train, 65 without a scored
    diagnosis (left out), 5 defective"."""
    total = len(examples) + sum(examples.left_out.values())
    parts = [f"{n:,} {reason}" for reason, n in examples.left_out.items()]
    return f"{total:,} records: {len(examples):,} usable" + "".join(f", {p}" for p in parts) + (
        " (left out: train.unscored_negatives trains those without a scored diagnosis as negatives)"
        if "no scored diagnosis" in examples.left_out else "")


def reprocessed(examples: Examples, classes: ClassSet, cfg: Config) -> Examples:
    """The same records, in the same order, preprocessed as `cfg` says (through the cache).

    Why: an experiment loads its records once, with its base configuration; an arm that
    changes the preprocessing (rate, filter, scaling) must train and test on its own signals."""
    every = load_examples(examples.folder, classes, cfg)
    position = {name: i for i, name in enumerate(every.names)}
    missing = [name for name in examples.names if name not in position]
    if missing:
        raise ValueError(f"{len(missing)} record(s) of {examples.folder} are not usable with this preprocessing, "
                         f"e.g. {missing[0]}")
    return every.subset(np.array([position[name] for name in examples.names], dtype=int))


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


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number (0..k-1) per record, stratified by label set: the records of each distinct
    combination of labels are shuffled and dealt round the folds in turn, continuing where
    the previous combination stopped, so every fold gets its share of each combination and
    the folds differ in size by at most one record."""
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, not {k}")
    rng = np.random.default_rng(seed)
    _, inverse, counts = np.unique(labels.astype(bool), axis=0, return_inverse=True, return_counts=True)
    folds = np.empty(len(labels), dtype=int)
    position = 0
    for group in np.argsort(-counts, kind="stable"):
        members = rng.permutation(np.flatnonzero(inverse.ravel() == group))
        folds[members] = (position + np.arange(len(members))) % k
        position += len(members)
    return folds
