"""Pretraining the head start: a network trained on a generated corpus of the 2021 training set's
shape, written as the weights `head_start` loads and a card that says how it was made.

Why a module of its own: the shipped weights must be reproducible from the repository alone
(scripts/pretrain.sh), and the card must name everything they depend on: the generator's code,
the records drawn, the epochs, the commit and the configuration the network needs.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..core.version import __version__
from ..core.config import Config, load_config, with_overrides
from ..core.provenance import commit
from ..serving import model_folder
from ..signals import challenge_corpus, synth
from . import head_start
from .train import train

PRETRAIN_OVERRIDES = {"train": {"head_start": head_start.OFF, "generated_mix": "off"}}


def generator_version() -> str:
    """A hash of the generator's code (synth.py and challenge_corpus.py): records drawn with the
    same seed by the same code are the same records."""
    digest = hashlib.sha256()
    for module in (synth, challenge_corpus):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


def pretrain_config(size: str, base: Config | None = None) -> Config:
    """The configuration the head start of `size` is trained with: the defaults at that size,
    from random weights."""
    return with_overrides(base or load_config(), {"model": {"size": size}, **PRETRAIN_OVERRIDES})


def pretrain(out_dir: str | Path, records: int, seed: int, size: str = "small", workers: int = 1,
             cfg: Config | None = None, verbose: int = 1) -> Path:
    """Draw `records` Challenge-shaped records into OUT/corpus, train OUT/model on them (a whole
    model folder: the synthetic-only model) and write OUT/<size>.npz and its card; returns the
    weights' path."""
    out = Path(out_dir)
    corpus = out / "corpus"
    if not any(corpus.glob("*.hea")):
        challenge_corpus.write_corpus(corpus, records / challenge_corpus.FULL_SIZE, seed, workers)
    history = train(corpus, out / "model", pretrain_config(size, cfg), verbose=verbose)
    network = model_folder.load_training_network(out / "model")
    resolved = model_folder.read_config(out / "model")
    weights = head_start.weights_path(size, out)
    head_start.save_weights(network, weights, _card(resolved, history, records, seed))
    return weights


def _card(cfg: Config, history: dict[str, Any], records: int, seed: int) -> dict[str, Any]:
    return {"size": cfg.model.size, "architecture": head_start.architecture(cfg),
            "generator": {"corpus": "challenge_corpus: the 2021 training set's sources, rates, lengths and labels",
                          "version": generator_version(), "records": records, "seed": seed},
            "trained_on": {"records": history["train_records"], "validation_records": history["validation_records"],
                           "best_epoch": history["best_epoch"], "epochs_run": len(history["epochs"])},
            "commit": commit(), "package_version": __version__}
