"""Break the code each guarding test covers, once, and check that the test goes red: a gate.

    python scripts/mutation_check.py [NAME-FRAGMENT ...]

Works on a copy of the checkout (never the live tree).  First the named mutations' tests run
unmutated: if any fails, the check refuses to judge (exit status 2), since a test that is red
already would count as catching anything.  Then each mutation replaces one piece of code (which
must occur exactly once; tests/test_docs.py keeps the list in step with the code) by a plausible
mistake, runs the tests that guard it, and puts the code back.  A mutation whose tests still
pass is a test that cannot fail: the check then exits 1.  One JSON line per mutation; every
mutation's last verdict, with the commit it was judged at, in scripts/mutation-results.json.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "scripts" / "mutation-results.json"
COPIED = shutil.ignore_patterns(".git", ".venv*", "runs", "__pycache__", ".pytest_cache", "*.egg-info")
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
  "    difference = probe_difference(source, folder)\n", "    difference = 0.0 * probe_difference(source, folder)\n",
  ["tests/test_onnx.py::test_an_export_that_differs_from_keras_is_refused"]),
 ("exported sigmoid loses the tails", "ecgcinc/serving/export.py",
  'helper.make_node("Min", [x, f"{name}/zero"]', 'helper.make_node("Max", [x, f"{name}/zero"]',
  ["tests/test_onnx.py::test_sigmoids_are_rewritten_to_keep_a_tiny_probability_precise"]),
 ("the predictor imports Keras", "ecgcinc/serving/predict.py",
  "import numpy as np\n", "import numpy as np\nfrom ..networks.framework import keras  # noqa: F401\n",
  ["tests/test_onnx.py::test_classify_runs_the_exported_folder_without_tensorflow"]),
 ("install size without dependencies", "bench/runtimes.py",
  'if q.marker is None or q.marker.evaluate({"extra": ""}): todo.append(q)', "pass",
  ["tests/test_bench.py::test_runtimes_benchmark_sizes_an_install_by_its_dependency_closure"]),
 ("evaluator ignores the weights.csv of its folder", "ecgcinc/evidence/evaluation.py",
  "    local = Path(folder) / HARNESS_WEIGHTS\n", "    local = Path(folder) / 'no-such-weights.csv'\n",
  ["tests/test_official.py::test_evaluate_model_script_reads_the_weights_of_its_folder"]),
 ("a record of flat leads gets a best guess", "ecgcinc/io/records.py",
  '        raise RecordError(header.record, "; ".join([*defects, NO_USABLE_LEAD]))\n',
  "        defects.append(NO_USABLE_LEAD)\n",
  ["tests/test_records.py::test_a_record_without_usable_leads_is_an_error_naming_it"]),
 ("the head start's weights are not set", "ecgcinc/training/head_start.py",
  "        variable.assign(value)\n", "        pass\n",
  ["tests/test_head_start.py::test_shipped_weights_match_their_card_and_the_default_network"]),
 ("the head start ignores the record count", "ecgcinc/training/head_start.py",
  "    if records > MAX_RECORDS:\n", "    if False:\n",
  ["tests/test_head_start.py::test_auto_uses_the_weights_below_the_record_count_and_for_their_network_only"]),
 ("a flat-layout fusion no longer loads", "ecgcinc/serving/model_folder.py",
  "    sys.modules.update({name: FLAT_MODULES[name] for name in added})\n", "    added = []\n",
  ["tests/test_model_folder.py::test_a_fusion_pickled_before_the_package_had_folders_still_loads"]),
 ("an import back up a folder goes unseen", "tests/test_layers.py",
  " or layer(t) > layer(m)", " or False",
  ["tests/test_layers.py::test_an_injected_import_back_up_is_found"]),
 ("the cache key forgets the code", "ecgcinc/dataset/cache.py",
  '"code": code_hash(), ', "",
  ["tests/test_cache.py::test_a_changed_feature_function_builds_a_new_entry"]),
 ("a lead-set unit reads the 12-lead arrays", "ecgcinc/evidence/arms.py",
  '    arrays = {key: value for key, value in unit.arrays.items() if "@" not in key}\n'
  '    arrays.update({key.removesuffix(f"@{name}"): value for key, value in unit.arrays.items()\n'
  '                   if key.endswith(f"@{name}")})  # the lead set\'s own, whatever order the keys came in\n',
  '    arrays = {key.removesuffix(f"@{name}"): value for key, value in unit.arrays.items()\n'
  '              if "@" not in key or key.endswith(f"@{name}")}\n',
  ["tests/test_evidence.py::test_a_lead_set_unit_takes_that_lead_sets_arrays_whatever_their_order"]),
 ("the head start counts the generated records", "ecgcinc/training/train.py",
  "training.own + validation.own)", "len(training) + len(validation))",
  ["tests/test_generated_mix.py::test_training_adds_them_and_the_head_start_counts_the_folder_own_records"]),
 ("generated records join without the head start", "ecgcinc/training/generated_mix.py",
  "        if start is None or start.parent != head_start.PRETRAINED:\n", "        if False:\n",
  ["tests/test_generated_mix.py::test_auto_adds_them_exactly_where_the_package_head_start_is_used"]),
 ("generated records ignore the time budget", "ecgcinc/training/generated_mix.py",
  "        if need > sizes.FIT_SHARE * budget.remaining():\n", "        if False:\n",
  ["tests/test_generated_mix.py::test_the_time_budget_keeps_them_out_when_they_would_not_fit"]),
 ("a joined store reads the first folder's array", "ecgcinc/dataset/cache.py",
  "        signal = self.arrays[self.part[i]][start : start + int(self.lengths[i])]\n",
  "        signal = self.arrays[0][start : start + int(self.lengths[i])]\n",
  ["tests/test_generated_mix.py::test_joined_examples_keep_every_record_and_merge_a_shared_source"]),
 ("the shipped benchmark times a folder sized for little data", "bench/shipped.py",
  "resolve(Config(), FULL_SIZE, Machine(ORGANISERS_CORES, ORGANISERS_GPUS))",
  "resolve(Config(), 4_000, Machine(ORGANISERS_CORES, ORGANISERS_GPUS))",
  ["tests/test_bench.py::test_the_shipped_benchmark_times_the_folder_auto_picks_for_the_challenge_corpus"]),
 ("the end-to-end run misreads the accounting line", "bench/end_to_end.py",
  'r"[\\d,]+ records: [\\d,]+ usable"', 'r"[\\d,]+ records, [\\d,]+ usable"',
  ["tests/test_sizes.py::test_training_prints_and_saves_the_auto_choice"]),
 ("a private model folder is a raw OS error", "ecgcinc/serving/model_folder.py",
  "    if not os.access(model_dir, os.R_OK | os.X_OK):\n", "    if False:\n",
  ["tests/test_permissions.py::test_driver_as_another_user"]),
 ("odd subsets scored with every lead", "ecgcinc/evidence/odd_subsets.py",
  '        predictor = load_predictor(folder / "model", leads)\n', '        predictor = load_predictor(folder / "model")\n',
  ["tests/test_odd_subsets.py::test_every_subset_is_scored_against_the_same_units_twelve_leads"]),
 ("per-source rows count every record", "ecgcinc/evidence/folder_comparison.py",
  "[[source, int((sources == source).sum())]", "[[source, len(headers)]",
  ["tests/test_folder_comparison.py::test_a_folder_against_itself_differs_by_nothing_and_each_source_gets_a_row"]),
 ("the weight-space ensemble averages with itself", "ecgcinc/training/weight_ensemble.py",
  "(share * tuned + (1.0 - share) * start)", "(share * tuned + (1.0 - share) * tuned)",
  ["tests/test_weight_ensemble.py::test_the_share_averages_every_weight_with_the_pretrained_one"]),
 ("the head start fine-tuned at the full rate", "ecgcinc/training/head_start.py",
  "    return cfg.train.learning_rate * (cfg.train.fine_tune_rate if start is not None else 1.0)\n",
  "    return cfg.train.learning_rate\n",
  ["tests/test_head_start.py::test_a_head_start_is_fine_tuned_at_the_configured_share_of_the_learning_rate"]),
 ("the network compiled at the configuration's rate whatever the start", "ecgcinc/training/train.py",
  "                          rate, frozen)\n", "                          None, frozen)\n",
  ["tests/test_head_start.py::test_a_head_start_is_fine_tuned_at_the_configured_share_of_the_learning_rate"]),
 ("the within-source AUROC reads another class's probabilities", "ecgcinc/evidence/class_scores.py",
  'u.arrays["probabilities"][:, k])[0])\n', 'u.arrays["probabilities"][:, 0])[0])\n',
  ["tests/test_evidence.py::test_within_source_auroc_is_not_hurt_by_an_offset_between_splits_models"]),
 ("the scale benchmark times the small-folder path", "bench/scale.py",
  '"head_start": "off"}})\n', '"head_start": "auto"}})\n',
  ["tests/test_bench.py::test_scale_benchmark_measures_the_training_path_on_a_challenge_shaped_corpus"]),
 ("heads-only fine-tuning trains the backbone too", "ecgcinc/training/train.py",
  "            layer.trainable = False\n", "            layer.trainable = True\n",
  ["tests/test_head_start.py::test_heads_only_fine_tuning_leaves_the_backbone_as_pretrained"]),
 ("a head start never frozen", "ecgcinc/training/head_start.py",
  '    return start is not None and cfg.train.fine_tuned_layers == "heads"\n', "    return False\n",
  ["tests/test_head_start.py::test_heads_only_fine_tuning_leaves_the_backbone_as_pretrained"]),
 ("the head start's gain change read the wrong way round", "ecgcinc/evidence/head_start_curve.py",
  "_gain(classes, small_scratch[seed], small_default[seed]))", "_gain(classes, small_default[seed], small_scratch[seed]))",
  ["tests/test_head_start_curve.py::test_the_gain_change_is_above_zero_when_the_head_start_pays_more_with_fewer_records"]),
 ("fewer records keeps them all", "ecgcinc/evidence/head_start_curve.py",
  "        keep = max(1, round(fraction * len(rest_rows)))\n", "        keep = len(rest_rows)\n",
  ["tests/test_head_start_curve.py::test_fewer_records_draws_the_share_once_per_split_from_its_training_rows"]),
 ("a record's row scores the source with it", "ecgcinc/evidence/source_records.py",
  "        keep[i] = False\n", "        keep[i] = True\n",
  ["tests/test_source_records.py::test_a_row_per_record_of_the_source_with_the_score_left_out"]),
 ("odd lead subsets are not flagged", "ecgcinc/signals/lead_sets.py",
  "    if standard in {tuple(s) for s in LEAD_SETS.values()}:\n", "    if True:\n",
  ["tests/test_classify.py::test_odd_lead_subsets_name_their_view"]),
]


def pytest(tree: Path, tests: list[str]) -> subprocess.CompletedProcess:
    """The tests, run in `tree` (the organisers' code from beside this checkout)."""
    env = {**os.environ, "ECGCINC_OFFICIAL_DIR": os.environ.get("ECGCINC_OFFICIAL_DIR")
           or str(ROOT.parent / "shared" / "official")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=tree,
                          capture_output=True, text=True, timeout=1800, env=env)


def summary(run: subprocess.CompletedProcess) -> str:
    return run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-200:]


def judge(tree: Path, mutation: tuple) -> dict:
    name, path, old, new, tests = mutation
    file = tree / path
    text = file.read_text()
    assert text.count(old) == 1, (name, text.count(old))
    file.write_text(text.replace(old, new))
    try:
        run = pytest(tree, tests)
    finally:
        file.write_text(text)
    return {"mutation": name, "tests": tests, "red": run.returncode != 0, "summary": summary(run)}


def commit() -> str:
    run = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return run.stdout.strip() + ("+changes" if dirty else "")


def record(results: list[dict], unmutated: str) -> None:
    """The run's results into RESULTS, each with this commit and date; a run of some mutations
    replaces their entries and keeps the others' (with the commit each was judged at)."""
    stamp = {"commit": commit(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "unmutated": unmutated}
    kept = json.loads(RESULTS.read_text())["results"] if RESULTS.is_file() else []
    names = {m[0] for m in MUTATIONS}
    merged = {r["mutation"]: r for r in kept if r["mutation"] in names}
    merged.update({r["mutation"]: {**r, **stamp} for r in results})
    ordered = [merged[m[0]] for m in MUTATIONS if m[0] in merged]
    RESULTS.write_text(json.dumps({"survivors": [r["mutation"] for r in ordered if not r["red"]],
                                   "judged": f"{len(ordered)} of {len(MUTATIONS)}", "results": ordered}, indent=1) + "\n")


def main() -> int:
    only = set(sys.argv[1:])
    chosen = [m for m in MUTATIONS if not only or any(o in m[0] for o in only)]
    if not chosen:
        print(f"no mutation's name contains {', '.join(sorted(only))}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mutation-check-") as folder:
        tree = Path(folder) / "tree"
        shutil.copytree(ROOT, tree, ignore=COPIED, symlinks=True)
        tests = sorted({t for m in chosen for t in m[4]})
        baseline = pytest(tree, tests)
        if baseline.returncode != 0:
            print(f"the tests fail unmutated ({summary(baseline)}): no verdict", file=sys.stderr)
            return 2
        results = []
        for mutation in chosen:
            results.append(judge(tree, mutation))
            print(json.dumps(results[-1]), flush=True)
    survivors = [r["mutation"] for r in results if not r["red"]]
    record(results, summary(baseline))
    if survivors:
        print(f"{len(survivors)} mutation(s) survived: {', '.join(survivors)}", file=sys.stderr)
        return 1
    print(f"all {len(results)} mutations caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())
