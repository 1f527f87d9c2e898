"""The size ladder: every named size is a complete configuration that builds its network, "auto"
follows the data, the machine and the budget (simulated machines), and the caller's own settings
survive the resolution."""
import json
import re
from pathlib import Path

import pytest

from ecgcinc.training import sizes
from ecgcinc.core.config import PAPER_CONFIG, SIZE_PRESETS, Config, config_from_dict, with_overrides
from ecgcinc.networks.models import build_model, forward_flops, inference_model
from ecgcinc.signals.preprocess import meta_size
from ecgcinc.training.sizes import Machine

LAPTOP, ORGANISERS_CPU, ORGANISERS_GPU = Machine(2, 0), Machine(10, 0), Machine(10, 1)
HOURS = 3600.0


def test_every_size_sets_the_same_keys_and_paper_is_the_papers_configuration():
    keys = {part: set(values) for part, values in SIZE_PRESETS["paper"].items()}
    for preset in SIZE_PRESETS.values():
        assert {part: set(values) for part, values in preset.items()} == keys
    paper = config_from_dict({"model": {"size": "paper"}})
    for part, values in json.loads(PAPER_CONFIG.read_text()).items():
        for key, value in values.items():
            assert getattr(getattr(paper, part), key) == (tuple(value) if isinstance(value, list) and key == "band_hz"
                                                          else value), (part, key)
    small = config_from_dict({"model": {"size": "small"}})
    assert small.to_dict() == {**Config().to_dict(), "model": {**Config().to_dict()["model"], "size": "small"}}


def test_keys_beside_a_size_win_over_its_preset_and_a_new_size_replaces_the_old():
    cfg = config_from_dict({"model": {"size": "paper", "dropout": 0.3}, "train": {"epochs": 3}})
    assert cfg.model.dropout == 0.3 and cfg.train.epochs == 3 and cfg.preprocess.fs == 250
    back = with_overrides(cfg, {"model": {"size": "small"}})
    assert back.preprocess.fs == 100 and back.model.filters == Config().model.filters
    with pytest.raises(ValueError, match="model.size 'huge'"):
        config_from_dict({"model": {"size": "huge"}})


@pytest.mark.parametrize("size, gflop", [("small", 0.041), ("medium", 0.160), ("paper", 1.557)])
def test_every_size_builds_its_network(size, gflop):
    """The published cost per window (docs: 0.04 GFLOP per 10-s record for small, 1.56 per 20-s
    record for the paper size); a changed preset or a miscounted layer moves it."""
    cfg = config_from_dict({"model": {"size": size}})
    network = inference_model(build_model(cfg.model, cfg.preprocess.window, 26, meta_size(cfg.model), 0))
    assert network.inputs[0].shape[1] == cfg.preprocess.window
    assert forward_flops(network) / 1e9 == pytest.approx(gflop, abs=0.0005)


def test_larger_sizes_cost_more():
    flops = []
    for size in sizes.LADDER:
        cfg = config_from_dict({"model": {"size": size}})
        network = build_model(cfg.model, cfg.preprocess.window, 26, meta_size(cfg.model))
        flops.append(forward_flops(inference_model(network)))
    costs = [sizes.EPOCH_MS_PER_RECORD[s] for s in sizes.LADDER]
    assert flops == sorted(flops) and costs == sorted(costs)


@pytest.mark.parametrize("records, machine, hours, expected", [
    (2_000, LAPTOP, 40, "small"),                   # a developer's folder: the data decides
    (2_000, ORGANISERS_GPU, 40, "small"),           # a GPU does not make little data support more
    (sizes.MEDIUM_MIN_RECORDS, LAPTOP, 40, "medium"),
    (88_000, ORGANISERS_CPU, 40, "paper"),          # the Challenge corpus on the 2021 CPU machine
    (88_000, ORGANISERS_GPU, 40, "paper"),
    (88_000, Machine(1, 0), 2, "small"),            # neither paper nor medium fits 2 h on one core
    (88_000, ORGANISERS_CPU, 4, "medium"),          # paper does not fit 4 h on 10 cores, medium does
    (88_000, ORGANISERS_GPU, 5, "paper"),           # ... but on a GPU 5 h are enough
])
def test_auto_follows_the_data_the_machine_and_the_budget(records, machine, hours, expected):
    choice = sizes.choose(records, machine, hours * HOURS)
    assert choice.size == expected, choice.reason
    assert f"{records:,} records" in choice.reason and machine.describe() in choice.reason
    if expected != sizes._data_size(records):
        assert "do not fit" in choice.reason


def test_resolve_keeps_the_callers_settings_and_leaves_named_sizes_alone():
    cfg = config_from_dict({"train": {"epochs": 3, "time_budget_h": 40}, "model": {"dropout": 0.25}})
    resolved, choice = sizes.resolve(cfg, 88_000, ORGANISERS_CPU)
    assert choice.size == resolved.model.size == "paper"
    assert resolved.preprocess.fs == 250 and resolved.train.epochs == 3 and resolved.model.dropout == 0.25
    named = config_from_dict({"model": {"size": "medium"}})
    assert sizes.resolve(named, 88_000, ORGANISERS_CPU) == (named, None)


def test_a_slow_cache_steps_the_size_down_on_the_same_cached_signals():
    """Rule 3: medium, chosen for 6,000 records on a laptop's 40 h, keeps its size when caching
    left the time it planned for; when caching ate the budget it steps down to small (the same
    100-Hz cache); the paper size, at 250 Hz, keeps its size (its guard stops it early); a named
    size is never changed; the caller's settings survive the step."""
    cfg = config_from_dict({"train": {"time_budget_h": 40, "epochs": 5}})
    medium, choice = sizes.resolve(cfg, 6_000, LAPTOP)
    assert choice.size == medium.model.size == "medium"
    rest = sizes.estimate("medium", 6_000, LAPTOP, views=3)  # the three lead-set views of the default
    plenty = (rest.total_s - rest.caching_s) / sizes.FIT_SHARE + 1.0
    assert sizes.revise(medium, choice, 6_000, plenty, LAPTOP) == (medium, choice)
    small, revised = sizes.revise(medium, choice, 6_000, plenty / 2, LAPTOP)
    assert revised.size == small.model.size == "small" and small.preprocess == medium.preprocess
    assert small.train.epochs == 5 and small.model.filters == config_from_dict({"model": {"size": "small"}}).model.filters
    assert revised.reason.startswith(choice.reason) and "after caching, medium needed" in revised.reason
    paper, paper_choice = sizes.resolve(cfg, 88_000, ORGANISERS_CPU)
    assert paper.model.size == "paper"
    assert sizes.revise(paper, paper_choice, 88_000, 60.0, ORGANISERS_CPU) == (paper, paper_choice)
    named = config_from_dict({"model": {"size": "medium"}})
    assert sizes.revise(named, None, 6_000, 1.0, LAPTOP) == (named, None)


def test_training_revises_the_size_with_the_time_caching_left(tmp_path, monkeypatch, capsys):
    """train() asks sizes.revise after the cache is built, with the budget's time left then: a
    clock that jumps by an hour while caching turns a planned medium into small."""
    import ecgcinc.training.train as train_module
    from ecgcinc.signals import synth
    from ecgcinc.training.train import train
    synth.write_dataset(tmp_path / "data", 40, seed=3)
    from ecgcinc.training.budget import TimeBudget
    now = [0.0]
    monkeypatch.setattr(train_module, "TimeBudget", lambda seconds, started: TimeBudget(seconds, 0.0, lambda: now[0]))
    load = train_module.load_examples

    def slow_caching(*args, **kwargs):
        now[0] += 4319.0  # of the 4,320-s budget
        return load(*args, **kwargs)
    seen = {}

    def stop_after_revision(training, validation, classes, cfg, *args, **kwargs):
        seen["size"] = cfg.model.size
        raise KeyboardInterrupt
    monkeypatch.setattr(train_module, "load_examples", slow_caching)
    monkeypatch.setattr(train_module, "fit", stop_after_revision)
    monkeypatch.setattr(sizes, "_data_size", lambda records: "medium")
    cfg = config_from_dict({"train": {"time_budget_h": 1.2}})
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "data", tmp_path / "model", cfg, verbose=1)
    printed = capsys.readouterr().out
    assert "size medium:" in printed and "time budget: size small:" in printed and seen["size"] == "small"


def test_the_costs_are_the_benchmarks():
    """EPOCH_MS_PER_RECORD, CACHE_MS_PER_RECORD and FEATURE_MODEL_MS_PER_RECORD are bench.scale's
    figures (bench/results/scale.json)."""
    measured = json.loads((Path(__file__).resolve().parents[1] / "bench" / "results" / "scale.json").read_text())
    for row in measured["sizes"]:
        assert sizes.EPOCH_MS_PER_RECORD[row["size"]] == pytest.approx(row["run"]["epoch_ms_per_record"], abs=0.05)
    core_ms = max(r["cache"]["ms_per_record"] * r["cache"]["cores"] for r in measured["sizes"])
    assert sizes.CACHE_MS_PER_RECORD == pytest.approx(core_ms, rel=0.02)
    feature_ms = max(r["run"]["feature_model_ms_per_record"] for r in measured["sizes"])
    assert sizes.FEATURE_MODEL_MS_PER_RECORD == pytest.approx(feature_ms, rel=0.02)


def test_the_feature_model_is_counted_on_the_cpus_and_only_with_fusion():
    """The fusion's gradient boosting runs on the CPU cores whatever GPU trains the network."""
    on_gpu, on_cpu = (sizes.estimate("paper", 88_000, m) for m in (ORGANISERS_GPU, ORGANISERS_CPU))
    assert on_gpu.feature_model_s == on_cpu.feature_model_s > 0
    assert on_gpu.epoch_s < on_cpu.epoch_s
    assert sizes.estimate("paper", 88_000, ORGANISERS_CPU, fusion=False).feature_model_s == 0.0


def test_a_container_quota_caps_the_cores(monkeypatch):
    monkeypatch.setattr(sizes, "_cgroup_cores", lambda: 1.5)
    assert sizes.available_cores() == 1.5
    monkeypatch.setattr(sizes, "_cgroup_cores", lambda: None)
    assert sizes.available_cores() >= 1


def test_the_estimate_grows_with_records_and_shrinks_with_cores():
    small, large = (sizes.estimate("paper", n, LAPTOP).total_s for n in (1_000, 10_000))
    assert large == pytest.approx(10 * small)
    assert sizes.estimate("paper", 10_000, ORGANISERS_CPU).total_s < large


@pytest.mark.slow
@pytest.mark.parametrize("size", ["medium", "paper"])
def test_every_size_trains_saves_and_serves_the_harness(size, synthetic_train, tmp_path):
    """One short epoch of each larger size through train(): the model folder records the size,
    and run_model answers for a 12-lead and a 2-lead record (small is the session's trained model)."""
    from ecgcinc.serving.predict import load_predictor
    from ecgcinc.io.records import find_records, load_mat
    from ecgcinc.training.train import train
    cfg = config_from_dict({"model": {"size": size, "fusion": False},  # the network is what differs by size
                            "train": {"epochs": 1, "min_epochs": 1, "max_records": 64}})
    train(synthetic_train, tmp_path / "model", cfg, verbose=0)
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["model"]["size"] == size and saved["preprocess"]["fs"] == cfg.preprocess.fs
    header = find_records(synthetic_train)[0]
    recording = load_mat(header.with_suffix(".mat"), header.stem)
    for leads in (None, ("I", "II")):
        classes, labels, probabilities = load_predictor(tmp_path / "model", leads).run(header.read_text(), recording)
        assert len(classes) == len(labels) == len(probabilities) == 26


@pytest.mark.slow
def test_training_prints_and_saves_the_auto_choice(synthetic_train, small_config, tmp_path, capsys):
    from ecgcinc.training.train import train
    history = train(synthetic_train, tmp_path / "model", small_config(train={"epochs": 1, "min_epochs": 1}), verbose=1)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("size small: 320 records: small is the largest size")
    from bench.end_to_end import PHASES  # it times train_model.py's phases by these lines
    assert all(any(re.match(marker, line) for line in printed) for _, marker in PHASES[:-1])
    saved = json.loads((tmp_path / "model" / "history.json").read_text())
    assert saved["size"] == history["size"] and saved["size"]["size"] == "small"
    assert json.loads((tmp_path / "model" / "config.json").read_text())["model"]["size"] == "small"


def test_an_explicit_setting_survives_the_auto_choice_even_when_it_equals_the_default():
    """{"preprocess": {"fs": 100}} equals the default, and must still win over the paper size's
    250 Hz that "auto" picks for the 2021 corpus; the preset's other keys apply."""
    machine = Machine(cores=10, gpus=0)
    written = config_from_dict({"preprocess": {"fs": 100}})
    sized, choice = sizes.resolve(written, 88_253, machine)
    assert choice.size == "paper" and sized.model.size == "paper"
    assert sized.preprocess.fs == 100 and sized.preprocess.window_s == 20
    unwritten, _ = sizes.resolve(Config(), 88_253, machine)
    assert unwritten.preprocess.fs == 250
    # the record of explicit settings is not saved with the configuration
    assert "explicit" not in sized.to_dict() and config_from_dict(sized.to_dict()).preprocess.fs == 100


@pytest.mark.parametrize("files, cores", [
    ({"cpu.max": "150000 100000\n"}, 1.5),                                    # cgroup v2, docker --cpus 1.5
    ({"cpu.max": "max 100000\n"}, None),                                      # v2, no quota
    ({"cpu/cpu.cfs_quota_us": "250000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.5),   # cgroup v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),      # v1, no quota
    ({"cpu.max": "garbage\n"}, None),                                         # unreadable: no quota assumed
    ({}, None),                                                               # no cgroup files at all
])
def test_the_cgroup_quota_reader_on_a_fake_cgroup_tree(tmp_path, files, cores):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert sizes._cgroup_cores(tmp_path) == cores


def test_gpu_count_asks_the_backend(monkeypatch):
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the TensorFlow path")
    import tensorflow as tf
    assert sizes.gpu_count() == len(tf.config.list_physical_devices("GPU"))
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: ["/gpu:0", "/gpu:1"] if kind == "GPU" else [])
    assert sizes.gpu_count() == 2 and sizes.detect_machine().gpus == 2
