"""`ecgcinc classify` on users' own files: WFDB records as PTB-XL and MIMIC-IV-ECG store them,
arrays and CSV give the probabilities the driver writes for the same records; the output
repeats byte for byte; bad inputs are named and the run goes on."""
import csv
import json
import shutil

import numpy as np
import pytest

from ecgcinc.serving import card
from ecgcinc.__main__ import main
from ecgcinc.io.ecg_files import canonical_leads
from ecgcinc.serving.predict import predict_folder
from ecgcinc.io.records import find_records, format_header, load_mat, read_header, write_mat

pytestmark = pytest.mark.slow  # the session's trained model
RECORDS = ("E07500", "HR06000", "JS20000")   # Georgia, PTB-XL, Chapman-Shaoxing


@pytest.fixture(scope="module")
def originals(sample_dir, tmp_path_factory):
    """Three real records and the driver's probabilities for them."""
    folder = tmp_path_factory.mktemp("originals")
    for header in find_records(sample_dir):
        if header.stem in RECORDS:
            shutil.copy(header, folder), shutil.copy(header.with_suffix(".mat"), folder)
    assert len(find_records(folder)) == len(RECORDS)
    return folder


@pytest.fixture(scope="module")
def driver_probabilities(trained_model, originals, tmp_path_factory):
    out = tmp_path_factory.mktemp("driver")
    assert predict_folder(trained_model, originals, out, verbose=0) == 0
    return {p.stem: np.array(p.read_text().split("\n")[3].split(","), dtype=float) for p in out.glob("*.csv")}


def _classify(capsys, *args):
    status = main(["classify", *map(str, args)])
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines()], captured.err


def _probabilities(row):
    return np.array([c["probability"] for c in row["classes"]])


def _millivolts(header_path):
    header = read_header(header_path)
    raw = load_mat(header_path.with_suffix(".mat"), header.record).astype(np.float64)
    return header, (raw - header.baselines[:, None]) / header.gains[:, None]


def test_wfdb_records_in_format_16_and_212_match_the_driver(trained_model, originals, driver_probabilities,
                                                            tmp_path, capsys):
    import wfdb
    (tmp_path / "f16").mkdir(), (tmp_path / "f212").mkdir()
    for header_path in find_records(originals):
        header = read_header(header_path)
        raw = load_mat(header_path.with_suffix(".mat"), header.record)
        n = header.num_signals
        # format 16 with the original gains and baselines, as PTB-XL and MIMIC-IV-ECG store records
        wfdb.wrsamp(header.record, header.fs, ["mV"] * n, list(header.leads), d_signal=raw.T.astype(np.int64),
                    fmt=["16"] * n, adc_gain=list(header.gains), baseline=[int(b) for b in header.baselines],
                    comments=[f"Age: {header.age:g}", f"Sex: {header.sex}", f"Dx: {','.join(header.dx)}"],
                    write_dir=str(tmp_path / "f16"))
        # format 212 (12 bits over each lead's range, wfdb's own gains), and a Challenge copy of
        # exactly the values it holds, for the driver
        _, millivolts = _millivolts(header_path)
        wfdb.wrsamp(header.record, header.fs, ["mV"] * n, list(header.leads), p_signal=millivolts.T,
                    fmt=["212"] * n, comments=[f"Age: {header.age:g}", f"Sex: {header.sex}"],
                    write_dir=str(tmp_path / "f212"))
        packed = wfdb.rdrecord(str(tmp_path / "f212" / header.record), physical=False)
        (tmp_path / "f212_mat").mkdir(exist_ok=True)
        write_mat(tmp_path / "f212_mat" / f"{header.record}.mat", packed.d_signal.T)
        (tmp_path / "f212_mat" / f"{header.record}.hea").write_text(format_header(
            header.record, header.fs, packed.d_signal.T, header.leads, packed.adc_gain, packed.baseline,
            {"Age": f"{header.age:g}", "Sex": str(header.sex)}, style="wfdb"))
    status, rows, _ = _classify(capsys, trained_model, tmp_path / "f16")
    assert status == 0 and [r["record"] for r in rows] == sorted(RECORDS)
    for row in rows:
        np.testing.assert_allclose(_probabilities(row), driver_probabilities[row["record"]], atol=1e-5)
        assert row["model"] == card.identity(trained_model) and len(row["leads"]) == 12
    assert predict_folder(trained_model, tmp_path / "f212_mat", tmp_path / "driver212", verbose=0) == 0
    status, rows, _ = _classify(capsys, trained_model, tmp_path / "f212")
    assert status == 0
    for row in rows:
        written = (tmp_path / "driver212" / f"{row['record']}.csv").read_text().split("\n")[3].split(",")
        np.testing.assert_allclose(_probabilities(row), np.array(written, dtype=float), atol=1e-5)
        print(row["record"], "format 212 against the original: max |Δp| =",
              np.abs(_probabilities(row) - driver_probabilities[row["record"]]).max())


def test_arrays_and_csv_match_the_driver(trained_model, originals, driver_probabilities, tmp_path, capsys):
    header, millivolts = _millivolts(originals / "HR06000.hea")
    np.save(tmp_path / "HR06000.npy", millivolts)
    np.savez(tmp_path / "T.npz", signal=millivolts.T * 1000.0)   # samples x leads, in µV
    rows_csv = [[lead.upper() for lead in header.leads]] + [[repr(float(v)) for v in column] for column in millivolts.T]
    with open(tmp_path / "C.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["time"] + rows_csv[0]] + [[str(i / header.fs)] + r
                                                                 for i, r in enumerate(rows_csv[1:])])
    want = driver_probabilities["HR06000"]
    leads = ["--leads", *header.leads, "--age", f"{header.age:g}", "--sex", header.sex]
    status, rows, _ = _classify(capsys, trained_model, tmp_path / "HR06000.npy", "--fs", header.fs, *leads)
    assert status == 0
    np.testing.assert_allclose(_probabilities(rows[0]), want, atol=1e-5)
    status, rows, _ = _classify(capsys, trained_model, tmp_path / "T.npz", "--fs", header.fs, "--units", "uV", *leads)
    np.testing.assert_allclose(_probabilities(rows[0]), want, atol=1e-5)
    status, rows, _ = _classify(capsys, trained_model, tmp_path / "C.csv", "--fs", header.fs, *leads[-4:])
    assert status == 0 and rows[0]["leads"] == list(header.leads)
    np.testing.assert_allclose(_probabilities(rows[0]), want, atol=1e-5)


def test_the_same_inputs_give_the_same_bytes(trained_model, originals, tmp_path, capsys):
    for fmt in ("jsonl", "csv"):
        outputs = []
        for run in range(2):
            out = tmp_path / f"{fmt}{run}"
            assert main(["classify", str(trained_model), str(originals), "--out", str(out), "--format", fmt]) == 0
            outputs.append(out.read_bytes())
        assert outputs[0] == outputs[1] and len(outputs[0].splitlines()) == len(RECORDS) + (fmt == "csv")
    row = json.loads((tmp_path / "jsonl0").read_text().splitlines()[0])
    first = row["classes"][0]
    assert set(first) == {"code", "abbreviation", "name", "probability", "threshold", "label"}
    assert any(c["name"] == "atrial fibrillation" and c["abbreviation"] == "AF" for c in row["classes"])
    header = next(csv.reader(open(tmp_path / "csv0")))
    assert header[:6] == ["record", "source", "leads", "warnings", "model", "error"]
    assert "AF (164889003) probability" in header


def test_a_bad_input_is_named_and_the_others_are_classified(trained_model, originals, tmp_path, capsys):
    folder = tmp_path / "mixed"
    shutil.copytree(originals, folder)
    (folder / "broken.npy").write_bytes(b"not an array")
    status, rows, err = _classify(capsys, trained_model, folder, "--fs", "500", "--leads", "I", "II")
    assert status == 1 and [r["record"] for r in rows] == ["E07500", "HR06000", "JS20000", "broken"]
    assert "error" in rows[-1] and "broken.npy" in err and all("classes" in r for r in rows[:3])


def test_lead_names_match_by_case_and_unambiguous_aliases(trained_model, tmp_path, capsys):
    assert canonical_leads(["avr", "MLII", "v1"], "x", strict=True) == ["aVR", "II", "V1"]
    assert canonical_leads(["II", "MLII"], "x", strict=False) == ["II", None]   # II is there: MLII is not II
    signal = np.sin(np.linspace(0, 60, 5000))[None] * np.array([[1.0], [0.6]])
    np.save(tmp_path / "two.npy", signal)
    status, rows, _ = _classify(capsys, trained_model, tmp_path / "two.npy", "--fs", "500", "--leads", "MLII", "V1")
    assert status == 0 and rows[0]["leads"] == ["II", "V1"]
    status, rows, err = _classify(capsys, trained_model, tmp_path / "two.npy", "--fs", "500", "--leads", "II", "PLETH")
    assert status == 1 and "'PLETH' is not an ECG lead name" in err


def test_short_flat_records_carry_warnings_and_explain_draws_each(trained_model, originals, tmp_path, capsys):
    header, millivolts = _millivolts(originals / "HR06000.hea")
    short = millivolts[:, : int(3 * header.fs)].copy()
    short[5] = 0.0
    np.save(tmp_path / "short.npy", short)
    status, rows, _ = _classify(capsys, trained_model, tmp_path / "short.npy", "--fs", header.fs, "--leads",
                                *header.leads, "--explain", tmp_path / "pictures")
    warnings = " ".join(rows[0]["warnings"])
    assert status == 0 and "lead aVF is flat" in warnings and "only 3.0 s long" in warnings
    assert (tmp_path / "pictures" / "short.png").stat().st_size > 10_000
    stderr = _classify(capsys, trained_model, tmp_path / "short.npy", "--fs", header.fs, "--leads", *header.leads)[2]
    assert "WARNING short: lead aVF is flat" in stderr  # on stderr too, as the driver prints them


@pytest.mark.parametrize("values", [0.0, np.nan], ids=["all_flat", "all_nan"])
def test_an_array_without_usable_leads_is_an_error_row(trained_model, originals, tmp_path, capsys, values):
    np.save(tmp_path / "empty.npy", np.full((12, 5000), values))
    header, millivolts = _millivolts(originals / "E07500.hea")
    np.save(tmp_path / "fine.npy", millivolts)
    status, rows, err = _classify(capsys, trained_model, tmp_path / "empty.npy", tmp_path / "fine.npy", "--fs", "500",
                                  "--leads", *header.leads)
    assert status == 1 and "classes" not in rows[0] and "no usable standard lead" in rows[0]["error"]
    assert "classes" in rows[1] and "ERROR" in err


def test_odd_lead_subsets_name_their_view(trained_model, originals, tmp_path, capsys):
    header, millivolts = _millivolts(originals / "E07500.hea")
    np.save(tmp_path / "v1.npy", millivolts[6:7])
    np.save(tmp_path / "two.npy", millivolts[:2])
    status, rows, err = _classify(capsys, trained_model, tmp_path / "v1.npy", "--fs", "500", "--leads", "V1")
    assert status == 0 and rows[0]["view"] == "-".join(header.leads)
    assert "not one of the Challenge's lead sets" in " ".join(rows[0]["warnings"]) and "WARNING leads V1" in err
    status, rows, err = _classify(capsys, trained_model, tmp_path / "two.npy", "--fs", "500", "--leads", "I", "II")
    assert rows[0]["view"] == "I-II-III-aVR-aVL-aVF" and not rows[0]["warnings"] and "WARNING" not in err


def test_without_a_model_the_ready_model_classifies(originals, capsys):
    from ecgcinc.serving.ready import READY_MODEL
    status, rows, _ = _classify(capsys, originals / "E07500.hea")
    assert status == 0 and rows[0]["model"] == card.identity(READY_MODEL) and len(rows[0]["classes"]) == 26
