"""The evaluator agrees with the official evaluation-2021 code (golden values made by
tests/golden/make_golden.py from the official repository)."""
import json
from pathlib import Path

import numpy as np
import pytest

from ecgcinc.core.classes import load_classes
from ecgcinc.evidence.evaluation import evaluate_model
from ecgcinc.core import metrics

GOLDEN = json.loads((Path(__file__).parent / "golden" / "metrics.json").read_text())
CLASSES = load_classes()


def close(actual, expected):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float)
    np.testing.assert_allclose(actual.reshape(expected.shape), expected, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("index", range(len(GOLDEN["arrays"])))
def test_metrics_match_official(index):
    case = GOLDEN["arrays"][index]
    labels = np.array(case["labels"], dtype=bool)
    binary = np.array(case["binary"], dtype=bool)
    scalars = np.array(case["scalars"], dtype=float)
    s = metrics.score_all(CLASSES.weights, CLASSES.sinus_index, labels, binary, scalars)
    e = case["expected"]
    close(s.auroc, e["auroc"]); close(s.auprc, e["auprc"])
    close(s.auroc_classes, e["auroc_classes"]); close(s.auprc_classes, e["auprc_classes"])
    close(s.accuracy, e["accuracy"]); close(s.f_measure, e["f_measure"])
    close(s.f_measure_classes, e["f_classes"]); close(s.challenge_metric, e["challenge"])


@pytest.mark.parametrize("case", GOLDEN["folders"], ids=lambda c: c["name"])
def test_folder_evaluation_matches_official(case, tmp_path):
    labels, outputs = tmp_path / "labels", tmp_path / "outputs"
    labels.mkdir(), outputs.mkdir()
    for name, text in case["headers"].items():
        (labels / f"{name}.hea").write_text(text)
    for name, text in case["outputs"].items():
        (outputs / f"{name}.csv").write_text(text)
    _, auroc, auprc, auroc_c, auprc_c, acc, f, f_c, challenge = evaluate_model(labels, outputs)
    e = case["expected"]
    close(auroc, e["auroc"]); close(auprc, e["auprc"]); close(auroc_c, e["auroc_classes"])
    close(auprc_c, e["auprc_classes"]); close(acc, e["accuracy"]); close(f, e["f_measure"])
    close(f_c, e["f_classes"]); close(challenge, e["challenge"])


def test_wfdb_style_label_headers_are_read(tmp_path):
    """`# Dx:` (wfdb style) labels count; the official helper would read none."""
    (tmp_path / "l").mkdir(), (tmp_path / "o").mkdir()
    (tmp_path / "l" / "R.hea").write_text("R 12 500 5000\n# Dx: 164889003\n")
    (tmp_path / "o" / "R.csv").write_text("#R\n164889003,426783006\n1,0\n0.9,0.1\n")
    result = evaluate_model(tmp_path / "l", tmp_path / "o")
    assert result[5] == 1.0 and result[8] == 1.0


def test_missing_output_file_is_an_error(tmp_path):
    (tmp_path / "l").mkdir(), (tmp_path / "o").mkdir()
    (tmp_path / "l" / "R.hea").write_text("R 12 500 5000\n#Dx: 164889003\n")
    with pytest.raises(OSError, match="R.csv"):
        evaluate_model(tmp_path / "l", tmp_path / "o")


def test_perfect_and_sinus_only_outputs_score_one_and_zero():
    rng = np.random.default_rng(0)
    labels = rng.random((30, len(CLASSES))) < 0.2
    assert metrics.challenge_metric(CLASSES.weights, labels, labels, CLASSES.sinus_index) == pytest.approx(1.0)
    sinus = np.zeros_like(labels)
    sinus[:, CLASSES.sinus_index] = True
    assert metrics.challenge_metric(CLASSES.weights, labels, sinus, CLASSES.sinus_index) == pytest.approx(0.0)


def test_a_weight_that_is_not_a_number_is_one_error_naming_its_row_and_column(tmp_path):
    from ecgcinc.core.classes import DEFAULT_WEIGHTS, load_classes
    lines = DEFAULT_WEIGHTS.read_text().splitlines()
    cells = lines[3].split(",")
    cells[5] = "n/a"
    lines[3] = ",".join(cells)
    bad = tmp_path / "weights.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"row 4 \(.+\), column 6 \(.+\): 'n/a' is not a weight"):
        load_classes(bad)
