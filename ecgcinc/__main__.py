"""Command line: python -m ecgcinc COMMAND ... (or the `ecgcinc` command after pip install -e .).

The harness's own scripts (train_model.py, driver.py, evaluate_model.py) do the same as `train`,
`predict` and `evaluate`; everything else is for users and for the evidence in docs/results.md.
`python -m ecgcinc COMMAND --help` describes a command's arguments and defaults.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .cli import run_cli
from .core.config import SMALL_CONFIG, load_config
from .evidence.executors import EXECUTORS, Executor
from .decision.thresholds import METHODS

# The experiments' names, for the parser: importing experiments.py (and through it the data and
# feature code) would cost every command a second at start-up; tests/test_cli.py checks the list.
EXPERIMENT_NAMES = ("cv", "ablation", "lodo", "thresholds", "ensemble", "holdout")


def cmd_synth(args: argparse.Namespace) -> None:
    from .signals import synth
    if args.challenge_scale:
        from .signals.challenge_corpus import FULL_SIZE, write_corpus
        counts = write_corpus(args.out, args.challenge_scale, args.seed, args.workers)
        print(f"wrote {sum(counts.values())} records ({args.challenge_scale:g} of the 2021 training set's "
              f"{FULL_SIZE:,}) to {args.out}: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
        return
    sources = args.sources.split(",") if args.sources else None
    names = synth.write_dataset(args.out, args.n, args.seed, sources, args.workers)
    print(f"wrote {len(names)} records to {args.out}")
    ceiling = synth.annotation_ceiling(args.n, args.seed, sources)
    per_source = ", ".join(f"{prefix} {value:.3f}" for prefix, value in ceiling.items() if prefix != "all")
    print(f"true conditions scored against the written labels (the most a model blind to the sources' "
          f"annotation habits can score): challenge {ceiling['all']:.3f} ({per_source})")
    by_class = synth.class_ceiling(args.n, args.seed, sources)
    print("AUROC of a score that knows what each record's signal shows (the most per class): "
          + ", ".join(f"{name} {value:.3f}" for name, value in by_class.items() if value < 0.9995))


def cmd_leads(args: argparse.Namespace) -> None:
    from .io.records import extract_leads
    print(f"wrote {extract_leads(args.src, args.dst, args.leads)} records with leads {' '.join(args.leads)}")


def cmd_train(args: argparse.Namespace) -> None:
    from .training.train import train
    train(args.data, args.model, load_config(args.config), verbose=1)


def cmd_predict(args: argparse.Namespace) -> None:
    from .serving.model_folder import check
    check(args.model)  # before Keras loads
    from .serving.predict import predict_folder
    failures = predict_folder(args.model, args.data, args.out, verbose=0)
    print(f"outputs in {args.out}" + (f" ({failures} record(s) failed)" if failures else ""))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from .evidence.evaluation import evaluate_folders, format_class_scores, format_scores
    classes, scores = evaluate_folders(args.labels, args.outputs)
    print(format_scores(scores))
    if args.scores:
        Path(args.scores).write_text(format_scores(scores))
    if args.class_scores:
        Path(args.class_scores).write_text(format_class_scores(classes, scores))


def cmd_demo(args: argparse.Namespace) -> None:
    """The whole pipeline on fresh synthetic data with the small configuration."""
    from .signals import synth
    from .evidence.evaluation import evaluate_folders, format_scores
    from .serving.predict import predict_folder
    from .training.train import train
    out = Path(args.out)
    started = time.time()
    synth.write_dataset(out / "train", args.n, seed=1)
    synth.write_dataset(out / "test", max(args.n // 4, 20), seed=2)
    print(f"[demo] {args.n} training and {max(args.n // 4, 20)} test records in {out}", flush=True)
    train(out / "train", out / "model", load_config(args.config or SMALL_CONFIG), verbose=1)
    predict_folder(out / "model", out / "test", out / "outputs", verbose=0)
    _, scores = evaluate_folders(out / "test", out / "outputs")
    (out / "scores.csv").write_text(format_scores(scores) + "\n")
    print(f"[demo] held-out synthetic test set, {time.time() - started:.0f} s in all:")
    print(format_scores(scores))
    print(f"[demo] left in {out}: the model folder model/, the test records test/, driver.py's outputs "
          f"outputs/ and these scores, scores.csv.  Next:\n"
          f"  python -m ecgcinc report {out / 'model'} --data {out / 'test'} --out {out / 'report'}\n"
          f"  python -m ecgcinc explain {out / 'model'} {out / 'test' / 'XA00001'} --out {out / 'explain.png'}\n"
          f"  python train_model.py DATA MODEL   # on a Challenge folder of your own")


def cmd_thresholds(args: argparse.Namespace) -> None:
    from .serving.model_folder import describe_thresholds
    from .evidence.retarget import retarget
    values = retarget(args.model, args.method, args.beta, args.weights, args.data)
    print(f"{args.model}: {describe_thresholds(args.model)}")
    print("thresholds: " + " ".join(f"{v:.3f}" for v in values))


def cmd_compare(args: argparse.Namespace) -> None:
    from .evidence.retarget import compare, format_table, write_csv
    rows = compare(args.model, args.data, args.seed, args.de)
    print(format_table(rows))
    if args.csv:
        write_csv(rows, args.csv)


def cmd_experiment(args: argparse.Namespace) -> None:
    from .evidence.experiments import run_experiment
    variants = args.variants.split(",") if args.variants else None
    executor = Executor(args.executor, args.workers, args.address, args.gpus_per_unit)
    print(run_experiment(args.name, args.data, args.out, args.quick, args.config, args.folds,
                         max_records=args.max_records, seeds=args.seeds, variants=variants, test_dir=args.test,
                         executor=executor, lead_sets=[t for t in args.lead_sets.split(",") if t]))


def cmd_compare_arms(args: argparse.Namespace) -> None:
    from .evidence.class_scores import compare_saved
    print(compare_saved(args.reference, args.variant, args.out, tuple(args.names),
                        [s.strip() for s in args.lead_sets.split(",") if s.strip()]))


def cmd_signal_auroc(args: argparse.Namespace) -> None:
    from .signals import synth
    from .evidence.class_scores import load_arm, signal_rows
    from .core.classes import load_classes
    from .evidence.arms import markdown_table
    from .io.outputs import atomic_write_text
    folder = synth.shown_labels(args.n, args.seed, args.sources.split(",") if args.sources else None)
    header, rows = signal_rows(load_classes(), load_arm(args.arm), folder)
    text = markdown_table(header, rows, f"{args.arm} on the synthetic folder of {args.n} records, seed {args.seed}: "
                          "AUROC mean ± sd over seeds.")
    print(text)
    if args.out:
        atomic_write_text(Path(args.out), text)


def cmd_curve(args: argparse.Namespace) -> None:
    from .evidence.learning_curve import run_curve
    print(run_curve(args.data, args.test, args.out, args.records, args.sizes, args.seeds))


def cmd_baseline(args: argparse.Namespace) -> None:
    from .evidence.baseline import run_baseline
    count = run_baseline(args.train, args.test, args.out, load_config(args.config))
    print(f"wrote {count} output files to {args.out}; score them with evaluate_model.py")


def cmd_report(args: argparse.Namespace) -> None:
    from .evidence.report import build_report
    print(f"report: {build_report(args.model, args.data, args.out)}")


def cmd_explain(args: argparse.Namespace) -> None:
    from .serving.explain import explain_record, plot_explanation
    explanation = explain_record(args.model, args.record)
    positive = [f"{explanation.names[k]} {explanation.probabilities[k]:.2f}"
                for k in range(len(explanation.names)) if explanation.decisions[k]]
    print(f"{explanation.record.name}: {', '.join(positive) or 'no class'} -> {plot_explanation(explanation, args.out)}")


def cmd_classify(args: argparse.Namespace) -> int:
    from .serving.classify import classify
    from .serving.ready import split_model
    from .cli import FAILED_RECORDS_STATUS
    model, inputs = split_model(args.inputs)
    if not inputs:
        raise ValueError("no record to classify: name records, files or folders after the model folder")
    failed = classify(model, inputs, args.out, args.format, args.fs, args.leads, args.units, args.explain,
                      args.age, args.sex, args.runtime)
    return FAILED_RECORDS_STATUS if failed else 0


def cmd_export(args: argparse.Namespace) -> None:
    from .serving.export import export
    section = export(args.model, args.out)
    check = section["check"]
    print(f"wrote {Path(args.out).resolve()}: network.onnx and the folder's other files; on {check['records']} "
          f"synthetic records x {check['lead_sets']} lead sets its probabilities differ from Keras's by at most "
          f"{check['max_probability_difference']:.1e}")


def cmd_pretrain(args: argparse.Namespace) -> None:
    from .training import head_start
    from .training.pretrain import pretrain
    weights = pretrain(args.out, args.records, args.seed, args.size, args.workers)
    if args.real:
        from .evidence.real_records import score_folder
        scores = score_folder(Path(args.out) / "model", args.real, Path(args.out) / "real-records")
        head_start.add_to_card(weights, {"real_records": scores})
        print("synthetic-only model on real records: " + ", ".join(
            f"{name} {s['challenge']:.3f} ({s['records']})" for name, s in scores.items()))
    print(f"wrote {weights} and {head_start.card_path(weights).name}; the model folder is {Path(args.out) / 'model'}")


def cmd_real_records(args: argparse.Namespace) -> None:
    from .evidence.real_records import run
    print(run(args.data, args.out, args.synthetic_model, args.seeds,
              [a.strip() for a in args.arms.split(",")] if args.arms else None, args.quick))


def cmd_head_start_curve(args: argparse.Namespace) -> None:
    from .evidence.head_start_curve import run
    print(run(args.data, args.out, tuple(args.shares), args.seeds, args.quick))


def cmd_compare_folders(args: argparse.Namespace) -> None:
    from .evidence.folder_comparison import compare
    text = compare({arm[0]: arm[1:] for arm in args.arm}, args.data)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


def cmd_odd_subsets(args: argparse.Namespace) -> None:
    from .evidence.odd_subsets import table
    print(table(args.study))


def cmd_source_records(args: argparse.Namespace) -> None:
    from .evidence.source_records import table
    print(table(args.model, args.data, args.source))


def cmd_realism(args: argparse.Namespace) -> None:
    from .evidence.realism import compare
    text = compare(args.real, args.generated)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


def cmd_info(args: argparse.Namespace) -> None:
    from .serving.card import CARD_FILE, read, render
    if not Path(args.model).is_dir():
        raise FileNotFoundError(f"model folder {Path(args.model).resolve()} does not exist")
    written = read(args.model)
    if written is None:
        raise FileNotFoundError(f"model folder {Path(args.model).resolve()} has no {CARD_FILE} (a folder trained "
                                "before model cards existed, or not a model folder)")
    print(render(written), end="")


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every argument's help ends with its default; descriptions keep their line breaks."""


def _command(sub, name: str, summary: str, run, description: str = "") -> argparse.ArgumentParser:
    s = sub.add_parser(name, help=summary, description=description or summary, formatter_class=_Help)
    s.set_defaults(run=run)
    return s


def _records_commands(sub) -> None:
    """The commands of reading and writing records."""
    s = _command(sub, "synth", "write synthetic multi-source records in the Challenge's format", cmd_synth)
    s.add_argument("out", help="folder to write (created)")
    s.add_argument("--n", type=int, default=200, help="records, spread over the sources")
    s.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same records")
    s.add_argument("--sources", default="", help="comma-separated source prefixes (XA,XB,XC,XD); '' for all four")
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes writing records")
    s.add_argument("--challenge-scale", type=float, default=0.0,
                   help="instead of --n: the 2021 training set's eight sources, record counts, rates and lengths "
                        "at this fraction (1 = 88,253 records)")
    s = _command(sub, "leads", "copy a folder keeping only some leads, as the organisers make reduced-lead records",
                 cmd_leads)
    s.add_argument("src", help="folder of Challenge records"), s.add_argument("dst", help="folder to write")
    s.add_argument("--leads", nargs="+", required=True, help="the leads to keep, in this order (e.g. I II)")


def _harness_commands(sub) -> None:
    """The commands of the harness's jobs, and the whole pipeline."""
    s = _command(sub, "train", "train a model folder (as train_model.py)", cmd_train)
    s.add_argument("data", help="folder of labelled Challenge records"), s.add_argument("model", help="folder to write")
    s.add_argument("--config", help="JSON file with the configuration keys to change (default: $ECGCINC_CONFIG, "
                                    "else the defaults of ecgcinc/core/config.py)")
    s = _command(sub, "predict", "write a Challenge output file per record (as driver.py)", cmd_predict)
    s.add_argument("model", help="trained model folder"), s.add_argument("data", help="folder of records")
    s.add_argument("out", help="folder for the <record>.csv outputs")
    s = _command(sub, "evaluate", "score outputs against labels (as evaluate_model.py)", cmd_evaluate)
    s.add_argument("labels", help="folder of labelled headers"), s.add_argument("outputs", help="folder of outputs")
    s.add_argument("--scores", help="write the scores to this CSV file")
    s.add_argument("--class-scores", help="write the per-class scores to this CSV file")
    s = _command(sub, "demo", "synthesise records, train, predict and evaluate: the whole pipeline in minutes", cmd_demo)
    s.add_argument("--out", default="demo", help="folder for the records, the model, the outputs and the scores")
    s.add_argument("--n", type=int, default=400, help="training records (test records: a quarter, at least 20)")
    s.add_argument("--config", help="configuration JSON (default: ecgcinc/configs/small.json)")


def _thresholds_commands(sub) -> None:
    """The commands of thresholds after training."""
    s = _command(sub, "thresholds", "recompute a model's thresholds (new costs or method), the network untouched",
                 cmd_thresholds)
    s.add_argument("model", help="trained model folder"), s.add_argument("--method", default="cicst", choices=METHODS,
                                                                        help="threshold method")
    s.add_argument("--beta", type=float, help="CICST's modulating factor (default: the model's)")
    s.add_argument("--weights", help="a weights.csv with other costs (default: the model's)")
    s.add_argument("--data", help="labelled folder, for the methods that search held-out data")
    s = _command(sub, "compare-thresholds", "compare threshold methods on held-out data", cmd_compare)
    s.add_argument("model", help="trained model folder"), s.add_argument("--data", required=True,
                                                                        help="labelled folder")
    s.add_argument("--csv", help="write the table to this CSV file")
    s.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    s.add_argument("--de", action="store_true", help="also differential evolution (slow)")


def _experiments_commands(sub) -> None:
    """The commands of experiments and their comparisons."""
    s = _command(sub, "experiment", "experiments with seeds and paired 95 %% intervals", cmd_experiment,
                 "cv: K-fold network vs feature baseline; ablation: the papers' components; lodo: leave one source "
                 "out; thresholds: threshold methods on the cv units; ensemble: fold ensembles; holdout: train on "
                 "--data, test on --test and its reduced-lead copies.")
    s.add_argument("name", choices=EXPERIMENT_NAMES, help="the experiment")
    s.add_argument("--data", required=True, help="folder of labelled training records")
    s.add_argument("--out", required=True, help="folder for the units and the tables (re-running resumes)")
    s.add_argument("--quick", action="store_true", help="8 epochs, at most 600 records")
    s.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    s.add_argument("--config", help="configuration JSON applied to every arm")
    s.add_argument("--max-records", type=int, help="random subset of this size (default: 600 with --quick, else all)")
    s.add_argument("--seeds", type=int, default=1, help="train every unit with this many seeds")
    s.add_argument("--variants", help="comma-separated arms of ablation/lodo/holdout (default: all; holdout: none)")
    s.add_argument("--test", help="holdout: the folder of unseen test records")
    s.add_argument("--lead-sets", default="6,4,3,2",
                   help="holdout: also score the test records' reduced-lead copies of these lead sets, comma-separated "
                        "Challenge sets by size or leads joined by '+' (e.g. 6,4,3,2,I,II; '' for none)")
    s.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="where units run: one after another here, worker processes, or Ray tasks")
    s.add_argument("--workers", type=int, default=0, help="process/local Ray: units at a time (0: the cores)")
    s.add_argument("--address", help="ray: address of an existing cluster (default: start a local instance)")
    s.add_argument("--gpus-per-unit", type=float, default=0.0, help="ray: GPUs reserved for each unit")
    s = _command(sub, "compare-arms", "compare two arms saved by separate experiment runs, paired", cmd_compare_arms)
    s.add_argument("reference", help="an arm's folder of units (<split>-seed<k>/), e.g. of the code before a change")
    s.add_argument("variant", help="the same arm's folder from the other run")
    s.add_argument("--out", required=True, help="folder for compare.md and compare_classes.md")
    s.add_argument("--names", nargs=2, default=["reference", "variant"], metavar=("REFERENCE", "VARIANT"),
                   help="the two arms' names in the tables")
    s.add_argument("--lead-sets", default="", help="comma-separated lead sets of a holdout's reduced-lead copies to "
                                                    "compare the arms on too, as its tables name them ('6 leads,2 leads')")
    s = _command(sub, "signal-auroc", "an arm's AUROC per class against what a synthetic folder's signals show",
                 cmd_signal_auroc)
    s.add_argument("arm", help="an arm's folder of units (<split>-seed<k>/) tested on the synthetic folder")
    s.add_argument("--n", type=int, required=True, help="the folder's --n, as given to synth")
    s.add_argument("--seed", type=int, required=True, help="the folder's --seed, as given to synth")
    s.add_argument("--sources", help="the folder's sources, as given to synth")
    s.add_argument("--out", help="write the table to this Markdown file")


def _studies_commands(sub) -> None:
    """The commands of data-scale curves, the feature baseline, reports."""
    s = _command(sub, "curve", "challenge metric against the number of training records, per network size", cmd_curve)
    s.add_argument("--data", required=True, help="folder of labelled training records")
    s.add_argument("--test", required=True, help="folder of unseen test records")
    s.add_argument("--out", required=True, help="folder for the units, the table and the plot")
    s.add_argument("--records", type=int, nargs="+", default=[1200, 2400, 4800], help="training set sizes")
    s.add_argument("--sizes", nargs="+", default=["small", "medium"], help="network sizes")
    s.add_argument("--seeds", type=int, default=2, help="seeds per point")
    s = _command(sub, "baseline", "train the feature baseline and write its outputs for a test folder", cmd_baseline)
    s.add_argument("train", help="folder of labelled training records"), s.add_argument("test", help="records to score")
    s.add_argument("out", help="folder for the <record>.csv outputs")
    s.add_argument("--config", help="configuration JSON (its preprocessing, split and thresholds apply)")
    s = _command(sub, "report", "HTML report of a model on a labelled folder, scored as the evaluator scores the "
                                "driver's outputs", cmd_report)
    s.add_argument("model", help="trained model folder"), s.add_argument("--data", required=True,
                                                                        help="labelled folder")
    s.add_argument("--out", required=True, help="folder for report.html and its figures")


def _users_commands(sub) -> None:
    """The commands of users' own ECGs and model folders."""
    s = _command(sub, "classify", "classify your own ECGs (WFDB records of any format, .npy/.npz arrays, CSV): one "
                                  "row per record", cmd_classify)
    s.add_argument("inputs", nargs="+", metavar="[MODEL] INPUT",
                   help="a trained model folder first (left out: the ready model that ships with the package), "
                        "then records (NAME or NAME.hea), .npy/.npz/.csv files, or folders of them")
    s.add_argument("--out", help="file to write; without it, standard output")
    s.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="JSON lines or CSV")
    s.add_argument("--fs", type=float, help="sampling rate in Hz of arrays and CSV (WFDB records carry their own)")
    s.add_argument("--leads", nargs="+", help="lead names of an array's rows, in order (e.g. I II V1); aliases "
                                              "such as MLII are accepted")
    s.add_argument("--units", default="mV", help="units of arrays and CSV: mV, uV or V")
    s.add_argument("--age", type=float, help="the patient's age in years, for arrays and CSV (inputs of the model; "
                                             "WFDB headers give their own)")
    s.add_argument("--sex", help="male or female, for arrays and CSV")
    s.add_argument("--explain", help="folder for one attention-map picture per record (Keras runtime)")
    s.add_argument("--runtime", choices=["auto", "keras", "onnx"], default="auto",
                   help="network runtime: keras for a trained folder, onnx (onnxruntime, no TensorFlow) for a "
                        "folder `ecgcinc export` wrote; auto picks by the folder")
    s = _command(sub, "export", "write a trained folder's network as ONNX into a folder that classify runs "
                                "without TensorFlow (needs onnx and tf2onnx)", cmd_export)
    s.add_argument("model", help="trained model folder")
    s.add_argument("out", help="new folder for the exported model")
    s = _command(sub, "info", "print a model folder's card: versions, training data, validation scores, "
                              "thresholds", cmd_info)
    s.add_argument("model", help="trained model folder")
    s = _command(sub, "explain", "plot a record's class-wise attention under its leads", cmd_explain)
    s.add_argument("model", help="trained model folder")
    s.add_argument("record", help="record path (with or without .hea)")
    s.add_argument("--out", required=True, help="PNG file to write")


def _head_start_commands(sub) -> None:
    """The commands of the head start and the evidence on real records."""
    s = _command(sub, "pretrain", "pretrain the head start on generated records of the Challenge's shape",
                 cmd_pretrain, "Writes OUT/corpus (the generated records), OUT/model (a model folder trained "
                               "on them alone) and OUT/<size>.npz with its card <size>.json, the weights "
                               "train.head_start loads (training/head_start.py).")
    s.add_argument("out", help="folder for the corpus, the model folder and the weights")
    s.add_argument("--records", type=int, default=2000, help="generated records")
    s.add_argument("--seed", type=int, default=36, help="the generator's seed")
    s.add_argument("--size", default="small", help="network size")
    s.add_argument("--workers", type=int, default=1, help="processes drawing the records")
    s.add_argument("--real", nargs="*", default=[], help="folders of real records to score the model on (card)")
    s = _command(sub, "real-records", "leave-one-source-out evidence on real records: the default, head start on "
                                      "real only, from scratch, synthetic only, generated + real from scratch, "
                                      "unscored as negatives, feature baseline",
                 cmd_real_records)
    s.add_argument("--data", nargs="+", required=True, help="folders of real labelled Challenge records")
    s.add_argument("--out", required=True, help="folder for the units and the tables (re-running resumes)")
    s.add_argument("--synthetic-model", help="the pretrained model folder (`ecgcinc pretrain`'s OUT/model)")
    s.add_argument("--seeds", type=int, default=3, help="seeds per split")
    s.add_argument("--arms", help="comma-separated arms by slug: default-head-start-generated-real, "
                                  "head-start-real-only, from-scratch, synthetic-only, "
                                  "feature-baseline-gradient-boosting, default-unscored-as-negatives, "
                                  "generated-real-from-scratch, default-weights-averaged-with-the-head-start, "
                                  "default-fine-tuned-at-a-tenth-of-the-learning-rate (default: all)")
    s.add_argument("--quick", action="store_true", help="8 epochs")
    s = _command(sub, "head-start-curve", "the head start's gain over training from scratch on the real records, "
                                          "with each split's training records cut to a share, and how it changes",
                 cmd_head_start_curve)
    s.add_argument("--data", nargs="+", required=True, help="folders of real labelled Challenge records")
    s.add_argument("--out", required=True, help="the real-record study's folder: all the records' units are "
                                                "read back from it (re-running resumes)")
    s.add_argument("--shares", nargs="+", type=float, default=[0.5], help="shares of each split's training records")
    s.add_argument("--seeds", type=int, default=3, help="seeds per split")
    s.add_argument("--quick", action="store_true", help="8 epochs")
    s = _command(sub, "compare-folders", "trained model folders (each arm's seeds) on every labelled real record, "
                                         "against the first arm with paired intervals, and per source",
                 cmd_compare_folders)
    s.add_argument("--data", nargs="+", required=True, help="folders of real labelled Challenge records")
    s.add_argument("--arm", nargs="+", action="append", required=True, metavar="NAME FOLDER",
                   help="an arm's name and its model folders (one per seed); repeat for each arm, the first is the reference")
    s.add_argument("--out", help="write the tables to this Markdown file")
    s = _command(sub, "odd-subsets", "leads outside the Challenge's five sets (V1 alone, II alone, I and V5, the "
                                     "chest leads) scored by the real-record study's default units", cmd_odd_subsets)
    s.add_argument("--study", required=True, help="the real-record study's folder (scripts/real_records.sh's OUT)")
    s = _command(sub, "source-records", "one source's records under a model folder, a row each: labels, outputs, "
                                        "heart rate and the source's challenge score without the record",
                 cmd_source_records)
    s.add_argument("model", help="a trained model folder")
    s.add_argument("--data", nargs="+", required=True, help="folders of real labelled Challenge records")
    s.add_argument("--source", required=True, help="the source by name, as the study's tables name it (PTB-XL)")
    s = _command(sub, "realism", "generated records against real ones, source by source: medians and a realism "
                                 "score (AUROC of telling them apart)", cmd_realism)
    s.add_argument("--real", nargs="+", required=True, help="folders of real Challenge records")
    s.add_argument("--generated", required=True, help="a folder of generated records (synth --challenge-scale)")
    s.add_argument("--out", help="write the table to this Markdown file")


def parser() -> argparse.ArgumentParser:
    prog = "ecgcinc" if Path(sys.argv[0]).name == "ecgcinc" else "python -m ecgcinc"  # console command or -m
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _records_commands(sub)
    _harness_commands(sub)
    _thresholds_commands(sub)
    _experiments_commands(sub)
    _studies_commands(sub)
    _users_commands(sub)
    _head_start_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_cli(lambda: args.run(args))


if __name__ == "__main__":
    sys.exit(main())
