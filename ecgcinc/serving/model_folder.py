"""The model folder: its file names, and the one writer and the one reader of each file.

    model.keras       the network (Keras 3 format)
    network.onnx      instead of model.keras in a folder made by `ecgcinc export` (onnx_network.py)
    config.json       the full configuration it was trained with
    classes.json      the scored classes (equivalent codes, names) and the Challenge weights
    thresholds.json   per-class thresholds, with the method, beta and weights that made them
    calibration.json  per-class calibration, applied before the thresholds (identity when off)
    history.json      training's per-epoch validation scores
    train_labels.npy  the training label matrix (CICST and proportional re-targeting need it)
    fusion.joblib     with model.fusion: per lead-set view, the feature model and the fusion weights (fusion.py)
    card.json         the model card (card.py): versions that wrote it, training data, validation scores
    MODEL_CARD.md     the card as a page to read (`ecgcinc info`)

Every file is written through outputs.atomic_save, so an interrupted save never leaves
half a file in place of a good one.  Importing this module loads no Keras: `check` runs before
a command pays for the framework (a missing or foreign folder is one line at once), and Keras
loads with the first network saved or loaded.  Loaded networks are cached per folder and per
model.keras version (its size and modification time), so a folder retrained in the same
process (a notebook, an experiment) is reloaded, never served stale.
"""
from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import joblib
import numpy as np

from . import card
from ..decision.calibration import Calibration
from ..core.classes import ClassSet
from ..core.config import Config, config_from_dict
from ..decision.rule import Decision
from ..decision import calibration, feature_model, fusion as fusion_module, tree_ensemble
from ..decision.fusion import LeadSetFusion
from .onnx_network import ONNX_FILE, OnnxNetwork
from ..io.outputs import atomic_save, atomic_write, atomic_write_text

if TYPE_CHECKING:
    import keras

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
CLASSES_FILE = "classes.json"
THRESHOLDS_FILE = "thresholds.json"
CALIBRATION_FILE = "calibration.json"
HISTORY_FILE = "history.json"
TRAIN_LABELS_FILE = "train_labels.npy"
FUSION_FILE = "fusion.joblib"
REQUIRED = (CONFIG_FILE, CLASSES_FILE, THRESHOLDS_FILE)
RUNTIMES = {"keras": MODEL_FILE, "onnx": ONNX_FILE}   # the runtime a folder's network file needs
TRAINING_WEIGHTS = "weights.csv (training)"
# Where the classes a fusion.joblib pickles lived before the package had folders (0.9.0 and
# earlier wrote `ecgcinc.fusion.LeadSetFusion`): such a folder still loads.
FLAT_MODULES = {"ecgcinc.fusion": fusion_module, "ecgcinc.feature_model": feature_model,
                "ecgcinc.tree_ensemble": tree_ensemble, "ecgcinc.calibration": calibration}


class ModelFolderError(OSError):
    """The model folder exists but cannot be read or loaded: one error for the whole run, before
    any record is read, rather than one per record."""


def runtime_of(model_dir: str | Path) -> str:
    """"keras" for a trained folder, "onnx" for one `ecgcinc export` wrote (network.onnx and no
    model.keras)."""
    model_dir = Path(model_dir)
    return "onnx" if (model_dir / ONNX_FILE).is_file() and not (model_dir / MODEL_FILE).is_file() else "keras"


def check(model_dir: str | Path) -> Path:
    """The folder, resolved, if it holds a trained or exported model this process can read;
    otherwise one clear error.  An exported folder is checked without Keras."""
    model_dir = Path(model_dir).resolve()
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model folder {model_dir} does not exist")
    if not os.access(model_dir, os.R_OK | os.X_OK):
        raise ModelFolderError(f"model folder {model_dir}: cannot open the folder (Permission denied); "
                               "is it readable by this user?")
    runtime = runtime_of(model_dir)
    needed = (RUNTIMES[runtime], *REQUIRED)
    missing = [name for name in needed if not (model_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"model folder {model_dir} lacks {', '.join(missing)}; train a model first")
    for name in needed:
        try:
            with open(model_dir / name, "rb"):
                pass
        except OSError as error:
            raise ModelFolderError(f"model folder {model_dir}: cannot read {name} ({error.strerror or error}); "
                                   "is it readable by this user?") from error
    problem = card.loading_problem(model_dir, _keras_version(model_dir) if runtime == "keras" else None)
    if problem:
        raise ModelFolderError(problem)
    return model_dir


def _keras_version(model_dir: Path) -> str:
    """The installed Keras's version; a trained folder in an environment without Keras (the
    TensorFlow-free install of requirements-inference.txt) is one line saying what to do."""
    try:
        return version("keras")
    except PackageNotFoundError:
        raise ModelFolderError(f"model folder {model_dir} is a trained (Keras) folder and this environment has no "
                               "Keras: install requirements.txt, or export the folder where Keras is (ecgcinc export "
                               "MODEL OUT) and use OUT here") from None


def save(model_dir: str | Path, model: keras.Model, cfg: Config, classes: ClassSet, decision: Decision,
         history: dict, train_labels: np.ndarray, fusion: LeadSetFusion | None = None) -> None:
    """Everything training produces.  model.keras is written last, so a folder whose network is
    new never pairs it with an older configuration or older thresholds."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(model_dir / CONFIG_FILE, json.dumps(cfg.to_dict(), indent=2))
    atomic_write_text(model_dir / CLASSES_FILE, json.dumps(
        {"codes": [list(c) for c in classes.codes], "names": classes.names, "weights": classes.weights.tolist()}))
    atomic_write_text(model_dir / CALIBRATION_FILE, json.dumps(decision.calibration.to_dict(), indent=2))
    write_thresholds(model_dir, decision.thresholds, cfg.thresholds.method, cfg.thresholds.beta, TRAINING_WEIGHTS)
    atomic_write_text(model_dir / HISTORY_FILE, json.dumps(history, indent=2))
    card.write(model_dir, card.build(cfg.to_dict(), classes, history, decision.thresholds, cfg.thresholds.method))
    atomic_write(model_dir / TRAIN_LABELS_FILE, lambda handle: np.save(handle, train_labels.astype(bool)))
    if fusion is not None:
        atomic_write(model_dir / FUSION_FILE, lambda handle: joblib.dump(fusion, handle))
    elif (model_dir / FUSION_FILE).exists():
        (model_dir / FUSION_FILE).unlink()   # a folder retrained without fusion must not keep the old one
    atomic_save(model_dir / MODEL_FILE, model.save)


def write_thresholds(model_dir: str | Path, thresholds: np.ndarray, method: str, beta: float, weights: str) -> None:
    """thresholds.json, and the card's thresholds when the folder has a card (re-targeting)."""
    atomic_write_text(Path(model_dir) / THRESHOLDS_FILE, json.dumps(
        {"method": method, "beta": beta, "weights": weights, "thresholds": [float(t) for t in thresholds]},
        indent=2))
    written = card.read(model_dir)
    if written is not None:
        card.write(model_dir, card.with_thresholds(written, read_classes(model_dir), thresholds, method))


def read_config(model_dir: str | Path) -> Config:
    return config_from_dict(json.loads((Path(model_dir) / CONFIG_FILE).read_text()))


def read_classes(model_dir: str | Path) -> ClassSet:
    info = json.loads((Path(model_dir) / CLASSES_FILE).read_text())
    return ClassSet(codes=tuple(tuple(c) for c in info["codes"]), weights=np.array(info["weights"]))


def read_threshold_info(model_dir: str | Path) -> dict:
    """thresholds.json as written: method, beta, weights and the thresholds."""
    return json.loads((Path(model_dir) / THRESHOLDS_FILE).read_text())


def read_decision(model_dir: str | Path, num_classes: int) -> Decision:
    """Calibration and thresholds; the identity calibration for folders written before it existed."""
    path = Path(model_dir) / CALIBRATION_FILE
    calibration = (Calibration.from_dict(json.loads(path.read_text())) if path.is_file()
                   else Calibration.identity(num_classes))
    return Decision(calibration, np.array(read_threshold_info(model_dir)["thresholds"]))


def read_fusion(model_dir: str | Path, cfg: Config) -> LeadSetFusion | None:
    """The fusion of a model trained with model.fusion; None otherwise.  A folder whose
    configuration says fusion but lacks the file, or holds one this version cannot read (one
    fusion for every lead set, written before the fusion was fitted per view), is refused: its
    thresholds assume the fusion."""
    if not cfg.model.fusion:
        return None
    path = Path(model_dir) / FUSION_FILE
    try:
        with open(path, "rb") as handle, _flat_module_names():
            fusion = joblib.load(handle)
    except OSError as error:
        raise ModelFolderError(f"model folder {model_dir}: cannot read {FUSION_FILE} ({error.strerror or error}); "
                               "the configuration says the model fuses the feature model") from error
    except (AttributeError, ModuleNotFoundError, ImportError) as error:
        fusion = error
    if not isinstance(fusion, LeadSetFusion):
        raise ModelFolderError(f"model folder {model_dir}: {FUSION_FILE} was written by an older version of "
                               "ecgcinc (one fusion for every lead set); train the model again")
    return fusion


@contextmanager
def _flat_module_names() -> Iterator[None]:
    """The flat layout's module names, for the length of one unpickling, so that a folder's
    pickled fusion finds its classes in their folders; names already taken are left alone."""
    added = [name for name in FLAT_MODULES if name not in sys.modules]
    sys.modules.update({name: FLAT_MODULES[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)


def read_history(model_dir: str | Path) -> dict:
    path = Path(model_dir) / HISTORY_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def read_train_labels(model_dir: str | Path) -> np.ndarray:
    return np.load(Path(model_dir) / TRAIN_LABELS_FILE)


def describe_thresholds(model_dir: str | Path) -> str:
    info = read_threshold_info(model_dir)
    return f"method {info['method']}, beta {info['beta']}, weights {info['weights']}"


_NETWORKS: dict[Path, tuple[tuple[int, int, int], keras.Model | OnnxNetwork]] = {}


def load_network(model_dir: str | Path) -> keras.Model | OnnxNetwork:
    """The folder's inference network, loaded (and its predict function compiled) once per
    version (inode, time, size) of its network file: model.keras in Keras, or an exported
    folder's network.onnx in onnxruntime, without Keras."""
    model_dir = check(model_dir)
    runtime = runtime_of(model_dir)
    stat = (model_dir / RUNTIMES[runtime]).stat()
    written = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    cached = _NETWORKS.get(model_dir)
    if cached is None or cached[0] != written:
        network = OnnxNetwork(model_dir / ONNX_FILE) if runtime == "onnx" else _load_keras(model_dir)
        _NETWORKS[model_dir] = cached = (written, network)
    return cached[1]


def load_training_network(model_dir: str | Path) -> keras.Model:
    """The folder's network as it trained (every head, not compiled): what pretraining writes
    out as the head start's weights."""
    from ..networks import models  # noqa: F401  (Keras loads here; registers the custom layers)
    from ..networks.framework import keras
    return keras.saving.load_model(check(model_dir) / MODEL_FILE, compile=False)


def _load_keras(model_dir: Path) -> keras.Model:
    from ..networks import models  # Keras loads here; importing models registers the custom layers
    from ..networks.framework import keras
    from .inference import warm_up
    network = models.inference_model(keras.saving.load_model(model_dir / MODEL_FILE, compile=False))
    warm_up(network)
    return network
