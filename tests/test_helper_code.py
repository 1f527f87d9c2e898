"""helper_code.py keeps the official functions' behaviour (the organisers swap in their copy)."""
import numpy as np

import helper_code as h

ORIGINAL = ("A1 2 500 5000\nA1.mat 16+24 1000/mV 16 0 1 2 0 II\nA1.mat 16+24 2000/mV 16 5 1 2 0 I\n"
            "#Age: 61\n#Sex: Female\n#Dx: 164889003, 426783006\n")
WFDB_STYLE = ORIGINAL.replace("1000/mV", "1000.0(0)/mV").replace("#", "# ")


def test_original_header():
    assert h.get_recording_id(ORIGINAL) == "A1" and h.get_leads(ORIGINAL) == ("II", "I")
    assert h.sort_leads(h.get_leads(ORIGINAL)) == ("I", "II")
    assert (h.get_num_leads(ORIGINAL), h.get_frequency(ORIGINAL), h.get_num_samples(ORIGINAL)) == (2, 500, 5000)
    assert h.get_age(ORIGINAL) == 61 and h.get_sex(ORIGINAL) == "Female"
    assert h.get_labels(ORIGINAL) == ["164889003", "426783006"]
    assert h.get_adc_gains(ORIGINAL, ("I", "II")).tolist() == [2000, 1000]
    assert h.get_baselines(ORIGINAL, ("I", "II")).tolist() == [5, 0]


def test_wfdb_style_header_reads_as_the_official_helpers_do():
    """No labels, age or sex and a zero gain: why the project has its own reader."""
    assert h.get_labels(WFDB_STYLE) == [] and h.get_age(WFDB_STYLE) is None and h.get_sex(WFDB_STYLE) is None
    assert h.get_adc_gains(WFDB_STYLE, ("II",)).tolist() == [0]


def test_outputs_round_trip(tmp_path):
    h.save_outputs(tmp_path / "A1.csv", "A1", ["1", "2|3"], [1, 0], [0.5, float("nan")])
    assert (tmp_path / "A1.csv").read_text() == "#A1\n1,2|3\n1,0\n0.5,nan\n"
    record, classes, labels, probabilities = h.load_outputs(tmp_path / "A1.csv")
    assert (record, classes, labels) == ("A1\n", ("1", "2|3"), ("1", "0")) and np.isnan(probabilities[1])


def test_choose_leads():
    recording = np.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(h.choose_leads(recording, ORIGINAL, ("I", "V1", "II")), [[3, 4], [0, 0], [1, 2]])
    assert h.is_integer("3.0") and not h.is_integer("x") and not h.is_finite_number("inf")
