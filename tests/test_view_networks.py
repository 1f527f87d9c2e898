"""One network per lead-set view (model.network_per_view): the routing, the folder and the cost."""
import json

import numpy as np
import pytest

from ecgcinc.networks.framework import keras
from ecgcinc.signals.lead_sets import lead_mask, views, views_of
from ecgcinc.networks.models import view_members, view_network
from ecgcinc.signals.preprocess import LEAD_MASK, N_META

pytestmark = pytest.mark.usefixtures("eager_functions")  # toy networks (conftest.eager_functions)

WINDOW, CLASSES = 64, 3


def constant_member(value: float) -> keras.Model:
    """A network whose every class probability is `value`, whatever the record."""
    signal, meta = keras.Input((WINDOW, 12)), keras.Input((N_META,))
    pooled = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling1D()(signal), meta])
    out = keras.layers.Dense(CLASSES, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(value),
                             name="classes")(pooled)
    return keras.Model([signal, meta], out)


LEAD_SUBSETS = [None, ["I", "II", "III", "aVR", "aVL", "aVF"], ["I", "II", "III", "aVR", "aVL", "aVF", "V2"],
                ["I"], ["V2"], ["V5"], ["I", "V2"], ["II", "V1"]]


def test_the_routed_network_answers_each_record_from_its_views_member(tmp_path):
    masks = views(True)
    network = view_network([constant_member(v) for v in range(len(masks))], masks)
    present = np.stack([lead_mask(leads) for leads in LEAD_SUBSETS])
    meta = np.zeros((len(present), N_META), np.float32)
    meta[:, LEAD_MASK] = present
    x = np.zeros((len(present), WINDOW, 12), np.float32)
    expected = views_of(present, masks)
    assert expected.tolist() == [0, 1, 2, 1, 2, 0, 2, 0]
    np.testing.assert_array_equal(network.predict_on_batch([x, meta])[:, 0], expected)
    path = tmp_path / "views.keras"
    network.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict_on_batch([x, meta])[:, 0], expected)
    members = view_members(loaded)
    assert [float(m.predict_on_batch([x[:1], meta[:1]])[0, 0]) for m in members] == [0.0, 1.0, 2.0]
    assert view_members(constant_member(0.0)) is None


def test_the_size_rule_counts_every_views_network():
    from ecgcinc.training.sizes import Machine, choose, estimate
    machine = Machine(10, 0)
    one, three = estimate("paper", 88_000, machine, views=3), estimate("paper", 88_000, machine, views=3, networks=3)
    assert three.total_s - one.total_s == pytest.approx(2 * one.epoch_s * one.epochs)
    budget = 1.2 * one.total_s / 0.6  # the paper size fits with one network, not with three
    assert choose(88_000, machine, budget, views=3).size == "paper"
    assert choose(88_000, machine, budget, views=3, networks=3).size != "paper"


def test_one_network_per_view_does_not_combine_with_a_fold_ensemble():
    from ecgcinc.core.config import config_from_dict
    with pytest.raises(ValueError, match="network_per_view"):
        config_from_dict({"model": {"network_per_view": True}, "train": {"ensemble_folds": 3}})


@pytest.mark.slow  # trains three small networks
def test_a_folder_of_view_networks_runs_a_two_lead_record_through_its_own(synthetic_train, small_config,
                                                                        sample_dir, tmp_path):
    import helper_code
    import team_code
    from ecgcinc.serving.harness import harness_record
    from ecgcinc.serving.inference import signal_probabilities
    from ecgcinc.io.records import find_records
    from ecgcinc.training.train import train
    cfg = small_config(model={"network_per_view": True}, train={"epochs": 1, "min_epochs": 1, "max_records": 96})
    history = train(synthetic_train, tmp_path / "model", cfg, verbose=0)
    assert len(history["views"]) == 3 and all(h["train_records"] == history["train_records"] for h in history["views"])
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["model"]["network_per_view"] is True
    predictor = team_code.load_model(str(tmp_path / "model"), ("I", "II"))
    members = view_members(predictor.network)
    assert members is not None and len(members) == 3
    header_path = find_records(sample_dir)[0]
    record = harness_record(helper_code.load_header(str(header_path)),
                            helper_code.load_recording(str(header_path.with_suffix(".mat"))))
    x, meta, _, present = predictor.inputs(record)
    assert present[:6].all() and not present[6:].any()
    own = predictor.network_probabilities([x], meta[None])
    routed = signal_probabilities(predictor.network, [x], meta[None], predictor.cfg.preprocess)
    twelve = signal_probabilities(members[0], [x], meta[None], predictor.cfg.preprocess)
    np.testing.assert_allclose(own, routed, rtol=1e-5, atol=1e-6)
    assert np.abs(own - twelve).max() > 1e-4
    labels, binary, probabilities = team_code.run_model(predictor, helper_code.load_header(str(header_path)),
                                                        helper_code.load_recording(str(header_path.with_suffix(".mat"))))
    assert len(labels) == len(binary) == len(probabilities) == len(predictor.classes)
