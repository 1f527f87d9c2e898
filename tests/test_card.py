"""The model card: written with every trained folder, printed by `ecgcinc info`, kept in step with
re-targeted thresholds, and a folder of another format or Keras major version refused in one line."""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import ecgcinc
from ecgcinc.serving import card
from ecgcinc.serving import model_folder
from ecgcinc.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_version_is_pyprojects():
    assert re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1) == ecgcinc.__version__


def test_a_trained_folder_describes_itself(trained_model, synthetic_train, capsys):
    written = card.read(trained_model)
    assert written["format_version"] == card.FORMAT_VERSION
    import keras
    assert written["software"]["keras"] == keras.__version__ and written["software"]["backend"] == "tensorflow"
    data = written["training_data"]
    assert data["records"] == sum(data["per_source"].values()) == sum(data["per_view"].values())
    assert set(data["per_source"]) == {"Synthetic-A", "Synthetic-B", "Synthetic-C", "Synthetic-D"}
    assert data["sampling_rates_hz"] and sum(data["sampling_rates_hz"].values()) == data["records"]
    history = json.loads((trained_model / "history.json").read_text())
    assert data["records"] == history["train_records"] + history["validation_records"]
    validation = written["validation"]
    assert validation["records"] == history["validation_records"]
    assert list(validation["per_view"]) == ["I-II-III-aVR-aVL-aVF-V1-V2-V3-V4-V5-V6", "I-II-III-aVR-aVL-aVF",
                                            "I-II-III-aVR-aVL-aVF-V2"]
    thresholds = model_folder.read_threshold_info(trained_model)
    assert list(written["thresholds"]["values"].values()) == pytest.approx(thresholds["thresholds"], abs=1e-6)
    assert written["size"]["size"] == "small" and written["training"]["seconds"] > 0
    assert main(["info", str(trained_model)]) == 0
    printed = capsys.readouterr().out
    assert printed == (trained_model / card.CARD_TEXT_FILE).read_text()
    assert "| Synthetic-A |" in printed and "| I-II-III-aVR-aVL-aVF |" in printed and written["software"]["keras"] in printed
    assert len(card.identity(trained_model)) == 16


def test_the_card_scores_the_validation_split_as_the_evaluator_would():
    """Per view and per class, from probabilities and decisions: a perfect view scores 1."""
    from ecgcinc.core.classes import load_classes
    from ecgcinc.signals.lead_sets import views
    classes = load_classes()
    labels = np.zeros((6, len(classes)), dtype=bool)
    labels[:3, 0] = labels[3:, 1] = True
    perfect = labels.astype(float)
    wrong = 1.0 - perfect
    scores = card.validation_scores([perfect, wrong, perfect], labels, [labels, ~labels, labels], classes, views(True))
    first, second = scores["per_view"].values().__iter__().__next__(), list(scores["per_view"].values())[1]
    assert first["challenge"] == 1.0 and first["auroc"] == 1.0 and second["challenge"] < 0.5
    abbr = classes.abbreviations[0]
    assert scores["per_class"][abbr] == {"positives": 3, "auroc": 1.0, "f1": 1.0}


def test_retargeted_thresholds_reach_the_card(trained_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(trained_model, folder)
    before = card.identity(folder)
    classes = model_folder.read_classes(folder)
    model_folder.write_thresholds(folder, np.full(len(classes), 0.25), "fixed", 0.5, "weights.csv")
    written = card.read(folder)
    assert written["thresholds"]["method"] == "fixed" and set(written["thresholds"]["values"].values()) == {0.25}
    assert card.identity(folder) != before and "| fixed" not in (folder / card.CARD_TEXT_FILE).read_text()
    assert "Thresholds by fixed." in (folder / card.CARD_TEXT_FILE).read_text()


@pytest.mark.parametrize("change, named", [
    ({"format_version": card.FORMAT_VERSION + 1}, [f"format version {card.FORMAT_VERSION + 1}",
                                                    f"format version {card.FORMAT_VERSION}"]),
    ({"software": {"keras": "2.15.0"}}, ["Keras 2.15.0", "this process runs Keras 3."]),
], ids=["future-format", "keras-2"])
def test_a_folder_of_another_version_is_refused_in_one_line(trained_model, tmp_path, capsys, change, named):
    folder = tmp_path / "model"
    shutil.copytree(trained_model, folder)
    written = card.read(folder)
    written.update({key: {**written[key], **value} if isinstance(value, dict) else value
                    for key, value in change.items()})
    (folder / card.CARD_FILE).write_text(json.dumps(written))
    assert main(["predict", str(folder), str(ROOT / "tests" / "data" / "real"), str(tmp_path / "out")]) == 2
    line = capsys.readouterr().err
    assert line.count("\n") == 1 and str(folder.resolve()) in line and all(text in line for text in named), line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_info_without_a_card_is_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path)]) == 2
    assert "has no card.json" in capsys.readouterr().err
