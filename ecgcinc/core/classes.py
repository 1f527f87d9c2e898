"""The scored SNOMED-CT classes and the Challenge benefit matrix W.

Everything that needs "which classes are scored" or "how much is a confusion
between class i and class j worth" (the evaluator, the loss weights Mw, the
CICST thresholds) reads it from one `ClassSet`, built from a weights.csv in
the official format.  Equivalent codes share a column written `a|b`; they are
one class here, so a record labelled `59118001` counts as `713427006|59118001`.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

# The official 2021 weights, shipped inside the package (the harness's top-level weights.csv is
# the same file; tests/test_docs.py checks both against the official checksum).
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "weights.csv"
SINUS_RHYTHM = "426783006"


@dataclass(frozen=True)
class ClassSet:
    """Scored classes (each a tuple of equivalent codes) and their benefit matrix."""

    codes: tuple[tuple[str, ...], ...]
    weights: np.ndarray
    _lookup: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup: dict[str, int] = {}
        for index, group in enumerate(self.codes):
            for code in group:
                if code in lookup:
                    raise ValueError(f"code {code} appears in two scored classes")
                lookup[code] = index
        object.__setattr__(self, "_lookup", lookup)
        if self.weights.shape != (len(self.codes), len(self.codes)):
            raise ValueError("weights matrix does not match the number of classes")

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def names(self) -> list[str]:
        """Column names as written in weights.csv (equivalent codes joined by '|')."""
        return ["|".join(group) for group in self.codes]

    @property
    def abbreviations(self) -> list[str]:
        """Short names for plots and tables ('AF', 'PVC|VPB'); a code without one stays a code."""
        known = _mapping("Abbreviation")
        return ["|".join(known.get(code, code) for code in group) for group in self.codes]

    @property
    def descriptions(self) -> list[str]:
        """What each class is ('atrial fibrillation'), equivalent codes' names joined by '|'."""
        known = _mapping("Dx")
        return ["|".join(known.get(code, code) for code in group) for group in self.codes]

    def index(self, code: str) -> int | None:
        """Class index of a SNOMED code, or None for an unscored code."""
        return self._lookup.get(code.strip())

    def encode(self, codes: Iterable[str]) -> np.ndarray:
        """Multi-hot vector of the scored classes among `codes`; unscored codes are ignored."""
        vector = np.zeros(len(self.codes), dtype=bool)
        for code in codes:
            index = self.index(code)
            if index is not None:
                vector[index] = True
        return vector

    def encode_many(self, label_lists: Sequence[Iterable[str]]) -> np.ndarray:
        """(records, classes) boolean label matrix."""
        if not label_lists:
            return np.zeros((0, len(self.codes)), dtype=bool)
        return np.stack([self.encode(codes) for codes in label_lists])

    @property
    def sinus_index(self) -> int:
        index = self.index(SINUS_RHYTHM)
        if index is None:
            raise ValueError("the sinus rhythm class (426783006) is not among the scored classes")
        return index


@lru_cache(maxsize=2)
def _mapping(column: str) -> dict[str, str]:
    """SNOMED code -> the column ("Abbreviation", "Dx") of the organisers' scored-class mapping."""
    path = Path(__file__).resolve().parents[1] / "resources" / "dx_mapping_scored.csv"
    with open(path, newline="") as handle:
        return {row["SNOMEDCTCode"]: row[column] for row in csv.DictReader(handle)}


def _parse_weights_table(text: str, source: str) -> tuple[list[str], list[str], np.ndarray]:
    rows = [[cell.strip() for cell in line.split(",")] for line in text.splitlines() if line.strip()]
    if len(rows) < 2:
        raise ValueError(f"{source}: weights table is empty")
    columns = rows[0][1:]
    body = rows[1:]
    if any(len(row) != len(columns) + 1 for row in body):
        raise ValueError(f"{source}: weights table rows have different lengths")
    row_names = [row[0] for row in body]
    values = np.empty((len(body), len(columns)))
    for i, row in enumerate(body):
        for j, cell in enumerate(row[1:]):
            try:
                values[i, j] = float(cell)
            except ValueError:
                values[i, j] = np.nan
            if not 0.0 <= values[i, j] <= 1.0:  # a NaN would spread into the metric and the thresholds
                raise ValueError(f"{source}: row {i + 2} ({row[0]}), column {j + 2} ({columns[j]}): {cell!r} is not "
                                 "a weight between 0 and 1")
    return row_names, columns, values


def load_classes(weights_file: str | Path | None = None) -> ClassSet:
    """Read a weights.csv (official layout: first row and first column are class names)."""
    path = Path(weights_file) if weights_file is not None else DEFAULT_WEIGHTS
    row_names, columns, values = _parse_weights_table(path.read_text(), str(path))
    row_sets = [frozenset(name.split("|")) for name in row_names]
    col_sets = [frozenset(name.split("|")) for name in columns]
    if row_sets != col_sets:
        raise ValueError(f"{path}: row and column classes differ")
    codes = tuple(tuple(code.strip() for code in name.split("|")) for name in columns)
    return ClassSet(codes=codes, weights=values)
