"""The reference the network must beat: the feature model (feature_model.py) on its own.

`ecgcinc baseline TRAIN TEST OUT` trains it on exactly the records the network
trains on and fits its decision rule by the same code as the network's
(decision.fit_decision) on the same validation split, so a comparison differs
only in the model; its outputs go through the driver's own loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.classes import ClassSet, load_classes
from ..core.config import Config
from ..dataset.data import Examples, load_examples, stratified_split
from ..decision.rule import Decision, fit_decision
from ..decision.feature_model import FeatureModel, design_matrix, fit_feature_model
from ..signals.features import record_features
from ..serving.harness import decided_outputs, harness_record, per_lead_set, write_folder
from ..signals.lead_sets import as_seen, by_view, lead_mask, views
from ..signals.preprocess import LEAD_MASK, preprocess_record
from ..io.records import find_records


@dataclass
class FittedBaseline:
    """The feature model of every view (lead_sets.views), the decision rule and the 12-lead
    view's validation probabilities."""
    views: np.ndarray            # (V, 12) bool
    models: list[FeatureModel]
    decision: Decision
    held_out: np.ndarray

    def probabilities_of(self, designs: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Uncalibrated probabilities of records' design matrices (n, D), each record by the
        feature model of its leads' view."""
        out = np.empty((len(designs), len(self.decision.thresholds)))
        for v, rows in by_view(present, self.views):
            out[rows] = self.models[v].probabilities_of(designs[rows])
        return out

    def probabilities(self, examples: Examples) -> np.ndarray:
        return self.probabilities_of(design_matrix(examples.meta, examples.features), examples.meta[:, LEAD_MASK] > 0)


def fit_baseline(training: Examples, validation: Examples, classes: ClassSet, cfg: Config) -> FittedBaseline:
    """One feature model per view, each fitted on the training records as their reduced-lead
    copies measure, and one decision rule fitted on the validation probabilities of every view,
    as for the network (train.fit)."""
    masks = views(cfg.preprocess.derive_limb_leads)
    models = [fit_feature_model(training.in_view(v, masks), cfg.train.seed) for v in range(len(masks))]
    held = [m.probabilities(validation.in_view(v, masks)) for v, m in enumerate(models)]
    decision = fit_decision(np.concatenate(held), np.tile(validation.labels, (len(held), 1)), training.labels,
                            classes, cfg)
    return FittedBaseline(masks, models, decision, held[0])


@dataclass
class FeaturePredictor:
    """The fitted feature models behind run_model's contract, for one lead set: a record is
    read, repaired, restricted to the lead set, its limb leads derived and measured exactly as
    the network's Predictor does."""
    fitted: FittedBaseline
    classes: ClassSet
    cfg: Config
    allowed: np.ndarray

    def run(self, header_text: str, recording: np.ndarray) -> tuple[list[str], list[int], list[float]]:
        record = as_seen(harness_record(header_text, recording), self.allowed, self.cfg.preprocess.derive_limb_leads)
        _, meta = preprocess_record(record, self.cfg.preprocess)
        x = design_matrix(meta[None], record_features(record)[None])
        probabilities = self.fitted.decision.calibration.apply(self.fitted.probabilities_of(x, record.mask[None]))[0]
        return decided_outputs(probabilities, self.fitted.decision.thresholds, self.classes, self.cfg)


def train_baseline(train_dir: str | Path, cfg: Config) -> FittedBaseline:
    """The feature models of every view and their decision, fitted on train_dir's labelled
    records (a stratified validation split fits the decision)."""
    classes = load_classes()
    examples = load_examples(train_dir, classes, cfg)
    train_idx, val_idx = stratified_split(examples.labels, cfg.train.validation_fraction, cfg.train.seed)
    return fit_baseline(examples.subset(train_idx), examples.subset(val_idx), classes, cfg)


def write_outputs(fitted: FittedBaseline, test_dir: str | Path, out_dir: str | Path, cfg: Config) -> int:
    """A Challenge output file for every record of test_dir, labelled or not, through the
    driver's own loop (harness.write_folder): named by the header file, a warning for repairable
    records, the empty output with an error line for unreadable ones and those with no usable lead.
    Returns the number of records; score them with evaluate_model.py."""
    classes = load_classes()
    scorer = per_lead_set(lambda leads: FeaturePredictor(fitted, classes, cfg, lead_mask(leads)))
    write_folder(test_dir, out_dir, scorer, FeaturePredictor.run, verbose=0)
    return len(find_records(test_dir))


def run_baseline(train_dir: str | Path, test_dir: str | Path, out_dir: str | Path, cfg: Config) -> int:
    """`ecgcinc baseline`: train on train_dir, then write the outputs of test_dir (write_outputs)."""
    return write_outputs(train_baseline(train_dir, cfg), test_dir, out_dir, cfg)
