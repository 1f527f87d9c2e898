"""The benchmark suite runs end to end at its tiny size, so it cannot rot unnoticed."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # it trains the shipped default's model folder (bench/shipped.py)
def test_tiny_benchmark_prints_its_table_and_writes_json(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.main(["--tiny", "--no-jax", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    for row in ("shipped default", "driver.py, whole run per record, idle", "of which feature model and fusion",
                "2 busy processes", "single-threaded reference, busy vs idle", "numpy sgemm", "run_model per record", "driver.py loop", "reference Keras conv net",
                "wfdb.rdrecord", "training from cache", "cache reuse", "fold ensemble of 3: run_model"):
        assert row in printed
    written = json.loads(next(tmp_path.glob("tiny-*.json")).read_text())
    assert written["table"] == results["table"]
    assert [item["backbone"] for item in written["inference"]] == ["resnet_cwa", "cnn_bilstm"]
    for item in written["inference"]:
        assert item["driver_ms"]["n"] == written["records"] and 0 < item["run_model_ms"]["median"] < 10_000
        assert 0 < item["batched_fraction_of_gemm"] < float("inf")  # a ratio of two timings: no bound under load
    assert written["cache"]["records"] == written["records"] and written["cache"]["speedup"] > 1  # reusing beats rebuilding
    shipped = written["shipped"]
    assert shipped["idle"]["driver"]["records"] == written["records"] == shipped["idle"]["loop"]["n"]
    assert shipped["contended"]["loop"]["n"] == written["records"] and shipped["busy_processes"] == 2
    assert shipped["contended_vs_idle"]["reference"] == pytest.approx(
        shipped["contended"]["reference_ms"] / shipped["idle"]["reference_ms"])
    assert set(shipped["parts_idle"]) == {"read", "preprocess", "features", "network", "feature model and fusion"}
    assert [item["members"] for item in written["ensembles"]] == [1, 3]
    assert all(item["run_model_ms"]["n"] == written["records"] for item in written["ensembles"])


@pytest.mark.slow
def test_scale_benchmark_measures_the_training_path_on_a_challenge_shaped_corpus(tmp_path, capsys):
    from bench import scale
    result = scale.main(["--scale", "0.001", "--sizes", "small", "--work", str(tmp_path),
                         "--out", str(tmp_path / "scale.json")])
    printed = capsys.readouterr().out
    assert "extrapolated to the full corpus" in printed
    row = result["sizes"][0]
    assert row["cache"]["records"] == sum(result["corpus"]["counts"].values()) and row["cache"]["build_s"] > 0
    assert row["run"]["epoch_s"] > 0 and row["run"]["peak_rss_mib"] > 0
    assert row["run"]["feature_model_s"] > 0   # the fusion's feature model, fitted before the network
    # the full corpus's path: no head start, so no generated records join the corpus's own
    assert row["run"]["train_records"] + row["run"]["validation_records"] <= row["cache"]["records"]
    assert row["full"]["extrapolated"] and row["full"]["records"] == 88_253
    full = row["full"]
    assert full["training_h_all_epochs"] == pytest.approx(
        full["caching_h"] + full["feature_model_h"] + full["epochs"] * full["epoch_h"])
    assert json.loads((tmp_path / "scale.json").read_text())["sizes"][0]["size"] == "small"


def test_startup_benchmark_times_every_command(tmp_path, capsys):
    from bench import startup
    result = startup.main(["--repeats", "1", "--out", str(tmp_path / "startup.json")])
    names = [row["command"] for row in result["table"]]
    assert names[0] == "evaluate_model.py (this project)" and len(names) == 4
    assert all(row["median_s"] > 0 and row["vs_official"] is None for row in result["table"])
    assert "evaluate_model.py (this project)" in capsys.readouterr().out


def test_features_benchmark_times_each_caching_step(tmp_path, capsys, sample_dir):
    from bench import features
    result = features.main([str(sample_dir), "--records", "4", "--out", str(tmp_path / "features.json")])
    assert [row["step"] for row in result["rows"]] == ["read", "preprocess (100 Hz)", "features and beat table"]
    assert result["rows"][0]["vs_read"] == 1.0 and abs(sum(r["share"] for r in result["rows"]) - 1) < 1e-9
    assert "features and beat table" in capsys.readouterr().out and (tmp_path / "features.json").is_file()


@pytest.mark.slow  # trains a few steps of the paper-sized CNN+BiLSTM
def test_gpu_benchmark_reports_each_network_and_the_corpus_epoch(tmp_path, capsys):
    from bench import gpu
    results = gpu.main(["--records", "6", "--batch", "4", "--steps", "1", "--repeats", "2", "--workers", "1",
                        "--backbones", "cnn_bilstm", "--precisions", "fp32", "--out", str(tmp_path)])
    (row,) = results["rows"]
    assert (row["backbone"], row["batch"], row["mixed_precision"]) == ("cnn_bilstm", 4, False)
    rate = row["end_to_end_records_per_s"]["median"]
    assert row["epoch_s"] == pytest.approx(gpu.CORPUS_RECORDS / rate)
    saved = json.loads((tmp_path / "gpu-tensorflow.json").read_text())
    assert saved["rows"][0]["epoch_s"] == pytest.approx(row["epoch_s"])
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("cnn_bilstm"))
    assert line.split()[1:3] == ["fp32", f"{row['step_records_per_s']['median']:.0f}"]


def test_runtimes_benchmark_sizes_an_install_by_its_dependency_closure(tmp_path):
    """bench/runtimes.py's install size: scipy's closure holds numpy too, and weighs both."""
    import sys
    from importlib.metadata import distribution
    from bench import runtimes
    (tmp_path / "only-scipy.txt").write_text("# one line\nscipy>=1\n")
    closure = runtimes.install_size(sys.executable, tmp_path / "only-scipy.txt")
    files = {name: sum(f.size or 0 for f in distribution(name).files) / 1e6 for name in ("scipy", "numpy")}
    assert closure["distributions"] == 2
    assert closure["mb"] == pytest.approx(files["scipy"] + files["numpy"])


def test_the_shipped_benchmark_times_the_folder_auto_picks_for_the_challenge_corpus():
    """bench.shipped's first folder is the one `train_model.py` writes for the 88,253 records on the
    organisers' machine: the paper size, with the wide features and the fusion."""
    from bench.shipped import challenge_config
    cfg, why = challenge_config()
    assert (cfg.model.size, cfg.model.fusion, cfg.model.wide_features) == ("paper", True, True)
    assert why.startswith("88,253 records: paper")
