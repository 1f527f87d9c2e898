"""Shared fixtures: the real sample records, a small synthetic multi-source set and one
small model trained on it once per test session (CPU, well under a minute)."""
import json
import os
from pathlib import Path

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


@pytest.fixture(scope="session", autouse=True)
def cache_root(tmp_path_factory):
    """Every test's preprocessed cache goes to one session folder, never the user's ~/.cache."""
    root = tmp_path_factory.mktemp("cache")
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


@pytest.fixture(scope="session")
def small_config():
    from ecgcinc.config import config_from_dict
    return lambda **overrides: config_from_dict(_deep_merge(json.loads(SMALL_CONFIG.read_text()), overrides))


def _deep_merge(base, overrides):
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


@pytest.fixture(scope="session")
def synthetic_train(tmp_path_factory):
    from ecgcinc import synth
    path = tmp_path_factory.mktemp("synthetic_train")
    synth.write_dataset(path, 320, seed=11)
    return path


@pytest.fixture(scope="session")
def synthetic_test(tmp_path_factory):
    from ecgcinc import synth
    path = tmp_path_factory.mktemp("synthetic_test")
    synth.write_dataset(path, 80, seed=12)
    return path


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, synthetic_train, small_config):
    from ecgcinc.train import train
    model_dir = tmp_path_factory.mktemp("model")
    train(synthetic_train, model_dir, small_config(train={"epochs": 16, "patience": 16}), verbose=0)
    return model_dir
