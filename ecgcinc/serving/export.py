"""`ecgcinc export MODEL OUT`: a trained folder's network as ONNX, in a folder that needs no TensorFlow.

Why: users who only classify want a portable network (issue "Your own ECGs"): ONNX runs in
onnxruntime on any platform, without the training stack, and does not break when Keras's
saving format moves on.  Custom layers are where exports break in other ECG projects, so the
export is checked on the spot: records of every Challenge lead set go through both the Keras
network and the exported one, and a difference above TOLERANCE refuses the export.

How: Keras's own `Model.export(format="onnx")` (tf2onnx under the TensorFlow backend) writes
the inference network.  Its Sigmoid nodes are then rewritten as exp(min(x, 0)) / (1 + exp(-|x|)):
onnxruntime's Sigmoid is exact only to about 6e-8 in absolute terms (a class at probability 1e-6
came out 5 % off), and the fusion reads the network's probabilities on the logit scale with
weights up to 20, so that error reached 5e-4 in a fused probability; the rewritten form is
accurate relative to the probability on both tails, and the fused probabilities then agreed
within 1e-5 on the same records.  OUT gets `network.onnx` and copies of every other file of the folder
(configuration, classes, thresholds, calibration, fusion, history, training labels), so
preprocessing, features, fusion and thresholds run from the same files and the same code as
the Keras path (onnx_network.py); the card gains an "export" section that says what the
network takes (the preprocessing, the layout of its meta input with the lead mask and the
classic features) and what the check measured.  Needs onnx and tf2onnx beside TensorFlow
(requirements-onnx.txt); the exported folder needs requirements-inference.txt only.
"""
from __future__ import annotations

import shutil
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from . import card
from . import model_folder
from ..signals.beats import BEAT_COLUMNS, MAX_BEATS
from ..signals.features import FEATURE_NAMES
from .harness import harness_record
from .onnx_network import INPUT_NAMES, ONNX_FILE
from ..io.outputs import atomic_save
from .predict import load_predictor
from ..signals.preprocess import LEAD_MASK, LEAD_SCALE, N_DEMOGRAPHICS, N_META
from ..io.records import LEAD_SETS
from ..signals.synth import SOURCES, generate_record

TOLERANCE = 1e-4           # largest probability difference between the runtimes an export may have
PROBE_RECORDS = 16         # synthetic records per lead set for the check
COPIED = (model_folder.CONFIG_FILE, model_folder.CLASSES_FILE, model_folder.THRESHOLDS_FILE,
          model_folder.CALIBRATION_FILE, model_folder.HISTORY_FILE, model_folder.TRAIN_LABELS_FILE,
          model_folder.FUSION_FILE)


class ExportError(ValueError):
    """The network could not be exported faithfully."""


def export(model_dir: str | Path, out_dir: str | Path) -> dict:
    """Write the exported folder OUT from the trained folder MODEL; returns the card's export
    section.  OUT must be new, empty or an earlier export (it is then replaced file by file)."""
    source = model_folder.check(model_dir)
    if model_folder.runtime_of(source) != "keras":
        raise ExportError(f"{source} is already an exported (ONNX) folder; export the folder it came from")
    out = Path(out_dir).resolve()
    if out == source:
        raise ExportError("the exported folder must differ from the model folder")
    if out.exists() and any(out.iterdir()) and not (out / ONNX_FILE).is_file():
        raise ExportError(f"{out} exists and is not an exported folder; name a new or empty folder")
    network = model_folder.load_network(source)
    staging = out.parent / f".{out.name}.exporting"   # the export is built here, and only a checked one moves
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        section = _build(source, network, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)            # an earlier export (checked above), replaced whole
    staging.rename(out)
    return section


def _build(source: Path, network, folder: Path) -> dict:
    """The exported folder written into `folder` and checked against the trained one; a
    difference above TOLERANCE, or one that is not a number, refuses it."""
    atomic_save(folder / ONNX_FILE, lambda tmp: _precise_sigmoids(_write_onnx(network, tmp)))
    for name in COPIED:
        if (source / name).is_file():
            shutil.copy2(source / name, folder / name)
    difference = probe_difference(source, folder)
    if not difference <= TOLERANCE:  # NaN fails this too
        raise ExportError(f"the exported network differs from the Keras network by {difference:.2e} in probability "
                          f"(tolerance {TOLERANCE:g}); nothing exported")
    section = _section(source, network, difference)
    card.write(folder, {**(card.read(source) or {}), "export": section})
    return section


def _write_onnx(network, path: str) -> str:
    try:
        with warnings.catch_warnings():   # Keras's tf2onnx shim asks NumPy for np.object
            warnings.simplefilter("ignore", FutureWarning)
            network.export(path, format="onnx", verbose=False)
    except ImportError as error:
        raise ExportError(f"exporting to ONNX needs onnx and tf2onnx: pip install -r requirements-onnx.txt "
                          f"({error})") from error
    return path


def _precise_sigmoids(path: str) -> None:
    """Every Sigmoid node of the ONNX file replaced by exp(min(x, 0)) / (1 + exp(-|x|)), which
    keeps a tiny probability's relative precision (see the module's docstring)."""
    import onnx
    from onnx import TensorProto, helper
    model = onnx.load(path)
    nodes = []
    for node in model.graph.node:
        if node.op_type != "Sigmoid":
            nodes.append(node)
            continue
        x, name = node.input[0], f"{node.name or node.output[0]}/precise"
        nodes += [helper.make_node("Constant", [], [f"{name}/zero"],
                                   value=helper.make_tensor(f"{name}/zero_value", TensorProto.FLOAT, [], [0.0])),
                  helper.make_node("Constant", [], [f"{name}/one"],
                                   value=helper.make_tensor(f"{name}/one_value", TensorProto.FLOAT, [], [1.0])),
                  helper.make_node("Min", [x, f"{name}/zero"], [f"{name}/negative_part"]),
                  helper.make_node("Exp", [f"{name}/negative_part"], [f"{name}/numerator"]),
                  helper.make_node("Abs", [x], [f"{name}/magnitude"]),
                  helper.make_node("Neg", [f"{name}/magnitude"], [f"{name}/minus_magnitude"]),
                  helper.make_node("Exp", [f"{name}/minus_magnitude"], [f"{name}/tail"]),
                  helper.make_node("Add", [f"{name}/one", f"{name}/tail"], [f"{name}/denominator"]),
                  helper.make_node("Div", [f"{name}/numerator", f"{name}/denominator"], [node.output[0]])]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def probe_difference(source: Path, exported: Path) -> float:
    """Largest difference between the two folders' probabilities, as the decision sees them
    (network, fusion with the feature model, calibration), on synthetic records of every
    Challenge lead set, each predictor reading them as the driver does."""
    rng = np.random.default_rng(0)
    generated = [generate_record(SOURCES[prefix], f"probe{i}", rng)
                 for i, prefix in zip(range(PROBE_RECORDS), list(SOURCES) * PROBE_RECORDS)]
    records = [harness_record(g.header_text(), g.adc) for g in generated]
    worst = 0.0
    for leads in LEAD_SETS.values():
        difference = np.abs(load_predictor(source, leads).probabilities(records)
                            - load_predictor(exported, leads).probabilities(records))
        if not np.isfinite(difference).all():  # max() would skip a NaN and pass the check
            return float("nan")
        worst = max(worst, float(difference.max()))
    return worst


def _section(source: Path, network, difference: float) -> dict:
    """What the exported network takes and how it was checked, for the card."""
    cfg = model_folder.read_config(source)
    meta = {"demographics": [0, N_DEMOGRAPHICS], "lead_mask": [LEAD_MASK.start, LEAD_MASK.stop],
            "lead_log10_scale": [LEAD_SCALE.start, LEAD_SCALE.stop]}
    end = N_META
    if cfg.model.wide_features:
        meta["classic_features"] = [end, end + len(FEATURE_NAMES)]
        end += len(FEATURE_NAMES)
    if cfg.model.beat_branch:
        meta["beat_table"] = [end, end + MAX_BEATS * len(BEAT_COLUMNS)]
        end += MAX_BEATS * len(BEAT_COLUMNS)
    signal_shape, meta_shape = (list(tensor.shape[1:]) for tensor in network.inputs)
    return {"runtime": "onnxruntime", "network": ONNX_FILE, "from_model": card.identity(source),
            "inputs": {INPUT_NAMES[0]: ["batch", *signal_shape], INPUT_NAMES[1]: ["batch", *meta_shape]},
            "output": ["batch", "class probabilities, classes.json order"],
            "preprocessing": {"sampling_rate_hz": cfg.preprocess.fs, "window_samples": cfg.preprocess.window,
                              "units": "mV", "leads": "I, II, III, aVR, aVL, aVF, V1-V6 (absent leads zero)",
                              "code": "ecgcinc.signals.preprocess.preprocess_record"},
            "meta_layout": meta,
            "classic_features": "ecgcinc.signals.features.record_measures" if (cfg.model.wide_features or cfg.model.fusion)
            else "",
            "check": {"records": PROBE_RECORDS, "lead_sets": len(LEAD_SETS), "max_probability_difference": difference,
                      "tolerance": TOLERANCE},
            "software": {name: _version(name) for name in ("onnx", "tf2onnx", "onnxruntime")}}


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return ""
