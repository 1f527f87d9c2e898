"""Report page and attention maps: real images from a trained model, right shapes and numbers."""
import re

import numpy as np
import pytest

from ecgcinc.__main__ import main
from ecgcinc.core.classes import load_classes
from ecgcinc.core.config import Config
from ecgcinc.serving.explain import class_attention, explain_record, plot_explanation
from ecgcinc.serving.predict import load_predictor
from ecgcinc.io.records import find_records, read_record
from ecgcinc.decision.calibration import Calibration
from ecgcinc.decision.rule import Decision
from ecgcinc.serving.model_folder import save
from ecgcinc.training.train import compile_model


def test_report_is_one_page_with_every_figure(trained_model, synthetic_test, tmp_path, capsys):
    main(["report", str(trained_model), "--data", str(synthetic_test), "--out", str(tmp_path / "report")])
    page = tmp_path / "report" / "report.html"
    assert str(page) in capsys.readouterr().out
    text = page.read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 6 and all(len(i) > 10_000 for i in images)
    for name in ("history", "roc", "pr", "thresholds", "confusion", "domains"):
        assert (tmp_path / "report" / f"{name}.png").stat().st_size > 10_000
    for domain in ("Synthetic-A", "Synthetic-B", "Synthetic-C", "Synthetic-D"):
        assert domain in text
    assert "cicst" in text and "PVC|VPB" in text


def test_attention_is_a_distribution_over_the_record(trained_model, synthetic_test):
    predictor = load_predictor(trained_model)
    for header in find_records(synthetic_test)[:8]:
        record = read_record(header)
        attention = class_attention(predictor, record)
        n = int(round(record.signal.shape[1] * predictor.cfg.preprocess.fs / record.header.fs))
        assert attention.shape == (n, len(predictor.classes)) and np.all(attention >= 0)
        if n <= predictor.cfg.preprocess.window:  # one window: the softmax sums to 1 (minus padding)
            assert np.all(attention.sum(axis=0) <= 1 + 1e-5) and np.all(attention.sum(axis=0) > 0.3)


def test_explain_plots_the_positive_classes(trained_model, synthetic_test, tmp_path, capsys):
    header = find_records(synthetic_test)[1]
    explanation = explain_record(trained_model, header)
    # the explanation shows what the harness outputs for the record (team_code.run_model's probabilities)
    import team_code
    from ecgcinc.io.outputs import PROBABILITY_DECIMALS
    from ecgcinc.io.records import load_mat
    text = header.read_text()
    model = team_code.load_model(str(trained_model), read_record(header).header.leads)
    _, _, written = team_code.run_model(model, text, load_mat(header.with_suffix(".mat"), header.stem))
    np.testing.assert_allclose(np.round(explanation.probabilities, PROBABILITY_DECIMALS), written, atol=1e-12)
    assert explanation.decisions.any()
    classes = load_classes()
    own = classes.encode_many([read_record(header).header.dx])[0]
    assert explanation.labels == [classes.abbreviations[k] for k in np.flatnonzero(own)] and explanation.labels
    out = plot_explanation(explanation, tmp_path / "fig.png")
    assert out.stat().st_size > 30_000
    main(["explain", str(trained_model), str(header.with_suffix("")), "--out", str(tmp_path / "cli.png")])
    assert (tmp_path / "cli.png").stat().st_size > 30_000 and header.stem in capsys.readouterr().out


def test_explain_refuses_a_model_without_attention(synthetic_test, tmp_path):
    cfg = Config()
    cfg.model.backbone = "cnn_bilstm"
    cfg.model.fusion = False  # a network saved by hand has no feature model to fuse with
    cfg.preprocess.fs, cfg.preprocess.window_s = 100.0, 10.0
    classes = load_classes()
    model = compile_model(cfg, cfg.preprocess.window, len(classes), 0, 1)
    labels = np.eye(len(classes), dtype=bool)
    decision = Decision(Calibration.identity(len(classes)), np.full(len(classes), 0.5))
    save(tmp_path / "m", model, cfg, classes, decision, {}, labels)
    with pytest.raises(ValueError, match="class-wise attention"):
        explain_record(tmp_path / "m", find_records(synthetic_test)[0])


def test_pvc_attention_script_runs(trained_model, tmp_path):
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("pvc_attention", Path(__file__).parents[1] / "scripts" / "pvc_attention.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    result = script.main([str(trained_model), "--n", "6", "--out", str(tmp_path / "pvc.json")])
    assert result["records"] == 6 and 0 <= result["hit_rate"] <= 1 and 0 < result["chance_rate"] < 1
    generated = next(script.records_with_pvcs(1, seed=5))
    assert "pvc" in generated.beat_kinds and len(generated.beat_times) == len(generated.beat_kinds)


def test_the_report_scores_what_the_official_evaluator_scores_on_the_drivers_outputs(trained_model, sample_dir,
                                                                                     tmp_path):
    """The same records (records needing repairs included) and the same challenge metric as
    driver.py's outputs scored by the evaluator."""
    from ecgcinc.evidence.evaluation import evaluate_folders
    from ecgcinc.serving.predict import predict_folder
    from ecgcinc.evidence.report import evaluate_folder
    predict_folder(trained_model, sample_dir, tmp_path / "out", verbose=0)
    _, official = evaluate_folders(sample_dir, tmp_path / "out")
    report = evaluate_folder(trained_model, sample_dir)
    assert len(report.labels) == len(find_records(sample_dir))
    assert report.scored.scores.challenge_metric == official.challenge_metric
    assert report.scored.scores.auroc == official.auroc


def test_a_threshold_of_one_says_why():
    from ecgcinc.evidence.report import threshold_notes
    train = np.zeros((50, 3), dtype=bool)
    train[:5, 0] = True
    train[:3, 2] = True
    notes = threshold_notes(np.array([0.3, 1.0, 1.0]), train)
    assert notes[0] == ""
    assert notes[1] == "never predicted: no positive among the 50 training records"
    assert notes[2] == "never predicted: the threshold method set 1 (3 training positives)"
