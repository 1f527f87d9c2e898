"""Classic features on generator records whose true parameters are known."""
import numpy as np
import pytest

from ecgcinc.signals import synth
from ecgcinc.signals.features import FEATURE_NAMES, N_FEATURES, per_lead_block, record_features, with_per_lead_block
from ecgcinc.io.records import Record, make_record, parse_header

INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _record(prefix, seed):
    r = synth.generate_record(synth.SOURCES[prefix], f"{prefix}00001", np.random.default_rng(seed))
    return r, make_record(parse_header(r.header_text()), r.adc)


@pytest.fixture(scope="module")
def regular_records():
    """Records of every source with a regular rhythm (no AF, flutter, pacing or ectopy)."""
    out = []
    for seed in range(60):
        r, record = _record(f"X{'ABCD'[seed % 4]}", seed)
        if not r.patient.labels & {"AF", "AFL", "PR", "PVC", "PAC", "SA"}:
            out.append((r.patient, record_features(record)))
    assert len(out) >= 25
    return out


def test_rate_qrs_width_and_axis_match_the_generator(regular_records):
    rate = [abs(f[INDEX["heart_rate"]] - p.rate_bpm) for p, f in regular_records]
    qrs = [abs(f[INDEX["qrs_duration"]] - p.qrs_s) for p, f in regular_records]
    axis = [abs(f[INDEX["qrs_axis"]] - p.axis_deg) for p, f in regular_records]
    assert np.median(rate) < 1.0 and np.percentile(rate, 90) < 3.0   # beats per minute
    assert np.median(qrs) < 0.012 and np.percentile(qrs, 90) < 0.025  # seconds
    assert np.median(axis) < 15 and np.percentile(axis, 90) < 30    # degrees


def test_features_separate_the_labels_they_measure(regular_records):
    wide = [f[INDEX["qrs_duration"]] for p, f in regular_records if p.labels & {"CRBBB", "CLBBB"}]
    narrow = [f[INDEX["qrs_duration"]] for p, f in regular_records if not p.labels & {"CRBBB", "CLBBB", "IRBBB"}]
    assert len(wide) >= 1 and len(narrow) >= 10   # the comparison below compares something
    assert min(wide) > max(narrow)
    lad = [f[INDEX["qrs_axis"]] for p, f in regular_records if "LAD" in p.labels]
    normal_axis = [f[INDEX["qrs_axis"]] for p, f in regular_records if not p.labels & {"LAD", "RAD"}]
    assert len(lad) >= 1 and len(normal_axis) >= 10
    assert max(lad) < min(normal_axis)


def test_premature_beats_and_irregularity_are_measured():
    found = {"pvc": [], "regular": [], "af": []}
    for seed in range(150):
        r, record = _record("XA", 1000 + seed)
        f = record_features(record)
        labels = r.patient.labels
        if "pvc" in r.beat_kinds and "AF" not in labels:
            found["pvc"].append(f[INDEX["premature_fraction"]] + f[INDEX["pause_fraction"]])
        elif "AF" in labels:
            found["af"].append(f[INDEX["p_consistency"]])
        elif not labels & {"AFL", "PR", "SA", "PAC", "PVC"}:
            found["regular"].append((f[INDEX["premature_fraction"]], f[INDEX["p_consistency"]]))
    assert found["pvc"] and found["af"] and found["regular"]
    # a PVC shows as a premature interval or a compensatory pause (unless it is the last beat)
    regular = np.array([p for p, _ in found["regular"]])
    regular = regular[np.isfinite(regular)]   # NaN: too few beats to judge (a short, slow record)
    assert np.mean(np.array(found["pvc"]) > 0) >= 0.7 and np.median(regular) == 0
    assert np.mean(regular > 0) < 0.1   # R-peak detection rarely splits a regular rhythm
    assert np.nanmedian(found["af"]) < np.nanmedian([c for _, c in found["regular"]]) - 0.3


def test_absent_leads_give_missing_per_lead_features_and_short_records_all_missing():
    r, record = _record("XA", 7)
    mask = record.mask.copy()
    mask[6:] = False
    reduced = record_features(Record(record.header, np.where(mask[:, None], record.signal, 0), mask, ()))
    block = per_lead_block(reduced[None])[0]
    assert np.isnan(block[6:]).all() and np.isfinite(block[:6]).all()
    assert np.isfinite(reduced[INDEX["heart_rate"]]) and np.isfinite(reduced[INDEX["qrs_axis"]])
    short = Record(record.header, record.signal[:, :100], record.mask, ())
    short_features = record_features(short)
    assert short_features.shape == (N_FEATURES,) and short_features[INDEX["beats"]] == 0
    assert np.isnan(np.delete(short_features, INDEX["beats"])).all()
    x = np.arange(2 * N_FEATURES, dtype=float).reshape(2, N_FEATURES)
    assert np.array_equal(with_per_lead_block(x, per_lead_block(x)), x)


def test_real_sample_records_yield_plausible_features(sample_dir):
    from ecgcinc.io.records import find_records, read_record
    rates = [record_features(read_record(h))[INDEX["heart_rate"]] for h in find_records(sample_dir)]
    finite = np.array([r for r in rates if np.isfinite(r)])
    assert len(finite) >= 0.9 * len(rates) and ((finite > 25) & (finite < 250)).all()


def _gaussian_beat(fs: float, qrs_s: float, pr_s: float, t_height: float = 0.3):
    """(12, n) a median beat with R at 0.3 s: a P wave pr_s before QRS onset, a QRS of width qrs_s
    (a triangle), a T wave 0.3 s after R; lead I's QRS positive, lead II's twice as large."""
    t = np.arange(int(0.9 * fs)) / fs
    r = 0.3
    qrs = np.clip(1 - np.abs(t - r) / (qrs_s / 2), 0, None)
    p_wave = 0.1 * np.exp(-0.5 * ((t - (r - qrs_s / 2 - pr_s + 0.04)) / 0.02) ** 2)
    t_wave = t_height * np.exp(-0.5 * ((t - (r + 0.3)) / 0.04) ** 2)
    beat = np.tile(qrs + p_wave + t_wave, (12, 1))
    beat[1] *= 2.0
    return beat, int(r * fs)


def test_qrs_bounds_find_the_width_of_a_drawn_qrs():
    from ecgcinc.signals.features import qrs_bounds
    fs = 500.0
    for width in (0.08, 0.14):
        beat, r = _gaussian_beat(fs, width, 0.16)
        onset, offset = qrs_bounds(beat, np.ones(12, dtype=bool), r, fs)
        assert abs((offset - onset) / fs - width) < 0.02, width


def test_lead_amplitudes_axes_and_p_wave_are_measured_one_by_one():
    from ecgcinc.signals.features import axes, lead_amplitudes, p_wave_features, qrs_bounds
    fs = 500.0
    beat, r = _gaussian_beat(fs, 0.1, 0.16)
    present = np.ones(12, dtype=bool)
    present[11] = False
    onset, offset = qrs_bounds(beat, present, r, fs)
    per_lead = lead_amplitudes(beat, present, (onset, offset), (int(0.6 * fs), int(0.7 * fs)), fs)
    assert np.isnan(per_lead[11]).all() and per_lead[1, 0] == pytest.approx(2 * per_lead[0, 0])
    assert per_lead[0, 3] == pytest.approx(0.3, abs=0.01)          # T amplitude at its peak
    angle = axes(per_lead, present)["qrs_axis"]                   # aVF = II - I/2 = 1.5 I: atan(1.5)
    assert angle == pytest.approx(np.degrees(np.arctan2(1.5, 1.0)), abs=0.5)
    p = p_wave_features(beat, np.stack([beat, beat]), present, onset, None, int(0.9 * fs), fs)
    assert p["p_amplitude"] == pytest.approx(0.2, abs=0.02)        # lead II's P (the best atrial lead)
    assert 0.10 < p["pr_interval"] < 0.20 and p["p_consistency"] == pytest.approx(1.0)

