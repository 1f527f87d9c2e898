"""Trained model folders compared on real records, each as the driver decides, with paired intervals.

Why: a change that acts before training (the generator, pretraining) is judged by what the
folders it yields do on real records: the synthetic-only model before and after a change of the
generator, say, each pretrained with several generator seeds.  Every folder scores every labelled
record of the real folders (those without a scored diagnosis included, as the evaluator scores
them); the folders of one arm are its seeds, and each arm is compared with the first by the
study's two-stage paired bootstrap (seeds, then records).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core.classes import ClassSet
from ..dataset.data import domain_of
from ..decision.thresholds import decide
from ..io.records import find_records, read_dx, read_record
from .arms import ARM_HEADER, Unit, arm_rows, markdown_table, mean_sd, unit_scores

BATCH = 64


def predictions(model_dir: str | Path, headers: list[Path]) -> tuple[ClassSet, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(classes, labels, probabilities, binary outputs, sources) of a model folder on `headers`."""
    from ..serving.predict import load_predictor  # Keras loads here
    predictor = load_predictor(model_dir)
    classes = predictor.classes
    labels = classes.encode_many([read_dx(h) for h in headers])
    probabilities = np.concatenate([predictor.probabilities([read_record(h) for h in headers[i:i + BATCH]])
                                    for i in range(0, len(headers), BATCH)])
    binary = decide(probabilities, predictor.thresholds, classes, predictor.cfg.thresholds).astype(bool)
    sources = np.array([domain_of(h.stem, predictor.cfg.train.domains) for h in headers])
    return classes, labels, probabilities, binary, sources


def compare(arms: dict[str, list[str | Path]], data_dirs: list[str | Path]) -> str:
    """Each arm's folders (its seeds) on every record of `data_dirs`: the arms against the first,
    then the challenge metric per source (mean ± sd over seeds)."""
    if len({len(folders) for folders in arms.values()}) != 1:
        raise ValueError("every arm needs as many folders (seeds) as the others: they are compared seed by seed")
    headers = [h for folder in data_dirs for h in find_records(folder)]
    units: dict[str, list[Unit]] = {}
    per_source: dict[str, dict[str, list[float]]] = {}
    for arm, folders in arms.items():
        units[arm] = []
        for seed, folder in enumerate(folders):
            classes, labels, probabilities, binary, sources = predictions(folder, headers)
            units[arm].append(Unit("all real records", seed, unit_scores(classes, labels, binary, probabilities),
                                   labels, binary, {"probabilities": probabilities}))
            for source in sorted(set(sources)):
                rows = sources == source
                score = unit_scores(classes, labels[rows], binary[rows], probabilities[rows])["challenge"]
                per_source.setdefault(source, {}).setdefault(arm, []).append(score)
    reference = next(iter(arms))
    text = markdown_table(ARM_HEADER, arm_rows(classes, units, reference),
                          f"Every labelled record of {', '.join(str(d) for d in data_dirs)} ({len(headers)}), each "
                          f"arm's folders as its seeds; Δ is each arm minus '{reference}' (two-stage paired bootstrap).")
    rows: list[list[Any]] = [[source, int((sources == source).sum())] + [mean_sd(scores[arm]) for arm in arms]
                             for source, scores in per_source.items()]
    return text + "\n" + markdown_table(["source", "records", *arms], rows,
                                        "Challenge metric per source (mean ± sd over seeds).")
