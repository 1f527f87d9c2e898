"""The model folder: one writer and reader per file, atomic saves, and a network cache that
never serves a stale network."""
import json

import keras
import numpy as np
import pytest

from ecgcinc.serving import model_folder
from ecgcinc.decision.calibration import Calibration
from ecgcinc.core.classes import load_classes
from ecgcinc.serving.inference import forward
from ecgcinc.decision.rule import Decision
from ecgcinc.serving.predict import load_predictor
from ecgcinc.signals.preprocess import meta_size
from ecgcinc.training.train import compile_model


def _save(folder, cfg, seed: int, thresholds: float = 0.5):
    cfg.train.seed = seed  # compile_model seeds the initial weights with it
    cfg.model.fusion = False  # a network saved by hand has no feature model to fuse with
    model = compile_model(cfg, cfg.preprocess.window, 26, 0, 5)
    decision = Decision(Calibration.identity(26), np.full(26, thresholds))
    model_folder.save(folder, model, cfg, load_classes(), decision, {"best_epoch": seed}, np.eye(26, dtype=bool))


def _inputs(cfg):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, cfg.preprocess.window, 12)).astype(np.float32)
    return x, np.zeros((2, meta_size(cfg.model)), np.float32)


def test_a_folder_retrained_in_the_same_process_is_reloaded(small_config, tmp_path):
    cfg = small_config()
    _save(tmp_path, cfg, seed=1)
    before = forward(load_predictor(tmp_path).network, *_inputs(cfg))
    _save(tmp_path, cfg, seed=2, thresholds=0.3)
    predictor = load_predictor(tmp_path)
    after = forward(predictor.network, *_inputs(cfg))
    assert not np.allclose(before, after)
    assert np.allclose(predictor.thresholds, 0.3) and model_folder.read_history(tmp_path) == {"best_epoch": 2}


def test_every_file_round_trips(small_config, tmp_path):
    cfg = small_config(thresholds={"beta": 0.25})
    _save(tmp_path, cfg, seed=1, thresholds=0.4)
    assert model_folder.read_config(tmp_path) == cfg
    assert model_folder.read_classes(tmp_path).names == load_classes().names
    decision = model_folder.read_decision(tmp_path, 26)
    assert np.allclose(decision.thresholds, 0.4) and np.allclose(decision.calibration.apply(np.full((1, 26), 0.3)), 0.3)
    assert model_folder.read_train_labels(tmp_path).shape == (26, 26)
    assert "beta 0.25" in model_folder.describe_thresholds(tmp_path)
    (tmp_path / model_folder.CALIBRATION_FILE).unlink()  # folders from before calibration existed
    assert np.allclose(model_folder.read_decision(tmp_path, 26).calibration.apply(np.full((1, 26), 0.3)), 0.3)


def test_an_interrupted_save_keeps_the_previous_network(small_config, tmp_path, monkeypatch):
    cfg = small_config()
    _save(tmp_path, cfg, seed=1)
    good = (tmp_path / model_folder.MODEL_FILE).read_bytes()

    def crash(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        _save(tmp_path, cfg, seed=2)
    assert (tmp_path / model_folder.MODEL_FILE).read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_check_names_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model_folder.check(tmp_path / "absent")
    (tmp_path / model_folder.CONFIG_FILE).write_text(json.dumps({}))
    with pytest.raises(FileNotFoundError, match="lacks model.keras, classes.json, thresholds.json"):
        model_folder.check(tmp_path)


def test_a_fusion_pickled_before_the_package_had_folders_still_loads(trained_model, tmp_path, monkeypatch):
    """0.9.0 and earlier pickled the fusion's classes as `ecgcinc.fusion.LeadSetFusion` and so on:
    such a folder loads, with the same fusion."""
    import inspect
    import pickle
    import shutil
    import sys
    folder = tmp_path / "old"
    shutil.copytree(trained_model, folder)
    cfg = model_folder.read_config(folder)
    fusion = model_folder.read_fusion(folder, cfg)
    with monkeypatch.context() as patch:  # pickle as the flat layout named the classes
        for old, module in model_folder.FLAT_MODULES.items():
            patch.setitem(sys.modules, old, module)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == module.__name__:
                    patch.setattr(cls, "__module__", old)
        (folder / model_folder.FUSION_FILE).write_bytes(pickle.dumps(fusion, protocol=2))
    written = (folder / model_folder.FUSION_FILE).read_bytes()
    assert b"ecgcinc.fusion" in written and b"ecgcinc.decision" not in written
    assert "ecgcinc.fusion" not in sys.modules
    loaded = model_folder.read_fusion(folder, cfg)
    assert pickle.dumps(loaded, protocol=2) == pickle.dumps(fusion, protocol=2)
    assert "ecgcinc.fusion" not in sys.modules  # the old names were lent for the loading only
