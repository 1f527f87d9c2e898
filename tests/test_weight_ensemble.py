"""The weight-space ensemble (WiSE-FT): every weight but the feature scaling becomes the share of
the fine-tuned one plus the rest of the pretrained one; 1.0 leaves the network as it is."""
import numpy as np
import pytest

from ecgcinc.core.config import config_from_dict
from ecgcinc.training import head_start, weight_ensemble


def _network(cfg):
    from ecgcinc.training.train import compile_model
    return compile_model(cfg, cfg.preprocess.window, 26, 0, 1)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A network saved as the 'pretrained' weights, then moved as fine-tuning would move it."""
    cfg = config_from_dict({"model": {"size": "small"}})
    model = _network(cfg)
    path = tmp_path_factory.mktemp("wise") / "small.npz"
    head_start.save_weights(model, path, {"size": "small"})
    rng = np.random.default_rng(0)
    for _, variable in head_start.network_weights(model):
        value = np.asarray(variable.numpy())
        variable.assign(value + rng.standard_normal(value.shape).astype(value.dtype))
    return model, path


def _values(model):
    return [np.asarray(v.numpy()).copy() for _, v in head_start.network_weights(model)]


def test_the_share_averages_every_weight_with_the_pretrained_one(pair):
    model, path = pair
    tuned, start = _values(model), head_start.pretrained_arrays(model, path)
    scaling = [np.asarray(v.numpy()).copy() for layer in model.layers if layer.name == head_start.SCALING_LAYER
               for v in layer.weights]
    message = weight_ensemble.average(model, path, 0.25)
    assert "0.25 fine-tuned" in message
    for averaged, t, s in zip(_values(model), tuned, start):
        np.testing.assert_allclose(averaged, 0.25 * t + 0.75 * s, rtol=1e-5, atol=1e-6)
    after = [np.asarray(v.numpy()) for layer in model.layers if layer.name == head_start.SCALING_LAYER
             for v in layer.weights]
    assert all(np.array_equal(a, b) for a, b in zip(after, scaling))   # set from the folder's own records


def test_a_share_of_one_keeps_the_fine_tuned_network_and_shares_outside_0_1_are_refused(pair):
    model, path = pair
    before = _values(model)
    assert "kept" in weight_ensemble.average(model, path, 1.0)
    assert all(np.array_equal(a, b) for a, b in zip(_values(model), before))
    with pytest.raises(ValueError, match="fine_tuned_share"):
        config_from_dict({"train": {"fine_tuned_share": 1.5}})
