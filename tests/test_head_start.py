"""The head start: the shipped pretrained weights match their cards and load into the network
the default configuration builds; "auto" uses them below MAX_RECORDS and for that network only;
pretraining reproduces such a file at a tiny scale."""
import hashlib
import json

import numpy as np
import pytest

from ecgcinc.core.config import config_from_dict, with_overrides
from ecgcinc.training import head_start

SHIPPED = sorted(head_start.PRETRAINED.glob("*.npz"))
REPOSITORY_LIMIT_MB = 25  # the pretrained weights and the ready model together (issue "Real records")


def _network(cfg):
    from ecgcinc.training.train import compile_model
    return compile_model(cfg, cfg.preprocess.window, 26, 0, 1)


def test_weights_ship_for_the_size_auto_picks_for_small_data():
    assert [p.stem for p in SHIPPED] == ["small"]


@pytest.mark.parametrize("weights", SHIPPED, ids=lambda p: p.stem)
def test_shipped_weights_match_their_card_and_the_default_network(weights):
    card = head_start.read_card(weights)
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == card["sha256"]
    cfg = config_from_dict({"model": {"size": card["size"]}})
    assert card["architecture"] == json.loads(json.dumps(head_start.architecture(cfg)))
    assert {"version", "records", "seed"} <= set(card["generator"]) and card["commit"]
    assert card["trained_on"]["best_epoch"] >= 1 and "all" in card["real_records"]
    model = _network(cfg)
    head_start.load_weights(model, weights)
    with np.load(weights) as data:
        order = [v for layer in model.layers if layer.name != head_start.SCALING_LAYER for v in layer.weights]
        assert len(order) == card["weights"] == len(data.files)
        for i, variable in enumerate(order):
            np.testing.assert_array_equal(np.asarray(variable.numpy()), data[f"{i:04d}"])


def test_what_ships_stays_small():
    from ecgcinc.serving.ready import READY_MODEL
    files = [*head_start.PRETRAINED.iterdir(), *READY_MODEL.iterdir()]
    assert sum(p.stat().st_size for p in files) < REPOSITORY_LIMIT_MB * 2**20


def test_auto_uses_the_weights_below_the_record_count_and_for_their_network_only(tmp_path):
    cfg = config_from_dict({"model": {"size": "small"}})
    weights = head_start.weights_path("small")
    assert head_start.choose(cfg, head_start.MAX_RECORDS)[0] == weights
    path, reason = head_start.choose(cfg, head_start.MAX_RECORDS + 1)
    assert path is None and "more than" in reason
    assert head_start.choose(with_overrides(cfg, {"train": {"head_start": "off"}}), 100)[0] is None
    assert head_start.choose(with_overrides(cfg, {"model": {"dropout": 0.25}}), 100)[0] is None
    assert head_start.choose(config_from_dict({"model": {"size": "medium"}}), 100)[0] is None
    with pytest.raises(FileNotFoundError, match="no weights file"):
        head_start.choose(with_overrides(cfg, {"train": {"head_start": str(tmp_path / "none.npz")}}), 100)


def test_a_head_start_is_fine_tuned_at_the_configured_share_of_the_learning_rate():
    from ecgcinc.training.train import start_network
    cfg = config_from_dict({"model": {"size": "small"}, "train": {"fine_tune_rate": 0.1}})
    model, start, reason = start_network(cfg, 26, 0, 1, None, 100)
    assert start == head_start.weights_path("small") and "learning rate of 0.001" in reason
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(0.1 * cfg.train.learning_rate)
    with np.load(start) as data:    # and it starts from the weights
        np.testing.assert_array_equal(np.asarray(head_start.network_weights(model)[0][1].numpy()), data["0000"])
    scratch, start, reason = start_network(with_overrides(cfg, {"train": {"head_start": "off"}}), 26, 0, 1, None, 100)
    assert start is None and "learning rate" not in reason                  # from scratch: the full rate
    assert float(np.asarray(scratch.optimizer.learning_rate)) == pytest.approx(cfg.train.learning_rate)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="fine_tune_rate"):
            config_from_dict({"train": {"fine_tune_rate": bad}})


def test_heads_only_fine_tuning_leaves_the_backbone_as_pretrained():
    from ecgcinc.networks.losses import pack_targets
    from ecgcinc.networks.models import backbone_layers
    from ecgcinc.training.train import start_network
    cfg = config_from_dict({"model": {"size": "small"}, "train": {"fine_tuned_layers": "heads"}})
    model, start, reason = start_network(cfg, 26, 0, 1, None, 100)
    assert start is not None and "backbone frozen" in reason
    before = {v.path: np.asarray(v.numpy()).copy() for v in model.weights}
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(4, *model.inputs[0].shape[1:])).astype("float32")
    meta = rng.normal(size=(4, *model.inputs[1].shape[1:])).astype("float32")
    model.fit([signal, meta], {"classes": pack_targets(rng.random((4, 26)) < 0.3, np.ones((4, 26)))},
              epochs=1, verbose=0)
    moved = {v.path for v in model.weights if not np.array_equal(np.asarray(v.numpy()), before[v.path])}
    backbone = {v.path for layer in backbone_layers(model, cfg.model) for v in layer.weights}
    assert backbone and not moved & backbone          # the backbone (its batch statistics too) as pretrained
    assert {v.path for v in model.get_layer("class_dense").weights} <= moved    # the heads trained
    scratch, start, reason = start_network(with_overrides(cfg, {"train": {"head_start": "off"}}), 26, 0, 1, None, 100)
    assert start is None and all(layer.trainable for layer in backbone_layers(scratch, cfg.model))
    with pytest.raises(ValueError, match="fine_tuned_layers"):
        config_from_dict({"train": {"fine_tuned_layers": "backbone"}})


def test_weights_of_another_network_are_refused(tmp_path):
    small = config_from_dict({"model": {"size": "small"}})
    path = tmp_path / "small.npz"
    head_start.save_weights(_network(small), path, {"size": "small"})
    wider = with_overrides(small, {"model": {"filters": [16, 16, 32, 48]}})   # one more projection
    with pytest.raises(ValueError, match="51 weights, the network has 53"):
        head_start.load_weights(_network(wider), path)
    longer = with_overrides(small, {"model": {"kernels": [16, 16, 8, 9]}})    # as many, one of another shape
    with pytest.raises(ValueError, match=r"of layer .* is \(8, 32, 32\), the network's \(9, 32, 32\)"):
        head_start.load_weights(_network(longer), path)


def test_the_trained_test_model_started_from_the_head_start(trained_model):
    history = json.loads((trained_model / "history.json").read_text())
    assert history["head_start"].startswith("head start: small.npz")


@pytest.mark.slow
def test_pretraining_reproduces_a_head_start_at_a_tiny_scale(tmp_path, small_config):
    from ecgcinc.training.pretrain import pretrain
    cfg = small_config(train={"epochs": 2, "patience": 2, "min_epochs": 1})
    weights = pretrain(tmp_path, records=40, seed=3, cfg=cfg, verbose=0)
    card = head_start.read_card(weights)
    assert card["generator"] == {**card["generator"], "records": 40, "seed": 3}
    resolved = with_overrides(cfg, {"model": {"size": "small"}})
    assert head_start.choose(resolved, 100, folder=tmp_path)[0] == weights
    head_start.load_weights(_network(resolved), weights)


def test_the_ready_model_card_reads_the_study_arm_of_its_own_recipe():
    from ecgcinc.evidence.real_records import ARMS, DEFAULT
    from ecgcinc.serving.ready import DEFAULT_ARM
    assert DEFAULT_ARM == DEFAULT and ARMS[DEFAULT]["train"]["generated_mix"] == "auto"
