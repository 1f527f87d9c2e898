"""The head start: network weights pretrained on the project's generated records, fine-tuned on
the user's own.

Why: most users start with a few hundred labelled ECGs, too few for a network to learn what a
bundle branch block or a long QT looks like; the generator draws such records by the thousand.
A network pretrained on them and then trained on the real records starts from filters that
already see waves and intervals (docs/results.md, "Real records", measures what it is worth).

What ships: ecgcinc/pretrained/<size>.npz (every weight of the network, in the network's own
order) and <size>.json (its card: the generator, the records, the epochs, the commit, the
configuration it needs and its measured scores on real records).  `python -m ecgcinc pretrain`
writes both; scripts/pretrain.sh reproduces the shipped ones.

The rule ("auto", the default): a folder of at most MAX_RECORDS usable records whose network has
exactly the pretrained network's configuration starts from the shipped weights; anything else
starts from random weights, and the history says why.  `{"train": {"head_start": "off"}}` turns
it off; a path names other weights.  The wide path's feature scaling is always set from the
folder's own records, as training from scratch sets it.  Loading costs well under a second and
fine-tuning trains the same epochs as training from scratch, so the size rule and the time budget
need no other term for it; the generated records that train beside the folder's own where the
head start is used (generated_mix.py) have theirs.  The record count is the folder's own usable
records (`Examples.own`), never those generated records.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..core.config import Config
from ..networks.framework import keras

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained"
AUTO, OFF = "auto", "off"
# Above this many usable records the folder's own data trains the network from scratch: the
# shipped weights are of the small size, which "auto" picks below sizes.MEDIUM_MIN_RECORDS.
MAX_RECORDS = 4_800
SCALING_LAYER = "wide_scaling"  # set from the folder's own records, never loaded


def weights_path(size: str, folder: Path = PRETRAINED) -> Path:
    return folder / f"{size}.npz"


def card_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def architecture(cfg: Config) -> dict[str, Any]:
    """What must be equal for pretrained weights to fit a network and mean the same: the model and
    the preprocessing sections of the configuration."""
    return {"model": asdict(cfg.model), "preprocess": asdict(cfg.preprocess)}


def read_card(weights: Path) -> dict[str, Any]:
    path = card_path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights {weights}: no card {path.name} beside them")
    return json.loads(path.read_text())


def choose(cfg: Config, records: int, folder: Path = PRETRAINED) -> tuple[Path | None, str]:
    """The weights the network starts from (None: random) and why, for a folder of `records`
    usable records."""
    setting = cfg.train.head_start
    if setting == OFF:
        return None, "head start off (train.head_start)"
    if setting != AUTO:
        path = Path(setting)
        if not path.is_file():
            raise FileNotFoundError(f"train.head_start: no weights file {path}")
        return path, f"head start from {path} (train.head_start)"
    if records > MAX_RECORDS:
        return None, f"no head start: {records:,} records are more than the {MAX_RECORDS:,} it is used for"
    path = weights_path(cfg.model.size, folder)
    if not path.is_file():
        return None, f"no head start: no pretrained weights ship for size {cfg.model.size!r}"
    if read_card(path)["architecture"] != json.loads(json.dumps(architecture(cfg))):
        return None, "no head start: the configuration's network differs from the pretrained one"
    return path, f"head start: {path.name}, pretrained on generated records ({records:,} records here)"


def learning_rate(cfg: Config, start: Path | None) -> float:
    """The initial learning rate: the configuration's, times train.fine_tune_rate when the network
    starts from a head start (a pretrained network is usually fine-tuned at a smaller rate, so the
    first epochs do not undo what pretraining learned)."""
    return cfg.train.learning_rate * (cfg.train.fine_tune_rate if start is not None else 1.0)


def frozen_backbone(cfg: Config, start: Path | None) -> bool:
    """Whether fine-tuning leaves the backbone as pretrained (train.fine_tuned_layers "heads"):
    with a few hundred records, training only the attention and the heads cannot overwrite the
    filters the generated records taught.  Without a head start every layer trains."""
    return start is not None and cfg.train.fine_tuned_layers == "heads"


def network_weights(model: keras.Model) -> list[tuple[str, Any]]:
    """(layer name, variable) of every weight outside the feature scaling, in the network's order:
    the weights a head start sets and a weight-space ensemble averages."""
    return [(layer.name, variable) for layer in model.layers if layer.name != SCALING_LAYER
            for variable in layer.weights]


def save_weights(model: keras.Model, path: Path, card: dict[str, Any]) -> None:
    """The network's weights as <path> (npz, in the network's order) and its card beside it."""
    order = network_weights(model)
    arrays = {f"{i:04d}": np.asarray(variable.numpy()) for i, (_, variable) in enumerate(order)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    card_path(path).write_text(json.dumps({**card, "sha256": digest, "weights": len(arrays)}, indent=2) + "\n")


def add_to_card(weights: Path, section: dict[str, Any]) -> None:
    """Sections measured after pretraining (the scores on real records) added to the card."""
    card_path(weights).write_text(json.dumps({**read_card(weights), **section}, indent=2) + "\n")


def pretrained_arrays(model: keras.Model, path: Path) -> list[np.ndarray]:
    """The weights of `path`, one per network_weights(model); a file of another network is
    refused, naming the first weight that differs."""
    order = network_weights(model)
    with np.load(path) as data:
        if len(data.files) != len(order):
            raise ValueError(f"{path}: {len(data.files)} weights, the network has {len(order)}")
        arrays = [data[f"{i:04d}"] for i in range(len(order))]
    for i, ((layer, variable), value) in enumerate(zip(order, arrays)):
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"{path}: weight {i} of layer {layer} is {value.shape}, the network's "
                             f"{tuple(variable.shape)}")
    return arrays


def load_weights(model: keras.Model, path: Path) -> None:
    """Set every weight of `model` but the feature scaling from `path`."""
    for (_, variable), value in zip(network_weights(model), pretrained_arrays(model, path)):
        variable.assign(value)
