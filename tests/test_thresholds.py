"""CICST against a hand computation and the directions it must move in; the baselines;
re-targeting a trained model with new costs; the method comparison."""
import json
import shutil

import numpy as np
import pytest

from ecgcinc.core import metrics
from ecgcinc.__main__ import main
from ecgcinc.core.classes import DEFAULT_WEIGHTS, load_classes
from ecgcinc.serving.model_folder import THRESHOLDS_FILE
from ecgcinc.evidence.retarget import compare, format_table, write_csv
from ecgcinc.decision.thresholds import (apply_thresholds, cicst, false_positive_costs, grid_search, imbalance_ratio,
                                proportional, top_k_outputs)

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


# --- searches, re-targeting, comparison ---------------------------------------


def test_grid_search_finds_the_thresholds_that_separate_the_classes():
    """Positives at 0.3-0.4, negatives at 0.05-0.15: every class separates at a threshold
    between the highest negative and the lowest positive.  From a start of 0.6 (nothing predicted, the at-least-one rule aside) the search
    must find such thresholds and score the perfect 1.0."""
    classes = load_classes()
    rng = np.random.default_rng(4)
    labels = rng.random((200, 26)) < 0.15
    labels[np.arange(26), np.arange(26)] = True           # every class has a positive
    probabilities = np.where(labels, rng.uniform(0.3, 0.4, labels.shape), rng.uniform(0.05, 0.15, labels.shape))

    def score(t):
        return metrics.challenge_metric(classes.weights, labels, apply_thresholds(probabilities, t, at_least_one=False),
                                        classes.sinus_index)
    start = np.full(26, 0.6)
    found = grid_search(probabilities, labels, classes.weights, classes.sinus_index, start, rounds=2)
    assert score(start) < 0.5 and score(found) == pytest.approx(1.0)
    assert ((found > probabilities[~labels].max()) & (found <= probabilities[labels].min())).all()


def test_proportional_and_rank_based():
    rng = np.random.default_rng(5)
    probabilities = rng.random((1000, 3))
    train = rng.random((500, 3)) < [0.5, 0.1, 0.0]
    t = proportional(probabilities, train)
    rate = (probabilities >= t).mean(axis=0)
    assert abs(rate[0] - train[:, 0].mean()) < 0.01 and abs(rate[1] - train[:, 1].mean()) < 0.01 and t[2] == 1.0
    assert (top_k_outputs(probabilities, 2).sum(axis=1) == 2).all()


def test_retarget_with_edited_weights_changes_only_that_class(trained_model, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(trained_model, model)
    network_before = (model / "model.keras").read_bytes()
    before = np.array(json.loads((model / THRESHOLDS_FILE).read_text())["thresholds"])
    classes = load_classes()
    j = classes.index("164889003")  # AF: make its false positives cheaper
    rows = [line.split(",") for line in DEFAULT_WEIGHTS.read_text().splitlines()]
    for i in range(1, len(rows)):
        if i - 1 != j:
            rows[i][j + 1] = str(min(1.0, float(rows[i][j + 1]) + 0.3))
    edited = tmp_path / "weights_af.csv"
    edited.write_text("\n".join(",".join(r) for r in rows) + "\n")
    main(["thresholds", str(model), "--weights", str(edited)])
    after = np.array(json.loads((model / THRESHOLDS_FILE).read_text())["thresholds"])
    changed = np.flatnonzero(~np.isclose(before, after))
    trained_on = np.load(model / "train_labels.npy").any(axis=0)
    assert changed.tolist() == ([j] if trained_on[j] else [])
    assert after[j] <= before[j]
    assert (model / "model.keras").read_bytes() == network_before
    assert len(list(model.glob("thresholds.*.json"))) == 1
    assert "weights_af.csv" in capsys.readouterr().out


def test_compare_thresholds_table(trained_model, synthetic_test, tmp_path):
    rows = compare(trained_model, synthetic_test)
    names = [r.method for r in rows]
    assert names[:2] == ["fixed 0.5", "fixed 0.2"] and "grid search" in names and "proportional" in names
    assert sum(n.startswith("CICST beta=") for n in names) == 5
    assert all(np.isfinite([r.challenge, r.accuracy]).all() for r in rows)
    write_csv(rows, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().count("\n") == len(rows) + 1
    assert format_table(rows).count("\n") == len(rows) + 1


def test_load_after_retarget_in_the_same_process_sees_new_thresholds(trained_model, tmp_path):
    from ecgcinc.serving.predict import load_predictor
    from ecgcinc.evidence.retarget import retarget
    model = tmp_path / "model"
    shutil.copytree(trained_model, model)
    before = load_predictor(model).thresholds
    new = retarget(model, method="fixed")
    assert np.allclose(new, 0.5) and not np.allclose(before, new)
    np.testing.assert_allclose(load_predictor(model).thresholds, new)
