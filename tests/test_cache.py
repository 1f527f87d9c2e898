"""The preprocessed cache: built once, reused, invalidated by config or file changes, and
feeding training exactly what reading the files would."""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ecgcinc.dataset import cache
from ecgcinc.dataset.cache import SignalStore, open_cache
from ecgcinc.core.classes import load_classes
from ecgcinc.dataset.data import Examples, load_examples
from ecgcinc.signals.features import record_measures
from ecgcinc.signals.preprocess import preprocess_record
from ecgcinc.io.records import find_records, read_record
from ecgcinc.training.train import Batches, class_targets


@pytest.fixture()
def folder(tmp_path, synthetic_train):
    """A private copy of 40 synthetic records, so tests may modify files."""
    out = tmp_path / "data"
    out.mkdir()
    for header in find_records(synthetic_train)[:40]:
        shutil.copy(header, out), shutil.copy(header.with_suffix(".mat"), out)
    return out


def test_built_once_then_reused(folder, tmp_path, small_config):
    cfg = small_config().preprocess
    first = open_cache(folder, cfg, tmp_path / "c")
    second = open_cache(folder, cfg, tmp_path / "c")
    assert first.built_seconds > 0 and second.built_seconds == 0.0
    assert first.path == second.path and len(second) == 40
    assert np.array_equal(first.meta, second.meta) and list(first.names) == list(second.names)
    assert isinstance(second.signals.arrays[0], np.memmap)
    for i in (0, 17, 39):
        assert np.array_equal(first.signals[i], second.signals[i])


def test_signals_and_index_equal_reading_the_files(folder, tmp_path, small_config):
    cfg = small_config().preprocess
    entry = open_cache(folder, cfg, tmp_path / "c")
    for i, header in enumerate(find_records(folder)):
        record = read_record(header)
        x, meta = preprocess_record(record, cfg)
        assert entry.names[i] == record.name and entry.dx[i] == record.header.dx
        assert entry.fs[i] == record.header.fs and entry.samples[i] == record.header.num_samples
        assert np.array_equal(entry.signals[i], x.astype(np.float16))
        assert np.array_equal(entry.meta[i], meta)


def test_preprocessing_change_builds_a_new_entry(folder, tmp_path, small_config):
    base = open_cache(folder, small_config().preprocess, tmp_path / "c")
    other = open_cache(folder, small_config(preprocess={"band_hz": [1.0, 30.0]}).preprocess, tmp_path / "c")
    assert other.path != base.path and other.built_seconds > 0
    assert not np.array_equal(other.signals[0], base.signals[0])


def test_file_change_builds_a_new_entry(folder, tmp_path, small_config):
    cfg = small_config().preprocess
    base = open_cache(folder, cfg, tmp_path / "c")
    header = find_records(folder)[3]
    text = header.read_text().replace("# Age:", "# Age: 1 #", 1)
    header.write_text(text)
    os.utime(header, ns=(header.stat().st_atime_ns, header.stat().st_mtime_ns + 10**9))
    changed = open_cache(folder, cfg, tmp_path / "c")
    assert changed.path != base.path and changed.built_seconds > 0
    text = header.read_text()
    (folder / "XZ99999.hea").write_text("XZ99999" + text[text.index(" "):])  # a new record without its .mat
    grown = open_cache(folder, cfg, tmp_path / "c")
    assert grown.path not in (base.path, changed.path)
    assert [name for name, _ in grown.errors] == ["XZ99999"]


def test_unreadable_record_is_kept_as_an_error(folder, tmp_path, small_config):
    victim = find_records(folder)[5]
    victim.with_suffix(".mat").write_bytes(b"not a mat file")
    entry = open_cache(folder, small_config().preprocess, tmp_path / "c")
    assert len(entry) == 39
    assert entry.errors[0][0] == victim.stem and "cannot read" in entry.errors[0][1]


def test_interrupted_build_leaves_no_entry(folder, tmp_path, small_config, monkeypatch):
    def fail(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(cache.np, "savez", fail)
    with pytest.raises(KeyboardInterrupt):
        open_cache(folder, small_config().preprocess, tmp_path / "c")
    assert list((tmp_path / "c").iterdir()) == []


def _first_batch(examples: Examples, cfg) -> tuple:
    classes = load_classes()
    batches = Batches(examples, class_targets(examples, classes, cfg), cfg, with_domain=True)
    x, meta, rows = batches.batch_inputs(0)
    return x, meta, rows


def test_training_from_cache_equals_training_from_files(folder, tmp_path, small_config):
    cfg = small_config(augment={"probability": 0.5})
    classes = load_classes()
    built = load_examples(folder, classes, cfg, cache_root=tmp_path / "c")
    reused = load_examples(folder, classes, cfg, cache_root=tmp_path / "c")
    records = [read_record(h) for h in find_records(folder)]
    prepared = [preprocess_record(r, cfg.preprocess) for r in records]
    lengths = np.array([len(x) for x, _ in prepared])
    direct = Examples([r.name for r in records],
                      SignalStore(np.concatenate([x for x, _ in prepared]).astype(np.float16),
                                  np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths),
                      np.stack([m for _, m in prepared]), np.stack([record_measures(r)[0] for r in records]),
                      built.view_features, np.stack([record_measures(r)[1] for r in records]), built.labels,
                      built.domains,
                      built.domain_names)
    assert direct.names == built.names == reused.names
    expected = _first_batch(direct, cfg)
    for examples in (built, reused):
        for got, want in zip(_first_batch(examples, cfg), expected):
            assert np.array_equal(got, want, equal_nan=True)  # NaN: a feature not measurable


def test_unwritable_root_falls_back_to_a_temporary_folder(folder, tmp_path, small_config, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    entry = open_cache(folder, small_config().preprocess, blocker / "cache")
    assert len(entry) == 40 and "not writable" in capsys.readouterr().err


def test_failed_feature_measurements_are_counted_and_the_first_cause_shown(folder, tmp_path, small_config, capfd,
                                                                           monkeypatch):
    from ecgcinc.signals import features
    broken = find_records(folder)[3].stem
    measure = features._record_measures

    def failing(record):
        if record.name == broken:
            raise ValueError("no beat to delineate")
        return measure(record)
    monkeypatch.setattr(features, "_record_measures", failing)
    examples = load_examples(folder, load_classes(), small_config(), cache_root=tmp_path / "c")
    err = capfd.readouterr().err
    assert (f"classic features could not be measured for 1 of 40 records of {folder} (their features are missing "
            f"values); the first, {broken}: ValueError: no beat to delineate") in err
    assert np.isnan(examples.features[examples.names.index(broken)]).all()


def test_a_changed_feature_function_builds_a_new_entry(folder, tmp_path, small_config, monkeypatch):
    """The key follows the code that computes the entry: an upgrade or an edit of a feature never
    reads values today's code would not compute."""
    from ecgcinc.signals import features
    cfg = small_config().preprocess
    base = open_cache(folder, cfg, tmp_path / "c")
    edited = tmp_path / "features.py"
    edited.write_text(Path(features.__file__).read_text().replace(
        "heart_rate=60.0 / float(rr.mean())", "heart_rate=60.0 / float(np.median(rr))"))
    monkeypatch.setattr(features, "__file__", str(edited))
    cache.code_hash.cache_clear()
    try:
        rebuilt = open_cache(folder, cfg, tmp_path / "c")
    finally:
        cache.code_hash.cache_clear()
    assert rebuilt.path != base.path and rebuilt.built_seconds > 0
    monkeypatch.undo()
    assert open_cache(folder, cfg, tmp_path / "c").path == base.path
