"""Fusion of the network with the feature model: the weights follow the better model per class,
and a fused model folder runs through the harness (and a retrain without fusion drops it)."""
import numpy as np
import pytest

import helper_code
import team_code
from ecgcinc.decision.feature_model import FeatureModel
from ecgcinc.decision.fusion import PRIOR, fit_fusion
from ecgcinc.core.metrics import class_auc
from ecgcinc.serving.model_folder import FUSION_FILE
from ecgcinc.io.records import find_records, load_mat

pytestmark = pytest.mark.usefixtures("eager_functions")  # toy networks (conftest.eager_functions)


class _Fixed(FeatureModel):
    """A feature model whose probabilities are given."""

    def __init__(self, probabilities):
        super().__init__([], probabilities.mean(axis=0))
        self.given = probabilities

    def probabilities_of(self, x):
        return self.given


def test_weights_follow_the_better_model_per_class():
    rng = np.random.default_rng(0)
    labels = rng.random((400, 3)) < 0.2
    labels[:, 2] = False                              # no positive: the network alone
    informative = np.where(labels, 0.8, 0.2) + rng.normal(0, 0.1, labels.shape)
    noise = rng.uniform(0.05, 0.95, labels.shape)
    network = np.stack([informative[:, 0], noise[:, 1], noise[:, 2]], axis=1)
    features = np.stack([noise[:, 0], informative[:, 1], noise[:, 2]], axis=1)
    model = _Fixed(np.clip(features, 0.01, 0.99))
    fusion = fit_fusion(model, labels, np.clip(network, 0.01, 0.99), np.clip(features, 0.01, 0.99))
    assert fusion.weights[0, 0] > fusion.weights[0, 1] and fusion.weights[1, 1] > fusion.weights[1, 0]
    np.testing.assert_allclose(fusion.weights[2], PRIOR)
    fused = fusion.combine(np.clip(network, 0.01, 0.99), model.probabilities_of(np.zeros((400, 1))))
    for k in (0, 1):
        best = max(class_auc(labels[:, k], network[:, k])[0], class_auc(labels[:, k], features[:, k])[0])
        assert class_auc(labels[:, k], fused[:, k])[0] >= best - 0.01


@pytest.mark.slow
def test_a_fused_model_folder_runs_through_the_harness(tmp_path, synthetic_train, small_config, sample_dir):
    from ecgcinc.training.train import train
    cfg = small_config(train={"epochs": 2, "max_records": 160})   # fusion is the default
    train(synthetic_train, tmp_path, cfg, verbose=0)
    assert (tmp_path / FUSION_FILE).is_file()
    header = find_records(sample_dir)[0]
    text = header.read_text()
    model = team_code.load_model(str(tmp_path), helper_code.sort_leads(helper_code.get_leads(text)))
    assert model.fusion is not None
    classes, labels, probabilities = team_code.run_model(model, text, load_mat(header.with_suffix(".mat"),
                                                                              header.stem))
    assert len(classes) == 26 and np.isfinite(probabilities).all() and sum(labels) >= 1
    # the outputs are the network's probabilities fused by the member of the record's view, and
    # the fusion moved them away from the network's own
    from ecgcinc.serving.harness import harness_record
    from ecgcinc.serving.inference import signal_probabilities
    from ecgcinc.signals.lead_sets import view_of
    from ecgcinc.io.outputs import PROBABILITY_DECIMALS
    x, meta, design, present = model.inputs(harness_record(text, load_mat(header.with_suffix(".mat"), header.stem)))
    raw = signal_probabilities(model.network, [x], meta[None], model.cfg.preprocess)
    member = model.fusion.members[view_of(present, model.fusion.views)]
    fused = member.combine(raw, member.feature_model.probabilities_of(design[None]))[0]
    np.testing.assert_allclose(probabilities, np.round(fused, PROBABILITY_DECIMALS), atol=1e-12)
    assert np.abs(fused - raw[0]).max() > 1e-3
    train(synthetic_train, tmp_path, small_config(model={"fusion": False}, train={"epochs": 1, "max_records": 160}),
          verbose=0)
    assert not (tmp_path / FUSION_FILE).exists() and team_code.load_model(str(tmp_path), None).fusion is None


@pytest.mark.slow
def test_a_fold_ensemble_fuses_on_out_of_fold_predictions(synthetic_train, small_config):
    from ecgcinc.core.classes import load_classes
    from ecgcinc.dataset.data import load_examples
    from ecgcinc.training.train import fit_ensemble
    cfg = small_config(train={"epochs": 1, "max_records": 120, "ensemble_folds": 2})
    classes = load_classes()
    fitted = fit_ensemble(load_examples(synthetic_train, classes, cfg), classes, cfg, verbose=0)
    assert fitted.fusion is not None and len(fitted.fusion.members) == len(fitted.fusion.views) == 3
    assert all(m.weights.shape == (len(classes), 3) for m in fitted.fusion.members)
    assert np.isfinite(fitted.held_out).all()
