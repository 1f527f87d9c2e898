"""The realism measures: spectra shares, and a score that tells apart what differs and not what
does not."""
import numpy as np

from ecgcinc.evidence.realism import MEASURES, measures, realism_score, spectrum_shares
from ecgcinc.io.records import Header, Record, TWELVE_LEADS


def _record(signal: np.ndarray, fs: float) -> Record:
    header = Header(record="r", num_signals=12, fs=fs, num_samples=signal.shape[1], leads=TWELVE_LEADS,
                    gains=np.ones(12), baselines=np.zeros(12), age=50.0, sex="Male", dx=())
    return Record(header, signal.astype(np.float32), np.ones(12, dtype=bool), [])


def test_baseline_wander_and_noise_land_in_their_shares():
    fs = 500.0
    t = np.arange(int(20 * fs)) / fs
    wander = _record(np.tile(np.sin(2 * np.pi * 0.2 * t), (12, 1)), fs)
    hum = _record(np.tile(np.sin(2 * np.pi * 50 * t), (12, 1)), fs)
    assert spectrum_shares(wander)[0] > 0.9 and spectrum_shares(hum)[1] > 0.9
    row = measures(hum)
    assert row.shape == (len(MEASURES),) and row[MEASURES.index("fs")] == fs and row[MEASURES.index("seconds")] == 20


def test_the_realism_score_is_near_half_for_alike_and_near_one_for_different_records():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(60, 4))
    alike, shifted = rng.normal(size=(200, 4)), rng.normal(3.0, 1.0, size=(200, 4))
    assert abs(realism_score(real, alike) - 0.5) < 0.15
    assert realism_score(real, shifted) > 0.95
