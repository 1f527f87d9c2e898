"""Leads outside the Challenge's five sets, scored on real records sources never seen in training.

Why: the driver and `classify` score a record whose leads are not one of the five sets (V1 alone,
I and V5) in the smallest view that holds its leads (lead_sets.views_of), often the 12-lead one,
whose network, fusion and thresholds were fitted on records that had their leads; the log says
so, and this says how far to trust it.  The real-record study (real_records.py) left each source
out in turn; here every unit's model folder scores its own held-out records reduced to a subset
(the other leads absent, as in a record file holding only those leads), as the driver would.
The held-out records are pooled per seed, as in the study's first table, and each subset is
compared with the same units' 12-lead scores with the study's paired interval.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.classes import load_classes
from ..decision.thresholds import decide
from ..io.records import TWELVE_LEADS, read_record
from .arms import ARM_HEADER, TEST_FILE, Unit, arm_rows, markdown_table, unit_scores
from .experiments import slug
from .real_records import DEFAULT, headers_by_record

TWELVE = "12 leads"
# The reference and the Challenge's two-lead set first, then the subsets outside the five sets.
SUBSETS: dict[str, tuple[str, ...]] = {TWELVE: TWELVE_LEADS, "2 leads (I, II)": ("I", "II"), "V1 alone": ("V1",),
                                       "II alone": ("II",), "I, V5": ("I", "V5"),
                                       "chest leads V1-V6": ("V1", "V2", "V3", "V4", "V5", "V6")}


def _unit_folders(study: Path, arm: str) -> list[Path]:
    folders = sorted(p.parent for p in (study / "real" / slug(arm)).glob(f"*/{TEST_FILE}"))
    if not folders:
        raise FileNotFoundError(f"no units of arm {arm!r} under {study / 'real'}: run the real-record study first")
    return folders


def _subset_arrays(folder: Path, records: dict, names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(probabilities, binary) of the unit's model folder on its held-out records in every subset,
    all through the driver's path (records read from their files, not the study's cache)."""
    from ..serving.predict import load_predictor  # Keras loads here
    classes = load_classes()
    read = [read_record(records[name]) for name in names]
    result = {}
    for subset, leads in SUBSETS.items():
        predictor = load_predictor(folder / "model", leads)
        probabilities = predictor.probabilities(read)
        binary = decide(probabilities, predictor.thresholds, classes, predictor.cfg.thresholds).astype(bool)
        result[subset] = (probabilities, binary)
    return result


def pooled_units(study: str | Path, arm: str = DEFAULT) -> dict[str, list[Unit]]:
    """Per lead subset, one unit per seed with every split's held-out records stacked."""
    study = Path(study)
    classes = load_classes()
    records = headers_by_record(study / "records")
    parts: dict[str, dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]] = {}
    for folder in _unit_folders(study, arm):
        seed = int(folder.name.rsplit("seed", 1)[1])
        with np.load(folder / TEST_FILE) as data:
            names, labels = [str(n) for n in data["names"]], data["labels"].astype(bool)
        for subset, (probabilities, binary) in _subset_arrays(folder, records, names).items():
            parts.setdefault(subset, {}).setdefault(seed, []).append((labels, binary, probabilities))
    units = {}
    for subset, by_seed in parts.items():
        units[subset] = []
        for seed, pieces in sorted(by_seed.items()):
            labels, binary, probabilities = (np.concatenate(column) for column in zip(*pieces))
            units[subset].append(Unit("all held-out records", seed, unit_scores(classes, labels, binary, probabilities),
                                      labels, binary, {"probabilities": probabilities}))
    return units


def table(study: str | Path, arm: str = DEFAULT) -> str:
    """The subsets against the 12-lead scores of the same units, as Markdown (also written to
    STUDY/real_odd_subsets.md)."""
    units = pooled_units(study, arm)
    rows = arm_rows(load_classes(), units, TWELVE)
    header = ["leads", *ARM_HEADER[1:5], "Δ challenge vs 12 leads [95 % CI]", "verdict"]
    text = markdown_table(header, rows, (
        f"The real-record study's '{arm}' units: each model folder scores the held-out records of the source "
        "it never saw, reduced to the leads named (the others absent), as driver.py would; every held-out "
        "record together, one unit per seed. Intervals: two-stage paired bootstrap, 1000 replicates."))
    (Path(study) / "real_odd_subsets.md").write_text(text)
    return text
