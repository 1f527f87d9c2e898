"""Training end to end on a Challenge folder.

Records with a scored label are split (stratified) into training and
validation; batches are random crops/pads with the configured augmentations;
the loss is the weighted, domain-masked BCE plus (optionally) the adversarial
domain loss through gradient reversal; every epoch the validation set is
scored with the challenge metric (thresholds from the training labels), and
the best epoch's weights are kept, with early stopping on that metric (never
before `train.min_epochs`).  Calibration and thresholds are then fitted on the
held-out predictions.  With `train.ensemble_folds` K > 1, K members train on K
stratified folds, each selecting its epoch on its own held-out fold, and the
out-of-fold predictions of every training record set calibration and
thresholds.  Everything `load_model` needs is written into the model folder,
each file atomically.
"""
from __future__ import annotations

import math
import platform
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..networks.framework import keras
import numpy as np

from ..serving import card
from ..core import metrics
from ..serving import model_folder
from . import generated_mix, head_start, sizes, weight_ensemble
from ..signals.augment import augment_batch, crop_or_pad
from .budget import CACHE_SHARE, EpochGuard, TimeBudget, feature_models_fit, records_within
from ..dataset.cache import is_cached, progress_printer, seconds_per_record
from ..core.classes import ClassSet, load_classes
from ..core.config import Config, load_config, with_overrides
from ..dataset.data import Examples, accounting, load_examples, stratified_folds, stratified_split
from .devices import data_parallel, device_count
from ..signals.features import per_lead_block, with_per_lead_block
from ..decision.feature_model import FeatureModel, fit_feature_model
from ..decision.fusion import LeadSetFusion, fit_fusion
from ..networks.loss_weights import benefit_weights, domain_annotation_mask
from ..networks.losses import WeightedBCE, pack_targets
from ..networks.models import backbone_layers, build_model, ensemble_network, forward_flops, inference_model, view_network
from ..serving.inference import score_signals, signal_probabilities
from ..decision.rule import Decision, fit_decision
from ..signals.lead_sets import view_name, views, views_of
from ..signals.preprocess import LEAD_MASK, LEAD_SCALE, meta_size, network_meta
from ..io.records import find_records, require_records
from ..decision import thresholds as thresholding

ALL_LEADS = np.ones((1, 12), dtype=bool)  # one view: the examples as they are


class Batches(keras.utils.PyDataset):
    """Random crops/pads with augmentation; batch i of epoch e uses its own seeded generator,
    so a run is reproducible whatever the worker scheduling.  With `full_batches` (data
    parallelism, where every batch must split evenly over the devices) a short last batch is
    filled from the start of the epoch's order."""

    def __init__(self, examples: Examples, targets: np.ndarray, cfg: Config, with_domain: bool,
                 full_batches: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.examples, self.targets, self.cfg, self.with_domain = examples, targets, cfg, with_domain
        self.full_batches = full_batches
        self.views = views(cfg.preprocess.derive_limb_leads)
        self.epoch = 0
        self.order = self._shuffle()

    def _shuffle(self) -> np.ndarray:
        """This epoch's record order.  With `train.domain_balanced`, records are drawn with
        replacement so that every source is equally likely, whatever its size: a domain
        classifier can then not win by always naming the biggest source."""
        rng = np.random.default_rng([self.cfg.train.seed, self.epoch])
        if not self.cfg.train.domain_balanced:
            return rng.permutation(len(self.examples))
        counts = np.bincount(self.examples.domains)
        weights = 1.0 / counts[self.examples.domains]
        return rng.choice(len(self.examples), len(self.examples), replace=True, p=weights / weights.sum())

    def __len__(self) -> int:
        return math.ceil(len(self.examples) / self.cfg.train.batch_size)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._shuffle()

    def batch_inputs(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, meta, rows) of batch `index`, augmented; rows index the examples."""
        bs, pre, aug = self.cfg.train.batch_size, self.cfg.preprocess, self.cfg.augment
        rows = (np.take(self.order, np.arange(index * bs, (index + 1) * bs), mode="wrap") if self.full_batches
                else self.order[index * bs : (index + 1) * bs])
        rng = np.random.default_rng([self.cfg.train.seed, self.epoch, index])
        x = np.stack([crop_or_pad(self.examples.signals[r], pre.window, rng) for r in rows])
        meta = self.examples.meta[rows].copy()
        wide = self.cfg.model.wide_features
        # Per-lead quantities travel with their lead through the lead augmentations: mask,
        # scale and (wide branch) the per-lead classic features.
        parts = [meta[:, LEAD_MASK, None], meta[:, LEAD_SCALE, None]]
        features = self.examples.features[rows] if wide else None
        if wide:
            parts.append(per_lead_block(features))
        leads = np.concatenate(parts, axis=-1)
        x, leads = augment_batch(x, leads, rng, aug.enabled, aug.probability, pre.fs,
                                 aug.reduced_leads_probability, self.views[1:])
        meta[:, LEAD_MASK] = leads[..., 0]
        meta[:, LEAD_SCALE] = leads[..., 1]
        if wide:
            features = self._wide_features(rows, features, leads)
        meta = network_meta(meta, features, self.examples.beats[rows], self.cfg.model)
        return x.astype(np.float32), meta, rows

    def _wide_features(self, rows: np.ndarray, features: np.ndarray, leads: np.ndarray) -> np.ndarray:
        """The wide branch's features after the lead augmentations: a record left with a reduced
        view's leads gets that view's features, as its reduced-lead copy is measured at
        inference; otherwise its own, with a removed lead's features missing."""
        present = leads[..., 0] > 0
        block = np.where(present[..., None], leads[..., 2:], np.nan)
        features = with_per_lead_block(features, block)
        view = views_of(present, self.views)
        reduced = np.flatnonzero(view > 0)
        if reduced.size:
            own = self.examples.view_features[rows[reduced], view[reduced] - 1]
            features[reduced] = with_per_lead_block(own, np.where(present[reduced, :, None],
                                                                  per_lead_block(own), np.nan))
        return features

    def __getitem__(self, index: int):
        x, meta, rows = self.batch_inputs(index)
        y = {"classes": self.targets[rows]}
        if self.with_domain:
            y["domain"] = self.examples.domains[rows]
        return (x, meta), y


class DomainRamp(keras.callbacks.Callback):
    """Gradient-reversal strength lambda_max * (2 / (1 + exp(-10 p)) - 1), p = epoch / ramp."""

    def __init__(self, final: float, ramp_epochs: float):
        super().__init__()
        self.final, self.ramp = final, max(ramp_epochs, 1e-6)

    def on_epoch_begin(self, epoch, logs=None):
        progress = min(epoch / self.ramp, 1.0)
        strength = self.final * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0)
        self.model.get_layer("grad_reverse").strength.assign(strength)


class ChallengeSelection(keras.callbacks.Callback):
    """Scores the validation set each epoch, keeps the best weights, stops after `patience`.

    Epochs before `train.min_epochs` are scored and logged but neither kept nor counted
    towards patience: an early epoch's validation score is noisy (the default network once
    scored 0.447 at epoch 1, then 0.26-0.34 for four epochs before overtaking it at epoch 7),
    and a lucky first epoch must not become the model."""

    def __init__(self, validation: Examples, classes: ClassSet, thresholds: np.ndarray, cfg: Config,
                 verbose: int):
        """Thresholds here are CICST from the training labels: the selection never looks at
        validation labels except through the score it maximises."""
        super().__init__()
        self.validation, self.classes, self.thresholds, self.cfg = validation, classes, thresholds, cfg
        self.verbose = verbose
        self.best_score, self.best_epoch, self.best_weights = -np.inf, -1, None
        self.history: list[dict[str, float]] = []
        self.started = time.time()
        self.inference: keras.Model | None = None

    def on_train_begin(self, logs=None):
        if self.verbose:
            print(f"each epoch is scored on the validation records; * marks a new best from epoch "
                  f"{min(self.cfg.train.min_epochs, self.cfg.train.epochs)} on, and the best is the one kept", flush=True)
        self.inference = inference_model(self.model)

    def score(self) -> metrics.Scores:
        v = self.validation
        return score_signals(self.inference, v.signals, v.network_meta(self.cfg.model), v.labels,
                             self.thresholds, self.classes, self.cfg).scores

    def on_epoch_end(self, epoch, logs=None):
        s = self.score()
        entry = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()},
                 "val_challenge": s.challenge_metric, "val_auroc": s.auroc, "val_auprc": s.auprc,
                 "val_f_measure": s.f_measure, "val_accuracy": s.accuracy,
                 "seconds": round(time.time() - self.started, 1)}
        self.history.append(entry)
        if self.observe(epoch + 1, s.challenge_metric):
            self.best_weights = self.model.get_weights()
        if self.verbose:
            print(f"epoch {epoch + 1}: loss {entry.get('loss', float('nan')):.4f}  val challenge "
                  f"{s.challenge_metric:.3f}  AUROC {s.auroc:.3f}  F {s.f_measure:.3f}"
                  f"{'  *' if self.best_epoch == epoch + 1 else ''}", flush=True)
        self.model.stop_training = self.should_stop(epoch + 1)

    def observe(self, epoch: int, score: float) -> bool:
        """Record epoch's score; True when this epoch becomes the kept one.  When training is
        shorter than min_epochs its last epoch is eligible, so there is always a model."""
        eligible = epoch >= min(self.cfg.train.min_epochs, self.cfg.train.epochs)
        if eligible and score > self.best_score:
            self.best_score, self.best_epoch = score, epoch
            return True
        return False

    def should_stop(self, epoch: int) -> bool:
        return epoch >= self.cfg.train.min_epochs and epoch - self.best_epoch >= self.cfg.train.patience

    def on_train_end(self, logs=None):
        """Training ended (by the time budget) before any epoch was eligible: the last one is kept."""
        if self.best_weights is None and self.history:
            self.best_score, self.best_epoch = self.history[-1]["val_challenge"], self.history[-1]["epoch"]
            self.best_weights = self.model.get_weights()


def class_targets(examples: Examples, classes: ClassSet, cfg: Config) -> np.ndarray:
    weights = np.ones(examples.labels.shape, dtype=np.float32)
    if cfg.loss.benefit_weighting:
        weights *= benefit_weights(examples.labels, classes.weights, cfg.loss.alpha)
    if cfg.loss.domain_mask:
        weights *= domain_annotation_mask(examples.labels, examples.domains)
    return pack_targets(examples.labels, weights)


def view_probabilities(model: keras.Model, examples: Examples, masks: np.ndarray, cfg: Config) -> list[np.ndarray]:
    """Uncalibrated class probabilities of a training network on labelled examples, in each view
    of `masks` (lead_sets.views; one view for the examples as they are)."""
    network = inference_model(model)  # once: every view's pass reuses its compiled predict function
    return [signal_probabilities(network, e.signals, e.network_meta(cfg.model), cfg.preprocess)
            for e in (examples.in_view(v, masks) for v in range(len(masks)))]


def compile_model(cfg: Config, window: int, num_classes: int, num_domains: int, steps_per_epoch: int,
                  features: np.ndarray | None = None, learning_rate: float | None = None,
                  frozen_backbone: bool = False):
    """The training network, compiled; `features` (training set) set the wide branch's scaling
    (None leaves it the identity, for untrained networks in benchmarks and tests); `learning_rate`
    is the initial rate (None: the configuration's); `frozen_backbone` compiles it with the
    backbone's layers untrainable (their batch normalisation then keeps its statistics too)."""
    keras.utils.set_random_seed(cfg.train.seed)
    policy = keras.config.dtype_policy()
    if cfg.train.mixed_precision:
        keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_model(cfg.model, window, num_classes, meta_size(cfg.model), num_domains)
    finally:
        keras.config.set_dtype_policy(policy)
    if cfg.model.wide_features and features is not None:
        model.get_layer("wide_scaling").set_statistics(features)
    if frozen_backbone:
        for layer in backbone_layers(model, cfg.model):
            layer.trainable = False
    rate = cfg.train.learning_rate if learning_rate is None else learning_rate
    schedule = keras.optimizers.schedules.ExponentialDecay(rate, decay_steps=max(steps_per_epoch, 1),
                                                           decay_rate=cfg.train.lr_decay)
    losses = {"classes": WeightedBCE(cfg.loss.focal_gamma)}
    if "domain" in model.output_names:
        losses["domain"] = keras.losses.SparseCategoricalCrossentropy()
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=losses)
    return model


def start_network(cfg: Config, num_classes: int, num_domains: int, steps_per_epoch: int,
                  features: np.ndarray | None, records: int) -> tuple[keras.Model, Path | None, str]:
    """The compiled network training starts from, for a folder of `records` usable records: the
    head start's weights where head_start.choose takes them (then at its learning rate), random
    ones otherwise; with the weights file (None: random) and why."""
    start, reason = head_start.choose(cfg, records)
    rate = head_start.learning_rate(cfg, start)
    if rate != cfg.train.learning_rate:
        reason += f"; fine-tuned at a learning rate of {rate:g} (train.fine_tune_rate)"
    frozen = head_start.frozen_backbone(cfg, start)
    if frozen:
        reason += "; the backbone frozen, the attention and heads fine-tuned (train.fine_tuned_layers)"
    model = compile_model(cfg, cfg.preprocess.window, num_classes, num_domains, steps_per_epoch, features,
                          rate, frozen)
    if start is not None:
        head_start.load_weights(model, start)
    return model, start, reason


@dataclass
class Fitted:
    """A trained network (or ensemble) with its decision rule and the per-epoch history;
    `held_out` are the uncalibrated validation (or out-of-fold) probabilities of the 12-lead
    view (fused with the feature model's when `fusion` is set); the decision was fitted on
    those of every view."""
    model: keras.Model
    decision: Decision
    history: dict
    held_out: np.ndarray
    fusion: LeadSetFusion | None = None

    def probabilities(self, examples: Examples, cfg: Config) -> np.ndarray:
        """Uncalibrated (fused) probabilities of labelled examples, as the decision sees them."""
        raw = view_probabilities(self.model, examples, ALL_LEADS, cfg)[0]
        return self.fusion.probabilities(raw, examples) if self.fusion else raw


def _describe(model: keras.Model, training: Examples, validation: Examples, cfg: Config, devices: int) -> None:
    present = sorted({training.domain_names[d] for d in np.unique(training.domains)})
    print(f"training on {len(training)} records, validating on {len(validation)}; "
          f"domains: {', '.join(present)}", flush=True)
    flops = forward_flops(inference_model(model))
    print(f"{cfg.model.backbone}: {model.count_params():,} parameters, "
          f"{flops / 1e9:.2f} GFLOP per {cfg.preprocess.window_s:g}-s record"
          f"{f', data-parallel over {devices} devices' if devices > 1 else ''}", flush=True)


def train_network(training: Examples, validation: Examples, classes: ClassSet, cfg: Config,
                  verbose: int = 1, budget: TimeBudget | None = None) -> tuple[keras.Model, dict]:
    """One network trained on `training`, its epoch selected on `validation`; with a budget,
    training ends in time for the rest of the run (budget.py)."""
    num_domains = len(training.domain_names)
    with_domain = cfg.model.domain_head and len(np.unique(training.domains)) >= 2
    devices = device_count(cfg.train.devices)
    batches = Batches(training, class_targets(training, classes, cfg), cfg, with_domain=with_domain,
                      full_batches=devices > 1, workers=cfg.train.loader_workers,
                      max_queue_size=4 * cfg.train.loader_workers)
    with data_parallel(devices, cfg.train.batch_size):
        model, start, head_start_reason = start_network(cfg, len(classes), num_domains if with_domain else 0,
                                                        len(batches), training.features,
                                                        training.own + validation.own)
        selection = ChallengeSelection(validation, classes, thresholding.cicst(training.labels, classes.weights,
                                       cfg.thresholds.beta), cfg, verbose)
        callbacks: list[keras.callbacks.Callback] = [selection]
        if "domain" in model.output_names:
            callbacks.insert(0, DomainRamp(cfg.model.domain_lambda, cfg.model.domain_ramp_epochs))
        guard = (EpochGuard(budget, len(batches), cfg.train.batch_size, len(validation),
                            passes=len(views(cfg.preprocess.derive_limb_leads))) if budget else None)
        if guard:
            callbacks.append(guard)  # after the selection, whose validation scoring it times
        if verbose:
            _describe(model, training, validation, cfg, devices)
            print(head_start_reason, flush=True)
        progress_bar = 1 if verbose and sys.stdout.isatty() else 0
        model.fit(batches, epochs=cfg.train.epochs, callbacks=callbacks, verbose=progress_bar)
    model.set_weights(selection.best_weights)
    averaged = weight_ensemble.average(model, start, cfg.train.fine_tuned_share) if start is not None else ""
    if guard and guard.reason and verbose:
        print(guard.reason, flush=True)
    if verbose:
        print(f"kept epoch {selection.best_epoch} of {len(selection.history)} (validation challenge "
              f"{selection.best_score:.3f})", flush=True)
        if averaged:
            print(averaged, flush=True)
    history = {"best_epoch": selection.best_epoch, "best_val_challenge": selection.best_score,
               "train_records": len(training), "validation_records": len(validation),
               "domains": training.domain_names, "validation_names": validation.names,
               "epochs": selection.history, "budget_stop": guard.reason if guard else "",
               "head_start": head_start_reason, "weight_ensemble": averaged}
    return model, history


def _feature_models(training: Examples, masks: np.ndarray, cfg: Config,
                    budget: TimeBudget | None = None) -> tuple[list[FeatureModel] | None, float, str]:
    """The fusion's feature model of every view (None without fusion), the seconds their fits
    took (the history keeps them, for bench.scale and the size rule's cost model, sizes.py), and
    why the fusion was dropped ('' when it was not): with a budget, the first view's fit is
    timed, and when the others would not fit (budget.feature_models_fit) the network goes alone."""
    if not cfg.model.fusion:
        return None, 0.0, ""
    started = time.perf_counter()
    models = [fit_feature_model(training.in_view(0, masks), cfg.train.seed)]
    first = time.perf_counter() - started
    if budget and not feature_models_fit(budget, first, len(masks)):
        return None, first, (f"time budget: the fusion is dropped: its feature models would take about "
                             f"{first * len(masks):.0f} s of the {budget.remaining():.0f} s left")
    models += [fit_feature_model(training.in_view(v, masks), cfg.train.seed) for v in range(1, len(masks))]
    return models, time.perf_counter() - started, ""


def _fuse_and_decide(masks: np.ndarray, network: list[np.ndarray], features: list[np.ndarray] | None,
                     feature_models: list[FeatureModel] | None, labels: np.ndarray, train_labels: np.ndarray,
                     classes: ClassSet, cfg: Config) -> tuple[LeadSetFusion | None, Decision, np.ndarray]:
    """From held-out probabilities of the same records in every view (the network's and, with
    fusion, the feature models'): the fusion weights of each view, and one decision rule fitted
    on the (fused) probabilities of all views together, so the rule serves records of every
    lead set.  Returns (fusion, decision, every view's (fused) probabilities)."""
    fusion = None
    if feature_models is not None:
        members = [fit_fusion(m, labels, n, f) for m, n, f in zip(feature_models, network, features)]
        fusion = LeadSetFusion(masks, members)
        network = [m.combine(n, f) for m, n, f in zip(members, network, features)]
    decision = fit_decision(np.concatenate(network), np.tile(labels, (len(network), 1)), train_labels, classes, cfg)
    return fusion, decision, network


def _validation(masks: np.ndarray, held_out: list[np.ndarray], labels: np.ndarray, decision: Decision,
                classes: ClassSet, cfg: Config) -> dict:
    """The model card's validation scores (card.validation_scores) of the held-out probabilities
    of every view, decided as the driver decides."""
    calibrated = [decision.calibration.apply(p) for p in held_out]
    binary = [thresholding.decide(p, decision.thresholds, classes, cfg.thresholds) for p in calibrated]
    return card.validation_scores(calibrated, labels, binary, classes, masks)


def _view_networks(training: Examples, validation: Examples, classes: ClassSet, cfg: Config, masks: np.ndarray,
                   verbose: int, budget: TimeBudget | None) -> tuple[keras.Model, dict, list[np.ndarray]]:
    """One network per lead-set view (model.network_per_view), each trained and its epoch
    selected on its view's copies of the records, without reduced-lead augmentation (its
    records always have its view's leads); returns their view_network, the history (the first
    view's, every view's under "views") and each view's validation probabilities."""
    view_cfg = with_overrides(cfg, {"augment": {"reduced_leads_probability": 0.0}})
    members, histories, network = [], [], []
    for v in range(len(masks)):
        if verbose:
            print(f"lead-set view {v + 1}/{len(masks)}: {view_name(masks[v])}", flush=True)
        view_validation = validation.in_view(v, masks)
        model, history = train_network(training.in_view(v, masks), view_validation, classes, view_cfg, verbose,
                                       budget.share(len(masks) - v) if budget else None)
        network.append(view_probabilities(model, view_validation, ALL_LEADS, cfg)[0])
        members.append(inference_model(model)), histories.append(history)
    return view_network(members, masks), {**histories[0], "views": histories}, network


def fit(training: Examples, validation: Examples, classes: ClassSet, cfg: Config, verbose: int = 1,
        budget: TimeBudget | None = None) -> Fitted:
    """Train on `training`, select the epoch and fit the fusion and the decision on `validation`
    in every view.  The experiments call this on their own splits; `train` calls it on a
    folder's split."""
    masks = views(cfg.preprocess.derive_limb_leads)
    feature_models, feature_model_s, dropped = _feature_models(training, masks, cfg, budget)
    if dropped and verbose:
        print(dropped, flush=True)
    if cfg.model.network_per_view:
        model, history, network = _view_networks(training, validation, classes, cfg, masks, verbose, budget)
    else:
        model, history = train_network(training, validation, classes, cfg, verbose, budget)
        network = view_probabilities(model, validation, masks, cfg)
    history.update(feature_model_s=feature_model_s, fusion_dropped=dropped)
    features = ([m.probabilities(validation.in_view(v, masks)) for v, m in enumerate(feature_models)]
                if feature_models else None)
    fusion, decision, held_out = _fuse_and_decide(masks, network, features, feature_models, validation.labels,
                                                  training.labels, classes, cfg)
    history["validation"] = _validation(masks, held_out, validation.labels, decision, classes, cfg)
    return Fitted(model, decision, history, held_out[0], fusion)


def fit_ensemble(examples: Examples, classes: ClassSet, cfg: Config, verbose: int = 1,
                 budget: TimeBudget | None = None) -> Fitted:
    """K members on K stratified folds of `examples` (member k validates on fold k, with its
    own seed); their probabilities are averaged; the fusion and the decision are fitted on the
    out-of-fold probabilities of every record in every view (the feature models' out-of-fold
    view comes from one set per fold), so no record's own member judges it."""
    k = cfg.train.ensemble_folds
    masks = views(cfg.preprocess.derive_limb_leads)
    folds = stratified_folds(examples.labels, k, cfg.train.seed)
    members, histories = [], []
    network = [np.zeros(examples.labels.shape) for _ in masks]
    features = [np.zeros(examples.labels.shape) for _ in masks]
    feature_models, feature_model_s, dropped = _feature_models(examples, masks, cfg, budget)
    for f in range(k):
        member_cfg = with_overrides(cfg, {"train": {"seed": cfg.train.seed + 1000 * (f + 1)}})
        if verbose:
            print(f"ensemble member {f + 1}/{k}", flush=True)
        training, held = examples.subset(np.flatnonzero(folds != f)), examples.subset(np.flatnonzero(folds == f))
        member_budget = budget.share(k - f) if budget else None
        model, history = train_network(training, held, classes, member_cfg, verbose, member_budget)
        fold_models = _feature_models(training, masks, cfg)[0] if feature_models else None
        for v, probabilities in enumerate(view_probabilities(model, held, masks, cfg)):
            network[v][folds == f] = probabilities
            if fold_models:
                features[v][folds == f] = fold_models[v].probabilities(held.in_view(v, masks))
        members.append(inference_model(model)), histories.append(history)
    fusion, decision, held_out = _fuse_and_decide(masks, network, features if feature_models else None,
                                                  feature_models, examples.labels, examples.labels, classes, cfg)
    history = {**histories[0], "members": histories, "feature_model_s": feature_model_s, "fusion_dropped": dropped,
               "validation": _validation(masks, held_out, examples.labels, decision, classes, cfg)}
    return Fitted(ensemble_network(members), decision, history, held_out[0], fusion)


@contextmanager
def _model_folder(model_dir: str | Path) -> Iterator[Path]:
    """The model folder, created now (a path that cannot hold it fails before training, not
    after); a folder this call created is removed again if training fails before writing into it."""
    path = Path(model_dir)
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        if created and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        raise


def train(data_dir: str | Path, model_dir: str | Path, cfg: Config | None = None,
          weights_file: str | Path | None = None, verbose: int = 1) -> dict:
    """Train on data_dir and write the model folder within `train.time_budget_h` of this call;
    a size of "auto" is resolved here (sizes.py); returns the history."""
    started = time.monotonic()
    cfg = cfg or load_config()
    budget = TimeBudget(cfg.train.time_budget_h * 3600.0, started)
    records = len(require_records(data_dir))
    with _model_folder(model_dir):
        return _train(data_dir, model_dir, cfg, records, budget, weights_file, verbose)


def _affordable_records(data_dir: str | Path, cfg: Config, records: int, budget: TimeBudget, cores: float,
                        verbose: int) -> Config:
    """cfg with train.max_records lowered when caching every record would not leave time to train
    (budget.records_within, from caching's cost timed on a few records here); an existing cache
    entry costs nothing to open."""
    wanted = min(records, cfg.train.max_records or records)
    if is_cached(data_dir, cfg.preprocess, max_records=cfg.train.max_records):
        return cfg
    per_record = seconds_per_record(find_records(data_dir), cfg.preprocess)
    affordable = records_within(budget, wanted, per_record, cores)
    if affordable >= wanted:
        return cfg
    if verbose:
        print(f"time budget: caching takes about {per_record * 1e3:.0f} ms per record here; {affordable:,} of the "
              f"{wanted:,} records (spread through the folder) fit in {CACHE_SHARE:.0%} of the "
              f"{budget.remaining():.0f} s left", flush=True)
    return with_overrides(cfg, {"train": {"max_records": affordable}})


def _train(data_dir: str | Path, model_dir: str | Path, cfg: Config, records: int, budget: TimeBudget,
           weights_file: str | Path | None, verbose: int) -> dict:
    machine = sizes.detect_machine()
    cfg, choice = sizes.resolve(cfg, min(records, cfg.train.max_records or records), machine)
    cfg = _affordable_records(data_dir, cfg, records, budget, machine.cores, verbose)
    if verbose:
        print(f"size {cfg.model.size}: " + (choice.reason if choice else "named in the configuration"), flush=True)
    classes = load_classes(weights_file)
    examples = load_examples(data_dir, classes, cfg, progress_printer("caching records") if verbose else None)
    if verbose:
        print(accounting(examples), flush=True)
    examples, mix_reason = generated_mix.add_generated(examples, classes, cfg, budget, verbose)
    planned = cfg.model.size
    cfg, choice = sizes.revise(cfg, choice, len(examples), budget.remaining(), machine)
    if verbose and cfg.model.size != planned:
        print(f"time budget: size {cfg.model.size}: {choice.reason}", flush=True)
    if cfg.train.ensemble_folds > 1:
        fitted, train_labels = fit_ensemble(examples, classes, cfg, verbose, budget), examples.labels
    else:
        train_idx, val_idx = stratified_split(examples.labels, cfg.train.validation_fraction, cfg.train.seed)
        if len(val_idx) == 0:
            raise ValueError(f"{len(examples)} usable records are too few for a validation split")
        training = examples.subset(train_idx)
        fitted = fit(training, examples.subset(val_idx), classes, cfg, verbose, budget)
        train_labels = training.labels
    if fitted.fusion is None and cfg.model.fusion:  # dropped for time: the folder must say so
        cfg = with_overrides(cfg, {"model": {"fusion": False}})
    history = {**fitted.history, "size": {"size": cfg.model.size, "reason": choice.reason if choice else "configured"},
               "generated_mix": mix_reason, "seconds_before_saving": round(budget.elapsed(), 1), "time_budget_h": cfg.train.time_budget_h,
               "machine": f"{machine.describe()} ({platform.machine()}, {platform.system()})",
               "training_data": card.training_data(examples.labels, examples.domains, examples.domain_names,
                                                   examples.meta, examples.rates, classes,
                                                   views(cfg.preprocess.derive_limb_leads), examples.generated)}
    model_folder.save(model_dir, fitted.model, cfg, classes, fitted.decision, history, train_labels, fitted.fusion)
    return history
