"""One source's records, a row each: what a model folder decided, and what each record does to
the source's challenge score.

Why: the challenge metric is normalised by the distance between the true labels and "sinus
rhythm only".  On a source whose records are mostly sinus rhythm alone (PTB-XL's ten among the
project's real records: six of them), that distance is short, so one extra label on one record
moves the source's score by tenths, and a per-source row can rest on two records.  The table
says which: each record's true and output labels, its heart rate (what separates sinus
bradycardia, below 60 per minute, from sinus rhythm) and the source's score without it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.metrics import challenge_metric
from ..dataset.data import domain_of
from ..io.records import find_records, read_record
from ..serving.model_folder import read_config
from ..signals.features import FEATURE_NAMES, record_measures
from .arms import markdown_table
from .folder_comparison import predictions

HEART_RATE = FEATURE_NAMES.index("heart_rate")


def source_headers(data_dirs: list[str | Path], source: str, domains: dict[str, str]) -> list[Path]:
    """The headers of `data_dirs` whose record name places them in `source`."""
    headers = [h for folder in data_dirs for h in find_records(folder) if domain_of(h.stem, domains) == source]
    if not headers:
        raise ValueError(f"no record of source {source!r} in {', '.join(str(d) for d in data_dirs)}")
    return headers


def _named(abbreviations: list[str], row: np.ndarray) -> str:
    return ", ".join(abbreviations[i] for i in np.flatnonzero(row)) or "(none scored)"


def table(model_dir: str | Path, data_dirs: list[str | Path], source: str) -> str:
    """The source's challenge score under `model_dir` and a row per record: labels, outputs,
    heart rate, and the score with that record left out."""
    headers = source_headers(data_dirs, source, read_config(model_dir).train.domains)
    classes, labels, _, binary, _ = predictions(model_dir, headers)
    score = challenge_metric(classes.weights, labels, binary, classes.sinus_index)
    keep = np.ones(len(headers), bool)
    rows = []
    for i, header in enumerate(headers):
        keep[i] = False
        without = challenge_metric(classes.weights, labels[keep], binary[keep], classes.sinus_index)
        keep[i] = True
        rate = record_measures(read_record(header))[0][HEART_RATE]
        rows.append([header.stem, _named(classes.abbreviations, labels[i]), _named(classes.abbreviations, binary[i]),
                     f"{rate:.0f}", f"{without:+.3f}"])
    return markdown_table(["record", "labels", "outputs", "heart rate (/min)", "source's score without it"], rows,
                          f"{source}: {len(headers)} records, challenge metric {score:+.3f} under {model_dir}.")
