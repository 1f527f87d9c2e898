"""Command line: python -m ecgcinc COMMAND ...

  synth OUT --n N --seed S [--sources XA,XB] [--workers W]   synthetic multi-source records
  synth OUT --challenge-scale F [--seed S]                   the 2021 training set's shape at fraction F
  leads IN OUT --leads I II [...]                            reduced-lead copy of a folder
  train DATA MODEL [--config FILE]                           train (as train_model.py)
  predict MODEL DATA OUT                                     outputs (as driver.py)
  evaluate LABELS OUT [--scores F] [--class-scores F]        scores (as evaluate_model.py)
  demo [--out DIR] [--n N]                                   synthesise, train, predict, evaluate
  thresholds MODEL [--method M] [--beta B] [--weights W.csv] [--data DIR]
                                                             re-target decisions, network untouched
  compare-thresholds MODEL --data DIR [--csv F] [--de]       threshold methods side by side
  experiment cv|ablation|lodo|thresholds|ensemble|holdout --data DIR --out DIR [--quick] [--folds K]
             [--seeds K] [--variants A,B] [--test DIR] [--config F]
             [--executor local|process|ray] [--workers N] [--address A] [--gpus-per-unit G]
                                                             experiments with seeds and paired 95 % intervals
  compare-arms REFERENCE VARIANT --out DIR [--names A B]     two arms saved by separate runs (e.g. two code
                                                             versions), paired: challenge interval, AUROC per class
  signal-auroc ARM --n N --seed S [--sources XA,XB] [--out F.md]
                                                             an arm's AUROC per class on a synthetic folder, also
                                                             without positives whose signal does not show the class
  curve --data DIR --test DIR --out DIR [--records N ...] [--sizes small medium] [--seeds K]
                                                             data-scale curve: challenge metric vs training records per size
  baseline TRAIN TEST OUT [--config F]                       feature model (gradient boosting) outputs for TEST
  report MODEL --data DIR --out DIR                          HTML report with curves and heat maps
  explain MODEL RECORD --out FIG.png                         class-wise attention under the 12 leads
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .cli import run_cli
from .config import SMALL_CONFIG, load_config
from .executors import EXECUTORS, Executor
from .thresholds import METHODS

# The experiments' names, for the parser: importing experiments.py (and through it the data and
# feature code) would cost every command a second at start-up; tests/test_cli.py checks the list.
EXPERIMENT_NAMES = ("cv", "ablation", "lodo", "thresholds", "ensemble", "holdout")


def cmd_synth(args: argparse.Namespace) -> None:
    from . import synth
    if args.challenge_scale:
        from .challenge_corpus import FULL_SIZE, write_corpus
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
    from .records import extract_leads
    print(f"wrote {extract_leads(args.src, args.dst, args.leads)} records with leads {' '.join(args.leads)}")


def cmd_train(args: argparse.Namespace) -> None:
    from .train import train
    train(args.data, args.model, load_config(args.config), verbose=1)


def cmd_predict(args: argparse.Namespace) -> None:
    from .predict import predict_folder
    failures = predict_folder(args.model, args.data, args.out, verbose=0)
    print(f"outputs in {args.out}" + (f" ({failures} record(s) failed)" if failures else ""))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from .evaluation import evaluate_folders, format_class_scores, format_scores
    classes, scores = evaluate_folders(args.labels, args.outputs)
    print(format_scores(scores))
    if args.scores:
        Path(args.scores).write_text(format_scores(scores))
    if args.class_scores:
        Path(args.class_scores).write_text(format_class_scores(classes, scores))


def cmd_demo(args: argparse.Namespace) -> None:
    """The whole pipeline on fresh synthetic data with the small configuration."""
    from . import synth
    from .evaluation import evaluate_folders, format_scores
    from .predict import predict_folder
    from .train import train
    out = Path(args.out)
    started = time.time()
    synth.write_dataset(out / "train", args.n, seed=1)
    synth.write_dataset(out / "test", max(args.n // 4, 20), seed=2)
    print(f"[demo] {args.n} training and {max(args.n // 4, 20)} test records in {out}", flush=True)
    train(out / "train", out / "model", load_config(args.config or SMALL_CONFIG), verbose=1)
    predict_folder(out / "model", out / "test", out / "outputs", verbose=0)
    _, scores = evaluate_folders(out / "test", out / "outputs")
    print(f"[demo] held-out synthetic test set, {time.time() - started:.0f} s in all:")
    print(format_scores(scores))


def cmd_thresholds(args: argparse.Namespace) -> None:
    from .model_folder import describe_thresholds
    from .retarget import retarget
    values = retarget(args.model, args.method, args.beta, args.weights, args.data)
    print(f"{args.model}: {describe_thresholds(args.model)}")
    print("thresholds: " + " ".join(f"{v:.3f}" for v in values))


def cmd_compare(args: argparse.Namespace) -> None:
    from .retarget import compare, format_table, write_csv
    rows = compare(args.model, args.data, args.seed, args.de)
    print(format_table(rows))
    if args.csv:
        write_csv(rows, args.csv)


def cmd_experiment(args: argparse.Namespace) -> None:
    from .experiments import run_experiment
    variants = args.variants.split(",") if args.variants else None
    executor = Executor(args.executor, args.workers, args.address, args.gpus_per_unit)
    print(run_experiment(args.name, args.data, args.out, args.quick, args.config, args.folds,
                         max_records=args.max_records, seeds=args.seeds, variants=variants, test_dir=args.test,
                         executor=executor, lead_sets=[t for t in args.lead_sets.split(",") if t]))


def cmd_compare_arms(args: argparse.Namespace) -> None:
    from .class_scores import compare_saved
    print(compare_saved(args.reference, args.variant, args.out, tuple(args.names)))


def cmd_signal_auroc(args: argparse.Namespace) -> None:
    from . import synth
    from .class_scores import load_arm, signal_rows
    from .classes import load_classes
    from .arms import markdown_table
    from .outputs import atomic_write_text
    folder = synth.shown_labels(args.n, args.seed, args.sources.split(",") if args.sources else None)
    header, rows = signal_rows(load_classes(), load_arm(args.arm), folder)
    text = markdown_table(header, rows, f"{args.arm} on the synthetic folder of {args.n} records, seed {args.seed}: "
                          "AUROC mean ± sd over seeds.")
    print(text)
    if args.out:
        atomic_write_text(Path(args.out), text)


def cmd_curve(args: argparse.Namespace) -> None:
    from .learning_curve import run_curve
    print(run_curve(args.data, args.test, args.out, args.records, args.sizes, args.seeds))


def cmd_baseline(args: argparse.Namespace) -> None:
    from .baseline import run_baseline
    count = run_baseline(args.train, args.test, args.out, load_config(args.config))
    print(f"wrote {count} output files to {args.out}; score them with evaluate_model.py")


def cmd_report(args: argparse.Namespace) -> None:
    from .report import build_report
    print(f"report: {build_report(args.model, args.data, args.out)}")


def cmd_explain(args: argparse.Namespace) -> None:
    from .explain import explain_record, plot_explanation
    explanation = explain_record(args.model, args.record)
    positive = [f"{explanation.names[k]} {explanation.probabilities[k]:.2f}"
                for k in range(len(explanation.names)) if explanation.decisions[k]]
    print(f"{explanation.record.name}: {', '.join(positive) or 'no class'} -> {plot_explanation(explanation, args.out)}")


def parser() -> argparse.ArgumentParser:
    prog = "ecgcinc" if Path(sys.argv[0]).name == "ecgcinc" else "python -m ecgcinc"  # console command or -m
    p = argparse.ArgumentParser(prog=prog, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("synth", help="write synthetic multi-source records")
    s.add_argument("out"), s.add_argument("--n", type=int, default=200), s.add_argument("--seed", type=int, default=0)
    s.add_argument("--sources", default=""), s.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    s.add_argument("--challenge-scale", type=float, default=0.0,
                   help="instead of --n: the 2021 training set's eight sources, record counts, rates and lengths "
                        "at this fraction (1 = 88,253 records)")
    s.set_defaults(run=cmd_synth)
    s = sub.add_parser("leads", help="copy a folder keeping only some leads")
    s.add_argument("src"), s.add_argument("dst"), s.add_argument("--leads", nargs="+", required=True)
    s.set_defaults(run=cmd_leads)
    s = sub.add_parser("train", help="train a model folder")
    s.add_argument("data"), s.add_argument("model"), s.add_argument("--config")
    s.set_defaults(run=cmd_train)
    s = sub.add_parser("predict", help="write Challenge outputs for a folder")
    s.add_argument("model"), s.add_argument("data"), s.add_argument("out")
    s.set_defaults(run=cmd_predict)
    s = sub.add_parser("evaluate", help="score outputs against labels")
    s.add_argument("labels"), s.add_argument("outputs"), s.add_argument("--scores"), s.add_argument("--class-scores")
    s.set_defaults(run=cmd_evaluate)
    s = sub.add_parser("demo", help="synthesise, train, predict and evaluate")
    s.add_argument("--out", default="demo"), s.add_argument("--n", type=int, default=400)
    s.add_argument("--config", help="configuration JSON (default: ecgcinc/configs/small.json)")
    s.set_defaults(run=cmd_demo)
    s = sub.add_parser("thresholds", help="recompute a model's thresholds (new costs or method)")
    s.add_argument("model"), s.add_argument("--method", default="cicst", choices=METHODS)
    s.add_argument("--beta", type=float), s.add_argument("--weights"), s.add_argument("--data")
    s.set_defaults(run=cmd_thresholds)
    s = sub.add_parser("compare-thresholds", help="compare threshold methods on held-out data")
    s.add_argument("model"), s.add_argument("--data", required=True), s.add_argument("--csv")
    s.add_argument("--seed", type=int, default=0), s.add_argument("--de", action="store_true")
    s.set_defaults(run=cmd_compare)
    s = sub.add_parser("experiment", help="cross-validation, ablation, leave-one-domain-out, thresholds")
    s.add_argument("name", choices=EXPERIMENT_NAMES)
    s.add_argument("--data", required=True), s.add_argument("--out", required=True)
    s.add_argument("--quick", action="store_true", help="8 epochs, at most 600 records")
    s.add_argument("--folds", type=int, default=5), s.add_argument("--config")
    s.add_argument("--max-records", type=int, help="random subset of this size (default: 600 with --quick)")
    s.add_argument("--seeds", type=int, default=1, help="train every unit with this many seeds")
    s.add_argument("--variants", help="comma-separated arms of ablation/lodo/holdout (default: all; holdout: none)")
    s.add_argument("--test", help="holdout: the folder of unseen test records")
    s.add_argument("--lead-sets", default="6,4,3,2",
                   help="holdout: also score the test records' reduced-lead copies of these lead sets, comma-separated "
                        "Challenge sets by size or leads joined by '+' (e.g. 6,4,3,2,I,II; default: %(default)s; "
                        "'' for none)")
    s.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="where units run: one after another here (default), worker processes, or Ray tasks")
    s.add_argument("--workers", type=int, default=0, help="process/local Ray: units at a time (default: cores)")
    s.add_argument("--address", help="ray: address of an existing cluster (default: start a local instance)")
    s.add_argument("--gpus-per-unit", type=float, default=0.0, help="ray: GPUs reserved for each unit")
    s.set_defaults(run=cmd_experiment)
    s = sub.add_parser("compare-arms", help="compare two arms saved by separate experiment runs, paired")
    s.add_argument("reference", help="an arm's folder of units (<split>-seed<k>/), e.g. of the code before a change")
    s.add_argument("variant", help="the same arm's folder from the other run"), s.add_argument("--out", required=True)
    s.add_argument("--names", nargs=2, default=["reference", "variant"], metavar=("REFERENCE", "VARIANT"))
    s.set_defaults(run=cmd_compare_arms)
    s = sub.add_parser("signal-auroc", help="an arm's AUROC per class against what a synthetic folder's signals show")
    s.add_argument("arm", help="an arm's folder of units (<split>-seed<k>/) tested on the synthetic folder")
    s.add_argument("--n", type=int, required=True), s.add_argument("--seed", type=int, required=True)
    s.add_argument("--sources", help="the folder's sources, as given to synth"), s.add_argument("--out")
    s.set_defaults(run=cmd_signal_auroc)
    s = sub.add_parser("curve", help="challenge metric against the number of training records, per network size")
    s.add_argument("--data", required=True), s.add_argument("--test", required=True), s.add_argument("--out", required=True)
    s.add_argument("--records", type=int, nargs="+", default=[1200, 2400, 4800])
    s.add_argument("--sizes", nargs="+", default=["small", "medium"]), s.add_argument("--seeds", type=int, default=2)
    s.set_defaults(run=cmd_curve)
    s = sub.add_parser("baseline", help="train the feature baseline and write outputs for a test folder")
    s.add_argument("train"), s.add_argument("test"), s.add_argument("out"), s.add_argument("--config")
    s.set_defaults(run=cmd_baseline)
    s = sub.add_parser("report", help="HTML report of a model on a labelled folder")
    s.add_argument("model"), s.add_argument("--data", required=True), s.add_argument("--out", required=True)
    s.set_defaults(run=cmd_report)
    s = sub.add_parser("explain", help="plot a record's class-wise attention")
    s.add_argument("model"), s.add_argument("record", help="record path (with or without .hea)")
    s.add_argument("--out", required=True)
    s.set_defaults(run=cmd_explain)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_cli(lambda: args.run(args))


if __name__ == "__main__":
    sys.exit(main())
