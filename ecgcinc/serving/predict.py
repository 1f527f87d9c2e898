"""Inference: a loaded model folder turned into probabilities and Challenge outputs.

`Predictor` is built once per model folder (and lead set) and reused for every
record.  A record is preprocessed exactly as in training; a record longer than
the network window is covered by overlapping windows whose probabilities are
averaged, a shorter one is zero-padded.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from . import model_folder
from ..decision.calibration import Calibration
from ..core.classes import ClassSet
from ..core.config import Config
from ..dataset.data import Examples
from ..decision.feature_model import design_matrix
from ..signals.features import checked_measures
from ..decision.fusion import LeadSetFusion
from .inference import signal_probabilities
from .onnx_network import OnnxNetwork
from ..signals.preprocess import LEAD_MASK, network_meta, preprocess_record
from .harness import decided_outputs, harness_record, per_lead_set, write_folder
from ..signals.lead_sets import as_seen, by_view, lead_mask, odd_subset_note, view_name, view_of, views
from ..io.records import TWELVE_LEADS, Record

if TYPE_CHECKING:
    import keras


def _measures(record: Record) -> tuple[np.ndarray, np.ndarray]:
    """The record's classic features and beat table; a failed measurement is one warning line
    naming the record and the cause (its features are then missing values)."""
    features, beat_table, problem = checked_measures(record)
    if problem:
        print(f"WARNING {record.name}: classic features not measurable ({problem}); they are missing values",
              file=sys.stderr, flush=True)
    return features, beat_table


def _view_members(network: keras.Model | OnnxNetwork) -> list | None:
    """A routed Keras network's per-view members; None for any other network, and for an
    exported one, whose routed whole answers each record from its own view's member."""
    if isinstance(network, OnnxNetwork):
        return None
    from ..networks.models import view_members
    return view_members(network)


class Predictor:
    """A trained model folder, ready to score records of one lead set."""

    def __init__(self, model_dir: str | Path, network: keras.Model | OnnxNetwork, cfg: Config, classes: ClassSet,
                 thresholds: np.ndarray, leads: Sequence[str] | None = None,
                 calibration: Calibration | None = None, fusion: LeadSetFusion | None = None):
        self.model_dir = Path(model_dir)
        self.network = network
        self.cfg = cfg
        self.classes = classes
        self.thresholds = thresholds
        self.calibration = calibration or Calibration.identity(len(classes))
        self.fusion = fusion
        self.allowed = lead_mask(leads)
        self.members = _view_members(network)  # one network per lead-set view: run only a record's own
        self.masks = views(cfg.preprocess.derive_limb_leads)
        self.note = odd_subset_note(leads, cfg.preprocess.derive_limb_leads)  # None for the Challenge's sets

    def inputs(self, record: Record) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """(preprocessed signal (n', 12), network meta input, the feature model's input or None
        without fusion, the leads used) of a record: leads outside the predictor's lead set
        absent and the missing limb leads derived, exactly as training saw such records."""
        record = as_seen(record, self.allowed, self.cfg.preprocess.derive_limb_leads)
        x, meta = preprocess_record(record, self.cfg.preprocess)
        model = self.cfg.model
        measured = model.wide_features or model.beat_branch or self.fusion is not None
        features, beat_table = _measures(record) if measured else (None, None)
        measures = (features[None], beat_table[None]) if measured else (None, None)
        design = design_matrix(meta[None], features[None])[0] if self.fusion else None
        return x, network_meta(meta[None], *measures, model)[0], design, record.mask

    def probabilities(self, records: Sequence[Record]) -> np.ndarray:
        """Calibrated class probabilities of records, as the decision rule sees them."""
        signals, metas, designs, present = zip(*(self.inputs(record) for record in records))
        raw = self.network_probabilities(signals, np.stack(metas))
        fused = self.fusion.combine_designs(raw, np.stack(designs), np.stack(present)) if self.fusion else raw
        return self.calibration.apply(fused)

    def examples_probabilities(self, examples: Examples) -> np.ndarray:
        """Calibrated probabilities of cached examples (retargeting, the report), by the same
        network, fusion and calibration as records."""
        raw = self.network_probabilities(examples.signals, examples.network_meta(self.cfg.model))
        return self.calibration.apply(self.fusion.probabilities(raw, examples) if self.fusion else raw)

    def network_probabilities(self, signals: Sequence[np.ndarray], metas: np.ndarray) -> np.ndarray:
        """The network's probabilities of preprocessed signals with their network meta inputs; a
        folder with one network per view runs each record through its view's network alone,
        which the routed whole (models.ViewRouter) would answer too, at every member's cost."""
        if self.members is None:
            return signal_probabilities(self.network, signals, metas, self.cfg.preprocess)
        out = np.zeros((len(metas), len(self.classes)))
        for v, rows in by_view(metas[:, LEAD_MASK] > 0.5, self.masks):
            out[rows] = signal_probabilities(self.members[v], [signals[i] for i in rows], metas[rows],
                                             self.cfg.preprocess)
        return out

    def view(self, record: Record) -> str:
        """The lead-set view a record is scored in (its leads as this predictor sees them)."""
        seen = as_seen(record, self.allowed, self.cfg.preprocess.derive_limb_leads)
        return view_name(self.masks[view_of(seen.mask, self.masks)])

    def outputs(self, record: Record) -> tuple[list[str], list[int], list[float]]:
        """Class names, 0/1 labels and probabilities for one record (Challenge order)."""
        return decided_outputs(self.probabilities([record])[0], self.thresholds, self.classes, self.cfg)

    def run(self, header_text: str, recording: np.ndarray) -> tuple[list[str], list[int], list[float]]:
        """run_model's contract: the header text and the raw `val` array of one record."""
        return self.outputs(harness_record(header_text, recording))


def load_predictor(model_dir: str | Path, leads: Sequence[str] | None = None) -> Predictor:
    """The network is loaded once per folder version and shared by the predictors of every lead
    set; thresholds and calibration are read on every call, since re-targeting rewrites them."""
    model_dir = model_folder.check(model_dir)
    network = model_folder.load_network(model_dir)
    cfg, classes = model_folder.read_config(model_dir), model_folder.read_classes(model_dir)
    decision = model_folder.read_decision(model_dir, len(classes))
    predictor = Predictor(model_dir, network, cfg, classes, decision.thresholds, leads, decision.calibration,
                          model_folder.read_fusion(model_dir, cfg))
    if predictor.note:
        print(f"WARNING {predictor.note}", file=sys.stderr, flush=True)
    return predictor


def predict_folder(model_dir: str | Path, data_dir: str | Path, out_dir: str | Path, verbose: int = 1,
                   load_model=None, run_model=None, timings: list[float] | None = None) -> int:
    """Write `<record>.csv` for every header in data_dir; returns the number of failed records.

    The model folder is checked and loaded before any record is read: a folder that cannot be
    read or loaded is one ModelFolderError for the run.  load_model/run_model default to this
    module's; driver.py passes team_code's.  See write_folder for the records.
    """
    model_folder.check(model_dir)  # before any record is read or any output written
    load_model = load_model or load_predictor
    try:  # the network is loaded once, for every lead set: a folder that cannot load fails the run here
        first = load_model(model_dir, TWELVE_LEADS)
    except Exception as error:
        raise model_folder.ModelFolderError(f"model folder {Path(model_dir).resolve()} cannot be loaded: "
                                            f"{error}") from error
    scorer = per_lead_set(lambda leads: load_model(model_dir, leads), {TWELVE_LEADS: first})
    return write_folder(data_dir, out_dir, scorer, run_model or Predictor.run, verbose, timings)


