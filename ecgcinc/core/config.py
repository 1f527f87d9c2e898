"""One configuration tree for preprocessing, model, loss, augmentation, training and thresholds.

The harness passes only two folders, so a non-default configuration is named by
the environment variable ECGCINC_CONFIG (a JSON file, partial: only the keys to
change).  The full configuration is saved in the model folder and is all that
`load_model` needs besides the weights.
"""
from __future__ import annotations

import copy
import json
import os
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any


CONFIG_ENV = "ECGCINC_CONFIG"
# The tests' and the demo's short-training configuration, and the benchmarks' tiny size.
SMALL_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "small.json"
# The model paper's network size (250 Hz, 20-s input, 9 residual blocks): GPU work.  The defaults
# below are the CPU size, chosen by the evidence in docs/results.md.
PAPER_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "paper.json"

# The augmentations, in the order augment.py applies them.
AUGMENTATIONS = ("zero_lead", "noise_lead", "shuffle_leads", "invert_leads", "random_bandpass", "scale_offset",
                 "baseline_artefact", "short_crop", "reduced_leads")

# Challenge record-name prefixes -> source database (facts of the 2021 data).
CINC_DOMAINS = {"A": "CPSC", "Q": "CPSC-Extra", "I": "INCART", "S": "PTB", "HR": "PTB-XL",
                "E": "Georgia", "JS": "Chapman-Ningbo"}
SYNTHETIC_DOMAINS = {"XA": "Synthetic-A", "XB": "Synthetic-B", "XC": "Synthetic-C", "XD": "Synthetic-D"}
# train.fine_tuned_layers: every layer, or the attention and heads on a frozen backbone
FINE_TUNED_LAYERS = ("all", "heads")


@dataclass
class PreprocessConfig:
    fs: float = 100.0
    filter: bool = True              # baseline removal + band-pass; False with normalise="constant" is
    baseline_window_s: float = 1.0   # the domain-generalisation paper's "constant scale, no filtering"
    band_hz: tuple[float, float] = (0.5, 40.0)
    normalise: str = "lead"          # "lead" (per-lead robust scale), "record" or "constant"
    constant_scale_mv: float = 1.0
    min_scale_mv: float = 0.05       # floor of the per-lead scale, so flat leads are not amplified
    window_s: float = 10.0           # fixed network input length
    max_windows: int = 16            # inference on long records: at most this many windows, averaged
    # limb leads a record lacks, computed from two of I, II, III (lead_sets.with_limb_leads), for the
    # network and the features alike
    derive_limb_leads: bool = True

    @property
    def window(self) -> int:
        return int(round(self.window_s * self.fs))


@dataclass
class ModelConfig:
    # "auto" (sizes.py picks small, medium or paper for the data, the machine and the time budget
    # when training starts), or one of SIZE_PRESETS; the values below are the small size's
    size: str = "auto"
    backbone: str = "resnet_cwa"     # or "cnn_bilstm"
    filters: list[int] = field(default_factory=lambda: [16, 16, 32, 32])
    kernels: list[int] = field(default_factory=lambda: [16, 16, 8, 8])
    dropout: float = 0.1
    attention: bool = True           # False: global average pooling instead of class-wise attention
    # CNN + BiLSTM backbone
    branches: list[str] = field(default_factory=lambda: ["coarse", "fine"])  # the ablation drops one
    coarse_kernels: list[int] = field(default_factory=lambda: [16, 16, 8])
    fine_kernels: list[int] = field(default_factory=lambda: [5, 3, 3])
    cnn_filters: list[int] = field(default_factory=lambda: [16, 32, 32])
    lstm_units: int = 16
    # wide branch: classic features (features.py), scaled by training-set statistics with missing
    # flags, join the pooled/class vectors before the heads (the 2020 winner's "wide and deep")
    wide_features: bool = True
    # > 0: the wide features (and the beat vector) also pass a hidden ReLU layer of this many units
    # before the heads, a non-linear path next to the linear one (0: linear only)
    wide_hidden: int = 0
    # beat branch (beat_branch.py): the record's beat table (beats.py: RR ratios, QRS and P-wave
    # against the median beat, over the whole record) encoded by a small convolution over beats
    beat_branch: bool = False
    beat_units: int = 32
    # fusion.py: per class, a logistic regression on the network's and the feature model's logits,
    # fitted on held-out predictions (docs/results.md, "Beat timing", for the evidence behind the default)
    fusion: bool = True
    # One network per lead-set view (lead_sets.views: 12 leads; the six limb leads; the limb leads
    # and V2), each trained on its view's copies of the records, as the Challenge's example trains
    # one model per lead set; off: one network for every view, trained with reduced-lead copies
    # (augment.reduced_leads_probability).  docs/results.md, "One network or one per view".
    network_per_view: bool = False
    # domain head (see docs/results.md for the evidence behind its default)
    domain_head: bool = False
    domain_attach: str = "pooled"    # "pooled" features or the class-wise "class_vectors"
    domain_hidden: int = 32
    domain_lambda: float = 0.1       # final gradient-reversal strength
    domain_ramp_epochs: float = 3.0  # lambda grows as 2/(1+exp(-10 p)) - 1 over these epochs


@dataclass
class LossConfig:
    benefit_weighting: bool = True   # Mw = 1 - W + alpha I
    alpha: float = 0.5
    # Md: 0 for classes a source never annotates.  Off by default: on unseen records of known
    # sources, scored against those sources' own labels, a network trained without it learns which
    # classes each source writes and scores higher (docs/results.md, development folder)
    domain_mask: bool = False
    focal_gamma: float = 0.0         # > 0: focal loss instead of BCE


@dataclass
class AugmentConfig:
    enabled: list[str] = field(default_factory=lambda: list(AUGMENTATIONS))  # all of augment.py
    probability: float = 0.1         # each augmentation's chance per record
    reduced_leads_probability: float = 0.3


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 1e-2
    lr_decay: float = 0.9            # per epoch
    patience: int = 8
    min_epochs: int = 4              # no checkpoint is kept and no stop made before this epoch
    ensemble_folds: int = 1          # K > 1: K members on K stratified folds, probabilities averaged
    domain_balanced: bool = False    # batches draw every source equally often
    validation_fraction: float = 0.15
    seed: int = 2021
    skip_defective: bool = True      # skip records with repaired defects (flat/clipped leads, NaN)
    max_records: int = 0             # 0: all
    loader_workers: int = 2          # threads preparing batches ahead of the model (1: none)
    mixed_precision: bool = False    # mixed_bfloat16 (GPU): convolutions in bfloat16, heads in float32
    devices: int | str = 1           # data-parallel over N local devices, or "all" (JAX; devices.py)
    # wall-clock limit of the whole training (caching, epochs, thresholds, saving; budget.py); the
    # 2021 rules allowed 48 h with a GPU and 72 h without, so 40 h leaves a margin on either
    time_budget_h: float = 40.0
    domains: dict[str, str] = field(default_factory=lambda: {**CINC_DOMAINS, **SYNTHETIC_DOMAINS})
    # The network starts from weights pretrained on generated records (training/head_start.py):
    # "auto" takes the package's own for the size when the folder is small enough for them to pay,
    # "off" starts from random weights, a path names a weights file written by `ecgcinc pretrain`.
    head_start: str = "auto"
    # Generated records of the Challenge corpus's shape join the folder's own in training
    # (training/generated_mix.py): "auto" when the network starts from the package's own head
    # start, "on" always, "off" never; `generated_records` of them, drawn with a fixed seed.
    generated_mix: str = "auto"
    generated_records: int = 500     # about: each source in its share of the corpus, at least one
    # After fine-tuning from a head start, each weight becomes this share of the fine-tuned one plus
    # the rest of the pretrained one (training/weight_ensemble.py, WiSE-FT); 1.0 keeps the fine-tuned.
    fine_tuned_share: float = 1.0
    # The learning rate's factor when the network starts from a head start: fine-tuning a
    # pretrained network is usually done at a smaller rate than training it (1.0: the same rate).
    fine_tune_rate: float = 1.0
    # Which layers fine-tuning from a head start trains: "all", or "heads" (the convolutional
    # backbone keeps its pretrained weights; the attention, the heads and the domain classifier
    # train).  Training from scratch always trains every layer.
    fine_tuned_layers: str = "all"
    # Records with no scored diagnosis train as negatives for every class (False: left out).
    unscored_negatives: bool = False


@dataclass
class ThresholdConfig:
    method: str = "cicst"            # cicst, fixed, proportional, grid, de (see thresholds.py)
    calibration: str = "none"        # "platt": per-class Platt scaling fitted on held-out predictions
    beta: float = 0.5                # CICST modulating factor: 0 costs only, 1 imbalance only
    fixed: float = 0.5
    at_least_one: bool = True        # a record with no positive class gets its most probable one
    sinus_exclusive: bool = False    # drop sinus rhythm where AF, flutter or pacing is positive


@dataclass
class Config:
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    thresholds: ThresholdConfig = field(default_factory=ThresholdConfig)
    # every key a caller set (a configuration file, an experiment's arm), whatever its value: what
    # "auto" applies again on top of the size it picks (explicit_overrides); not saved
    explicit: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("explicit")
        return out


def _merge(instance: Any, overrides: dict[str, Any], path: str = "") -> Any:
    names = {f.name: f for f in fields(instance) if f.name != "explicit"}
    for key, value in overrides.items():
        if key not in names:
            raise KeyError(f"unknown configuration key {path}{key}")
        current = getattr(instance, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise TypeError(f"configuration key {path}{key} needs a mapping")
            _merge(current, value, f"{path}{key}.")
        else:
            setattr(instance, key, tuple(value) if isinstance(current, tuple) else value)
    return instance


def _apply(cfg: Config, overrides: dict[str, Any]) -> Config:
    """cfg changed in place by `overrides`; a named `model.size` among them first sets that size's
    preset, so the keys beside it in the same mapping win over the preset."""
    size = overrides.get("model", {}).get("size") if isinstance(overrides.get("model"), dict) else None
    if size is not None and size != AUTO:
        if size not in SIZE_PRESETS:
            raise ValueError(f"model.size {size!r}: choose {AUTO!r} or one of {', '.join(SIZE_PRESETS)}")
        _merge(cfg, SIZE_PRESETS[size])
    _merge(cfg, overrides)
    _record(cfg.explicit, overrides)
    if cfg.model.network_per_view and cfg.train.ensemble_folds > 1:
        raise ValueError("model.network_per_view and train.ensemble_folds > 1 do not combine: choose one")
    if not 0.0 <= cfg.train.fine_tuned_share <= 1.0:
        raise ValueError(f"train.fine_tuned_share must lie in [0, 1], not {cfg.train.fine_tuned_share}")
    if not 0.0 < cfg.train.fine_tune_rate <= 1.0:
        raise ValueError(f"train.fine_tune_rate must lie in (0, 1], not {cfg.train.fine_tune_rate}")
    if cfg.train.fine_tuned_layers not in FINE_TUNED_LAYERS:
        raise ValueError(f"train.fine_tuned_layers {cfg.train.fine_tuned_layers!r}: choose one of "
                         f"{', '.join(FINE_TUNED_LAYERS)}")
    return cfg


def _record(explicit: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Deep-merge the overrides into the record of explicit settings."""
    for key, value in overrides.items():
        if isinstance(value, dict):
            _record(explicit.setdefault(key, {}), value)
        else:
            explicit[key] = copy.deepcopy(value)


def config_from_dict(overrides: dict[str, Any]) -> Config:
    return _apply(Config(), overrides)


def with_overrides(cfg: Config, overrides: dict[str, Any]) -> Config:
    """A copy of cfg with the (partial, nested) overrides applied; cfg is not changed."""
    return _apply(copy.deepcopy(cfg), overrides)


def explicit_overrides(cfg: Config) -> dict[str, Any]:
    """Every key a caller set, with its value, as a partial configuration (even a value equal
    to a default: {"preprocess": {"fs": 100}} must survive "auto" picking the paper size's 250 Hz),
    to be applied again on top of the size that "auto" resolves to.  "model.size" is left out:
    it is what the size rule replaces."""
    explicit = copy.deepcopy(cfg.explicit)
    explicit.get("model", {}).pop("size", None)
    return explicit


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, overridden by the JSON file `path` or the one ECGCINC_CONFIG names."""
    path = path or os.environ.get(CONFIG_ENV)
    if not path:
        return Config()
    return config_from_dict(json.loads(Path(path).read_text()))


def _size_presets() -> dict[str, dict[str, Any]]:
    """Every named size sets the same keys: those the paper's configuration sets.  Small is the
    defaults above; medium is small with a deeper, wider ResNet (6 blocks, 32-64 filters), the
    same input and training settings, so the two differ only in the network."""
    paper = json.loads(PAPER_CONFIG.read_text())
    defaults = Config().to_dict()
    small = {part: {key: defaults[part][key] for key in keys} for part, keys in paper.items()}
    medium = copy.deepcopy(small)
    medium["model"].update(MEDIUM_NETWORK)
    return {"small": small, "medium": medium, "paper": paper}


AUTO = "auto"
MEDIUM_NETWORK = {"filters": [32, 32, 48, 48, 64, 64], "kernels": [16, 16, 12, 12, 8, 8]}
SIZE_PRESETS: dict[str, dict[str, Any]] = _size_presets()
