"""Which network size trains on a folder: the "auto" rule, the machine it runs on, and what each
size costs.

Why: the organisers run `train_model.py` with no configuration on their own machine (2021: 10
vCPU, 65 GB, an optional T4 GPU, 48 h with a GPU and 72 h without) on about 88,000 records,
while developers train a few thousand records on 2 cores.  One fixed size cannot suit both.
The presets themselves ("small", "medium", "paper") live in config.py; this module decides.

The rule (`choose`), in order:
1. The data decides how large a network it can feed: the published size from
   PAPER_MIN_RECORDS records on (the size behind the paper's 0.641, trained on about 34,000
   records: 5-fold cross-validation of the 2020 corpus's 43,101), medium from
   MEDIUM_MIN_RECORDS on (the data-scale curve, docs/results.md), small below.
2. The machine and the time budget decide whether it fits: a size is taken only when its
   estimated training (caching, the fusion's feature model, every epoch with its validation
   scoring, at most the configured epochs) needs at most FIT_SHARE of the budget; otherwise
   the next smaller size is tried.  Small is always possible: the budget's guard (budget.py)
   stops any size in time.
3. Caching is then measured, not estimated (`revise`): when it took so long that the rest of the
   chosen size's training no longer fits FIT_SHARE of the time left, the size steps down to the
   largest one that fits and trains on the same cached signals (medium to small; the paper
   size, at another sampling rate, would need a second cache, so it keeps its size and its
   guard stops it early).
The estimate scales costs measured on the 2-core development machine (EPOCH_MS_PER_RECORD, from
`python -m bench.scale`) by the cores available, sub-linearly, and takes a GPU to train
GPU_SPEEDUP times faster than those 2 cores: an H200 trained the paper size 46 times faster
(`python -m bench.gpu`, docs/performance.md); a T4, the 2021 organisers' optional GPU, has about
an eighth of its float32 rate, so the rule counts on 5.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.config import AUTO, Config, SIZE_PRESETS, explicit_overrides, with_overrides
from ..signals.lead_sets import views as lead_views

LADDER = ("small", "medium", "paper")        # smallest first
PAPER_MIN_RECORDS = 30_000                   # the published size, trained on about 34,000 records
MEDIUM_MIN_RECORDS = 4_800                   # the data-scale curve: medium detectably ahead from here
FIT_SHARE = 0.6                               # of the budget, for estimation error and the thresholds
REFERENCE_CORES = 2
CORE_SCALING = 0.75                           # speed grows as cores ** 0.75 (threads share memory bandwidth)
GPU_SPEEDUP = 5.0                             # a T4, scaled from an H200's measure: see the module docstring


# Costs on the 2-core reference machine, TensorFlow on CPU, from `python -m bench.scale --scale
# 0.25` (bench/results/scale.json; tests/test_sizes.py keeps the two in step), measured on an
# otherwise idle machine: a run shared with another training was 1.7-1.9 times slower per epoch.
# Caching (reading, filtering, the features and beat table) per record and core, the larger of the
# two preprocessings ("ms_per_record" x cores):
CACHE_MS_PER_RECORD = 19.6
# The features' share of that (bench/results/features.json, "features and beat table"): a cache
# entry measures every record once more in each reduced view (lead_sets.views), at this cost each.
FEATURE_SHARE_OF_CACHE = 0.84
# The fusion's feature model (gradient boosting per class) per training record
# ("feature_model_ms_per_record"):
FEATURE_MODEL_MS_PER_RECORD = 0.59
# One epoch per record of the folder: training the training split, scoring the validation split
# ("epoch_ms_per_record"):
EPOCH_MS_PER_RECORD: dict[str, float] = {"small": 1.96, "medium": 3.22, "paper": 19.77}


@dataclass(frozen=True)
class Machine:
    """What training can use: CPU cores (a fraction when a container quota says so) and GPUs."""
    cores: float
    gpus: int

    def describe(self) -> str:
        return f"{self.cores:g} CPU core(s)" + (f", {self.gpus} GPU(s)" if self.gpus else ", no GPU")


CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_cores(root: Path = CGROUP_ROOT) -> float | None:
    """The container's CPU quota (cgroup v2 cpu.max, else v1 cfs quota), None when unlimited or
    unreadable; `root` is the cgroup file system's mount point."""
    v2 = root / "cpu.max"
    try:
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def available_cores() -> float:
    """Cores this process may use: its CPU affinity, capped by a container quota (docker --cpus
    sets a quota but leaves os.cpu_count() at the host's count)."""
    cores = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    quota = _cgroup_cores()
    return min(cores, quota) if quota else cores


def gpu_count() -> int:
    """GPUs the Keras backend sees."""
    from ..networks.framework import keras
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        return sum(1 for d in jax.devices() if d.platform == "gpu")
    if backend == "tensorflow":
        import tensorflow as tf
        return len(tf.config.list_physical_devices("GPU"))
    if backend == "torch":
        import torch
        return torch.cuda.device_count()
    return 0


def detect_machine() -> Machine:
    return Machine(available_cores(), gpu_count())


def speed_factor(machine: Machine) -> float:
    """How many times faster than the 2-core reference this machine trains."""
    if machine.gpus:
        return GPU_SPEEDUP
    return (max(machine.cores, 0.5) / REFERENCE_CORES) ** CORE_SCALING


def cpu_speed_factor(machine: Machine) -> float:
    """How many times faster than the 2-core reference this machine's CPUs work (the feature
    model's gradient boosting runs on them whatever GPU the machine has)."""
    return speed_factor(Machine(machine.cores, 0))


@dataclass(frozen=True)
class Estimate:
    caching_s: float
    feature_model_s: float
    epoch_s: float
    epochs: int
    networks: int = 1  # one per lead-set view with model.network_per_view

    @property
    def total_s(self) -> float:
        return self.caching_s + self.feature_model_s + self.epoch_s * self.epochs * self.networks


def estimate(size: str, records: int, machine: Machine, fusion: bool = True, views: int = 1,
             networks: int = 1) -> Estimate:
    """Training time of `size` on `records` records (an epoch crops one window per record, so a
    record's length changes its caching cost only), with the feature model the fusion fits
    first unless `fusion` is off; caching measures and the fusion fits once per lead-set view,
    and `networks` networks train in turn (one per view with model.network_per_view)."""
    epochs = SIZE_PRESETS[size]["train"]["epochs"]
    epoch_ms = records * EPOCH_MS_PER_RECORD[size]
    cache_ms = CACHE_MS_PER_RECORD * (1.0 + (views - 1) * FEATURE_SHARE_OF_CACHE)
    caching_s = records * cache_ms / 1e3 / max(machine.cores, 1.0)
    feature_model_s = (views * records * FEATURE_MODEL_MS_PER_RECORD / 1e3 / cpu_speed_factor(machine) if fusion
                       else 0.0)
    return Estimate(caching_s, feature_model_s, epoch_ms / 1e3 / speed_factor(machine), epochs, networks)


@dataclass(frozen=True)
class Choice:
    size: str
    reason: str


def _data_size(records: int) -> str:
    if records >= PAPER_MIN_RECORDS:
        return "paper"
    return "medium" if records >= MEDIUM_MIN_RECORDS else "small"


def choose(records: int, machine: Machine, budget_s: float, fusion: bool = True, views: int = 1,
           networks: int = 1) -> Choice:
    """The size for `records` training records on `machine` within `budget_s` (the rule above),
    counting the feature models' fits when `fusion` is on, one per lead-set view, and the
    `networks` that train (one per view with model.network_per_view)."""
    wanted = _data_size(records)
    why = (f"{records:,} records: {wanted} is the largest size this much data supports "
           f"(medium from {MEDIUM_MIN_RECORDS:,}, paper from {PAPER_MIN_RECORDS:,})")
    for size in reversed(LADDER[: LADDER.index(wanted) + 1]):
        need = estimate(size, records, machine, fusion, views, networks).total_s
        fits = need <= FIT_SHARE * budget_s
        if fits or size == LADDER[0]:
            if size != wanted:
                why += f"; larger sizes do not fit {FIT_SHARE:.0%} of the {budget_s / 3600:g}-h budget"
            return Choice(size, f"{why}; {size} needs about {_hours(need)} on {machine.describe()}"
                                f"{'' if fits else ' (over the budget: its guard will stop training in time)'}")
    raise AssertionError("unreachable: the smallest size is always chosen")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{math.ceil(seconds / 60):d} min"


def count_records(data_dir: str | Path) -> int:
    """Header files in a Challenge folder: what the rule sizes for, before anything is read."""
    from ..io.records import find_records
    return len(find_records(data_dir))


def _trainings(cfg: Config) -> tuple[int, int]:
    """The lead-set views that caching measures and the fusion fits, and the networks that train."""
    views = len(lead_views(cfg.preprocess.derive_limb_leads))
    return views, views if cfg.model.network_per_view else 1


def _sized(cfg: Config, size: str) -> Config:
    """The preset of `size`, with the caller's own settings (config.explicit_overrides) on top."""
    return with_overrides(with_overrides(Config(), {"model": {"size": size}}), explicit_overrides(cfg))


def resolve(cfg: Config, records: int, machine: Machine | None = None) -> tuple[Config, Choice | None]:
    """cfg with "auto" replaced by the chosen size's preset, the caller's own settings kept on top
    (config.explicit_overrides); cfg unchanged (and no choice) when its size is named."""
    if cfg.model.size != AUTO:
        return cfg, None
    machine = machine or detect_machine()
    views, networks = _trainings(cfg)
    choice = choose(records, machine, cfg.train.time_budget_h * 3600, cfg.model.fusion, views, networks)
    return _sized(cfg, choice.size), choice


def revise(cfg: Config, choice: Choice | None, records: int, remaining_s: float,
           machine: Machine | None = None) -> tuple[Config, Choice | None]:
    """After caching (rule 3): cfg and its choice again, stepped down to a smaller size on the
    same cached signals when the rest of the chosen size's training (the feature models and
    the epochs, on `records` records) needs more than FIT_SHARE of the `remaining_s` seconds
    actually left.  A plan whose caching took what was estimated is never revised; a size the
    caller named (no choice) is never changed."""
    if choice is None:
        return cfg, None
    machine = machine or detect_machine()
    views, networks = _trainings(cfg)

    def rest_s(size: str) -> float:
        planned = estimate(size, records, machine, cfg.model.fusion, views, networks)
        return planned.total_s - planned.caching_s
    same_cache = [size for size in reversed(LADDER[: LADDER.index(cfg.model.size) + 1])
                  if _sized(cfg, size).preprocess == cfg.preprocess]
    size = next((s for s in same_cache if rest_s(s) <= FIT_SHARE * remaining_s), same_cache[-1])
    if size == cfg.model.size:
        return cfg, choice
    return _sized(cfg, size), Choice(size, f"{choice.reason}; after caching, {cfg.model.size} needed about "
                                           f"{_hours(rest_s(cfg.model.size))} of the {_hours(remaining_s)} left: "
                                           f"{size} trains instead, on the same cached signals")
