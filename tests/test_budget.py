"""The time budget: the guard never starts an epoch it cannot finish, cuts a first epoch that
would not fit, keeps back the time the thresholds and saving need, and a tiny budget still
leaves a model folder that the harness uses."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from ecgcinc.training import budget as budget_module
from ecgcinc.training.budget import EpochGuard, TimeBudget


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
    from ecgcinc.serving.predict import load_predictor
    from ecgcinc.io.records import find_records, load_mat
    from ecgcinc.training.train import train
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


def test_a_slow_cache_caps_the_records_to_what_fits():
    """Caching may use half of the time left: 100 s left, 2 cores and 0.5 s a record afford 200
    records; a fast cache takes them all; a hopeless one still keeps MIN_RECORDS."""
    clock = FakeClock()
    budget = TimeBudget(130.0, 0.0, clock)
    clock.now = 30.0
    assert budget_module.records_within(budget, 1000, 0.5, 2.0) == 200
    assert budget_module.records_within(budget, 150, 0.5, 2.0) == 150
    assert budget_module.records_within(budget, 1000, 0.01, 2.0) == 1000
    clock.now = 129.0
    assert budget_module.records_within(budget, 1000, 0.5, 2.0) == budget_module.MIN_RECORDS


def test_slow_feature_models_drop_the_fusion():
    clock = FakeClock()
    budget = TimeBudget(100.0, 0.0, clock)
    assert budget_module.feature_models_fit(budget, first_view_s=10.0, views=3)       # 20 s of 25
    clock.now = 40.0
    assert not budget_module.feature_models_fit(budget, first_view_s=10.0, views=3)   # 20 s of 15


def test_the_guard_keeps_back_the_predictions_of_every_view():
    clock = FakeClock()
    one, three = (EpochGuard(TimeBudget(1000.0, 0.0, clock), steps=10, batch_size=4, validation_records=8, passes=p)
                  for p in (1, 3))
    for guard in (one, three):
        guard.scoring_s = 7.0
    assert three.reserve() - one.reserve() == pytest.approx(14.0)


@pytest.mark.slow  # caches the synthetic folder and fits gradient boosting, as the baseline tests do
def test_feature_models_that_do_not_fit_leave_the_network_alone(synthetic_train, small_config, capsys):
    from ecgcinc.core.classes import load_classes
    from ecgcinc.dataset.data import load_examples
    from ecgcinc.signals.lead_sets import views
    from ecgcinc.training.train import _feature_models
    cfg = small_config()
    examples = load_examples(synthetic_train, load_classes(), cfg).subset(np.arange(120))
    clock = FakeClock()
    models, seconds, dropped = _feature_models(examples, views(True), cfg, TimeBudget(0.5, 0.0, clock))
    assert models is None and seconds > 0 and dropped.startswith("time budget: the fusion is dropped")
    models, _, dropped = _feature_models(examples, views(True), cfg, TimeBudget(3600.0, 0.0, clock))
    assert len(models) == 3 and dropped == ""


@pytest.mark.slow
def test_a_budget_that_caching_nearly_uses_up_ends_in_time_with_a_model_the_driver_uses(tmp_path, monkeypatch):
    """Caching slowed to about 0.4 s a record on one core (a slow disk, a busy machine): the 300
    records would take two minutes of a 40-s budget.  The plan caches the 64 it keeps at least
    (built in this process, slowly: about 26 s of the 40), the run ends within the budget plus
    10 s, and the driver scores records with the folder."""
    import time as time_module

    from ecgcinc.dataset import cache
    from ecgcinc.training import sizes
    from ecgcinc.signals import synth
    from ecgcinc.core.config import Config, with_overrides
    from ecgcinc.serving.predict import predict_folder
    from ecgcinc.training.train import train
    data = tmp_path / "data"
    synth.write_dataset(data, 300, seed=4)
    synth.write_dataset(tmp_path / "test", 12, seed=5)
    prepare = cache._prepare

    def slow(path, cfg):
        time_module.sleep(0.35)
        return prepare(path, cfg)
    monkeypatch.setattr(cache, "_prepare", slow)
    monkeypatch.setattr(sizes, "available_cores", lambda: 1.0)
    seconds = 40.0
    cfg = with_overrides(Config(), {"train": {"time_budget_h": seconds / 3600, "loader_workers": 1},
                                    "model": {"size": "small"}})
    started = time_module.monotonic()
    history = train(data, tmp_path / "model", cfg, verbose=0)
    assert time_module.monotonic() - started <= seconds + 10.0
    assert history["train_records"] + history["validation_records"] <= budget_module.MIN_RECORDS
    assert predict_folder(tmp_path / "model", tmp_path / "test", tmp_path / "out", verbose=0) == 0
    assert len(list((tmp_path / "out").glob("*.csv"))) == 12
