"""The generated records that join a small folder's training (training/generated_mix.py): when
they join, how they are joined, and that the head start still counts the folder's own records."""
import json

import numpy as np
import pytest

from ecgcinc.core.classes import load_classes
from ecgcinc.core.config import config_from_dict, with_overrides
from ecgcinc.dataset.data import load_examples, with_generated
from ecgcinc.signals import synth
from ecgcinc.signals.lead_sets import views
from ecgcinc.training import generated_mix, head_start
from ecgcinc.training.budget import TimeBudget
from ecgcinc.training.sizes import Machine

DEFAULT_SMALL = config_from_dict({"model": {"size": "small"}})


def _mix(cfg, setting):
    return with_overrides(cfg, {"train": {"generated_mix": setting}})


def test_auto_adds_them_exactly_where_the_package_head_start_is_used():
    assert generated_mix.decide(DEFAULT_SMALL, 200)[0]
    assert not generated_mix.decide(DEFAULT_SMALL, head_start.MAX_RECORDS + 1)[0]
    assert not generated_mix.decide(with_overrides(DEFAULT_SMALL, {"model": {"dropout": 0.25}}), 200)[0]
    off = with_overrides(DEFAULT_SMALL, {"train": {"head_start": "off"}})
    wanted, reason = generated_mix.decide(off, 200)
    assert not wanted and "package's own head start" in reason
    assert generated_mix.decide(_mix(off, "on"), 200)[0]
    assert not generated_mix.decide(_mix(DEFAULT_SMALL, "off"), 200)[0]
    with pytest.raises(ValueError, match="auto, on or off"):
        generated_mix.decide(_mix(DEFAULT_SMALL, "yes"), 200)


def test_the_time_budget_keeps_them_out_when_they_would_not_fit():
    machine = Machine(2.0, 0)
    assert generated_mix.decide(DEFAULT_SMALL, 200, TimeBudget(3600.0), machine)[0]
    wanted, reason = generated_mix.decide(DEFAULT_SMALL, 200, TimeBudget(30.0), machine)
    assert not wanted and "time budget" in reason


@pytest.fixture(scope="module")
def two_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("mix")
    synth.write_dataset(root / "own", 10, seed=1, sources=["XA", "XB"])
    synth.write_dataset(root / "generated", 8, seed=2, sources=["XB", "XC"])
    cfg = config_from_dict({"model": {"size": "small"}})
    classes = load_classes()
    return load_examples(root / "own", classes, cfg), load_examples(root / "generated", classes, cfg)


def test_joined_examples_keep_every_record_and_merge_a_shared_source(two_folders):
    own, generated = two_folders
    joined = with_generated(own, generated)
    assert len(joined) == len(own) + len(generated) and joined.own == len(own)
    assert joined.generated.tolist() == [False] * len(own) + [True] * len(generated)
    assert joined.domain_names == ["Synthetic-A", "Synthetic-B", "Synthetic-C"]
    for part, offset in ((own, 0), (generated, len(own))):
        for i in range(len(part)):
            assert np.array_equal(joined.signals[offset + i], part.signals[i])
            assert joined.domain_names[joined.domains[offset + i]] == part.domain_names[part.domains[i]]
    later = joined.subset(np.array([len(own) + 1, 0]))
    assert later.generated.tolist() == [True, False] and later.own == 1
    assert np.array_equal(later.signals[0], generated.signals[1])
    view = joined.in_view(1, views(False))
    assert not view.signals[len(own)][:, ~views(False)[1]].any()


@pytest.mark.slow
def test_training_adds_them_and_the_head_start_counts_the_folder_own_records(tmp_path, monkeypatch, cache_root):
    """A folder right at the head start's limit: with the generated records the training set is
    larger than the limit, yet the network starts from the head start, and the card and the
    history say how many records were generated."""
    from ecgcinc.training.train import train
    synth.write_dataset(tmp_path / "data", 24, seed=4)
    cfg = with_overrides(DEFAULT_SMALL, {"train": {"epochs": 1, "min_epochs": 1, "generated_records": 20}})
    usable = len(load_examples(tmp_path / "data", load_classes(), cfg))
    monkeypatch.setattr(head_start, "MAX_RECORDS", usable)
    history = train(tmp_path / "data", tmp_path / "model", cfg, verbose=0)
    generated = json.loads((tmp_path / "model" / "card.json").read_text())["training_data"]["generated_records"]
    assert generated >= 16 and history["train_records"] + history["validation_records"] == usable + generated
    assert history["head_start"].startswith("head start: small.npz")
    assert f"{generated} generated records (seed {generated_mix.SEED})" in history["generated_mix"]
    assert len(list((cache_root / generated_mix.FOLDER).glob("*/*.hea"))) >= generated
