"""The record reader: both header styles, lead mapping by name, every bad-input case."""
import re
import shutil

import numpy as np
import pytest
import scipy.io
import wfdb

from ecgcinc.signals import synth
from ecgcinc.core.config import PreprocessConfig
from ecgcinc.signals.preprocess import inference_windows, preprocess_record
from ecgcinc.io.records import (TWELVE_LEADS, RecordError, extract_leads, find_records, make_record,
                             parse_header, read_header, read_record, write_mat)


def wfdb_comment(header, key):
    for comment in header.comments:
        match = re.match(rf"\s*{key}\s*:\s*(.*)", comment)
        if match:
            return match.group(1).strip()
    return None


def test_sample_headers_match_wfdb(sample_dir):
    """Labels, age, sex, gains and the signal in mV agree with wfdb for every real record."""
    headers = find_records(sample_dir)
    assert len(headers) >= 12
    for path in headers:
        ours = read_record(path)
        theirs = wfdb.rdrecord(str(path.with_suffix("")))
        assert ours.header.dx == tuple(wfdb_comment(theirs, "Dx").split(","))
        assert ours.header.age == float(wfdb_comment(theirs, "Age"))
        assert ours.header.sex == wfdb_comment(theirs, "Sex")
        np.testing.assert_array_equal(ours.header.gains, theirs.adc_gain)
        assert ours.header.fs == theirs.fs
        flat = np.ptp(theirs.p_signal, axis=0) < 1e-3
        assert (ours.mask == ~flat).all()  # flat leads (JS20004 has three) are marked absent
        np.testing.assert_allclose(ours.signal[ours.mask], theirs.p_signal.T[ours.mask], atol=1e-6)


def test_sample_known_values(sample_dir):
    record = read_record(sample_dir / "E07500.hea")
    assert record.header.dx == ("67741000119109", "426177001")
    assert (record.header.age, record.header.sex) == (78.0, "Male")
    assert record.header.gains.tolist() == [1000.0] * 12 and record.signal.shape == (12, 5000)


def to_original_style(text):
    text = re.sub(r"(\d+)\.0\(0\)/m[vV]", r"\1/mV", text)
    return text.replace("16x1+24", "16+24").replace("# ", "#")


def test_original_style_copy_gives_identical_arrays(sample_dir, tmp_path):
    for path in find_records(sample_dir):
        (tmp_path / path.name).write_text(to_original_style(path.read_text()))
        shutil.copy(path.with_suffix(".mat"), tmp_path)
        a, b = read_record(path), read_record(tmp_path / path.name)
        assert "#Dx:" in (tmp_path / path.name).read_text()
        np.testing.assert_array_equal(a.signal, b.signal)
        assert (a.header.dx, a.header.age, a.header.sex) == (b.header.dx, b.header.age, b.header.sex)


HEADER = "R1 3 500 4\nR1.mat 16+24 {g} 16 {z} 0 0 0 {l1}\nR1.mat 16+24 {g} 16 {z} 0 0 0 II\nR1.mat 16+24 {g} 16 {z} 0 0 0 V1\n"


@pytest.mark.parametrize("gain, zero, expected_gain, expected_base", [
    ("1000/mV", 0, 1000, 0), ("1000.0(0)/mV", 0, 1000, 0), ("2000/mv", 0, 2000, 0),
    ("200(1024)/mV", 0, 200, 1024), ("500/mV", 7, 500, 7), ("0/mV", 0, 200, 0)])
def test_gain_styles(gain, zero, expected_gain, expected_base):
    header = parse_header(HEADER.format(g=gain, z=zero, l1="I"))
    assert header.gains.tolist() == [expected_gain] * 3
    assert header.baselines.tolist() == [expected_base] * 3
    data = np.full((3, 4), expected_base + expected_gain, dtype=np.int16)
    data[:, 0] = expected_base  # not flat
    record = make_record(header, data)
    np.testing.assert_allclose(record.signal[[0, 1, 6], 1], 1.0)


@pytest.mark.parametrize("comment, age, sex, dx", [
    ("#Age: 54\n#Sex: F\n#Dx: 1,2", 54.0, "Female", ("1", "2")),
    ("# Age: NaN\n# Sex: Unknown\n# Dx: 426783006 , 164889003 ", None, None, ("426783006", "164889003")),
    ("#Age:\n#Sex: m\n#Dx:", None, "Male", ()),
    ("#Age: 60+ years\n#Sex: male", 60.0, "Male", ()),
    ("", None, None, ())])
def test_header_comments(comment, age, sex, dx):
    header = parse_header(HEADER.format(g="1000/mV", z=0, l1="I") + comment)
    assert (header.age == age) if age is not None else np.isnan(header.age)
    assert header.sex == sex and header.dx == dx


def test_leads_map_by_name_case_insensitively():
    header = parse_header(HEADER.format(g="1000/mV", z=0, l1="AVR"))
    data = np.array([[0, 1, 2, 3], [0, 10, 20, 30], [0, 5, 5, 6]], dtype=np.int16)
    record = make_record(header, data)
    assert record.mask.tolist() == [name in ("aVR", "II", "V1") for name in TWELVE_LEADS]
    np.testing.assert_allclose(record.signal[TWELVE_LEADS.index("aVR")], data[0] / 1000)


@pytest.fixture
def good_record(tmp_path):
    record = synth.generate_record(synth.SOURCES["XA"], "XA00001", np.random.default_rng(0))
    return tmp_path, record


def write(folder, record, header_text=None, data=None):
    (folder / f"{record.name}.hea").write_text(header_text if header_text is not None else record.header_text())
    if data is not None:
        scipy.io.savemat(str(folder / f"{record.name}.mat"), data, format="4")
    else:
        write_mat(folder / f"{record.name}.mat", record.adc)
    return folder / f"{record.name}.hea"


@pytest.mark.parametrize("case, message", [
    ("truncated", "cannot read XA00001.mat"),
    ("missing_mat", "missing recording file"),
    ("samples_mismatch", "samples but the header declares"),
    ("empty_header", "empty header"),
    ("wrong_variable", "no variable 'val'"),
    ("zero_samples", "0 samples"),
    ("fewer_leads", "has 11 leads but the header declares 12")])
def test_fatal_problems_name_the_record(good_record, case, message):
    folder, record = good_record
    path = write(folder, record)
    mat = folder / "XA00001.mat"
    if case == "truncated":
        mat.write_bytes(mat.read_bytes()[:1000])
    elif case == "missing_mat":
        mat.unlink()
    elif case == "samples_mismatch":
        path.write_text(record.header_text().replace(" 500 5000", " 500 6000", 1))
    elif case == "empty_header":
        path.write_text("")
    elif case == "wrong_variable":
        write(folder, record, data={"data": record.adc})
    elif case == "zero_samples":
        write(folder, record, record.header_text().replace(" 500 5000", " 500 0", 1),
              data={"val": np.zeros((12, 0), np.int16)})
    elif case == "fewer_leads":
        write(folder, record, data={"val": record.adc[:11]})
    with pytest.raises(RecordError, match=message) as error:
        read_record(path)
    assert str(error.value).startswith("XA00001: ") and "\n" not in str(error.value)


@pytest.mark.parametrize("values", [0.0, np.nan], ids=["all_flat", "all_nan"])
def test_a_record_without_usable_leads_is_an_error_naming_it(good_record, values):
    """All flat or all NaN: nothing to read, so no Record (any answer would be a guess)."""
    folder, record = good_record
    with pytest.raises(RecordError, match=f"^{record.name}: .*no usable standard lead"):
        read_record(write(folder, record, data={"val": np.full(record.adc.shape, values)}))


def test_repairable_defects_are_reported_and_repaired(good_record):
    folder, record = good_record
    data = record.adc.astype(np.float64)
    data[0, 100:200] = np.nan               # NaN samples in lead I
    data[3] = 0.0                           # flat aVR
    data[7] = np.clip(data[7], -50, 50)     # clipped V2
    record_obj = read_record(write(folder, record, data={"val": data}))
    text = "; ".join(record_obj.defects)
    assert "100 non-finite samples" in text and "lead aVR is flat" in text and "lead V2 is clipped" in text
    assert np.isfinite(record_obj.signal).all()
    assert not record_obj.mask[3] and record_obj.mask[7] and record_obj.mask[0]


def test_sampling_rates_and_lengths():
    """257 and 1000 Hz, under 1 s and 30 min all preprocess to the network's rate and window."""
    cfg = PreprocessConfig()
    rng = np.random.default_rng(0)
    for fs, seconds in [(257, 0.6), (1000, 10), (250, 10), (257, 1800)]:
        n = int(fs * seconds)
        text = f"L 12 {fs} {n}\n" + "".join(f"L.mat 16+24 1000/mV 16 0 0 0 0 {lead}\n" for lead in TWELVE_LEADS)
        data = (rng.normal(0, 300, (12, n))).astype(np.int16)
        x, meta = preprocess_record(make_record(parse_header(text), data), cfg)
        assert x.shape == (round(n * cfg.fs / fs), 12) and np.isfinite(x).all() and np.isfinite(meta).all()
        windows = inference_windows(x, cfg)
        assert windows.shape[1:] == (cfg.window, 12) and len(windows) <= cfg.max_windows


def test_extract_leads_keeps_header_lines(sample_dir, tmp_path):
    assert extract_leads(sample_dir, tmp_path, ["I", "II"]) == len(find_records(sample_dir))
    header = read_header(tmp_path / "E07500.hea")
    assert header.leads == ("I", "II") and header.num_signals == 2
    record = read_record(tmp_path / "E07500.hea")
    np.testing.assert_array_equal(record.signal[:2], read_record(sample_dir / "E07500.hea").signal[:2])
    assert record.mask.sum() == 2
