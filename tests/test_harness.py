"""The Challenge harness: driver.py and the official test_model.py loop give identical bytes,
every lead set works, lead order does not matter, bad records do not stop the run."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.io
import pytest

import helper_code
import team_code
from ecgcinc.serving.predict import predict_folder
from ecgcinc.io.records import LEAD_SETS, TWELVE_LEADS, extract_leads, find_records, load_mat, write_mat

ROOT = Path(__file__).resolve().parents[1]


def official_style_loop(model_dir, data_dir, out_dir):
    """What the organisers' test_model.py does, through helper_code's official functions."""
    os.makedirs(out_dir, exist_ok=True)
    header_files, recording_files = helper_code.find_challenge_files(str(data_dir))
    models = {}
    for header_file, recording_file in zip(header_files, recording_files):
        header = helper_code.load_header(header_file)
        leads = helper_code.sort_leads(helper_code.get_leads(header))
        if leads not in models:
            models[leads] = team_code.load_model(str(model_dir), leads)
        recording = helper_code.load_recording(recording_file)
        try:
            classes, labels, probabilities = team_code.run_model(models[leads], header, recording)
        except Exception:
            classes, labels, probabilities = [], [], []
        root = os.path.splitext(os.path.basename(header_file))[0]
        helper_code.save_outputs(os.path.join(out_dir, root + ".csv"), helper_code.get_recording_id(header),
                                 classes, labels, probabilities)


def assert_same_bytes(a: Path, b: Path):
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def folders(sample_dir, synthetic_test, tmp_path_factory):
    small_synthetic = tmp_path_factory.mktemp("synthetic_subset")
    for header in find_records(synthetic_test)[:24]:
        shutil.copy(header, small_synthetic), shutil.copy(header.with_suffix(".mat"), small_synthetic)
    return {"sample": sample_dir, "synthetic": small_synthetic}


@pytest.mark.parametrize("source", ["sample", "synthetic"])
@pytest.mark.parametrize("num_leads", [12, 6, 4, 3, 2])
def test_driver_matches_official_loop(trained_model, folders, source, num_leads, tmp_path):
    data = folders[source]
    if num_leads < 12:
        data = tmp_path / "data"
        extract_leads(folders[source], data, LEAD_SETS[num_leads])
    official, ours = tmp_path / "official", tmp_path / "ours"
    official_style_loop(trained_model, data, official)
    assert predict_folder(trained_model, data, ours, verbose=0, load_model=team_code.load_model,
                          run_model=team_code.run_model) == 0
    assert_same_bytes(official, ours)
    lines = (ours / sorted(os.listdir(ours))[0]).read_text().split("\n")
    assert len(lines) == 5 and lines[4] == "" and len(lines[1].split(",")) == 26
    probabilities = np.array(lines[3].split(","), dtype=float)
    assert np.isfinite(probabilities).all() and ((probabilities >= 0) & (probabilities <= 1)).all()
    assert set(lines[2].split(",")) <= {"0", "1"}


def test_driver_script_and_evaluator_script(trained_model, sample_dir, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "driver.py", str(trained_model), str(sample_dir), str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert len(list(out.glob("*.csv"))) == len(find_records(sample_dir))
    run = subprocess.run([sys.executable, "evaluate_model.py", str(sample_dir), str(out),
                          str(tmp_path / "scores.csv"), str(tmp_path / "class_scores.csv")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "scores.csv").read_text().startswith("AUROC,AUPRC,Accuracy,F-measure,Challenge metric\n")
    assert (tmp_path / "class_scores.csv").read_text().count("\n") == 3


def test_lead_order_does_not_change_the_prediction(trained_model, sample_dir, tmp_path):
    header = (sample_dir / "HR06000.hea").read_text().split("\n")
    data = load_mat(sample_dir / "HR06000.mat", "HR06000")
    order = np.random.default_rng(3).permutation(12)
    (tmp_path / "HR06000.hea").write_text("\n".join([header[0]] + [header[1 + i] for i in order] + header[13:]))
    write_mat(tmp_path / "HR06000.mat", data[order])
    model = team_code.load_model(str(trained_model), TWELVE_LEADS)
    a = team_code.run_model(model, "\n".join(header), data)
    b = team_code.run_model(model, (tmp_path / "HR06000.hea").read_text(), data[order])
    assert a == b


def test_bad_records_get_an_error_line_and_an_output(trained_model, sample_dir, tmp_path, capfd):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("E07500", "E07501", "HR06000"):
        shutil.copy(sample_dir / f"{name}.hea", data), shutil.copy(sample_dir / f"{name}.mat", data)
    (data / "E07501.mat").write_bytes((data / "E07501.mat").read_bytes()[:500])   # truncated
    (data / "HR06000.mat").unlink()                                               # missing
    (data / "BAD1.hea").write_text("")                                           # empty header
    out = tmp_path / "out"
    assert predict_folder(trained_model, data, out, verbose=0) == 3
    errors = capfd.readouterr().err
    assert "ERROR E07501: cannot read E07501.mat" in errors
    assert "ERROR HR06000: missing recording file HR06000.mat" in errors
    assert "ERROR BAD1: empty header" in errors
    assert sorted(p.name for p in out.iterdir()) == ["BAD1.csv", "E07500.csv", "E07501.csv", "HR06000.csv"]
    assert (out / "E07501.csv").read_text() == "#E07501\n\n\n\n"
    assert len((out / "E07500.csv").read_text().split("\n")[1].split(",")) == 26


def test_defective_record_still_gets_finite_outputs(trained_model, sample_dir):
    header = (sample_dir / "E07500.hea").read_text()
    data = load_mat(sample_dir / "E07500.mat", "E07500").astype(float)
    data[0, :300] = np.nan
    data[4] = 0
    model = team_code.load_model(str(trained_model), helper_code.sort_leads(helper_code.get_leads(header)))
    _, labels, probabilities = team_code.run_model(model, header, data)
    assert np.isfinite(probabilities).all() and sum(labels) >= 1


@pytest.mark.parametrize("values", [0.0, np.nan], ids=["all_flat", "all_nan"])
def test_a_record_without_usable_leads_is_an_error_with_the_empty_output(trained_model, sample_dir, values,
                                                                          tmp_path, capfd):
    """No answer for a record with nothing to read: run_model refuses it, naming it, and the
    driver's loop writes its empty output and goes on with the others."""
    from ecgcinc.io.records import RecordError
    from ecgcinc.serving.harness import write_folder
    header = (sample_dir / "E07500.hea").read_text()
    data = np.full(load_mat(sample_dir / "E07500.mat", "E07500").shape, values)
    model = team_code.load_model(str(trained_model), helper_code.sort_leads(helper_code.get_leads(header)))
    with pytest.raises(RecordError, match="E07500: .*no usable standard lead"):
        team_code.run_model(model, header, data)
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("E07500", "E07501"):
        shutil.copy(sample_dir / f"{name}.hea", folder)
    if np.isfinite(values):
        write_mat(folder / "E07500.mat", data)
    else:   # NaN has no int16: the file holds float64, as a converted or hand-made record may
        scipy.io.savemat(str(folder / "E07500.mat"), {"val": data}, format="4")
    shutil.copy(sample_dir / "E07501.mat", folder)
    failures = write_folder(folder, tmp_path / "out", lambda leads: model, team_code.run_model, verbose=0)
    assert failures == 1
    assert (tmp_path / "out" / "E07500.csv").read_text().splitlines()[1:] == ["", "", ""]
    assert len((tmp_path / "out" / "E07501.csv").read_text().splitlines()[1].split(",")) == 26
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR E07500: ")]
    assert len(errors) == 1 and "no usable standard lead" in errors[0]


def _copied_records(sample_dir: Path, count: int, folder: Path) -> tuple[list[Path], Path]:
    """The first `count` real test records, copied into a new `folder`."""
    headers = find_records(sample_dir)[:count]
    folder.mkdir()
    for header in headers:
        shutil.copy(header, folder), shutil.copy(header.with_suffix(".mat"), folder)
    return headers, folder


def test_an_unexpected_exception_in_one_record_gets_the_empty_output_and_the_run_goes_on(sample_dir, tmp_path,
                                                                                          capfd):
    """As the official test_model.py, which catches every exception: the record that raised gets
    the empty output and an error line naming it and the exception; the records after it get theirs."""
    from ecgcinc.serving.harness import write_folder
    headers, data = _copied_records(sample_dir, 4, tmp_path / "data")
    broken = headers[1].stem

    def run(scorer, header_text, recording):
        if header_text.startswith(broken):
            raise RuntimeError("a failure nobody foresaw")
        return ["164889003"], [1], [0.9]
    failures = write_folder(data, tmp_path / "out", lambda leads: None, run, verbose=0)
    assert failures == 1
    assert f"ERROR {broken}: RuntimeError: a failure nobody foresaw" in capfd.readouterr().err
    for header in headers:
        lines = (tmp_path / "out" / f"{header.stem}.csv").read_text().splitlines()
        assert lines[1:] == (["", "", ""] if header.stem == broken else ["164889003", "1", "0.9"])


def test_a_failed_output_write_is_that_records_error_and_the_run_goes_on(sample_dir, tmp_path, capfd, monkeypatch):
    """A write that fails (disk full, permissions) costs that record alone: an error line naming
    it, the others written, and the failure counted (driver.py's exit status 1)."""
    from ecgcinc.serving import harness
    headers, data = _copied_records(sample_dir, 3, tmp_path / "data")
    full = headers[1].stem
    write = harness.write_outputs

    def disk_full(path, *args):
        if Path(path).stem == full:
            raise OSError(28, "No space left on device")
        write(path, *args)
    monkeypatch.setattr(harness, "write_outputs", disk_full)
    failures = harness.write_folder(data, tmp_path / "out", lambda leads: None,
                                    lambda scorer, text, recording: (["164889003"], [1], [0.9]), verbose=0)
    assert failures == 1
    assert f"ERROR {full}: cannot write its output: No space left on device" in capfd.readouterr().err
    assert sorted(p.stem for p in (tmp_path / "out").glob("*.csv")) == sorted(h.stem for h in headers if h.stem != full)
