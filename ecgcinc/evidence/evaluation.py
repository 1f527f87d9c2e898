"""Scoring a folder of outputs against a folder of labelled headers (the official evaluator's job)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..core.classes import DEFAULT_WEIGHTS, ClassSet, load_classes
from ..core.metrics import Scores, score_all
from ..io.outputs import read_outputs
from ..io.records import find_records, read_dx


# The official evaluator reads the weights.csv of the folder it runs in: re-targeting the costs is
# one file dropped beside the script.
HARNESS_WEIGHTS = "weights.csv"


def harness_weights(explicit: str | Path | None = None, folder: str | Path = ".") -> tuple[Path, str]:
    """The weights.csv the evaluator scores with, and a line saying which: `explicit` when given,
    else the folder's own weights.csv as the official evaluator takes it, else the package's copy
    of the official 2021 file (and the line says there was none in the folder)."""
    if explicit is not None:
        return Path(explicit), f"weights: {explicit}"
    local = Path(folder) / HARNESS_WEIGHTS
    if local.is_file():
        return local, f"weights: {local}"
    return DEFAULT_WEIGHTS, (f"weights: no {HARNESS_WEIGHTS} in {Path(folder).resolve()}; using the package's copy "
                             "of the official 2021 file")


def load_label_matrix(header_files: Sequence[Path], classes: ClassSet) -> np.ndarray:
    return classes.encode_many([read_dx(path) for path in header_files])


def pair_files(label_dir: str | Path, output_dir: str | Path) -> tuple[list[Path], list[Path]]:
    """Every header in label_dir with its `<record>.csv`; a missing output is an error."""
    headers = find_records(label_dir)
    if not headers:
        raise OSError(f"no label files (.hea) found in {label_dir}")
    if not Path(output_dir).is_dir():
        raise FileNotFoundError(f"output folder {Path(output_dir).resolve()} does not exist")
    outputs = [Path(output_dir) / (path.stem + ".csv") for path in headers]
    missing = [path.name for path in outputs if not path.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise OSError(f"{len(missing)} output file(s) missing in {output_dir}: {shown}")
    return headers, outputs


def evaluate_folders(label_dir: str | Path, output_dir: str | Path,
                     weights_file: str | Path | None = None) -> tuple[ClassSet, Scores]:
    classes = load_classes(weights_file)
    headers, outputs = pair_files(label_dir, output_dir)
    labels = load_label_matrix(headers, classes)
    binary, probabilities = (np.stack(parts) for parts in zip(*(read_outputs(p, classes) for p in outputs)))
    return classes, score_all(classes.weights, classes.sinus_index, labels, binary, probabilities)


def evaluate_model(label_dir: str | Path, output_dir: str | Path, weights_file: str | Path | None = None):
    """The official 9-tuple: classes, AUROC, AUPRC, per-class AUROC, per-class AUPRC,
    accuracy, F-measure, per-class F-measure, challenge metric.  Classes are sets of
    equivalent codes, as the official function returns them.  Without `weights_file`, the
    weights.csv of the working folder when there is one, as the official function reads it."""
    classes, s = evaluate_folders(label_dir, output_dir, harness_weights(weights_file)[0])
    class_sets = [set(group) for group in classes.codes]
    return (class_sets, s.auroc, s.auprc, s.auroc_classes, s.auprc_classes, s.accuracy,
            s.f_measure, s.f_measure_classes, s.challenge_metric)


def format_scores(scores: Scores) -> str:
    return ("AUROC,AUPRC,Accuracy,F-measure,Challenge metric\n"
            f"{scores.auroc:.3f},{scores.auprc:.3f},{scores.accuracy:.3f},"
            f"{scores.f_measure:.3f},{scores.challenge_metric:.3f}")


def format_class_scores(classes: ClassSet, scores: Scores) -> str:
    def row(values: np.ndarray) -> str:
        return ",".join(f"{v:.3f}" for v in values)
    names = ",".join("|".join(sorted(group)) for group in classes.codes)
    return (f"Classes,{names}\nAUROC,{row(scores.auroc_classes)}\n"
            f"AUPRC,{row(scores.auprc_classes)}\nF-measure,{row(scores.f_measure_classes)}")
