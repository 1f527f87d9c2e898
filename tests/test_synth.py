"""The synthetic generator: Challenge format, determinism, differing sources, learnable labels."""
import filecmp

import numpy as np
import pytest
import wfdb

from ecgcinc.signals import synth
from ecgcinc.core.classes import load_classes
from ecgcinc.core.config import SYNTHETIC_DOMAINS
from ecgcinc.dataset.data import domain_of
from ecgcinc.core.metrics import challenge_metric
from ecgcinc.io.records import find_records, read_record


def test_deterministic_per_seed_and_worker_count(tmp_path):
    synth.write_dataset(tmp_path / "a", 12, seed=5)
    synth.write_dataset(tmp_path / "b", 12, seed=5, workers=2)
    synth.write_dataset(tmp_path / "c", 12, seed=6)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert all(filecmp.cmp(tmp_path / "a" / n, tmp_path / "b" / n, shallow=False) for n in names)
    assert not filecmp.cmp(tmp_path / "a" / "XA00001.mat", tmp_path / "c" / "XA00001.mat", shallow=False)


def test_sources_differ_and_are_readable_by_wfdb(synthetic_train):
    seen = {}
    for path in [synthetic_train / f"{prefix}0000{i}.hea" for prefix in synth.SOURCES for i in (1, 2)]:
        record = read_record(path)
        theirs = wfdb.rdrecord(str(path.with_suffix("")))
        np.testing.assert_allclose(record.signal, theirs.p_signal.T, atol=1e-6)
        seen[path.stem[:2]] = (record.header.fs, tuple(record.header.gains[:1]), tuple(record.header.baselines[:1]))
        assert domain_of(record.name, SYNTHETIC_DOMAINS) == SYNTHETIC_DOMAINS[path.stem[:2]]
    assert {fs for fs, _, _ in seen.values()} == {257.0, 500.0, 1000.0}
    assert len({gain for _, gain, _ in seen.values()}) == 3 and (1024.0,) in {b for _, _, b in seen.values()}
    assert "# Dx:" in (synthetic_train / "XB00001.hea").read_text()
    assert "#Dx:" in (synthetic_train / "XA00001.hea").read_text()


def test_at_least_twelve_scored_classes_and_source_priors(synthetic_train):
    classes = load_classes()
    labels = {prefix: [] for prefix in synth.SOURCES}
    for path in find_records(synthetic_train):
        labels[path.stem[:2]].append(classes.encode(read_record(path).header.dx))
    everything = np.concatenate([np.stack(v) for v in labels.values()])
    assert (everything.sum(axis=0) > 0).sum() >= 12
    # XB annotates rhythm only: no axis labels, although its waveforms have them
    lad = classes.index(synth.CODES["LAD"])
    assert np.stack(labels["XB"])[:, lad].sum() == 0 and np.stack(labels["XC"])[:, lad].sum() > 0


def test_labels_follow_the_waveform():
    """Rate labels agree with the R-R intervals; AF has irregular R-R; LAD has a negative aVF QRS."""
    rng = np.random.default_rng(0)
    for _ in range(30):
        p = synth.draw_patient(rng, synth.SOURCES["XA"].priors)
        times, kinds = synth._beat_times(p, 30.0, rng)
        rr = np.diff([t for t, k in zip(times, kinds) if k not in ("pvc", "pac")])
        if "SB" in p.labels and "SA" not in p.labels:
            assert 60 / np.median(rr) < 60
        if "STach" in p.labels:
            assert 60 / np.median(rr) > 100
        if "AF" in p.labels:
            assert np.std(rr) / np.mean(rr) > 0.1
    lad = synth.Patient({"LAD", "NSR"}, 70, 0.16, 0.09, -60, 0.4, 1.0, 1.0, np.eye(3))
    leads = synth.dipole_to_leads(synth._render(synth._qrs_waves(lad, 0.5, rng), 500, 500.0))
    assert leads[5].sum() < 0 < leads[0].sum()  # aVF net negative, lead I positive


def test_annotation_ceiling_scores_the_true_conditions_against_the_written_labels(synthetic_train):
    """Known answers: sources that annotate every class have a ceiling of 1; rhythm-only XB loses
    its morphology cases; and the function's written labels are the folder's (same patients)."""
    ceiling = synth.annotation_ceiling(320, 11)
    assert ceiling["XA"] == 1.0
    assert 0.5 < ceiling["XB"] < 0.95 and ceiling["XB"] < ceiling["XD"] < 1.0
    assert ceiling["XB"] < ceiling["all"] < 1.0
    classes = load_classes()
    plan = [item for item in synth.record_plan(320, 11, list(synth.SOURCES)) if item[0] == "XB"]
    written = np.stack([classes.encode(read_record(synthetic_train / f"{name}.hea").header.dx) for _, name, _ in plan])
    true = np.stack([classes.encode(synth.CODES[label] for label in synth._patient(prefix, seed).labels)
                     for prefix, _, seed in plan])
    assert (written <= true).all() and (written < true).any()
    assert ceiling["XB"] == challenge_metric(classes.weights, written, true, classes.sinus_index)


def test_class_ceiling_counts_labels_whose_signal_shows_nothing():
    """A premature-beat label on a record that happens to hold no premature beat cannot be seen:
    the ceiling of those classes is below 1, and a class every source writes when true is at 1."""
    ceiling = synth.class_ceiling(400, 40)
    assert ceiling["PAC|SVPB"] < 0.99 and ceiling["PVC|VPB"] < 0.99
    assert ceiling["AF"] == pytest.approx(1.0)
    assert ceiling["IAVB"] < 1.0   # Synthetic-B does not write it (annotation habit)


def test_shown_labels_replay_the_written_folder(tmp_path):
    """shown_labels names the records write_dataset writes, writes the labels their headers
    carry, and shows no class the patient does not have."""
    from ecgcinc.io.records import parse_header
    classes = load_classes()
    written_names = synth.write_dataset(tmp_path, 12, seed=5)
    names, shown, written = synth.shown_labels(12, 5)
    assert names == written_names
    for name, row in zip(names, written):
        header = parse_header((tmp_path / f"{name}.hea").read_text())
        assert np.array_equal(row, classes.encode(header.dx))
    plan = synth.record_plan(12, 5, list(synth.SOURCES))
    true = np.stack([classes.encode(synth.CODES[label] for label in synth._patient(prefix, seed).labels)
                     for prefix, _, seed in plan])
    assert (shown <= true).all()


def test_a_paced_record_hides_its_qt_label(monkeypatch):
    """Paced beats are drawn with their own repolarisation: counting a paced patient's long QT
    as visible would raise the long-QT ceiling."""
    hidden = synth.class_ceiling(400, 40)["LQT"]
    monkeypatch.setattr(synth, "HIDDEN_BY_RHYTHM", {})
    assert synth.class_ceiling(400, 40)["LQT"] > hidden
