"""The feature baseline reads what driver.py reads: one output per test record named by its
file, the empty output with an error line for a record without usable leads, unlabelled folders
predicted, the Georgia header that names its record `E00009.mat`."""
import shutil

import numpy as np
import pytest

from ecgcinc.evidence.baseline import run_baseline, train_baseline, write_outputs
from ecgcinc.evidence.evaluation import evaluate_folders
from ecgcinc.io.records import find_records, load_mat, write_mat

# fits gradient boosting on the synthetic folder, once for the module (in one xdist worker)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("baseline-fit")]


@pytest.fixture(scope="session")
def fitted(synthetic_train, small_config):
    """One baseline fit shared by the tests that only read records with it (session-scoped, so
    a test of another module run between them in the same worker does not drop it)."""
    return train_baseline(synthetic_train, small_config())


@pytest.fixture(scope="module")
def test_folder(tmp_path_factory, sample_dir):
    """The real sample records, one renamed with the Georgia quirk, one with every lead flat."""
    folder = tmp_path_factory.mktemp("baseline_test")
    for header in find_records(sample_dir):
        shutil.copy(header, folder), shutil.copy(header.with_suffix(".mat"), folder)
    quirk = (folder / "E07501.hea").read_text().replace("E07501", "E00009", 1).split("\n", 1)
    first = quirk[0].split(" ", 1)
    (folder / "E00009.hea").write_text(f"{first[0]}.mat {first[1]}\n{quirk[1]}".replace("E07501.mat", "E00009.mat"))
    shutil.copy(folder / "E07501.mat", folder / "E00009.mat")
    flat = load_mat(folder / "HR06001.mat", "HR06001")
    write_mat(folder / "HR06001.mat", np.zeros_like(flat, dtype=np.int16))
    return folder


def test_every_record_gets_an_output_named_by_its_file(fitted, small_config, test_folder, tmp_path, capfd):
    out = tmp_path / "out"
    assert (test_folder / "E00009.hea").read_text().startswith("E00009.mat ")
    written = write_outputs(fitted, test_folder, out, small_config())
    names = sorted(p.stem for p in find_records(test_folder))
    assert written == len(names) and sorted(p.stem for p in out.glob("*.csv")) == names
    for name in names:
        lines = (out / f"{name}.csv").read_text().splitlines()
        if name == "HR06001":  # every lead flat: nothing to read, so no answer
            assert lines[1:] == ["", "", ""]
            continue
        assert len(lines) == 4 and len(lines[1].split(",")) == 26 and "1" in lines[2].split(","), name
    assert "ERROR HR06001: " in capfd.readouterr().err
    _, scores = evaluate_folders(test_folder, out)  # the official evaluator's reading finds every file
    assert len(names) == len(list(out.glob("*.csv")))


def test_the_baseline_learns_the_classes_it_was_shown(fitted, synthetic_train, synthetic_test, small_config,
                                                     tmp_path, monkeypatch):
    """Far above chance on unseen synthetic records (a baseline that learnt nothing scores an
    AUROC of 0.5 and a challenge metric near 0); `ecgcinc baseline`'s path, with the module's fit
    of the same folder and configuration standing in for its own."""
    from ecgcinc.evidence import baseline
    monkeypatch.setattr(baseline, "train_baseline", lambda folder, cfg: fitted if folder == synthetic_train else None)
    run_baseline(synthetic_train, synthetic_test, tmp_path / "out", small_config())
    _, scores = evaluate_folders(synthetic_test, tmp_path / "out")
    assert scores.auroc > 0.85 and scores.challenge_metric > 0.5


def test_an_unlabelled_test_folder_is_predicted(fitted, small_config, sample_dir, tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for header in find_records(sample_dir)[:4]:
        text = "\n".join(line for line in header.read_text().splitlines() if "Dx" not in line) + "\n"
        (hidden / header.name).write_text(text)
        shutil.copy(header.with_suffix(".mat"), hidden)
    assert write_outputs(fitted, hidden, tmp_path / "out", small_config()) == 4
    assert len(list((tmp_path / "out").glob("*.csv"))) == 4
