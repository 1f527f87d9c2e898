"""A short CPU training beats the untrained network by a margin chance cannot explain,
and the model folder holds everything load_model needs."""
import json

import numpy as np
import pytest

from ecgcinc.core import metrics
from ecgcinc.core.classes import load_classes
from ecgcinc.dataset.data import load_examples, stratified_split
from ecgcinc.networks.models import build_model, inference_model
from ecgcinc.serving.inference import signal_probabilities
from ecgcinc.serving.predict import load_predictor
from ecgcinc.signals.preprocess import meta_size
from ecgcinc.decision.thresholds import apply_thresholds

# trains networks, toys: eagerly (conftest.eager_functions)
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("eager_functions")]


def challenge_score(network, examples, thresholds, cfg, classes):
    probabilities = signal_probabilities(network, examples.signals, examples.network_meta(cfg.model),
                                         cfg.preprocess)
    binary = apply_thresholds(probabilities, thresholds)
    return metrics.challenge_metric(classes.weights, examples.labels, binary, classes.sinus_index), \
        metrics.compute_auc(examples.labels, probabilities)[0]


def test_training_beats_the_untrained_network(trained_model, synthetic_test):
    predictor = load_predictor(trained_model)
    cfg, classes = predictor.cfg, load_classes()
    test = load_examples(synthetic_test, classes, cfg)
    trained, trained_auroc = challenge_score(predictor.network, test, predictor.thresholds, cfg, classes)
    untrained_scores = []
    for seed in range(3):
        import keras
        keras.utils.set_random_seed(seed)
        untrained = inference_model(build_model(cfg.model, cfg.preprocess.window, len(classes),
                                                meta_size(cfg.model), 4))
        untrained_scores.append(challenge_score(untrained, test, predictor.thresholds, cfg, classes)[0])
    print(f"trained {trained:.3f} (AUROC {trained_auroc:.3f}), untrained {untrained_scores}")
    assert trained > max(untrained_scores) + 0.3
    assert trained_auroc > 0.7


def test_model_folder_contents(trained_model):
    names = {p.name for p in trained_model.iterdir()}
    assert {"model.keras", "config.json", "classes.json", "thresholds.json", "history.json"} <= names
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    history = json.loads((trained_model / "history.json").read_text())
    assert history["epochs"] and history["best_epoch"] >= 1
    assert {"loss", "val_challenge", "val_auroc"} <= set(history["epochs"][0])
    thresholds = json.loads((trained_model / "thresholds.json").read_text())
    assert thresholds["method"] == "cicst" and len(thresholds["thresholds"]) == 26


def test_stratified_split_puts_rare_classes_on_both_sides():
    rng = np.random.default_rng(0)
    labels = rng.random((200, 5)) < [0.5, 0.3, 0.1, 0.05, 0.02]
    labels[labels.sum(axis=1) == 0, 0] = True
    train, val = stratified_split(labels, 0.25, seed=1)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 200
    for k in range(5):
        if labels[:, k].sum() >= 4:
            assert labels[train, k].any() and labels[val, k].any()


def test_decision_is_fitted_on_held_out_predictions(trained_model, synthetic_test):
    from dataclasses import replace

    from ecgcinc.decision.rule import fit_decision
    predictor = load_predictor(trained_model)
    classes = load_classes()
    examples = load_examples(synthetic_test, classes, predictor.cfg)
    probabilities = signal_probabilities(predictor.network, examples.signals,
                                         examples.network_meta(predictor.cfg.model),
                                         predictor.cfg.preprocess)
    for method in ("grid", "proportional", "cicst"):
        for calibration in ("none", "platt"):
            cfg = replace(predictor.cfg, thresholds=replace(predictor.cfg.thresholds, method=method,
                                                            calibration=calibration))
            d = fit_decision(probabilities, examples.labels, examples.labels, classes, cfg)
            assert d.thresholds.shape == (26,) and ((d.thresholds >= 0) & (d.thresholds <= 1)).all()
            assert d.calibration.method == calibration
    # grid search, started from CICST, improves on it on the records it searched (CICST never looks at them)
    cicst = fit_decision(probabilities, examples.labels, examples.labels, classes, predictor.cfg)
    grid = fit_decision(probabilities, examples.labels, examples.labels, classes,
                        replace(predictor.cfg, thresholds=replace(predictor.cfg.thresholds, method="grid")))
    score = lambda t: metrics.challenge_metric(classes.weights, examples.labels,  # noqa: E731
                                               apply_thresholds(probabilities, t), classes.sinus_index)
    assert score(grid.thresholds) > score(cicst.thresholds)


def test_fold_ensemble_trains_saves_loads_and_runs(synthetic_train, tmp_path, small_config):
    from ecgcinc.io.records import find_records, load_mat
    from ecgcinc.training.train import train
    from team_code import load_model, run_model
    cfg = small_config(train={"epochs": 2, "ensemble_folds": 2, "max_records": 80},
                       thresholds={"calibration": "platt"})
    history = train(synthetic_train, tmp_path / "ens", cfg, verbose=0)
    assert len(history["members"]) == 2
    calibration = json.loads((tmp_path / "ens" / "calibration.json").read_text())
    assert calibration["method"] == "platt" and len(calibration["slope"]) == 26
    model = load_model(tmp_path / "ens", ("I", "II"))
    assert [layer.name for layer in model.network.layers if layer.name.startswith("member")] == ["member1", "member2"]
    header = find_records(synthetic_train)[0]
    classes, labels, probabilities = run_model(model, header.read_text(), load_mat(header.with_suffix(".mat"),
                                                                                            header.stem))
    assert len(classes) == len(labels) == len(probabilities) == 26 and any(labels)


def test_training_data_skips_bad_records_with_a_warning(sample_dir, tmp_path, capfd, small_config):
    import shutil
    for name in ("E07500", "E07501", "E07502", "JS20004"):
        shutil.copy(sample_dir / f"{name}.hea", tmp_path), shutil.copy(sample_dir / f"{name}.mat", tmp_path)
    (tmp_path / "E07501.mat").write_bytes(b"not a mat file")
    (tmp_path / "E07502.hea").write_text((tmp_path / "E07502.hea").read_text().replace("# Dx: ", "# Dx: 999999,"))
    examples = load_examples(tmp_path, load_classes(), small_config())
    err = capfd.readouterr().err
    assert "WARNING skipping E07501: cannot read E07501.mat" in err
    assert "WARNING skipping JS20004: lead V2 is flat" in err       # a real record with flat leads
    assert examples.names == ["E07500", "E07502"] and examples.signals[0].dtype == np.float16
    assert np.isfinite(examples.meta).all()
