"""The time budget: the guard never starts an epoch it cannot finish, cuts a first epoch that
would not fit, keeps back the time the thresholds and saving need, and a tiny budget still
leaves a model folder that the harness uses."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from ecgcinc import budget as budget_module
from ecgcinc.budget import EpochGuard, TimeBudget


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def simulate(guard, clock, epochs, steps, batch_s, scoring_s):
    """Drive the guard as Keras's fit loop does; returns the (start, end) of every epoch run."""
    guard.set_model(SimpleNamespace(stop_training=False))
    ran = []
    for epoch in range(epochs):
        start = clock.now
        guard.on_epoch_begin(epoch)
        for step in range(steps):
            clock.now += batch_s
            guard.on_train_batch_end(step)
            if guard.model.stop_training:
                break
        clock.now += scoring_s            # the selection callback scores the validation set
        guard.model.stop_training = False  # ... and, as ChallengeSelection does, resets the flag
        guard.on_epoch_end(epoch)
        ran.append((start, clock.now))
        if guard.model.stop_training:
            break
    return ran


@pytest.mark.parametrize("seconds", [80.0, 100.0, 160.0, 333.0])
def test_guard_never_starts_an_epoch_it_cannot_finish(seconds):
    clock = FakeClock()
    budget = TimeBudget(seconds, 0.0, clock)
    guard = EpochGuard(budget, steps=10, batch_size=4, validation_records=8)
    ran = simulate(guard, clock, epochs=30, steps=10, batch_s=2.0, scoring_s=5.0)  # 25-s epochs
    assert len(ran) < 30 and "stopped after epoch" in guard.reason
    assert all(end - start == pytest.approx(25.0) for start, end in ran)  # no epoch was cut ...
    assert ran[-1][1] + guard.reserve() <= seconds                       # ... and the rest still fits
    assert ran[-1][1] + 25.0 + guard.reserve() > seconds                 # one more epoch would not have
    assert guard.reserve() == pytest.approx(5.0 + budget_module.SAVE_ALLOWANCE_S)


def test_guard_cuts_a_first_epoch_that_would_not_finish():
    clock = FakeClock()
    guard = EpochGuard(TimeBudget(30.0, 0.0, clock), steps=10, batch_size=4, validation_records=8)
    ran = simulate(guard, clock, epochs=30, steps=10, batch_s=2.0, scoring_s=1.0)
    assert len(ran) == 1 and "epoch 1 cut after 2 of 10 batches" in guard.reason
    assert ran[0][1] + guard.reserve() <= 30.0


def test_an_exhausted_budget_still_trains_one_batch():
    clock = FakeClock()
    clock.now = 50.0
    guard = EpochGuard(TimeBudget(10.0, 0.0, clock), steps=10, batch_size=4, validation_records=8)
    ran = simulate(guard, clock, epochs=5, steps=10, batch_s=1.0, scoring_s=1.0)
    assert len(ran) == 1 and "cut after 1 of 10" in guard.reason


def test_shares_split_what_is_left():
    clock = FakeClock()
    whole = TimeBudget(100.0, 0.0, clock)
    clock.now = 40.0
    first = whole.share(3)
    assert first.remaining() == pytest.approx(20.0) and whole.remaining() == pytest.approx(60.0)


@pytest.mark.slow
def test_a_tiny_budget_leaves_a_model_the_harness_uses(tmp_path, synthetic_train, small_config):
    from ecgcinc.predict import load_predictor
    from ecgcinc.records import find_records, load_mat
    from ecgcinc.train import train
    seconds = 45.0
    cfg = small_config(train={"epochs": 200, "patience": 200, "time_budget_h": seconds / 3600})
    history = train(synthetic_train, tmp_path / "model", cfg, verbose=0)
    assert history["budget_stop"].startswith("time budget:")
    assert len(history["epochs"]) < 200
    saved = json.loads((tmp_path / "model" / "history.json").read_text())
    assert saved["budget_stop"] == history["budget_stop"]
    assert saved["seconds_before_saving"] <= seconds
    predictor = load_predictor(tmp_path / "model")
    header = find_records(synthetic_train)[0]
    classes, labels, probabilities = predictor.run(header.read_text(), load_mat(header.with_suffix(".mat"), header.stem))
    assert len(classes) == len(labels) == len(probabilities) == 26 and np.isfinite(probabilities).all()
