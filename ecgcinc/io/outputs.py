"""The Challenge output file: four lines `#record`, classes, 0/1 labels, probabilities.

Writing formats each value with `str()`, as the official harness does, so this
project's driver and the organisers' test_model.py produce identical bytes.
Reading is lenient in the ways the official evaluator is: columns in any
order, equivalent codes split over several columns (labels combined with
"any", probabilities with the mean), labels written 0/1/True/False, missing
or non-finite probabilities read as 0.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

import numpy as np

from ..core.classes import ClassSet

_TRUE_WORDS = {"true", "t"}
PROBABILITY_DECIMALS = 6  # probabilities are written rounded to this many decimals


def format_outputs(record: str, classes: Sequence[str], labels: Sequence[object],
                   probabilities: Sequence[object]) -> str:
    rows = [f"#{record}", ",".join(str(c) for c in classes), ",".join(str(v) for v in labels),
            ",".join(str(p) for p in probabilities)]
    return "\n".join(rows) + "\n"


def _umask() -> int:
    """The process's umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Files are created readable by others as the official harness creates them (0644 under the usual
# umask): a model trained as root in a container is then used by another user, and organisers'
# runners read the outputs.  mkstemp alone would leave them 0600.
FILE_MODE = 0o666 & ~_umask()


def atomic_save(path: str | Path, save: Callable[[str], object]) -> None:
    """Call save(temporary_path) beside path and rename the result to path, so a crash never
    leaves half a file in place of a good one.  The temporary name keeps path's suffix, for
    writers that check it (Keras insists on .keras); the file gets FILE_MODE."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    try:
        save(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """atomic_save for writers of an open binary handle."""
    def save(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            write(handle)
    atomic_save(path, save)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode()))


def write_outputs(path: str | Path, record: str, classes: Sequence[str], labels: Sequence[object],
                  probabilities: Sequence[object]) -> None:
    atomic_write_text(path, format_outputs(record, classes, labels, probabilities))


def _is_positive(entry: str) -> bool:
    entry = entry.strip()
    if entry.lower() in _TRUE_WORDS:
        return True
    try:
        return float(entry) == 1.0
    except ValueError:
        return False


def _finite_or_zero(entry: str) -> float:
    try:
        value = float(entry)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def read_outputs(path: str | Path, classes: ClassSet) -> tuple[np.ndarray, np.ndarray]:
    """(binary, probabilities) vectors over the scored classes from one output file."""
    lines = Path(path).read_text().split("\n")
    lines += [""] * (4 - len(lines))
    columns = [entry.strip() for entry in lines[1].split(",")]
    labels = [entry.strip() for entry in lines[2].split(",")]
    scalars = [entry.strip() for entry in lines[3].split(",")]
    named = [c for c in columns if c]
    if named and (len(labels) < len(columns) or len(scalars) < len(columns)):
        raise ValueError(f"{Path(path).name}: {len(columns)} classes but {len(labels)} labels "
                         f"and {len(scalars)} probabilities")
    hits: dict[int, list[tuple[bool, float]]] = {}
    for k, column in enumerate(columns):
        indices = {classes.index(code) for code in column.split("|")} - {None}
        for index in indices:
            hits.setdefault(index, []).append((_is_positive(labels[k]), _finite_or_zero(scalars[k])))
    binary = np.zeros(len(classes), dtype=bool)
    probabilities = np.zeros(len(classes), dtype=np.float64)
    for index, values in hits.items():
        binary[index] = any(flag for flag, _ in values)
        probabilities[index] = float(np.mean([p for _, p in values]))
    return binary, probabilities
