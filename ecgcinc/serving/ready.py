"""The ready model: a model folder that ships with the package, for users who have no trained
model yet (`ecgcinc classify path/`, `ecgcinc.load()`).

It was trained as `train_model.py` trains a small folder: from the head start (pretrained on the
project's generated corpus), on the 248 real Challenge records of ../shared/data with about 500
generated records beside them (scripts/ready_model.sh reproduces it); its card states its measured scores on
real records and its limits.  It is a start, not a substitute for training on the full
Challenge data: its real-record scores were measured on six sources and a few hundred records.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .model_folder import CONFIG_FILE

READY_MODEL = Path(__file__).resolve().parents[1] / "ready_model"


def is_model_folder(path: str | Path) -> bool:
    return (Path(path) / CONFIG_FILE).is_file()


def split_model(arguments: Sequence[str]) -> tuple[Path, list[str]]:
    """(model folder, inputs) of a command line whose model folder may be left out: a first
    argument that is a model folder names the model, else the ready model classifies them all."""
    if arguments and is_model_folder(arguments[0]):
        return Path(arguments[0]), list(arguments[1:])
    return READY_MODEL, list(arguments)


LIMITS = ("Trained on 248 real records of six sources (most of them CPSC, Georgia and Chapman-Ningbo) "
          "and about 500 generated ones, after pretraining on 2,000 generated ones; the scores above are for sources it never saw, measured "
          "with the same recipe leaving one source out, on a few hundred records, so their intervals are "
          "wide. PTB-XL's records, most labelled normal sinus rhythm alone, score below zero: it names "
          "extra classes on normal records. Classes its real sources rarely annotate (long QT, T-wave "
          "changes, nonspecific intraventricular block) it ranks little better than chance on unseen "
          "sources (docs/results.md, \"Real records\"). It is no substitute for a model trained on the full "
          "Challenge data (88,253 records): train your own with `python train_model.py DATA MODEL`. It is "
          "not a medical device.")


DEFAULT_ARM = "default (head start, generated + real)"  # evidence/real_records.py's name of the recipe


def describe(model_dir: str | Path, study_dir: str | Path, arm: str = DEFAULT_ARM) -> None:
    """The ready model's card gains the real-record study's scores for its recipe (`arm`): on
    every held-out record together and per held-out source, with its limits."""
    from . import card
    study = Path(study_dir)
    overall = next(row for row in _csv_rows(study / "real.csv") if row["arm"] == arm)
    per_source = {row["held-out source"]: {"records": int(row["records"]), "challenge": row[arm]}
                  for row in _csv_rows(study / "real_sources.csv")}
    how = (f"Leave one source out on the 248 real records, {overall['units']} seed(s): challenge metric "
           f"{overall['challenge']} (mean ± sd over seeds) on every held-out record together, each scored by a "
           f"model that never saw its source; per held-out source below (mean ± sd over seeds). Study: "
           f"scripts/real_records.sh at commit {_commit(study, arm)}.")
    written = card.read(model_dir)
    card.write(model_dir, {**written, "real_records": {"how": how, "per_source": per_source, "limits": LIMITS}})


def _csv_rows(path: Path) -> list[dict[str, str]]:
    import csv
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _commit(study: Path, arm: str) -> str:
    import json
    import re
    results = sorted(study.glob(f"real/{re.sub(r'[^a-z0-9]+', '-', arm.lower()).strip('-')}/*/result.json"))
    return json.loads(results[0].read_text())["commit"] if results else "unknown"
