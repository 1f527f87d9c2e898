"""Known-answer tests of the paired bootstrap, the calibration and the stopping rule."""
import numpy as np
import pytest

from ecgcinc.core import metrics
from ecgcinc.decision.calibration import Calibration, fit_calibration, fit_platt
from ecgcinc.core.config import Config, with_overrides
from ecgcinc.evidence.bootstrap import Comparison, PairedUnit, paired_bootstrap


def _mean_unit(stratum, a, b):
    return PairedUnit(stratum, len(a), lambda idx: float(a[idx].mean()), lambda idx: float(b[idx].mean()))


def test_identical_arms_give_a_zero_interval_and_no_verdict():
    a = np.random.default_rng(0).normal(size=50)
    c = paired_bootstrap([_mean_unit("f1", a, a), _mean_unit("f2", a, a)], replicates=200)
    assert c.difference == 0 and c.low == 0 and c.high == 0
    assert c.verdict == "no detectable difference"


def test_a_constant_shift_is_recovered_exactly_and_called_help_or_hurt():
    a = np.random.default_rng(1).normal(size=40)
    up = paired_bootstrap([_mean_unit("f", a, a + 0.1)], replicates=200)
    assert up.difference == pytest.approx(0.1) and up.low == pytest.approx(0.1) and up.high == pytest.approx(0.1)
    assert up.verdict == "helps"
    assert paired_bootstrap([_mean_unit("f", a, a - 0.1)], replicates=200).verdict == "hurts"


def test_the_verdict_is_read_off_the_whole_interval():
    """An interval that straddles 0 is no verdict, whichever way its middle leans."""
    def verdict(low, high):
        return Comparison((low + high) / 2, low, high, 3).verdict
    assert verdict(0.01, 0.05) == "helps" and verdict(-0.05, -0.01) == "hurts"
    assert verdict(-0.01, 0.05) == verdict(-0.05, 0.01) == verdict(0.0, 0.0) == "no detectable difference"


def test_the_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(2)
    covered = 0
    trials = 120
    for t in range(trials):
        a = rng.normal(size=60)
        b = a + 0.2 + rng.normal(scale=0.5, size=60)   # true mean difference 0.2
        c = paired_bootstrap([_mean_unit("f", a, b)], replicates=300, seed=t)
        covered += c.low <= 0.2 <= c.high
    assert 0.88 <= covered / trials <= 0.99


def test_seed_noise_widens_the_interval():
    """Two seeds that disagree make the interval wider than two seeds that agree."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=80)
    agree = [_mean_unit("f", a, a + 0.05), _mean_unit("f", a, a + 0.05)]
    disagree = [_mean_unit("f", a, a + 0.3), _mean_unit("f", a, a - 0.2)]
    narrow = paired_bootstrap(agree, replicates=400)
    wide = paired_bootstrap(disagree, replicates=400)
    assert wide.high - wide.low > narrow.high - narrow.low + 0.2


def test_units_of_one_stratum_must_share_their_test_records():
    with pytest.raises(ValueError, match="different numbers"):
        paired_bootstrap([_mean_unit("f", np.zeros(5), np.zeros(5)), _mean_unit("f", np.zeros(6), np.zeros(6))])


def test_platt_scaling_fixes_a_miscalibrated_toy_input_and_lowers_ece():
    rng = np.random.default_rng(4)
    n = 4000
    truth = rng.uniform(0.02, 0.98, (n, 3))
    labels = rng.random((n, 3)) < truth
    logit = np.log(truth / (1 - truth))
    skewed = 1 / (1 + np.exp(-(0.4 * logit - 1.5)))     # under-confident and shifted
    before = metrics.expected_calibration_error(labels, skewed)
    calibration = fit_platt(skewed[: n // 2], labels[: n // 2])
    after = metrics.expected_calibration_error(labels[n // 2 :], calibration.apply(skewed[n // 2 :]))
    assert (after < before / 5).all() and (after < 0.05).all()   # 0.05: ECE sampling noise at n = 2000
    assert np.allclose(calibration.slope, 2.5, atol=0.4) and np.allclose(calibration.intercept, 3.75, atol=0.6)
    # monotone per class: ranking-based scores do not move
    calibrated_auroc = metrics.compute_auc(labels, calibration.apply(skewed))[0]
    assert metrics.compute_auc(labels, skewed)[0] == pytest.approx(calibrated_auroc)


def test_calibration_keeps_the_identity_where_it_cannot_be_fitted():
    p = np.random.default_rng(5).random((30, 2))
    labels = np.zeros((30, 2), dtype=bool)
    labels[:10, 0] = True                      # class 1 has no positive
    c = fit_calibration("platt", p, labels)
    assert c.slope[1] == 1 and c.intercept[1] == 0
    assert np.array_equal(fit_calibration("none", p, labels).apply(p), p)
    assert np.allclose(Calibration.from_dict(c.to_dict()).apply(p), c.apply(p))
    with pytest.raises(ValueError, match="unknown calibration"):
        fit_calibration("isotonic", p, labels)


def test_ece_known_answers():
    labels = np.array([[True], [False], [True], [False]])
    assert metrics.expected_calibration_error(labels, np.array([[1.0], [0.0], [1.0], [0.0]]))[0] == 0
    assert metrics.expected_calibration_error(labels, np.full((4, 1), 0.5))[0] == pytest.approx(0.0)
    assert metrics.expected_calibration_error(labels, np.full((4, 1), 0.9))[0] == pytest.approx(0.4)
    assert np.isnan(metrics.expected_calibration_error(np.zeros((4, 1), bool), np.full((4, 1), 0.3))[0])


def _replay(scores, **train):
    """The epoch kept and the epoch stopped at, for a sequence of validation scores."""
    from ecgcinc.training.train import ChallengeSelection
    selection = ChallengeSelection.__new__(ChallengeSelection)
    selection.cfg = with_overrides(Config(), {"train": train})
    selection.best_score, selection.best_epoch = -np.inf, -1
    for epoch, score in enumerate(scores, 1):
        selection.observe(epoch, score)
        if selection.should_stop(epoch):
            return selection.best_epoch, epoch
    return selection.best_epoch, len(scores)


def test_a_noisy_first_epoch_is_never_kept():
    # the default network's measured validation curve: a lucky epoch 1, four poor epochs
    noisy = [0.447, 0.328, 0.337, 0.257, 0.307, 0.412, 0.46, 0.48, 0.47]
    kept, stopped = _replay(noisy, min_epochs=4, patience=6, epochs=30)
    assert kept == 8 and stopped == 9
    # without the rule, patience 4 keeps epoch 1 and stops at epoch 5
    assert _replay(noisy, min_epochs=1, patience=4, epochs=30) == (1, 5)


def test_training_shorter_than_min_epochs_keeps_its_last_epoch():
    assert _replay([0.5, 0.2], min_epochs=4, patience=1, epochs=2) == (2, 2)


def test_a_lead_set_unit_takes_that_lead_sets_arrays_whatever_their_order():
    """in_lead_set must read the reduced copy's outputs, never the 12-lead ones, even when the
    arrays come in another order (pooled units stack them by key)."""
    from ecgcinc.core.classes import load_classes
    from ecgcinc.evidence.arms import Unit, in_lead_set
    classes = load_classes()
    labels = np.zeros((4, len(classes)), dtype=bool)
    labels[:, classes.sinus_index] = True
    twelve, six = labels.copy(), ~labels
    arrays = {"binary@6 leads": six, "probabilities@6 leads": six.astype(float), "binary": twelve,
              "probabilities": twelve.astype(float), "labels": labels}
    unit = in_lead_set(classes, Unit("s", 0, {}, labels, twelve, arrays), "6 leads")
    assert (unit.binary == six).all() and (unit.arrays["probabilities"] == six).all()


def test_within_source_auroc_is_not_hurt_by_an_offset_between_splits_models():
    """Two held-out sources, each ranked perfectly by its own split's model, the first model's
    probabilities 0.5 higher: pooled, the first source's negatives outrank the second's positives;
    each source alone, the class is ranked perfectly."""
    from ecgcinc.core.classes import load_classes
    from ecgcinc.evidence.arms import Unit
    from ecgcinc.evidence.class_scores import class_rows, within_source_rows
    from ecgcinc.evidence.real_records import pooled_units
    classes = load_classes()
    units = []
    for stratum, offset in (("first", 0.5), ("second", 0.0)):
        labels = np.zeros((6, 26), dtype=bool)
        labels[:2, 3] = True                                  # 2 positives of class 3 in each source
        probabilities = np.where(labels, 0.4, 0.1) + offset
        units.append(Unit(stratum, 0, {}, labels, probabilities > 0.5, {"probabilities": probabilities}))
    name = classes.abbreviations[3]
    pooled = dict((row[0], row[2]) for row in class_rows(classes, {"arm": pooled_units(classes, units)})[1])
    within = dict((row[0], row[2]) for row in within_source_rows(classes, {"arm": units})[1])
    assert pooled[name].startswith("0.750") and within[name] == "1.000 ± 0.000"
    assert within["macro AUROC"] == "1.000 ± 0.000" and list(within) == [name, "macro AUROC"]
