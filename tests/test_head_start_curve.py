"""The head start's curve on real records: the draw of fewer training records and the paired
change of the head start's gain between two record counts."""
import numpy as np
import pytest

from ecgcinc.core.classes import load_classes
from ecgcinc.evidence.arms import Unit
from ecgcinc.evidence.head_start_curve import fewer_records, gain_change
from ecgcinc.evidence.real_records import DEFAULT, SCRATCH

SPLITS = [("CPSC", np.arange(10, 110), np.arange(10)), ("Georgia", np.arange(0, 90), np.arange(90, 110))]


def test_fewer_records_draws_the_share_once_per_split_from_its_training_rows():
    half = fewer_records(SPLITS, 0.5)
    assert [len(rest) for _, rest, _ in half] == [50, 45]
    for (name, rest, test), (_, all_rest, all_test) in zip(half, SPLITS):
        assert set(rest) <= set(all_rest) and np.array_equal(test, all_test)
    again = fewer_records(SPLITS, 0.5)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(half, again))
    assert fewer_records(SPLITS, 1.0) is SPLITS
    with pytest.raises(ValueError, match="fraction"):
        fewer_records(SPLITS, 0.0)


def _units(labels: np.ndarray, binary: np.ndarray) -> list[Unit]:
    return [Unit("all held-out records", seed, {}, labels, binary, {}) for seed in range(3)]


def test_the_gain_change_is_above_zero_when_the_head_start_pays_more_with_fewer_records():
    classes = load_classes()
    labels = np.zeros((40, len(classes.codes)), dtype=bool)
    labels[np.arange(40), np.arange(40) % len(classes.codes)] = True
    right, wrong = _units(labels, labels.copy()), _units(labels, np.roll(labels, 1, axis=1))
    fewer = {DEFAULT: right, SCRATCH: wrong}       # the head start gains a lot with fewer records
    more = {DEFAULT: right, SCRATCH: right}        # and nothing with more
    shrinking = gain_change(classes, fewer, more)
    assert shrinking.difference > 0.3 and shrinking.low > 0
    growing = gain_change(classes, more, fewer)
    assert growing.difference < -0.3 and growing.high < 0
