"""The experiments end to end at toy size: tables written, units resumable, folds stratified."""
import csv

import numpy as np
import pytest

from ecgcinc import experiments
from ecgcinc.data import stratified_folds
from ecgcinc.experiments import ABLATIONS, run_experiment

TOY = {"train": {"epochs": 1, "patience": 1, "batch_size": 16}}


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("experiments")


def test_cv_writes_tables_and_resumes(synthetic_train, study_dir, small_config, monkeypatch):
    table = run_experiment("cv", synthetic_train, study_dir, quick=True, folds=2, overrides=TOY, max_records=80,
                           verbose=0)
    rows = _rows(study_dir / "cv.csv")
    assert rows[0] == ["fold", *experiments.SCORES] and [r[0] for r in rows[1:]] == ["fold 1", "fold 2", "mean ± sd"]
    assert "±" in rows[-1][1] and "0.641" in table
    for fold in (1, 2):
        unit = study_dir / "cv" / f"fold{fold}"
        assert (unit / "result.json").is_file() and (unit / "model" / "model.keras").is_file()
        assert -1.5 < float(rows[fold][1]) <= 1.0

    def no_training(*args, **kwargs):
        raise AssertionError("a finished fold was trained again")
    monkeypatch.setattr(experiments, "fit", no_training)
    assert run_experiment("cv", synthetic_train, study_dir, quick=True, folds=2, overrides=TOY, max_records=80,
                          verbose=0) == table
    with pytest.raises(AssertionError, match="trained again"):  # another configuration is another unit
        run_experiment("cv", synthetic_train, study_dir, quick=True, folds=2,
                       overrides={**TOY, "loss": {"alpha": 0.25}}, max_records=80, verbose=0)


def test_thresholds_reuses_the_cv_folds(synthetic_train, study_dir, monkeypatch):
    run_experiment("cv", synthetic_train, study_dir, quick=True, folds=2, overrides=TOY, max_records=80, verbose=0)
    monkeypatch.setattr(experiments, "fit", lambda *a, **k: pytest.fail("thresholds retrained a cv fold"))
    run_experiment("thresholds", synthetic_train, study_dir, quick=True, folds=2, overrides=TOY, max_records=80,
                   verbose=0)
    methods = [r[0] for r in _rows(study_dir / "thresholds.csv")[1:]]
    assert "CICST beta=0" in methods and "grid search" in methods and "fixed 0.5" in methods
    assert (study_dir / "thresholds.md").read_text().startswith("| method |")


def test_ablation_trains_every_control(synthetic_train, tmp_path):
    run_experiment("ablation", synthetic_train, tmp_path, quick=True, folds=2, overrides=TOY, max_records=60,
                   verbose=0)
    rows = _rows(tmp_path / "ablation.csv")
    assert [r[0] for r in rows[1:]] == list(ABLATIONS)
    assert all(np.isfinite(float(r[1])) for r in rows[1:])
    configs = {p.parent.parent.name: p for p in tmp_path.glob("ablation/*/model/config.json")}
    assert len(configs) == len(ABLATIONS)
    coarse_only = (tmp_path / "ablation" / "c4-coarse-kernel-cnn-only" / "model" / "config.json").read_text()
    assert '"branches": [\n      "coarse"\n    ]' in coarse_only


def test_lodo_holds_out_each_source_with_and_without_the_head(synthetic_train, tmp_path):
    run_experiment("lodo", synthetic_train, tmp_path, quick=True, overrides=TOY, max_records=80, verbose=0)
    rows = _rows(tmp_path / "lodo.csv")
    assert [r[0] for r in rows[1:-1]] == ["Synthetic-A", "Synthetic-B", "Synthetic-C", "Synthetic-D"]
    assert sum(int(r[1]) for r in rows[1:-1]) == 80
    assert len(list(tmp_path.glob("lodo/*-adversarial/result.json"))) == 4
    assert len(list(tmp_path.glob("lodo/*-plain/result.json"))) == 4


def test_unknown_experiment_is_refused(synthetic_train, tmp_path):
    with pytest.raises(ValueError, match="unknown experiment"):
        run_experiment("nope", synthetic_train, tmp_path)


def test_folds_are_balanced_and_stratified_by_label_set():
    rng = np.random.default_rng(0)
    labels = rng.random((503, 6)) < [0.5, 0.2, 0.1, 0.05, 0.3, 0.02]
    folds = stratified_folds(labels, 5, seed=1)
    sizes = np.bincount(folds, minlength=5)
    assert sizes.max() - sizes.min() <= 1
    keys, inverse, counts = np.unique(labels, axis=0, return_inverse=True, return_counts=True)
    for group in np.flatnonzero(counts >= 5):
        per_fold = np.bincount(folds[inverse.ravel() == group], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1
    assert np.array_equal(folds, stratified_folds(labels, 5, seed=1))
    with pytest.raises(ValueError):
        stratified_folds(labels, 1, seed=1)


def test_command_line_names_every_experiment():
    from ecgcinc.__main__ import parser
    args = parser().parse_args(["experiment", "lodo", "--data", "d", "--out", "o", "--quick", "--folds", "3"])
    assert (args.name, args.data, args.out, args.quick, args.folds, args.max_records) == ("lodo", "d", "o", True, 3,
                                                                                         None)
    for name in experiments.EXPERIMENTS:
        assert parser().parse_args(["experiment", name, "--data", "d", "--out", "o"]).name == name
