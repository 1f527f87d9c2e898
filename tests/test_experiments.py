"""The experiments end to end at toy size: tables with intervals, seeds, resumable units."""
import csv
import json
import re

import numpy as np
import pytest

from ecgcinc.evidence import baseline
from ecgcinc.evidence import experiments
from ecgcinc.training import train
from ecgcinc.dataset.data import stratified_folds
from ecgcinc.evidence.experiments import BASELINE, DOMAIN_VARIANTS, run_experiment

# trains networks, many of them toys: eagerly (conftest.eager_functions)
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("eager_functions")]

# The experiments' machinery at toy size; the fusion's feature models (three per network unit) are
# off except in the holdout of test_ensemble_and_holdout, which scores the fused default as it ships.
TOY = {"train": {"epochs": 1, "patience": 1, "batch_size": 16, "min_epochs": 1}, "model": {"fusion": False}}
FUSED = {**TOY, "model": {"fusion": True}}


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("experiments")


@pytest.mark.xdist_group("cv-study")  # one worker: the thresholds reuse the cv units
def test_cv_with_seeds_compares_with_the_baseline_and_resumes(synthetic_train, study_dir, monkeypatch):
    run_experiment("cv", synthetic_train, study_dir, quick=True, folds=2, overrides=TOY, max_records=80,
                   verbose=0, seeds=2)
    rows = {r["arm"]: r for r in _rows(study_dir / "cv.csv")}
    assert set(rows) == {BASELINE, "network (configured)"}
    assert rows[BASELINE]["units"] == "4" and rows["network (configured)"]["units"] == "4"
    assert rows[BASELINE]["Δ challenge vs reference [95 % CI]"] == "(reference)"
    low, high = (float(v) for v in re.findall(r"[-+]\d+\.\d+", rows["network (configured)"][
        "Δ challenge vs reference [95 % CI]"])[1:3])
    expected = "helps" if low > 0 else "hurts" if high < 0 else "no detectable difference"
    assert rows["network (configured)"]["verdict"] == expected
    seeds = {json.loads(p.read_text())["seed"] for p in study_dir.glob("cv/network-configured/fold1-seed*/result.json")}
    assert len(seeds) == 2  # two seeds really trained two networks
    assert (study_dir / "cv" / "network-configured" / "fold1-seed0" / "model" / "model.keras").is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("a finished unit was trained again")
    monkeypatch.setattr(train, "fit", no_training)  # _train_arm imports them when a unit trains
    monkeypatch.setattr(baseline, "fit_baseline", no_training)
    first = (study_dir / "cv.md").read_text()
    run_experiment("cv", synthetic_train, study_dir, quick=True, folds=2, overrides=TOY, max_records=80,
                   verbose=0, seeds=2)
    assert (study_dir / "cv.md").read_text() == first
    with pytest.raises(AssertionError, match="trained again"):  # another configuration is another unit
        run_experiment("cv", synthetic_train, study_dir, quick=True, folds=2,
                       overrides={**TOY, "loss": {"alpha": 0.25}}, max_records=80, verbose=0, seeds=2)
    monkeypatch.setattr(experiments, "source_hash", lambda: "other code")
    with pytest.raises(AssertionError, match="trained again"):  # a unit of other code is recomputed
        run_experiment("cv", synthetic_train, study_dir, quick=True, folds=2, overrides=TOY, max_records=80,
                       verbose=0, seeds=2)


@pytest.mark.xdist_group("cv-study")  # one worker: the thresholds reuse the cv units
def test_thresholds_reuse_the_cv_units_and_report_calibration(synthetic_train, study_dir, monkeypatch):
    run_experiment("cv", synthetic_train, study_dir, quick=True, folds=2, overrides=TOY, max_records=80, verbose=0,
                   seeds=2)
    monkeypatch.setattr(train, "fit", lambda *a, **k: pytest.fail("thresholds retrained a cv unit"))
    run_experiment("thresholds", synthetic_train, study_dir, quick=True, folds=2, overrides=TOY, max_records=80,
                   verbose=0, seeds=2)
    methods = [r["arm"] for r in _rows(study_dir / "thresholds.csv")]
    assert methods[0] == "CICST (raw probabilities)" and "CICST (Platt-calibrated)" in methods
    assert "grid search (validation)" in methods
    ece = {r["probabilities of"]: r for r in _rows(study_dir / "calibration.csv")}
    assert set(ece) == set(methods)


@pytest.fixture(scope="module")
def three_sources(tmp_path_factory):
    """Leave-one-source-out trains one unit per source and arm: three sources, the fewest it
    takes, train a quarter fewer than the four of the shared folder."""
    from ecgcinc.signals import synth
    path = tmp_path_factory.mktemp("three_sources")
    synth.write_dataset(path, 90, seed=21, sources=["XA", "XB", "XC"])
    return path


def test_lodo_runs_the_selected_domain_variants(three_sources, tmp_path):
    run_experiment("lodo", three_sources, tmp_path, quick=True, overrides=TOY, verbose=0,
                   variants=["adversarial-lambda-0-03"])
    rows = [r["arm"] for r in _rows(tmp_path / "lodo.csv")]
    assert rows == ["plain (no domain head)", "adversarial, lambda 0.03", BASELINE]
    sources = _rows(tmp_path / "lodo_sources.csv")
    assert [r["held-out source"] for r in sources] == ["Synthetic-A", "Synthetic-B", "Synthetic-C"]
    config = json.loads((tmp_path / "lodo" / "adversarial-lambda-0-03" / "synthetic-a-seed0" / "model"
                         / "config.json").read_text())
    assert config["model"]["domain_head"] and config["model"]["domain_lambda"] == 0.03
    with pytest.raises(ValueError, match="unknown variant"):
        run_experiment("lodo", three_sources, tmp_path, quick=True, overrides=TOY, verbose=0, variants=["nope"])
    assert "plain (no domain head)" in DOMAIN_VARIANTS


def test_ensemble(synthetic_train, tmp_path):
    run_experiment("ensemble", synthetic_train, tmp_path, quick=True, folds=2, overrides=TOY, max_records=60,
                   verbose=0)
    arms = [r["arm"] for r in _rows(tmp_path / "ensemble.csv")]
    assert arms == ["single network", "3-fold ensemble, 1 epochs each"]  # one epoch: the two ensembles are one


def test_holdout_scores_the_fused_default_and_compares_saved_arms(synthetic_train, synthetic_test, tmp_path):
    run_experiment("holdout", synthetic_train, tmp_path, quick=True, overrides=FUSED, max_records=60, verbose=0,
                   test_dir=synthetic_test)
    assert next(tmp_path.glob("holdout/network-configured/*/model/fusion.joblib")).is_file()
    rows = _rows(tmp_path / "holdout.csv")
    assert [r["arm"] for r in rows] == [BASELINE, "network (configured)"]
    classes = _rows(tmp_path / "holdout_classes.csv")
    assert classes and set(classes[0]) == {"class", "positives", BASELINE, "network (configured)"}
    assert all(int(r["positives"]) > 0 for r in classes)
    # two saved arms compared as if from two runs: paired by split, seed and test records
    from ecgcinc.evidence.class_scores import check_paired, compare_saved, load_arm
    arms = tmp_path / "holdout"
    text = compare_saved(arms / "feature-baseline-gradient-boosting", arms / "network-configured", tmp_path / "cmp",
                         ("baseline", "network"))
    assert "| baseline | 1 |" in text and "| network | 1 |" in text
    assert (tmp_path / "cmp" / "compare_classes.md").is_file()
    reference, variant = load_arm(arms / "feature-baseline-gradient-boosting"), load_arm(arms / "network-configured")
    variant[0].arrays["names"] = variant[0].arrays["names"][::-1]
    with pytest.raises(ValueError, match="different records"):
        check_paired(reference, variant)
    # against what the test folder's signals show (synthetic_test: 80 records, seed 12)
    from ecgcinc.signals import synth
    from ecgcinc.evidence.class_scores import signal_rows
    from ecgcinc.core.classes import load_classes
    names, shown, written = synth.shown_labels(80, 12)
    _, rows = signal_rows(load_classes(), reference, (names, shown, written))
    by_class = {row[0]: row for row in rows}
    unseen = written & ~shown
    assert set(by_class) == {r["class"] for r in classes}
    for k, name in enumerate(load_classes().abbreviations):
        if name in by_class:
            assert by_class[name][2] == unseen[:, k].sum()
            if not unseen[:, k].any():
                assert by_class[name][3] == by_class[name][4]
    with pytest.raises(ValueError, match="not those of this synthetic folder"):
        signal_rows(load_classes(), reference, synth.shown_labels(80, 13))
    with pytest.raises(ValueError, match="--test"):
        run_experiment("holdout", synthetic_train, tmp_path, quick=True, overrides=TOY, max_records=60, verbose=0)


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
    args = parser().parse_args(["experiment", "lodo", "--data", "d", "--out", "o", "--quick", "--folds", "3",
                                "--seeds", "3", "--variants", "a,b"])
    assert (args.name, args.quick, args.folds, args.seeds, args.variants) == ("lodo", True, 3, 3, "a,b")
    for name in experiments.EXPERIMENTS:
        assert parser().parse_args(["experiment", name, "--data", "d", "--out", "o"]).name == name


def test_an_arm_that_changes_preprocessing_trains_on_its_own_signals(synthetic_train, synthetic_test, tmp_path,
                                                                       monkeypatch):
    seen = {}

    def record_lengths(cfg, rest, tests, classes, arm, model_dir):
        test = tests[""]
        seen[arm] = (cfg.preprocess.fs, [len(rest.signals[i]) for i in range(3)],
                     [len(test.signals[i]) for i in range(3)], rest.names[:3], len(test))
        n, c = len(test), len(classes)
        return {"raw": np.full((n, c), 0.5), "probabilities": np.full((n, c), 0.5), "binary": np.ones((n, c), bool),
                "held_out": np.zeros((0, c)), "held_out_labels": np.zeros((0, c), bool),
                "train_labels": rest.labels}
    monkeypatch.setattr(experiments, "_train_arm", record_lengths)
    monkeypatch.setitem(experiments.ABLATIONS, "half rate", {"preprocess": {"fs": 50.0}})
    run_experiment("holdout", synthetic_train, tmp_path, quick=True, overrides=TOY, max_records=30, verbose=0,
                   test_dir=synthetic_test, variants=["half-rate"])
    sources = _rows(tmp_path / "holdout_sources.csv")
    assert [r["source"] for r in sources] == ["Synthetic-A", "Synthetic-B", "Synthetic-C", "Synthetic-D"]
    assert sum(int(r["records"]) for r in sources) == seen["half rate"][4]
    rows = _rows(tmp_path / "holdout_variants.csv")
    assert [r["arm"] for r in rows] == ["network (configured)", "half rate"]
    assert rows[0]["Δ challenge vs reference [95 % CI]"] == "(reference)"
    base, half = seen["network (configured)"], seen["half rate"]
    assert half[3] == base[3]  # the same records
    assert half[0] == 50.0 and base[0] == 100.0
    for full, halved in zip(base[1] + base[2], half[1] + half[2]):
        assert abs(halved - full / 2) <= 1
