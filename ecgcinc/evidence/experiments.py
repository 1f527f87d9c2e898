"""The papers' experiments, with repeated seeds and paired 95 % intervals.

Experiments (each on any Challenge-format folder):
  cv          K-fold cross-validation: the configured network and the feature baseline
  ablation    the papers' components and controls, each against the configured network
  lodo        leave-one-source-out: plain vs the adversarial domain head and its settings
  thresholds  threshold methods and calibration on the cv units' held-out predictions
  ensemble    one network vs a fold ensemble of the same total epochs
  holdout     train on one folder, test on another (the harness's situation), with
              any ablation arms named by --variants

Every unit of work (an arm of the comparison on one split with one seed) is one
training on its own split and one evaluation on records it never saw.  A unit
writes its model folder, its held-out predictions and its scores under
<out>/<experiment>/<arm>/<split>-seed<k>/, the scores last and atomically; a unit
whose scores exist for the same configuration and the same records is not
recomputed, so an interrupted run resumes.  Each experiment writes
<out>/<experiment>.csv and <out>/<experiment>.md: one row per arm with the mean
± sd over its units and the paired difference from the experiment's reference
with a 95 % interval and a verdict (evidence.py says how the interval is made).

Seeds: the splits (folds, held-out sources) are fixed by `train.seed`; seed k
trains with `train.seed + k` (initial weights, batch order, augmentation, inner
validation split).  `quick` is the size for 2 CPU cores (8 epochs, at most 600
records drawn at random); otherwise the configuration's own size.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core import metrics
from ..decision import thresholds as th
from ..decision.calibration import fit_platt
from ..core.classes import ClassSet, load_classes
from ..core.config import AugmentConfig, Config, load_config, with_overrides
from ..dataset.data import Examples, load_examples, reprocessed, stratified_folds, stratified_split
from ..io.records import LEAD_SETS, TWELVE_LEADS, extract_leads, lead_slot
from .arms import (ARM_HEADER, RESULT_FILE, TEST_FILE, Unit, arm_rows, challenge_of, compare_units, in_lead_set,
                   markdown_table, mean_sd, unit_scores)
from .class_scores import class_differences, class_rows
from .executors import Executor
from ..io.outputs import atomic_write, atomic_write_text
from ..core.provenance import commit, source_hash
from ..decision.thresholds import decide
from ..training import sizes

QUICK_RECORDS = 600
QUICK_TRAIN = {"epochs": 8, "patience": 8}
SCORES = ("challenge", "auroc", "auprc", "accuracy", "f_measure", "f_beta", "g_beta")
BASELINE = "feature baseline (gradient boosting)"

# The domain-generalisation paper's controls (C1-C4) and the model paper's components; every
# arm states its settings explicitly, so the table means the same whatever the defaults are.
ABLATIONS: dict[str, dict[str, Any]] = {
    "CNN+BiLSTM": {"model": {"backbone": "cnn_bilstm"}},
    "C1: no augmentation but pad/crop": {"model": {"backbone": "cnn_bilstm"}, "augment": {"enabled": []}},
    "C2: no short-crop": {"model": {"backbone": "cnn_bilstm"},
                          "augment": {"enabled": [a for a in AugmentConfig().enabled if a != "short_crop"]}},
    "C3: fine-kernel CNN only": {"model": {"backbone": "cnn_bilstm", "branches": ["fine"]}},
    "C4: coarse-kernel CNN only": {"model": {"backbone": "cnn_bilstm", "branches": ["coarse"]}},
    "ResNet-CWA, global pooling (no attention)": {"model": {"attention": False}},
    "ResNet-CWA, without Mw": {"loss": {"benefit_weighting": False}},
    "ResNet-CWA, without Md": {"loss": {"domain_mask": False}},
    "ResNet-CWA, with Md": {"loss": {"domain_mask": True}},
    "ResNet-CWA, no augmentation": {"augment": {"enabled": []}},
    "ResNet-CWA, wide features off": {"model": {"wide_features": False}},
    "ResNet-CWA, wide features on": {"model": {"wide_features": True}},
    "ResNet-CWA, one scale per record": {"preprocess": {"normalise": "record"}},
    "ResNet-CWA, 200 Hz input": {"preprocess": {"fs": 200.0}},
    "ResNet-CWA, 3-fold ensemble": {"train": {"ensemble_folds": 3}},
    "ResNet-CWA, medium size": {"model": {"size": "medium"}},
    "ResNet-CWA, paper size": {"model": {"size": "paper"}},
    "ResNet-CWA, beat branch": {"model": {"beat_branch": True}},
    "ResNet-CWA, non-linear wide path": {"model": {"wide_hidden": 32}},
    "ResNet-CWA, beat branch and non-linear wide path": {"model": {"beat_branch": True, "wide_hidden": 32}},
    "ResNet-CWA, fused with the feature model": {"model": {"fusion": True}},
    "ResNet-CWA, without fusion": {"model": {"fusion": False}},
    "ResNet-CWA, 250 Hz input": {"preprocess": {"fs": 250.0}},
    "ResNet-CWA, 20-s window": {"preprocess": {"window_s": 20.0}},
    "ResNet-CWA, without derived limb leads": {"preprocess": {"derive_limb_leads": False}},
    "ResNet-CWA, with derived limb leads": {"preprocess": {"derive_limb_leads": True}},
    "ResNet-CWA, one network per lead-set view": {"model": {"network_per_view": True}},
    "ResNet-CWA, one network for every view": {"model": {"network_per_view": False}},
}
# The adversarial domain head and the settings issue #11 asks about, each against plain.
DOMAIN_VARIANTS: dict[str, dict[str, Any]] = {
    "plain (no domain head)": {"model": {"domain_head": False}},
    "adversarial, lambda 0.1": {"model": {"domain_head": True, "domain_lambda": 0.1}},
    "adversarial, lambda 0.01": {"model": {"domain_head": True, "domain_lambda": 0.01}},
    "adversarial, lambda 0.03": {"model": {"domain_head": True, "domain_lambda": 0.03}},
    "adversarial, lambda 0.3": {"model": {"domain_head": True, "domain_lambda": 0.3}},
    "adversarial, lambda 0.1, no ramp": {"model": {"domain_head": True, "domain_ramp_epochs": 0.0}},
    "adversarial, domain-balanced batches": {"model": {"domain_head": True}, "train": {"domain_balanced": True}},
    "plain, domain-balanced batches": {"model": {"domain_head": False}, "train": {"domain_balanced": True}},
    "plain, with Md": {"model": {"domain_head": False}, "loss": {"domain_mask": True}},
    "adversarial, on class-wise vectors": {"model": {"domain_head": True, "domain_attach": "class_vectors"}},
    "adversarial, domain classifier of 256 units": {"model": {"domain_head": True, "domain_hidden": 256}},
}
PAPERS = {
    "cv": "Published on the real 2020 data (5-fold): ResNet-CWA paper 0.641 ± 0.009, domain-generalisation "
          "paper 0.629 ± 0.003 (challenge metric).",
    "lodo": "Published (domain-generalisation paper, real 2020 data): 0.352 with the adversarial head, "
            "0.343 without (mean challenge metric over held-out sources, one seed).",
}


@dataclass
class Study:
    """What every unit of an experiment shares."""
    examples: Examples
    classes: ClassSet
    cfg: Config
    out: Path
    folds: int
    seeds: int
    verbose: int
    variants: list[str] | None = None
    test: Examples | None = None
    executor: Executor = field(default_factory=Executor)
    lead_sets: dict[str, Examples] = field(default_factory=dict)  # reduced copies of `test`, by lead set


Split = tuple[str, Examples, Examples]   # (stratum name, training records, test records)


def base_config(quick: bool, config_file: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> Config:
    """Defaults (with 8 epochs when quick), then a partial config file, then explicit overrides."""
    cfg = load_config()
    if quick:
        cfg = with_overrides(cfg, {"train": QUICK_TRAIN})
    if config_file:
        cfg = with_overrides(cfg, json.loads(Path(config_file).read_text()))
    return with_overrides(cfg, overrides or {})


def open_study(data_dir: str | Path, out_dir: str | Path, cfg: Config, folds: int, max_records: int = 0,
               verbose: int = 1, seeds: int = 1, variants: list[str] | None = None,
               test_dir: str | Path | None = None, executor: Executor | None = None,
               lead_sets: list[str] | None = None) -> Study:
    classes = load_classes()
    examples = load_examples(data_dir, classes, cfg)
    if max_records and len(examples) > max_records:
        rng = np.random.default_rng(cfg.train.seed)
        examples = examples.subset(np.sort(rng.choice(len(examples), max_records, replace=False)))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    test = load_examples(test_dir, classes, cfg) if test_dir else None
    reduced = reduced_copies(test_dir, test, out, lead_sets or [], classes, cfg) if test is not None else {}
    return Study(examples, classes, cfg, out, folds, seeds, verbose, variants, test, executor or Executor(), reduced)


def lead_set_leads(token: str) -> tuple[str, ...]:
    """A lead set named on the command line: a Challenge set by its size ('6', '2') or one or
    more leads joined by '+' ('II', 'I+V5')."""
    if token.isdigit():
        if int(token) not in LEAD_SETS:
            raise ValueError(f"no {token}-lead set in the Challenge; choose from {', '.join(map(str, LEAD_SETS))}")
        return LEAD_SETS[int(token)]
    leads = tuple(lead.strip() for lead in token.split("+"))
    unknown = [lead for lead in leads if lead_slot(lead) is None]
    if unknown:
        raise ValueError(f"unknown lead(s) {', '.join(unknown)} in {token!r}; leads are {', '.join(TWELVE_LEADS)}")
    return leads


def lead_set_name(token: str) -> str:
    """'6 leads', 'II alone', 'I, V5': a lead set's name in the tables."""
    if token.isdigit():
        return f"{token} leads"
    return f"{token} alone" if "+" not in token else token.replace("+", ", ")


def reduced_copies(test_dir: str | Path, test: Examples, out: Path, tokens: list[str], classes: ClassSet,
                   cfg: Config) -> dict[str, Examples]:
    """The test folder's reduced-lead copies, written as the organisers write them (records.
    extract_leads: a header with only those leads, a .mat with only those rows) under
    <out>/lead-sets/<set>/, and read back as examples in the test records' order."""
    copies = {}
    for token in tokens:
        folder = out / "lead-sets" / slug(token)
        extract_leads(test_dir, folder, lead_set_leads(token))
        examples = load_examples(folder, classes, cfg)
        position = {name: i for i, name in enumerate(examples.names)}
        missing = [name for name in test.names if name not in position]
        if missing:
            raise ValueError(f"{len(missing)} test record(s) are not usable with leads {token}, e.g. {missing[0]}")
        copies[lead_set_name(token)] = examples.subset(np.array([position[n] for n in test.names], dtype=int))
    return copies


def _fingerprint(cfg: Config, train_names: list[str], test_names: list[str], arm: str,
                 lead_sets: list[str] = ()) -> str:
    """What a unit's result depends on: the code (provenance.source_hash), the configuration, the
    records it trains and tests on, the arm and the lead sets it is scored on."""
    text = json.dumps({"code": source_hash(), "config": cfg.to_dict(), "train": train_names, "test": test_names,
                       "arm": arm, "lead_sets": list(lead_sets)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _train_arm(cfg: Config, rest: Examples, tests: dict[str, Examples], classes: ClassSet, arm: str,
               model_dir: Path) -> dict[str, np.ndarray]:
    """Fit one arm on `rest` and predict every test set (keyed by name; "" is the test records as
    they are, the others their reduced-lead copies): raw and decided probabilities and the
    binary outputs of each (keys `raw`, `probabilities`, `binary`, suffixed `@name` for a named
    set), and the held-out (validation or out-of-fold) predictions the decision used."""
    # Keras and scikit-learn load here, when a unit trains, not when the command line starts
    from ..serving import model_folder
    from .baseline import fit_baseline
    from ..training.train import fit, fit_ensemble
    if arm == BASELINE or cfg.train.ensemble_folds <= 1:
        inner, validation = stratified_split(rest.labels, cfg.train.validation_fraction, cfg.train.seed)
        training, validation = rest.subset(inner), rest.subset(validation)
    else:
        training = validation = rest
    if arm == BASELINE:
        fitted = fit_baseline(training, validation, classes, cfg)
        predict, decision, held_out = fitted.probabilities, fitted.decision, fitted.held_out
    else:
        net = fit_ensemble(rest, classes, cfg, verbose=0) if cfg.train.ensemble_folds > 1 else \
            fit(training, validation, classes, cfg, verbose=0)
        predict, decision, held_out = (lambda examples: net.probabilities(examples, cfg)), net.decision, net.held_out
        model_folder.save(model_dir, net.model, cfg, classes, decision, net.history, training.labels, net.fusion)
    arrays = {"held_out": held_out, "held_out_labels": validation.labels, "train_labels": training.labels}
    for name, test in tests.items():
        raw = predict(test)
        probabilities = decision.calibration.apply(raw)
        binary = decide(probabilities, decision.thresholds, classes, cfg.thresholds).astype(bool)
        suffix = f"@{name}" if name else ""
        arrays.update({f"raw{suffix}": raw, f"probabilities{suffix}": probabilities, f"binary{suffix}": binary})
    return arrays


def run_unit(study: Study, directory: Path, cfg: Config, arm: str, split: Split, seed: int) -> Unit:
    """Train `arm` on the split's training records with seed `seed`, score its test records (and,
    in a holdout with lead sets, their reduced-lead copies); resumable (a unit with the same
    fingerprint is read back, not retrained)."""
    stratum, rest, test = split
    cfg = with_overrides(cfg, {"train": {"seed": study.cfg.train.seed + seed}})
    lead_sets = study.lead_sets if test is study.test else {}
    fingerprint = _fingerprint(cfg, rest.names, test.names, arm, list(lead_sets))
    result_file = directory / RESULT_FILE
    saved = json.loads(result_file.read_text()) if result_file.is_file() else {}
    if saved.get("fingerprint") == fingerprint:
        with np.load(directory / TEST_FILE) as data:
            arrays = {key: data[key] for key in data.files}
        return Unit(stratum, seed, saved["scores"], arrays["labels"], arrays["binary"], arrays)
    if study.verbose:
        print(f"[{directory.relative_to(study.out)}] training on {len(rest)}, testing on {len(test)} records"
              f"{f' and {len(lead_sets)} reduced-lead copies' if lead_sets else ''}", flush=True)
    tests = {"": test, **lead_sets}
    if cfg.preprocess != study.cfg.preprocess:
        rest = reprocessed(rest, study.classes, cfg)
        tests = {name: reprocessed(t, study.classes, cfg) for name, t in tests.items()}
    directory.mkdir(parents=True, exist_ok=True)
    arrays = _train_arm(cfg, rest, tests, study.classes, arm, directory / "model")
    arrays["labels"] = test.labels
    scores = unit_scores(study.classes, test.labels, arrays["binary"], arrays["probabilities"])
    by_set = {name: unit_scores(study.classes, test.labels, arrays[f"binary@{name}"], arrays[f"probabilities@{name}"])
              for name in lead_sets}
    atomic_write(directory / TEST_FILE, lambda handle: np.savez(handle, names=np.array(test.names), **arrays))
    atomic_write_text(result_file, json.dumps({"fingerprint": fingerprint, "scores": scores, "lead_sets": by_set,
                                               "seed": cfg.train.seed, "code": source_hash(), "commit": commit(),
                                               "train_records": len(rest), "test_records": len(test)}, indent=2))
    if study.verbose:
        print(f"[{directory.relative_to(study.out)}] challenge {scores['challenge']:.3f}, "
              f"AUROC {scores['auroc']:.3f}" + "".join(f"; {n}: {s['challenge']:.3f}" for n, s in by_set.items()),
              flush=True)
    return Unit(stratum, seed, scores, test.labels, arrays["binary"], arrays)


def run_arms(study: Study, experiment: str, arms: dict[str, dict[str, Any]], splits: list[Split]) -> dict[str, list]:
    """Every arm on every split with every seed; arms named BASELINE train the feature model.
    With a process or Ray executor the units are computed there first; every unit is then
    read back from its folder, so the tables do not depend on where the units ran."""
    plan = [(arm, with_overrides(study.cfg, overrides), index, seed)
            for arm, overrides in arms.items() for index in range(len(splits)) for seed in range(study.seeds)]
    folders = [study.out / experiment / slug(arm) / f"{slug(splits[index][0])}-seed{seed}"
               for arm, _, index, seed in plan]
    if study.executor.name != "local":
        jobs = [(arm, cfg, folder, index, seed) for (arm, cfg, index, seed), folder in zip(plan, folders)]
        study.executor.run_all(_compute_unit, (study, splits), jobs, [str(f.relative_to(study.out)) for f in folders])
    results: dict[str, list[Unit]] = {arm: [] for arm in arms}
    for (arm, cfg, index, seed), folder in zip(plan, folders):
        results[arm].append(run_unit(study, folder, cfg, arm, splits[index], seed))
    return results


def _compute_unit(shared: tuple[Study, list[Split]], job: tuple[str, Config, Path, int, int]) -> None:
    """One unit in an executor's worker (module level, so it pickles); its results go to disk."""
    study, splits = shared
    arm, cfg, directory, index, seed = job
    run_unit(study, directory, cfg, arm, splits[index], seed)


def write_table(study: Study, name: str, header: list[str], rows: list[list[Any]], note: str = "") -> str:
    """<out>/<name>.csv (numbers in full) and <out>/<name>.md (3 decimals); returns the Markdown."""
    with open(study.out / f"{name}.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    text = markdown_table(header, rows, note)
    atomic_write_text(study.out / f"{name}.md", text)
    return text


def arm_table(study: Study, name: str, results: dict[str, list[Unit]], reference: str, note: str) -> str:
    """The arm rows as a table in the study's folder."""
    rows = arm_rows(study.classes, results, reference)
    design = (f"{study.seeds} seed(s) per split; intervals: two-stage paired bootstrap (seeds, then test records, "
              "within each split; ecgcinc/evidence/bootstrap.py), 1000 replicates.")
    return write_table(study, name, ARM_HEADER, rows, f"{note} {design}".strip())


def _source_table(study: Study, name: str, results: dict[str, list[Unit]], test: Examples) -> str:
    """Challenge metric of every arm on each source's records of one shared test set: where a
    difference between arms comes from (sources differ in what they annotate)."""
    rows = []
    for d, source in enumerate(test.domain_names):
        keep = np.flatnonzero(test.domains == d)
        rows.append([source, len(keep)] + [mean_sd([challenge_of(study.classes, u.labels, u.binary)(keep)
                                                    for u in units]) for units in results.values()])
    return write_table(study, name, ["source", "records", *results], rows,
                       "Challenge metric on each source's test records (mean ± sd over seeds).")


def _selected(study: Study, arms: dict[str, dict[str, Any]], keep: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The arms named by --variants (slugs or names), always with the reference arms `keep`."""
    if not study.variants:
        return dict(arms)
    wanted = set(study.variants)
    unknown = wanted - {a for a in arms} - {slug(a) for a in arms}
    if unknown:
        raise ValueError(f"unknown variant(s) {sorted(unknown)}; choose from {[slug(a) for a in arms]}")
    return {a: o for a, o in arms.items() if a in keep or a in wanted or slug(a) in wanted}


def _fold_splits(study: Study, folds: int) -> list[Split]:
    fold_of = stratified_folds(study.examples.labels, folds, study.cfg.train.seed)
    ex = study.examples
    return [(f"fold{f + 1}", ex.subset(np.flatnonzero(fold_of != f)), ex.subset(np.flatnonzero(fold_of == f)))
            for f in range(folds)]


def cv(study: Study) -> str:
    results = run_arms(study, "cv", {"network (configured)": {}, BASELINE: {}}, _fold_splits(study, study.folds))
    note = (f"{study.folds}-fold cross-validation stratified by label set, {len(study.examples)} records; Δ is the "
            f"network minus the feature baseline. " + PAPERS["cv"])
    return arm_table(study, "cv", {k: results[k] for k in (BASELINE, "network (configured)")}, BASELINE, note)


def ablation(study: Study) -> str:
    reference = "ResNet-CWA, as configured"
    arms = {reference: {}, **_selected(study, ABLATIONS, ()), BASELINE: {}}
    results = run_arms(study, "ablation", arms, _fold_splits(study, study.folds))
    note = (f"{study.folds}-fold cross-validation, {len(study.examples)} records; each arm changes only what its "
            "name says; C1-C4 are the domain-generalisation paper's control models.")
    return arm_table(study, "ablation", results, reference, note)


def lodo(study: Study) -> str:
    ex = study.examples
    if len(np.unique(ex.domains)) < 3:
        raise ValueError("leave-one-domain-out needs at least three sources")
    splits = [(ex.domain_names[d], ex.subset(np.flatnonzero(ex.domains != d)),
               ex.subset(np.flatnonzero(ex.domains == d))) for d in np.unique(ex.domains)]
    reference = "plain (no domain head)"
    arms = {**_selected(study, DOMAIN_VARIANTS, (reference,)), BASELINE: {}}
    results = run_arms(study, "lodo", arms, splits)
    per_source = [[name] + [mean_sd([u.scores["challenge"] for u in units if u.stratum == name])
                            for units in results.values()] for name, _, _ in splits]
    source_table = write_table(study, "lodo_sources", ["held-out source", *results], per_source,
                               "Challenge metric per held-out source (mean ± sd over seeds).")
    return arm_table(study, "lodo", results, reference, PAPERS["lodo"]) + "\n" + source_table


def threshold_methods(study: Study) -> str:
    """Every threshold method and calibration on the cv network units' held-out records: each
    decision is fitted on the unit's own validation predictions (never its test records), as
    training does, and all are scored on the same test records."""
    units = run_arms(study, "cv", {"network (configured)": {}}, _fold_splits(study, study.folds))
    units = units["network (configured)"]
    c, t = study.classes, study.cfg.thresholds
    methods: dict[str, Callable[[Unit], tuple[np.ndarray, np.ndarray]]] = {
        "CICST (raw probabilities)": lambda u: (u.arrays["raw"], th.cicst(u.arrays["train_labels"], c.weights, t.beta)),
        "CICST (Platt-calibrated)": lambda u: (_platt(u).apply(u.arrays["raw"]),
                                               th.cicst(u.arrays["train_labels"], c.weights, t.beta)),
        "CICST beta 0 (raw)": lambda u: (u.arrays["raw"], th.cicst(u.arrays["train_labels"], c.weights, 0.0)),
        "grid search (validation)": lambda u: (u.arrays["raw"], th.grid_search(
            u.arrays["held_out"], u.arrays["held_out_labels"], c.weights, c.sinus_index,
            th.cicst(u.arrays["train_labels"], c.weights, t.beta))),
        "proportional (validation)": lambda u: (u.arrays["raw"], th.proportional(u.arrays["held_out"],
                                                                                   u.arrays["train_labels"])),
        "fixed 0.5": lambda u: (u.arrays["raw"], th.fixed(len(c), 0.5)),
    }
    results, ece = {}, {}
    for name, method in methods.items():
        results[name], ece[name] = [], []
        for u in units:
            probabilities, thresholds = method(u)
            binary = decide(probabilities, thresholds, c, t).astype(bool)
            results[name].append(Unit(u.stratum, u.seed, unit_scores(c, u.labels, binary, probabilities), u.labels,
                                      binary, {}))
            ece[name].append(float(np.nanmean(metrics.expected_calibration_error(u.labels, probabilities))))
    table = arm_table(study, "thresholds", results, "CICST (raw probabilities)",
                      "Decisions of the cv network units; calibration and searches fitted on each unit's validation "
                      "split, all scored on its test fold.")
    ece_rows = [[name, mean_sd(values)] for name, values in ece.items()]
    return table + "\n" + write_table(study, "calibration", ["probabilities of", "mean ECE on test (10 bins)"],
                                      ece_rows, "Expected calibration error per class, averaged over classes.")


def _platt(unit: Unit):
    return fit_platt(unit.arrays["held_out"], unit.arrays["held_out_labels"])


def ensemble(study: Study, members: int = 3) -> str:
    epochs = study.cfg.train.epochs
    short = max(epochs // members, 1)
    arms = {"single network": {},
            f"{members}-fold ensemble, {short} epochs each": {"train": {"ensemble_folds": members, "epochs": short}}}
    if short != epochs:  # below `members` epochs the two ensembles would be the same training twice
        arms[f"{members}-fold ensemble, {epochs} epochs each"] = {"train": {"ensemble_folds": members}}
    results = run_arms(study, "ensemble", arms, _fold_splits(study, study.folds))
    note = (f"{study.folds}-fold cross-validation; the first ensemble trains its members for 1/{members} of the "
            "single network's epochs (about the same total training), the second for as many each.")
    return arm_table(study, "ensemble", results, "single network", note)


def holdout(study: Study) -> str:
    if study.test is None:
        raise ValueError("the holdout experiment needs --test DIR (records never used in training)")
    split = [("holdout", study.examples, study.test)]
    variants = _selected(study, ABLATIONS, ()) if study.variants else {}
    network = "network (configured)"
    results = run_arms(study, "holdout", {BASELINE: {}, network: {}, **variants}, split)
    trained = f"Trained on {len(study.examples)} records, tested on {len(study.test)} records of another folder; "
    text = arm_table(study, "holdout", results, BASELINE, trained + "Δ is each network minus the feature baseline.")
    text += "\n" + _source_table(study, "holdout_sources", results, study.test)
    text += "\n" + write_table(study, "holdout_classes", *class_rows(study.classes, results),
                               "AUROC per class on the test records, mean ± sd over seeds.")
    others = {arm: units for arm, units in results.items() if arm != network}
    text += "\n" + write_table(study, "holdout_class_differences",
                               *class_differences(study.classes, results[network], others),
                               "Each arm's AUROC minus the configured network's, per class; two-stage paired "
                               "bootstrap (ecgcinc/evidence/bootstrap.py), 1000 replicates.")
    if study.lead_sets:
        text += "\n" + lead_set_tables(study, results)
    if not variants:
        return text
    # a variant is a candidate change of the default: it is judged against the network it changes
    against_network = {arm: units for arm, units in results.items() if arm != BASELINE}
    return text + "\n" + arm_table(study, "holdout_variants", against_network, network,
                                   trained + "Δ is each variant minus the configured network.")


LEAD_SET_HEADER = ["leads", "arm", "units", "challenge", "auroc", "Δ challenge vs baseline, same leads [95 % CI]",
                   "verdict", "Δ challenge vs its 12 leads [95 % CI]", "verdict vs 12"]


def lead_set_tables(study: Study, results: dict[str, list[Unit]], prefix: str = "holdout") -> str:
    """Every arm on every lead set's reduced-lead copies of the test records: against the feature
    baseline trained and tested on the same leads, and against its own 12-lead score (the same
    records, so both differences are paired); then the AUROC per class of each lead set."""
    c = study.classes
    sets = {"12 leads": results, **{name: {arm: [in_lead_set(c, u, name) for u in units]
                                           for arm, units in results.items()} for name in study.lead_sets}}
    rows, text = [], ""
    for name, by_arm in sets.items():
        for arm, units in by_arm.items():
            row = [name, arm, len(units), mean_sd([u.scores["challenge"] for u in units]),
                   mean_sd([u.scores["auroc"] for u in units])]
            row += ["(reference)", ""] if arm == BASELINE else _difference(c, by_arm[BASELINE], units)
            row += ["", ""] if name == "12 leads" else _difference(c, results[arm], units)
            rows.append(row)
        if name != "12 leads":
            text += "\n" + write_table(study, f"{prefix}_classes_{slug(name)}", *class_rows(c, by_arm),
                                       f"AUROC per class on the {name} copies of the test records, mean ± sd "
                                       "over seeds.")
    note = (f"The test records' reduced-lead copies, written as the organisers write them (a header and a .mat "
            f"with only those leads), {study.seeds} seed(s); every network and baseline is the one trained for "
            "all lead sets. Intervals: two-stage paired bootstrap (ecgcinc/evidence/bootstrap.py), 1000 replicates.")
    return write_table(study, f"{prefix}_lead_sets", LEAD_SET_HEADER, rows, note) + text


def _difference(classes: ClassSet, reference: list[Unit], units: list[Unit]) -> list[str]:
    comparison = compare_units(classes, reference, units)
    return [comparison.text(), comparison.verdict]


EXPERIMENTS: dict[str, Callable[[Study], str]] = {"cv": cv, "ablation": ablation, "lodo": lodo,
                                                  "thresholds": threshold_methods, "ensemble": ensemble,
                                                  "holdout": holdout}


def run_experiment(name: str, data_dir: str | Path, out_dir: str | Path, quick: bool = False,
                   config_file: str | Path | None = None, folds: int = 5,
                   overrides: dict[str, Any] | None = None, max_records: int | None = None,
                   verbose: int = 1, seeds: int = 1, variants: list[str] | None = None,
                   test_dir: str | Path | None = None, executor: Executor | None = None,
                   lead_sets: list[str] | None = None) -> str:
    """Run one experiment; returns its Markdown table.  `executor` says where its units run
    (default: one after another in this process); `lead_sets` (holdout) names the lead sets
    whose reduced-lead copies of the test records are scored too (lead_set_leads)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    limit = max_records if max_records is not None else (QUICK_RECORDS if quick else 0)
    # "auto" sizes for the records the study trains on, as train_model.py would on that folder
    records = sizes.count_records(data_dir)
    cfg, _ = sizes.resolve(base_config(quick, config_file, overrides), min(records, limit) if limit else records)
    study = open_study(data_dir, out_dir, cfg, folds, limit, verbose, seeds, variants, test_dir, executor,
                       lead_sets if name == "holdout" else None)
    return EXPERIMENTS[name](study)
