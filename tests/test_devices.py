"""Data-parallel training (devices.py): two CPU devices exposed by XLA stand in for two GPUs.

The JAX runs happen in subprocesses, because the backend and XLA's device count are fixed
when Keras and JAX are first imported, and this test session runs TensorFlow."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgcinc.training.devices import data_parallel, device_count

ROOT = Path(__file__).resolve().parents[1]
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                               reason="JAX is not installed (requirements-scale.txt)")
# Per-step training loss, one device vs two, same seed and batches: the two differ only in the
# order of floating-point sums (gradients are averaged across devices), so they agree to
# float32 round-off over a few steps; 1e-4 relative leaves room for that and nothing else.
LOSS_TOLERANCE = 1e-4

STEP_LOSSES = """
import json, sys
import keras
import numpy as np
from ecgcinc.core.classes import load_classes
from ecgcinc.core.config import load_config, with_overrides
from ecgcinc.dataset.data import load_examples
from ecgcinc.training.devices import data_parallel
from ecgcinc.training.train import Batches, class_targets, compile_model

data, config = sys.argv[1], sys.argv[2]
classes = load_classes()
cfg = load_config(config)
examples = load_examples(data, classes, cfg, workers=1)

class StepLosses(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.losses = []
    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))

result = {}
for devices in (1, 2):
    run = with_overrides(cfg, {"train": {"devices": devices}})
    batches = Batches(examples, class_targets(examples, classes, run), run, with_domain=False, full_batches=True)
    with data_parallel(devices, run.train.batch_size):
        model = compile_model(run, run.preprocess.window, len(classes), 0, len(batches), examples.features)
        steps = StepLosses()
        model.fit(batches, epochs=1, steps_per_epoch=6, callbacks=[steps], verbose=0)
    sharding = str(model.trainable_weights[0].value.sharding)
    result[devices] = {"losses": steps.losses, "sharding": sharding}
print("RESULT " + json.dumps(result))
"""

PREDICT = """
import json, sys
import numpy as np
from ecgcinc.serving.predict import load_predictor
from ecgcinc.io.records import find_records, read_record
predictor = load_predictor(sys.argv[1])
records = [read_record(path) for path in find_records(sys.argv[2])[:8]]
out = {r.name: p.tolist() for r, p in zip(records, predictor.probabilities(records))}
print("RESULT " + json.dumps(out))
"""


def _python(code: str, *args: str, backend: str, devices: int = 1) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def _predict_here(model_dir: Path, data: Path) -> dict:
    """PREDICT's answer from this process's backend, without starting another Python."""
    from ecgcinc.networks.framework import keras
    from ecgcinc.serving.predict import load_predictor
    from ecgcinc.io.records import find_records, read_record
    assert keras.backend.backend() == "tensorflow"
    records = [read_record(path) for path in find_records(data)[:8]]
    return {r.name: p.tolist() for r, p in zip(records, load_predictor(model_dir).probabilities(records))}


def _config(tmp_path: Path, small_config, **overrides) -> Path:
    cfg = small_config(train={"loader_workers": 1, **overrides}, model={"fusion": False})  # devices train networks
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg.to_dict()))
    return path


def test_one_device_needs_no_distribution():
    assert device_count(1) == 1
    with data_parallel(1, 16):
        pass


@pytest.mark.parametrize("setting", [0, -2, "two", 1.5, True])
def test_bad_device_settings_are_refused(setting):
    with pytest.raises(ValueError, match="train.devices"):
        device_count(setting)


def test_tensorflow_backend_refuses_several_devices():
    """Keras's TensorFlow backend has no DataParallel: say so instead of training on one."""
    with pytest.raises(ValueError, match="JAX backend"):
        data_parallel(2, 16)


@needs_jax
@pytest.mark.slow
def test_two_devices_follow_one_device_step_by_step(tmp_path, synthetic_train, small_config):
    result = _python(STEP_LOSSES, str(synthetic_train), str(_config(tmp_path, small_config)), backend="jax",
                     devices=2)
    one, two = np.array(result["1"]["losses"]), np.array(result["2"]["losses"])
    assert len(one) == len(two) == 6
    assert np.all(np.isfinite(one)) and one[-1] != one[0]  # it trained
    np.testing.assert_allclose(two, one, rtol=LOSS_TOLERANCE)
    assert "'batch': 2" in result["2"]["sharding"]  # the weights live on a mesh of two devices


@needs_jax
@pytest.mark.slow
def test_a_network_trained_on_two_devices_runs_anywhere(tmp_path, synthetic_train, synthetic_test, small_config):
    """Train on two JAX devices; the model folder then predicts the same on one JAX device and
    on TensorFlow."""
    model_dir = tmp_path / "model"
    config = _config(tmp_path, small_config, devices=2, epochs=2, min_epochs=1, max_records=96)
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "ECGCINC_CONFIG": str(config)}
    done = subprocess.run([sys.executable, "train_model.py", str(synthetic_train), str(model_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "data-parallel over 2 devices" in done.stdout
    assert json.loads((model_dir / "config.json").read_text())["train"]["devices"] == 2
    on_jax = _python(PREDICT, str(model_dir), str(synthetic_test), backend="jax")
    on_tf = _predict_here(model_dir, synthetic_test)   # this process runs TensorFlow (conftest)
    assert on_jax.keys() == on_tf.keys() and len(on_jax) == 8
    for name in on_jax:
        np.testing.assert_allclose(on_tf[name], on_jax[name], atol=1e-5)
