"""The exported network (`ecgcinc export`): onnxruntime gives the Keras network's probabilities, and
`ecgcinc classify --runtime onnx` runs in an environment that has no TensorFlow, Keras or JAX."""
import fcntl
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgcinc.serving import export as export_module
from ecgcinc.serving import model_folder
from ecgcinc.serving.classify import classify
from ecgcinc.serving.export import TOLERANCE, ExportError, export
from ecgcinc.serving.predict import load_predictor
from ecgcinc.io.records import LEAD_SETS, find_records, read_record

ROOT = Path(__file__).resolve().parents[1]
INFERENCE_PYTHON_ENV = "ECGCINC_INFERENCE_PYTHON"   # .ci/run builds that environment before the tests
pytestmark = [pytest.mark.xdist_group("onnx"),
              pytest.mark.skipif(any(importlib.util.find_spec(name) is None for name in ("onnx", "tf2onnx", "onnxruntime")),
                                 reason="the ONNX export is not installed (requirements-onnx.txt)")]


@pytest.fixture(scope="module")
def exported(trained_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("exported") / "model"
    export(trained_model, out)
    return out


@pytest.fixture(scope="session")
def inference_python() -> str:
    """A Python whose environment holds requirements-inference.txt only: CI's (.ci/run), else one
    built here once per version of the requirements and the lock, under ~/.cache."""
    given = os.environ.get(INFERENCE_PYTHON_ENV)
    if given:
        return given
    digest = hashlib.sha256(b"".join((ROOT / name).read_bytes() for name in
                                     ("requirements-inference.txt", "requirements.lock"))).hexdigest()[:12]
    folder = Path.home() / ".cache" / "ecgcinc-tests" / f"inference-{digest}"
    python = folder / "bin" / "python"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "complete").exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(ROOT / "requirements-inference.txt"),
                            "-c", str(ROOT / "requirements.lock")], check=True)
            (folder / "complete").touch()
    return str(python)


def _rows(path: Path) -> dict[str, dict]:
    return {row["record"]: row for row in map(json.loads, path.read_text().splitlines())}


def test_the_exported_network_gives_the_keras_probabilities_on_every_lead_set(trained_model, exported, sample_dir):
    records = [read_record(header) for header in find_records(sample_dir)]
    for leads in LEAD_SETS.values():
        keras_path, onnx_path = load_predictor(trained_model, leads), load_predictor(exported, leads)
        assert type(onnx_path.network).__name__ == "OnnxNetwork"
        difference = np.abs(keras_path.probabilities(records) - onnx_path.probabilities(records))
        assert difference.max() <= TOLERANCE, (len(leads), difference.max())


def test_classify_runs_the_exported_folder_without_tensorflow(inference_python, trained_model, exported, sample_dir,
                                                              tmp_path):
    for framework in ("tensorflow", "keras", "jax"):
        absent = subprocess.run([inference_python, "-c", f"import {framework}"], capture_output=True)
        assert absent.returncode != 0, f"the inference environment has {framework}"
    out = tmp_path / "onnx.jsonl"
    done = subprocess.run([inference_python, "-m", "ecgcinc", "classify", str(exported), str(sample_dir),
                           "--runtime", "onnx", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    classify(trained_model, [sample_dir], tmp_path / "keras.jsonl")
    keras_rows, onnx_rows = _rows(tmp_path / "keras.jsonl"), _rows(out)
    assert sorted(onnx_rows) == sorted(keras_rows) and len(keras_rows) == len(find_records(sample_dir))
    for name, row in keras_rows.items():
        ours = onnx_rows[name]["classes"]
        assert max(abs(a["probability"] - b["probability"]) for a, b in zip(row["classes"], ours)) <= TOLERANCE
        assert [c["code"] for c in ours] == [c["code"] for c in row["classes"]]
        assert onnx_rows[name]["leads"] == row["leads"]


def test_the_challenge_driver_runs_the_exported_folder_without_tensorflow(inference_python, trained_model, exported,
                                                                          sample_dir, tmp_path):
    """driver.py, as the organisers run it, on an exported folder in the TensorFlow-free environment:
    every record gets its file, with the trained folder's probabilities within 1e-4."""
    from ecgcinc.serving.predict import predict_folder
    done = subprocess.run([inference_python, "driver.py", str(exported), str(sample_dir), str(tmp_path / "onnx")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    predict_folder(trained_model, sample_dir, tmp_path / "keras", verbose=0)
    names = sorted(p.name for p in (tmp_path / "keras").glob("*.csv"))
    assert names == sorted(p.name for p in (tmp_path / "onnx").glob("*.csv")) and len(names) == len(find_records(sample_dir))
    for name in names:
        ours, theirs = ((tmp_path / side / name).read_text().splitlines() for side in ("onnx", "keras"))
        assert ours[:2] == theirs[:2]        # the record's line and the class codes
        difference = np.abs(np.array(ours[3].split(","), float) - np.array(theirs[3].split(","), float))
        assert difference.max() <= TOLERANCE, name


def test_an_export_that_differs_from_keras_is_refused(trained_model, tmp_path, monkeypatch):
    """The check on the spot catches a wrong network: an untrained one of the same shape is
    written in place of the trained one, and the export fails and leaves no network behind."""
    from ecgcinc.serving.inference import warm_up
    from ecgcinc.networks.models import inference_model
    from ecgcinc.training.train import compile_model
    cfg = model_folder.read_config(trained_model)
    classes = model_folder.read_classes(trained_model)
    other = inference_model(compile_model(cfg, cfg.preprocess.window, len(classes), 4, 10))
    warm_up(other)
    write = export_module._write_onnx
    monkeypatch.setattr(export_module, "_write_onnx", lambda network, path: write(other, path))
    with pytest.raises(ExportError, match="differs from the Keras network"):
        export(trained_model, tmp_path / "wrong")
    assert not (tmp_path / "wrong").exists() and list(tmp_path.iterdir()) == []  # nothing half-written


def test_an_export_whose_network_answers_nan_is_refused(trained_model, tmp_path, monkeypatch):
    """NaN from the exported network is a failure (the largest difference must not skip it)."""
    real = export_module.load_predictor

    def nan_when_exported(folder, leads=None):
        predictor = real(folder, leads)
        if (Path(folder) / "network.onnx").is_file():
            monkeypatch.setattr(predictor, "probabilities", lambda records: np.full((len(records), 26), np.nan))
        return predictor
    monkeypatch.setattr(export_module, "load_predictor", nan_when_exported)
    with pytest.raises(ExportError, match="by nan in probability"):
        export(trained_model, tmp_path / "nan")
    assert list(tmp_path.iterdir()) == []


def test_runtimes_and_folders_are_checked(trained_model, exported, sample_dir, tmp_path):
    with pytest.raises(ValueError, match="export it first"):
        classify(trained_model, [sample_dir], tmp_path / "a.jsonl", runtime="onnx")
    with pytest.raises(ValueError, match="trained folder it came from"):
        classify(exported, [sample_dir], tmp_path / "b.jsonl", runtime="keras")
    with pytest.raises(ValueError, match="--explain"):
        classify(exported, [sample_dir], tmp_path / "c.jsonl", explain_dir=tmp_path / "pictures")
    with pytest.raises(ExportError, match="already an exported"):
        export(exported, tmp_path / "again")
    with pytest.raises(ExportError, match="must differ"):
        export(trained_model, trained_model)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not an exported folder"):
        export(trained_model, tmp_path / "busy")
    assert model_folder.runtime_of(exported) == "onnx" and model_folder.runtime_of(trained_model) == "keras"


def test_the_exported_card_says_what_the_network_takes(trained_model, exported):
    from ecgcinc.serving.card import identity, read, render
    section = read(exported)["export"]
    assert section["from_model"] == identity(trained_model)
    cfg = model_folder.read_config(trained_model)
    assert section["inputs"]["signal"] == ["batch", cfg.preprocess.window, 12]
    assert section["meta_layout"]["lead_mask"] == [5, 17]
    assert section["check"]["max_probability_difference"] <= TOLERANCE
    assert "## Exported network" in render(read(exported))
    assert not (exported / model_folder.MODEL_FILE).exists()


def test_sigmoids_are_rewritten_to_keep_a_tiny_probability_precise(tmp_path):
    """onnxruntime's own Sigmoid is exact to about 6e-8 in absolute terms only, which the
    fusion's logits amplify; the rewritten node is exact relative to the probability."""
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["y"], name="head")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])])
    path = str(tmp_path / "sigmoid.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]), path)
    x = np.linspace(-30, 30, 601).astype(np.float32)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))

    def relative_error() -> float:
        y = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        return float(np.max(np.abs(y - exact) / exact))
    assert relative_error() > 1e-3                     # the plain node, at probabilities near 1e-6 and below
    export_module._precise_sigmoids(path)
    assert "Sigmoid" not in {node.op_type for node in onnx.load(path).graph.node}
    assert relative_error() < 1e-6


@pytest.mark.parametrize("kind", ["fold ensemble", "network per view"])
def test_multi_network_folders_export(kind, tmp_path):
    """The networks that combine members (an Average; the ViewRouter, whose first version used an
    argmin with no ONNX form) export and pass the check; untrained weights suffice for that."""
    from ecgcinc.decision import thresholds
    from ecgcinc.decision.calibration import Calibration
    from ecgcinc.core.classes import load_classes
    from ecgcinc.core.config import Config, with_overrides
    from ecgcinc.decision.rule import Decision
    from ecgcinc.networks.framework import keras
    from ecgcinc.signals.lead_sets import views
    from ecgcinc.networks.models import ensemble_network, inference_model, view_network
    from ecgcinc.training.train import compile_model
    classes = load_classes()
    cfg = with_overrides(Config(), {"model": {"size": "small", "fusion": False}})

    def member(seed: int):
        keras.utils.set_random_seed(seed)
        return inference_model(compile_model(cfg, cfg.preprocess.window, len(classes), 4, 10))
    masks = views(cfg.preprocess.derive_limb_leads)
    network = (ensemble_network([member(1), member(2)]) if kind == "fold ensemble"
               else view_network([member(v) for v in range(len(masks))], masks))
    labels = np.eye(len(classes), dtype=bool)
    decision = Decision(Calibration.identity(len(classes)), thresholds.cicst(labels, classes.weights, 0.5))
    model_folder.save(tmp_path / "model", network, cfg, classes, decision, {}, labels)
    section = export(tmp_path / "model", tmp_path / "exported")
    assert section["check"]["max_probability_difference"] <= TOLERANCE
    assert model_folder.runtime_of(tmp_path / "exported") == "onnx"
