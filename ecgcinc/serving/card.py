"""The model card: what a model folder is, what made it, and what it needs to load.

Why: a model folder travels (to the organisers, to a colleague, into a clinic's test bench),
and Keras's saved networks do not always load across major versions.  The card names the
versions that wrote the folder, so a mismatch is one line naming both instead of a traceback
from deep inside deserialisation; and it says what the model was trained on and how it scored
on its validation split, per class and per lead-set view, which a user needs before trusting
it on ECGs of their own.

`card.json` is written with the folder (model_folder.save) and `MODEL_CARD.md` is its readable
form; `ecgcinc info MODEL` prints that without loading Keras.  The first 16 hex digits of the
SHA-256 of card.json are the model's identity in `ecgcinc classify`'s output.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

from ..core.version import __version__
from ..core import metrics
from ..core import provenance
from ..core.classes import ClassSet
from ..signals.lead_sets import view_name, views_of
from ..io.outputs import atomic_write_text
from ..signals.preprocess import LEAD_MASK

FORMAT_VERSION = 1          # the model folder's layout; raised when a reader of today could not read it
CARD_FILE = "card.json"
CARD_TEXT_FILE = "MODEL_CARD.md"


def software() -> dict:
    """The versions of what writes (or reads) a folder now; Keras is already loaded by then."""
    import keras
    backend = keras.backend.backend()
    module = sys.modules.get(backend)
    return {"ecgcinc": __version__, "commit": provenance.commit(), "source_hash": provenance.source_hash(),
            "python": platform.python_version(), "numpy": np.__version__, "keras": keras.__version__,
            "backend": backend, "backend_version": getattr(module, "__version__", "")}


def training_data(labels: np.ndarray, domains: np.ndarray, domain_names: list[str], meta: np.ndarray,
                  rates: np.ndarray | None, classes: ClassSet, masks: np.ndarray,
                  generated: np.ndarray | None = None) -> dict:
    """What the model learnt from: records per source, positives per class, records per lead-set
    view and per sampling rate (training and validation splits together), and how many of them
    were generated (training/generated_mix.py) rather than the folder's own."""
    view = views_of(meta[:, LEAD_MASK] > 0.5, masks)
    summary = {"records": int(len(labels)), "generated_records": 0 if generated is None else int(generated.sum()),
               "per_source": {name: int((domains == i).sum()) for i, name in enumerate(domain_names)},
               "per_class": {abbr: int(n) for abbr, n in zip(classes.abbreviations, labels.sum(axis=0))},
               "per_view": {view_name(mask): int((view == v).sum()) for v, mask in enumerate(masks)}}
    if rates is not None:
        values, counts = np.unique(np.round(np.asarray(rates, float)).astype(int), return_counts=True)
        summary["sampling_rates_hz"] = {str(int(v)): int(c) for v, c in zip(values, counts)}
    return summary


def validation_scores(view_probabilities: list[np.ndarray], labels: np.ndarray, binary: list[np.ndarray],
                      classes: ClassSet, masks: np.ndarray) -> dict:
    """Scores on the validation split (the records the epoch and the decision were chosen on, so
    optimistic for new sources): per lead-set view the challenge metric, macro AUROC and F1; per
    class, on all twelve leads, positives, AUROC and F1."""
    per_view, per_class = {}, {}
    for v, (probabilities, outputs) in enumerate(zip(view_probabilities, binary)):
        scores = metrics.score_all(classes.weights, classes.sinus_index, labels, outputs, probabilities)
        per_view[view_name(masks[v])] = {"challenge": _rounded(scores.challenge_metric),
                                         "auroc": _rounded(scores.auroc), "f1": _rounded(scores.f_measure)}
        if v == 0:
            for k, abbr in enumerate(classes.abbreviations):
                per_class[abbr] = {"positives": int(labels[:, k].sum()), "auroc": _rounded(scores.auroc_classes[k]),
                                   "f1": _rounded(scores.f_measure_classes[k])}
    return {"records": int(len(labels)), "per_view": per_view, "per_class": per_class}


def _rounded(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)


def build(cfg_dict: dict, classes: ClassSet, history: dict, thresholds: np.ndarray, method: str) -> dict:
    """The card of a folder being saved, from its configuration, classes, training history (which
    carries the data summary, the validation scores, the size and the timings) and thresholds."""
    return {"format_version": FORMAT_VERSION,
            "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "software": software(),
            "size": history.get("size", {}),
            "configuration": cfg_dict,
            "training_data": history.get("training_data", {}),
            "validation": history.get("validation", {}),
            "thresholds": _thresholds(classes, thresholds, method),
            "training": {"seconds": history.get("seconds_before_saving"), "machine": history.get("machine", ""),
                         "time_budget_h": history.get("time_budget_h"), "best_epoch": history.get("best_epoch"),
                         "stopped_by_budget": history.get("budget_stop", "")}}


def write(model_dir: str | Path, card: dict) -> None:
    """card.json and MODEL_CARD.md, each written whole or not at all."""
    atomic_write_text(Path(model_dir) / CARD_FILE, json.dumps(card, indent=2) + "\n")
    atomic_write_text(Path(model_dir) / CARD_TEXT_FILE, render(card))


def read(model_dir: str | Path) -> dict | None:
    """The folder's card, or None for a folder written before cards existed."""
    path = Path(model_dir) / CARD_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def identity(model_dir: str | Path) -> str:
    """The model's identity: SHA-256 (16 hex digits) of its card; '' without a card."""
    path = Path(model_dir) / CARD_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else ""


def loading_problem(model_dir: str | Path, keras_version: str | None) -> str:
    """One line naming both versions when the folder's format version or Keras major version is
    not this process's ('' when it loads; a folder written before cards existed is let through).
    keras_version None: the folder's network does not run in Keras (an ONNX export)."""
    written = read(model_dir)
    if written is None:
        return ""
    folder = Path(model_dir).resolve()
    version = written.get("format_version")
    if version != FORMAT_VERSION:
        return (f"model folder {folder} has format version {version}; this ecgcinc ({__version__}) reads format "
                f"version {FORMAT_VERSION}: use the ecgcinc that wrote it "
                f"({written.get('software', {}).get('ecgcinc', 'unknown')}) or train again")
    wrote = str(written.get("software", {}).get("keras", ""))
    if wrote and keras_version is not None and wrote.split(".")[0] != keras_version.split(".")[0]:
        return (f"model folder {folder} was written by Keras {wrote}; this process runs Keras {keras_version}: "
                f"install Keras {wrote.split('.')[0]}.x or train again")
    return ""


def with_thresholds(written: dict, classes: ClassSet, thresholds: np.ndarray, method: str) -> dict:
    """The card after re-targeting: new thresholds and their method."""
    return {**written, "thresholds": _thresholds(classes, thresholds, method)}


def _thresholds(classes: ClassSet, thresholds: np.ndarray, method: str) -> dict:
    return {"method": method, "values": {abbr: round(float(t), 6) for abbr, t in zip(classes.abbreviations, thresholds)}}


def render(card: dict) -> str:
    """MODEL_CARD.md: the card as a page a person reads."""
    sections = (_what_it_is, _real_records_section, _data_section, _validation_section, _export_section,
                _training_section)
    return "\n".join(line for section in sections for line in section(card))


def _what_it_is(card: dict) -> list[str]:
    sw, size = card["software"], card["size"]
    return ["# Model card", "",
            f"Written {card['written']} by ecgcinc {sw['ecgcinc']} (commit {sw['commit'] or 'unknown'}, source "
            f"{sw['source_hash']}), Keras {sw['keras']} on {sw['backend']} {sw['backend_version']}, NumPy "
            f"{sw['numpy']}, Python {sw['python']}; folder format version {card['format_version']}.", "",
            "## What it is", "",
            f"A multi-label classifier of 12-lead and reduced-lead ECGs into the Challenge's "
            f"{len(card['thresholds']['values'])} scored classes (PhysioNet/CinC Challenge 2021).",
            f"Size: {size.get('size', 'configured')} ({size.get('reason', 'named in the configuration')}).",
            f"Network: {card['configuration']['model']['backbone']}; fusion with the feature model: "
            f"{'on' if card['configuration']['model']['fusion'] else 'off'}.", ""]


def _real_records_section(card: dict) -> list[str]:
    """What a shipped folder (the ready model) measured on real records, and its limits."""
    real = card.get("real_records")
    if not real:
        return []
    lines = ["## Measured on real records", "", real["how"], "", "| held-out source | records | challenge metric |",
             "|---|---|---|"]
    lines += [f"| {name} | {s['records']} | {s['challenge']} |" for name, s in real["per_source"].items()]
    return lines + ["", "**Limits.** " + real["limits"], ""]


def _data_section(card: dict) -> list[str]:
    data = card["training_data"]
    if not data:
        return []
    generated = data.get("generated_records", 0)
    lines = ["## Training data", "", f"{data['records']:,} records (training and validation splits)"
             + (f", {generated:,} of them generated (training/generated_mix.py)" if generated else "") + ".", "",
             "| source | records |", "|---|---|"]
    lines += [f"| {name} | {n:,} |" for name, n in data["per_source"].items()]
    lines += ["", "| lead-set view | records |", "|---|---|"]
    lines += [f"| {name} | {n:,} |" for name, n in data["per_view"].items()]
    if "sampling_rates_hz" in data:
        lines += ["", "Sampling rates: " + ", ".join(f"{hz} Hz ({n:,})" for hz, n in
                                                   data["sampling_rates_hz"].items()) + "."]
    return lines + [""]


def _validation_section(card: dict) -> list[str]:
    val, data = card["validation"], card["training_data"] or {}
    if not val:
        return []
    lines = ["## Validation scores", "",
             f"On the {val['records']:,} validation records: the records its epoch and decision were chosen "
             "on, so they flatter it; sources it never saw score lower.", "",
             "| lead-set view | challenge metric | macro AUROC | macro F1 |", "|---|---|---|---|"]
    lines += [f"| {name} | {_cell(s['challenge'])} | {_cell(s['auroc'])} | {_cell(s['f1'])} |"
              for name, s in val["per_view"].items()]
    lines += ["", "| class | positives, all records | of them validation | AUROC | F1 | threshold |",
              "|---|---|---|---|---|---|"]
    for abbr, s in val["per_class"].items():
        lines.append(f"| {abbr.replace('|', chr(92) + '|')} | {data.get('per_class', {}).get(abbr, '')} | "
                     f"{s['positives']} | "
                     f"{_cell(s['auroc'])} | {_cell(s['f1'])} | {card['thresholds']['values'][abbr]:.3f} |")
    return lines + [""]


def _export_section(card: dict) -> list[str]:
    exported = card.get("export")
    if not exported:
        return []
    check = exported["check"]
    return ["## Exported network", "",
            f"This folder's network is {exported['network']}, run by {exported['runtime']} without TensorFlow "
            f"(`ecgcinc classify`), exported from the model {exported['from_model']}. On {check['records']} "
            f"synthetic records in each of {check['lead_sets']} lead sets its probabilities differed from the "
            f"Keras network's by at most {check['max_probability_difference']:.1e} (tolerance "
            f"{check['tolerance']:g}). Inputs: " + ", ".join(f"{name} {shape}" for name, shape in
                                                               exported["inputs"].items()) + ".", ""]


def _training_section(card: dict) -> list[str]:
    training = card["training"]
    return ["## Decision and training", "",
            f"Thresholds by {card['thresholds']['method']}. Trained in {training['seconds']} s on "
            f"{training['machine'] or 'an unrecorded machine'} (budget {training['time_budget_h']} h); best epoch "
            f"{training['best_epoch']}." + (f" {training['stopped_by_budget']}" if training['stopped_by_budget'] else ""),
            ""]


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
