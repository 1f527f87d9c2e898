"""The feature model: its compiled trees give scikit-learn's probabilities exactly, for every
class in one call, with missing values routed as the trees learnt."""
import numpy as np
import pytest

from ecgcinc.core.classes import load_classes
from ecgcinc.dataset.data import load_examples
from ecgcinc.decision.feature_model import design_matrix, fit_feature_model


pytestmark = pytest.mark.xdist_group("feature-model-fit")  # one worker fits the module's model


@pytest.fixture(scope="session")
def fitted(synthetic_train, small_config):
    """A model fitted on 160 of the synthetic records (a cache of those alone: fast); session-
    scoped, so a test of another module run in between in the same worker does not drop it."""
    examples = load_examples(synthetic_train, load_classes(), small_config(train={"max_records": 160}))
    return fit_feature_model(examples, seed=0), design_matrix(examples.meta, examples.features)


def test_compiled_trees_equal_predict_proba_to_the_last_bit(fitted):
    model, x = fitted
    rng = np.random.default_rng(0)
    x = x.copy()
    x[rng.random(x.shape) < 0.2] = np.nan              # missing values in columns that had none in training
    got = model.probabilities_of(x)
    fitted_classes = [k for k, c in enumerate(model.classifiers) if c is not None]
    assert len(fitted_classes) >= 10
    for k, classifier in enumerate(model.classifiers):
        want = (classifier.predict_proba(x[:, model.columns[k]])[:, 1] if classifier is not None
                else np.full(len(x), model.prevalence[k]))
        np.testing.assert_array_equal(got[:, k], want)


def test_one_record_and_a_batch_agree(fitted):
    model, x = fitted
    batch = model.probabilities_of(x[:20])
    for i in range(3):
        np.testing.assert_array_equal(model.probabilities_of(x[i : i + 1])[0], batch[i])
    np.testing.assert_array_equal(model.trees.raw(x, chunk=7), model.trees.raw(x))   # rows a chunk at a time


def test_a_small_folder_fits_on_one_openmp_thread(monkeypatch):
    """Thread synchronisation dominates gradient boosting on a few thousand records (feature_model.py)."""
    import os
    from threadpoolctl import threadpool_info
    from ecgcinc.decision import feature_model

    def threads(training, seed):
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"}

    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime the limit applies to)
    monkeypatch.setattr(feature_model, "_fit", threads)
    assert feature_model.fit_feature_model(range(500)) == {1}
    monkeypatch.setattr(feature_model, "SINGLE_THREAD_BELOW", 100)
    if (os.cpu_count() or 1) > 1:
        assert feature_model.fit_feature_model(range(500)) != {1}


def test_a_saved_model_holds_the_compiled_trees_and_predicts_the_same(fitted):
    """A model folder's feature models are unpickled by every load_model: the scikit-learn
    classifiers stay out of the pickle (they took seconds to load), the predictions do not change."""
    import pickle
    model, x = fitted
    saved = pickle.dumps(model)
    assert b"sklearn" not in saved
    loaded = pickle.loads(saved)
    assert loaded.classifiers == [] and model.classifiers  # the fitted object itself keeps them
    np.testing.assert_array_equal(loaded.probabilities_of(x), model.probabilities_of(x))
