"""`ecgcinc classify`: a trained model folder run on users' own ECG files, one row per record.

Why: `predict` writes the Challenge's output files for a Challenge folder; a user with PTB-XL
records, arrays or CSV wants one table of what the model says about each, with the thresholds
it decided by, what it could not use, and which model said it.  The rows come from the same
predictor as the driver's (one per lead set, predict.load_predictor), so a record classified
here gets the probabilities the driver writes for it.

Output: JSON lines (default) or CSV, one row per input record, in input order; probabilities
rounded as the Challenge output files round them.  Nothing in a row depends on the run (no
time, no absolute path unless the user gave one), so the same inputs give the same bytes.  A
record that cannot be read or scored is a row with its error and a line on stderr, and the run
goes on; the exit status then says that some failed.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from . import card
from . import model_folder
from ..core.classes import ClassSet
from ..io.ecg_files import Input, find_inputs, from_array, read_input
from .harness import per_lead_set
from ..signals.lead_sets import sort_leads
from ..io.outputs import PROBABILITY_DECIMALS, atomic_write_text
from .predict import Predictor, load_predictor
from ..io.records import TWELVE_LEADS
from ..decision.thresholds import decide

SHORT_SECONDS = 5.0   # the Challenge's shortest records; below this the rhythm features have few beats
FORMATS = ("jsonl", "csv")


class Classifier:
    """A model folder ready for users' own ECGs: a predictor per lead set (loaded when a record of
    that set first comes), and each record's result as one row: the classes' codes, names,
    probabilities, thresholds and labels, the leads used, the lead-set view, warnings and the
    model's identity.  `ecgcinc.load()` returns one; `ecgcinc classify` prints its rows."""

    def __init__(self, model_dir: str | Path, runtime: str = "auto", explain_dir: str | Path | None = None):
        self.model_dir = model_folder.check(model_dir)
        _check_runtime(self.model_dir, runtime, explain_dir is not None)
        self.explain_dir = Path(explain_dir) if explain_dir else None
        self.identity = card.identity(self.model_dir)
        self._predictors = per_lead_set(lambda lead_set: load_predictor(self.model_dir, lead_set))

    @property
    def classes(self) -> ClassSet:
        return model_folder.read_classes(self.model_dir)

    def predict(self, signal: np.ndarray, fs: float, leads: Sequence[str], age: float | None = None,
                sex: str | None = None, units: str = "mV", name: str = "signal") -> dict:
        """The result of one (leads, samples) array; raises RecordError when it cannot be scored
        (no usable lead, no sampling rate, unknown lead names)."""
        return self.result(from_array(signal, fs, leads, units, age, sex, name))

    def predict_files(self, paths: Sequence[str | Path], fs: float | None = None, leads: Sequence[str] | None = None,
                      units: str = "mV", age: float | None = None, sex: str | None = None) -> list[dict]:
        """A row per record found in `paths` (WFDB records, Challenge records, .npy/.npz, CSV, or
        folders of them), in order; a record that cannot be read or scored is a row with its error."""
        files = find_inputs(paths)
        if not files:
            raise FileNotFoundError(f"no record found in {', '.join(map(str, paths))}")
        return [self._row_or_error(path, fs, leads, units, age, sex) for path in files]

    def result(self, found: Input) -> dict:
        predictor = self._predictors(sort_leads(found.record.header.leads))
        row = _row(found, predictor, self.identity)
        for warning in row["warnings"]:  # on stderr too, as the driver prints a record's defects
            print(f"WARNING {row['record']}: {warning}", file=sys.stderr, flush=True)
        if self.explain_dir:
            _explain(predictor, found, self.explain_dir)
        return row

    def _row_or_error(self, path: Path, fs: float | None, leads: Sequence[str] | None, units: str,
                      age: float | None, sex: str | None) -> dict:
        try:
            return self.result(read_input(path, fs, leads, units, age, sex))
        except Exception as error:  # one record never stops the run, as in the driver's loop
            print(f"ERROR {path}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            return {"record": path.stem, "source": str(path), "error": f"{type(error).__name__}: {error}"}


def classify(model_dir: str | Path, inputs: Sequence[str | Path], out: str | Path | None = None,
             fmt: str = "jsonl", fs: float | None = None, leads: Sequence[str] | None = None, units: str = "mV",
             explain_dir: str | Path | None = None, age: float | None = None, sex: str | None = None,
             runtime: str = "auto") -> int:
    """Classify every record of `inputs` with the folder's model; rows to `out` (stdout when
    None); returns the number of records that failed.  runtime: "keras", "onnx" (a folder that
    `ecgcinc export` wrote; no TensorFlow is imported) or "auto" (the folder's own)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose {' or '.join(FORMATS)}")
    classifier = Classifier(model_dir, runtime, explain_dir)
    rows = classifier.predict_files(inputs, fs, leads, units, age, sex)
    text = _jsonl(rows) if fmt == "jsonl" else _csv(rows, classifier.classes)
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(Path(out), text)
    return sum("error" in row for row in rows)


def _check_runtime(model_dir: Path, runtime: str, explain: bool) -> None:
    """One clear error when the folder's network does not run in the runtime asked for."""
    has = model_folder.runtime_of(model_dir)
    if runtime not in ("auto", *model_folder.RUNTIMES):
        raise ValueError(f"unknown runtime {runtime!r}; choose auto, keras or onnx")
    if runtime == "onnx" and has == "keras":
        raise ValueError(f"{model_dir} is a trained (Keras) folder; for the ONNX runtime export it first: "
                         f"ecgcinc export {model_dir} OUT, then classify OUT")
    if runtime == "keras" and has == "onnx":
        raise ValueError(f"{model_dir} is an exported (ONNX) folder; classify the trained folder it came from "
                         "for the Keras runtime")
    if explain and has == "onnx":
        raise ValueError("--explain reads the class-wise attention inside the Keras network; use the trained folder")


def _row(found: Input, predictor: Predictor, identity: str) -> dict:
    record = found.record
    probabilities = predictor.probabilities([record])[0]
    labels = decide(probabilities[None], predictor.thresholds, predictor.classes, predictor.cfg.thresholds)[0]
    classes = predictor.classes
    descriptions = classes.descriptions
    return {"record": record.name, "source": found.source,
            "leads": [lead for lead, present in zip(TWELVE_LEADS, record.mask) if present],
            "view": predictor.view(record),
            "warnings": found.warnings + record.defects + _length_warning(record.signal.shape[1] / record.header.fs)
            + ([predictor.note] if predictor.note else []),
            "model": identity,
            "classes": [{"code": code, "abbreviation": abbr, "name": name,
                         "probability": round(float(p), PROBABILITY_DECIMALS),
                         "threshold": round(float(t), PROBABILITY_DECIMALS), "label": int(label)}
                        for code, abbr, name, p, t, label in zip(classes.names, classes.abbreviations, descriptions,
                                                                   probabilities, predictor.thresholds, labels)]}


def _length_warning(seconds: float) -> list[str]:
    return [f"only {seconds:.1f} s long (shorter than {SHORT_SECONDS:g} s): rhythm features rest on few beats"] \
        if seconds < SHORT_SECONDS else []


def _explain(predictor: Predictor, found: Input, folder: Path) -> None:
    from .explain import explain, plot_explanation  # Keras loads here
    folder.mkdir(parents=True, exist_ok=True)
    plot_explanation(explain(predictor, found.record), folder / f"{found.record.name}.png")


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _csv(rows: list[dict], classes: ClassSet) -> str:
    """One row per record: its fields, then probability, threshold and label per class
    (columns named by abbreviation and SNOMED code)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    per_class = [f"{abbr} ({code}) {what}" for abbr, code in zip(classes.abbreviations, classes.names)
                 for what in ("probability", "threshold", "label")]
    writer.writerow(["record", "source", "leads", "warnings", "model", "error", *per_class])
    for row in rows:
        values = [value for c in row.get("classes", []) for value in (c["probability"], c["threshold"], c["label"])]
        writer.writerow([row["record"], row["source"], " ".join(row.get("leads", [])), "; ".join(row.get("warnings", [])),
                         row.get("model", ""), row.get("error", ""), *(values or [""] * len(per_class))])
    return buffer.getvalue()
