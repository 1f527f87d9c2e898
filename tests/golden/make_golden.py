"""Regenerate tests/golden/metrics.json from the official evaluation-2021 code.

Usage: python -m tests.golden.make_golden /path/to/evaluation-2021 [--cases 60]

The official repository is read from a local checkout given on the command line
(it is not part of this project).  Each case stores its inputs and the official
results, so the test suite checks this project's evaluator without it.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from ecgcinc.core.classes import load_classes  # noqa: E402


def load_official(path: Path):
    spec = importlib.util.spec_from_file_location("official_evaluate", path / "evaluate_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def array_case(rng: np.random.Generator, n_classes: int) -> dict:
    n = int(rng.choice([1, 2, 3, 5, 20, 80]))
    labels = rng.random((n, n_classes)) < rng.uniform(0.02, 0.4)
    if rng.random() < 0.3:
        labels[:, rng.integers(n_classes)] = False  # a class never present
    if rng.random() < 0.5:
        scalars = np.round(rng.random((n, n_classes)), 1)  # many ties
    else:
        scalars = rng.random((n, n_classes))
    binary = scalars > rng.uniform(0.2, 0.8)
    return {"labels": labels.astype(int).tolist(), "binary": binary.astype(int).tolist(),
            "scalars": scalars.tolist()}


def run_array_case(official, classes, weights, case: dict) -> dict:
    labels = np.array(case["labels"], dtype=bool)
    binary = np.array(case["binary"], dtype=bool)
    scalars = np.array(case["scalars"], dtype=float)
    auroc, auprc, auroc_c, auprc_c = official.compute_auc(labels, scalars)
    f, f_c = official.compute_f_measure(labels, binary)
    return {"auroc": auroc, "auprc": auprc, "auroc_classes": list(auroc_c), "auprc_classes": list(auprc_c),
            "accuracy": official.compute_accuracy(labels, binary), "f_measure": f, "f_classes": list(f_c),
            "challenge": official.compute_challenge_metric(weights, labels, binary, classes, {"426783006"})}


def folder_cases() -> list[dict]:
    """Output files in the unusual forms the official evaluator accepts."""
    hdr = "{r} 12 500 5000\n#Age: 50\n#Sex: Male\n#Dx: {dx}\n"
    return [
        {"name": "split_equivalents_and_words",
         "headers": {"R1": hdr.format(r="R1", dx="59118001,426783006"),
                     "R2": hdr.format(r="R2", dx="713427006"),
                     "R3": hdr.format(r="R3", dx="164889003,999999999")},
         "outputs": {
             "R1": "#R1\n713427006,59118001,426783006,164889003\nFalse,True,1,0\n0.2,0.8,0.9,0.1\n",
             "R2": "#R2\n59118001|713427006,426783006\nTrue,0\n0.7,0.3\n",
             "R3": "#R3\n164889003,426783006,999999999\n1,t,1\n0.6,nan,0.9\n"}},
        {"name": "missing_classes_and_empty_output",
         "headers": {"A1": hdr.format(r="A1", dx="426783006"),
                     "A2": hdr.format(r="A2", dx="164889003,270492004"),
                     "A3": hdr.format(r="A3", dx="10370003")},
         "outputs": {"A1": "#A1\n426783006\n1\n0.9\n",
                     "A2": "#A2\n\n\n\n",
                     "A3": "#A3\n10370003,164889003\n1,1\n0.5,0.5\n"}},
        {"name": "single_record",
         "headers": {"S1": hdr.format(r="S1", dx="164889003")},
         "outputs": {"S1": "#S1\n164889003,426783006\n1,0\n0.75,0.25\n"}},
    ]


def run_folder_case(official, case: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        labels, outputs = Path(tmp, "labels"), Path(tmp, "outputs")
        labels.mkdir(), outputs.mkdir()
        for name, text in case["headers"].items():
            (labels / f"{name}.hea").write_text(text)
        for name, text in case["outputs"].items():
            (outputs / f"{name}.csv").write_text(text)
        result = official.evaluate_model(str(labels), str(outputs))
    _, auroc, auprc, auroc_c, auprc_c, acc, f, f_c, challenge = result
    return {"auroc": auroc, "auprc": auprc, "auroc_classes": list(auroc_c), "auprc_classes": list(auprc_c),
            "accuracy": acc, "f_measure": f, "f_classes": list(f_c), "challenge": challenge}


def to_json(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("official", type=Path, help="checkout of physionetchallenges/evaluation-2021")
    parser.add_argument("--cases", type=int, default=60)
    args = parser.parse_args()
    official = load_official(args.official)
    classes_obj = load_classes(ROOT / "weights.csv")
    os.chdir(ROOT)  # the official evaluate_model reads ./weights.csv
    classes, weights = official.load_weights("weights.csv")
    assert [set(c) for c in classes_obj.codes] == classes
    rng = np.random.default_rng(2021)
    arrays = []
    for _ in range(args.cases):
        case = array_case(rng, len(classes))
        case["expected"] = run_array_case(official, classes, weights, case)
        arrays.append(case)
    folders = []
    for case in folder_cases():
        case["expected"] = run_folder_case(official, case)
        folders.append(case)
    out = Path(__file__).with_name("metrics.json")
    out.write_text(json.dumps(to_json({"arrays": arrays, "folders": folders})))
    print(f"wrote {out}: {len(arrays)} array cases, {len(folders)} folder cases")


if __name__ == "__main__":
    main()
