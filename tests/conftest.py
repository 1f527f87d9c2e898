"""Shared fixtures: the real sample records, a small synthetic multi-source set and one
small model trained on it once per test run (CPU, well under a minute).

The suite runs in two pytest-xdist workers (README): each worker is a session of its own, so
the folders that take time to make (the synthetic sets, the trained model, the cache) are made
once per run by whichever worker asks first, under a file lock, and reused by the other."""
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Thirteen real Challenge records ship with the tests (CC BY 4.0, see tests/data/real/README.md);
# ECGCINC_REAL_RECORDS points the same tests at a larger folder of Challenge records.
SAMPLE_DIR = Path(os.environ.get("ECGCINC_REAL_RECORDS") or ROOT / "tests" / "data" / "real")
SMALL_CONFIG = ROOT / "ecgcinc" / "configs" / "small.json"


def pytest_collection_modifyitems(items):
    """A test that needs the session's trained model is slow (the model trains once, ~1 min)."""
    for item in items:
        if "trained_model" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def eager_functions():
    """TensorFlow runs the compiled steps eagerly for the test.  Why: the experiments' machinery
    trains dozens of toy networks (one epoch on a few dozen records), for which tracing the
    compiled train and predict steps costs more than running them: one toy unit took 2.5 s eagerly
    against 6-10 s compiled.  The compiled path stays covered by every other test that trains (the
    session's trained model, the harness, the sizes, the devices)."""
    import tensorflow as tf
    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


def _run_folder(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """A folder made once per test run: by this session alone without xdist, else by the first
    worker to take the lock, in the folder the run's workers share."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        path = tmp_path_factory.mktemp(name)
        make(path)
        return path
    shared = tmp_path_factory.getbasetemp().parent
    path, done = shared / name, shared / f"{name}.done"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir()
            make(path)
            done.touch()
    return path


@pytest.fixture(scope="session", autouse=True)
def cache_root(tmp_path_factory):
    """Every test's preprocessed cache goes to one folder of the run (cache.py builds an entry
    in a temporary folder and renames it, so workers may share it), never the user's ~/.cache."""
    root = _run_folder(tmp_path_factory, "cache", lambda path: None)
    previous = os.environ.get("ECGCINC_CACHE")
    os.environ["ECGCINC_CACHE"] = str(root)
    yield root
    if previous is None:
        os.environ.pop("ECGCINC_CACHE", None)
    else:
        os.environ["ECGCINC_CACHE"] = previous


@pytest.fixture(scope="session")
def sample_dir():
    assert SAMPLE_DIR.is_dir(), f"real records not found at {SAMPLE_DIR}"
    return SAMPLE_DIR


# The tests train on generated folders already: the ~500 generated records that "auto" adds to a
# small folder's training (training/generated_mix.py) would only slow them.  Their own tests
# (test_generated_mix.py) turn them on.
NO_GENERATED_MIX = {"train": {"generated_mix": "off"}}


@pytest.fixture(scope="session")
def small_config():
    from ecgcinc.core.config import config_from_dict
    return lambda **overrides: config_from_dict(
        _deep_merge(_deep_merge(json.loads(SMALL_CONFIG.read_text()), NO_GENERATED_MIX), overrides))


def _deep_merge(base, overrides):
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


@pytest.fixture(scope="session")
def synthetic_train(tmp_path_factory):
    from ecgcinc.signals import synth
    return _run_folder(tmp_path_factory, "synthetic_train", lambda path: synth.write_dataset(path, 320, seed=11))


@pytest.fixture(scope="session")
def synthetic_test(tmp_path_factory):
    from ecgcinc.signals import synth
    return _run_folder(tmp_path_factory, "synthetic_test", lambda path: synth.write_dataset(path, 80, seed=12))


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, synthetic_train, small_config):
    """Tests read it and never change it (those that do change a copy)."""
    from ecgcinc.training.train import train
    cfg = small_config(train={"epochs": 16, "patience": 16})
    return _run_folder(tmp_path_factory, "model", lambda path: train(synthetic_train, path, cfg, verbose=0))
