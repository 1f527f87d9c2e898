"""The ready model: a model folder that ships with the package, for users who have no trained
model yet (`ecgcinc classify path/`, `ecgcinc.load()`).

It was trained on the project's generated corpus and the 248 real Challenge records of
../shared/data (scripts/ready_model.sh reproduces it); its card states its measured scores on
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
