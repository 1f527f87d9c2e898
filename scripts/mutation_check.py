"""Break the code each guarding test covers, once, and check that the test goes red.

    python scripts/mutation_check.py [WORKTREE] [NAME-FRAGMENT ...]

Each mutation replaces one piece of code (which must occur exactly once; tests/test_docs.py keeps
the list in step with the code) by a plausible mistake, runs the tests that guard it, and puts the
code back; a mutation whose tests still pass is a test that cannot fail.  Run it in a worktree of
its own (git worktree add), never in a tree another process is reading.  Prints one JSON line per
mutation and writes them to mutations.json in the worktree.
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
MUTATIONS = [
 ("explain probabilities not run_model's", "ecgcinc/serving/explain.py",
  "    probabilities = predictor.probabilities([record])[0]\n",
  "    probabilities = predictor.probabilities([record])[0] ** 1.01\n",
  ["tests/test_report.py::test_explain_plots_the_positive_classes"]),
 ("feature model fitted on misaligned labels", "ecgcinc/decision/feature_model.py",
  "        y, rows = training.labels[:, k], mask[:, k] > 0\n",
  "        y, rows = np.roll(training.labels[:, k], 7), mask[:, k] > 0\n",
  ["tests/test_baseline.py::test_the_baseline_learns_the_classes_it_was_shown"]),
 ("verdict 'helps' read off the wrong bound", "ecgcinc/evidence/bootstrap.py",
  "        if self.low > 0:\n", "        if self.high > 0:\n",
  ["tests/test_evidence.py::test_the_verdict_is_read_off_the_whole_interval"]),
 ("heart rate from the RR sum instead of the mean", "ecgcinc/signals/features.py",
  "heart_rate=60.0 / float(rr.mean())", "heart_rate=60.0 / float(rr.sum())",
  ["tests/test_features.py"]),
 ("grid search keeps its start", "ecgcinc/decision/thresholds.py",
  "                if score > best_score + 1e-12:\n", "                if False:\n",
  ["tests/test_thresholds.py::test_grid_search_finds_the_thresholds_that_separate_the_classes",
   "tests/test_training.py::test_decision_is_fitted_on_held_out_predictions"]),
 ("fusion ignored at prediction", "ecgcinc/decision/fusion.py",
  "            fused[rows] = member.combine(np.asarray(network)[rows], member.feature_model.probabilities_of(designs[rows]))\n",
  "            fused[rows] = np.asarray(network)[rows]\n",
  ["tests/test_fusion.py::test_a_fused_model_folder_runs_through_the_harness"]),
 ("small network one filter wider", "ecgcinc/core/config.py",
  "    filters: list[int] = field(default_factory=lambda: [16, 16, 32, 32])",
  "    filters: list[int] = field(default_factory=lambda: [16, 16, 32, 40])",
  ["tests/test_sizes.py::test_every_size_builds_its_network"]),
 ("cgroup v2 quota inverted", "ecgcinc/training/sizes.py",
  'return None if quota == "max" else int(quota) / int(period)',
  'return None if quota == "max" else int(period) / int(quota)',
  ["tests/test_sizes.py::test_the_cgroup_quota_reader_on_a_fake_cgroup_tree"]),
 ("gpu_count counts CPUs on TensorFlow", "ecgcinc/training/sizes.py",
  'return len(tf.config.list_physical_devices("GPU"))', 'return len(tf.config.list_physical_devices("CPU"))',
  ["tests/test_sizes.py::test_gpu_count_asks_the_backend"]),
 ("a card of any version loads", "ecgcinc/serving/card.py",
  '    if version != FORMAT_VERSION:\n', '    if False:\n',
  ["tests/test_card.py::test_a_folder_of_another_version_is_refused_in_one_line"]),
 ("classify reads µV arrays as mV", "ecgcinc/io/ecg_files.py",
  '"uv": 1e-3,', '"uv": 1.0,', ["tests/test_classify.py::test_arrays_and_csv_match_the_driver"]),
 ("an alias taken even beside its own lead", "ecgcinc/io/ecg_files.py",
  "if slot is None and alias and lead_slot(alias) not in direct:", "if slot is None and alias:",
  ["tests/test_classify.py::test_lead_names_match_by_case_and_unambiguous_aliases"]),
 ("size never revised after caching", "ecgcinc/training/sizes.py",
  "    if size == cfg.model.size:\n        return cfg, choice\n", "    if True:\n        return cfg, choice\n",
  ["tests/test_sizes.py::test_a_slow_cache_steps_the_size_down_on_the_same_cached_signals"]),
 ("feature model pickles its classifiers", "ecgcinc/decision/feature_model.py",
  '        return {**self.__dict__, "classifiers": []}', '        return {**self.__dict__}',
  ["tests/test_feature_model.py::test_a_saved_model_holds_the_compiled_trees_and_predicts_the_same"]),
 ("export check ignored", "ecgcinc/serving/export.py",
  "    difference = probe_difference(source, out)\n", "    difference = 0.0 * probe_difference(source, out)\n",
  ["tests/test_onnx.py::test_an_export_that_differs_from_keras_is_refused"]),
 ("exported sigmoid loses the tails", "ecgcinc/serving/export.py",
  'helper.make_node("Min", [x, f"{name}/zero"]', 'helper.make_node("Max", [x, f"{name}/zero"]',
  ["tests/test_onnx.py::test_sigmoids_are_rewritten_to_keep_a_tiny_probability_precise"]),
 ("the predictor imports Keras", "ecgcinc/serving/predict.py",
  "import numpy as np\n", "import numpy as np\nfrom .framework import keras  # noqa: F401\n",
  ["tests/test_onnx.py::test_classify_runs_the_exported_folder_without_tensorflow"]),
 ("install size without dependencies", "bench/runtimes.py",
  'if q.marker is None or q.marker.evaluate({"extra": ""}): todo.append(q)', "pass",
  ["tests/test_bench.py::test_runtimes_benchmark_sizes_an_install_by_its_dependency_closure"]),
]


def main() -> None:
    only = set(sys.argv[2:])
    results = []
    for name, path, old, new, tests in MUTATIONS:
        if only and not any(o in name for o in only):
            continue
        file = ROOT / path
        text = file.read_text()
        assert text.count(old) == 1, (name, text.count(old))
        file.write_text(text.replace(old, new))
        try:
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=ROOT,
                                 capture_output=True, text=True, timeout=900)
        finally:
            file.write_text(text)
        last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-200:]
        results.append({"mutation": name, "tests": tests, "red": run.returncode != 0, "summary": last})
        print(json.dumps(results[-1]), flush=True)
    (ROOT / "mutations.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
