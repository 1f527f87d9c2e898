"""One source's records under a model folder: a row per record of that source only, with its
labels, outputs, heart rate and the source's score without it."""
import re
from pathlib import Path

import numpy as np
import pytest

from ecgcinc.core.metrics import challenge_metric
from ecgcinc.evidence.folder_comparison import predictions
from ecgcinc.evidence.source_records import table

REAL = Path(__file__).parent / "data" / "real"


def test_a_row_per_record_of_the_source_with_the_score_left_out(trained_model):
    text = table(trained_model, [REAL], "PTB-XL")
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| HR")]
    assert [r[0].strip("| ") for r in rows] == ["HR06000", "HR06001", "HR06002", "HR06003"]
    assert rows[2][1] == "IRBBB, NSR, SB" and abs(float(rows[3][3]) - 124) <= 3   # HR06003: sinus tachycardia
    headers = sorted(REAL.glob("HR*.hea"))
    classes, labels, _, binary, _ = predictions(trained_model, headers)
    whole = challenge_metric(classes.weights, labels, binary, classes.sinus_index)
    assert re.search(rf"challenge metric {whole:+.3f}", text)
    for i, row in enumerate(rows):
        keep = np.arange(len(headers)) != i
        assert float(row[4].strip(" |")) == pytest.approx(
            challenge_metric(classes.weights, labels[keep], binary[keep], classes.sinus_index), abs=6e-4)


def test_a_source_with_no_record_is_named(trained_model):
    with pytest.raises(ValueError, match="no record of source 'PTB'"):
        table(trained_model, [REAL], "PTB")
