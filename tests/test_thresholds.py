"""CICST against a hand computation, and the directions it must move in."""
import numpy as np
import pytest

from ecgcinc.thresholds import apply_thresholds, cicst, false_positive_costs, imbalance_ratio

W = np.array([[1.0, 0.5], [0.5, 1.0]])
LABELS = np.array([[1, 0], [1, 1], [0, 1], [1, 0]], dtype=bool)


def test_cicst_by_hand():
    # normalised labels x (1 - W), own labels zeroed: [0,.5], [0,0], [.5,0], [0,.5] -> mean [.125, .25]
    np.testing.assert_allclose(false_positive_costs(LABELS, W), [0.125, 0.25])
    np.testing.assert_allclose(imbalance_ratio(LABELS), [1 / 3, 1.0])
    np.testing.assert_allclose(cicst(LABELS, W, beta=0.0), [0.125 / 1.125, 0.25 / 1.25])
    np.testing.assert_allclose(cicst(LABELS, W, beta=1.0), [0.75, 0.5])
    c = np.sqrt([0.125 * 3, 0.25 * 1])
    np.testing.assert_allclose(cicst(LABELS, W, beta=0.5), c / (c + 1))


def test_rarer_class_gets_a_lower_threshold():
    rng = np.random.default_rng(0)
    w = np.full((3, 3), 0.4) + 0.6 * np.eye(3)
    common = rng.random((400, 3)) < [0.3, 0.3, 0.3]
    rare = common.copy()
    rare[:, 2] &= rng.random(400) < 0.2
    for beta in (0.25, 0.5, 1.0):
        assert cicst(rare, w, beta)[2] < cicst(common, w, beta)[2]


def test_cheaper_false_positives_lower_the_threshold():
    rng = np.random.default_rng(1)
    labels = rng.random((300, 3)) < 0.3
    w = np.full((3, 3), 0.3) + 0.7 * np.eye(3)
    cheap = w.copy()
    cheap[:, 1] = np.where(np.eye(3)[:, 1] == 1, 1.0, 0.9)  # predicting class 1 wrongly costs little
    before, after = cicst(labels, w, 0.5), cicst(labels, cheap, 0.5)
    assert after[1] < before[1]
    np.testing.assert_allclose(after[[0, 2]], before[[0, 2]])


def test_class_without_positives_is_never_predicted():
    labels = np.array([[1, 0], [1, 0]], dtype=bool)
    assert cicst(labels, W, 0.5)[1] == 1.0


def test_beta_outside_range_is_rejected():
    with pytest.raises(ValueError):
        cicst(LABELS, W, 1.5)


def test_apply_thresholds_post_rules():
    p = np.array([[0.1, 0.2, 0.05], [0.9, 0.8, 0.1]])
    t = np.array([0.5, 0.5, 0.5])
    np.testing.assert_array_equal(apply_thresholds(p, t), [[0, 1, 0], [1, 1, 0]])
    np.testing.assert_array_equal(apply_thresholds(p, t, at_least_one=False), [[0, 0, 0], [1, 1, 0]])
    np.testing.assert_array_equal(apply_thresholds(p, t, sinus_index=1, exclusive_with_sinus=(0,)),
                                  [[0, 1, 0], [1, 0, 0]])
