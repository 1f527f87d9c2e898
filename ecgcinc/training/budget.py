"""The wall-clock budget of a whole training run (`train.time_budget_h`).

Why: an entry that runs past the organisers' limit gets nothing (2021: 48 h with a GPU, 72 h
without), and a run that ends without a model folder is a failed entry.  The budget starts
when `training_code` is called and covers caching, every epoch, the thresholds and saving.

How: EpochGuard, a Keras callback, times every epoch (training and the validation scoring
that selects the checkpoint) and keeps back RESERVE: one more validation pass (the held-out
predictions that fit the thresholds) plus SAVE_ALLOWANCE_S for writing the model folder.
- Before an epoch: it is started only if the longest epoch so far fits before the deadline
  less the reserve.
- During an epoch (the first one has nothing to go by): from its second batch on, the epoch's
  own pace projects when it would end; when that is past the deadline less the reserve, the
  epoch is cut at this batch.  Its weights are still scored and may be kept, so a budget too
  small for one epoch still leaves a trained model.
The guard's `reason` says when and why it ended training; train.py prints and saves it.

Before the epochs, two steps are planned against what this machine measures, not against the
cost constants of sizes.py alone (which come from one idle 2-core machine):
- Caching: its cost per record is timed on a few records before the cache is built
  (cache.seconds_per_record); when caching every record would take more than CACHE_SHARE of
  the time left, training uses as many records, spread through the folder, as fit in it.
- The size: once the cache is built, "auto"'s choice is checked against the time actually left
  and steps down when the rest of its training no longer fits (sizes.revise).
- The fusion's feature models, one per lead-set view: the first view's fit is timed, and when
  all of them would take more than FEATURE_SHARE of the time left, the fusion is dropped (the
  network alone is a complete model) and the log says so.
The guard then keeps back the held-out predictions of every view (`passes`) for the fusion and
the thresholds, plus the saving.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from ..networks.framework import keras

SAVE_ALLOWANCE_S = 20.0          # writing model.keras and the JSON files; seconds even for the paper size
PREDICT_PER_TRAIN = 1 / 3        # a prediction's share of a training step's time, until one is measured
CACHE_SHARE = 0.5                # caching may use at most this share of the time left; the rest trains
FEATURE_SHARE = 0.25             # and the fusion's feature models this share of what is left after caching
MIN_RECORDS = 64                 # fewer records than this teach nothing: the plan never caps below it


def records_within(budget: "TimeBudget", records: int, seconds_per_record: float, cores: float) -> int:
    """How many records caching may take: all of them, unless caching them on `cores` would take
    more than CACHE_SHARE of the time left, then as many as fit (never fewer than MIN_RECORDS)."""
    affordable = int(CACHE_SHARE * max(budget.remaining(), 0.0) * max(cores, 1.0) / max(seconds_per_record, 1e-9))
    return records if affordable >= records else min(records, max(affordable, MIN_RECORDS))


def feature_models_fit(budget: "TimeBudget", first_view_s: float, views: int) -> bool:
    """Whether the feature models of every view fit in FEATURE_SHARE of the time left, from the
    first view's measured fit (the others cost about as much)."""
    return first_view_s * (views - 1) <= FEATURE_SHARE * budget.remaining()


@dataclass
class TimeBudget:
    """A deadline `seconds` after `started`, on `clock` (time.monotonic; tests pass their own)."""
    seconds: float
    started: float = field(default_factory=time.monotonic)
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def hours(cls, hours: float) -> "TimeBudget":
        return cls(hours * 3600.0)

    def elapsed(self) -> float:
        return self.clock() - self.started

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def share(self, parts: int) -> "TimeBudget":
        """A budget ending after 1/parts of the time that is left: one of `parts` runs in turn
        (ensemble members), each leaving the others their share."""
        return TimeBudget(self.elapsed() + self.remaining() / max(parts, 1), self.started, self.clock)


class EpochGuard(keras.callbacks.Callback):
    """Ends training so that the rest of the run fits in the budget (see the module docstring).
    Put it after the checkpoint-selection callback, whose validation scoring it times."""

    def __init__(self, budget: TimeBudget, steps: int, batch_size: int, validation_records: int, passes: int = 1):
        """`passes`: the validation predictions after training (one per lead-set view)."""
        super().__init__()
        self.budget, self.steps, self.passes = budget, steps, passes
        self.batch_size, self.validation_records = batch_size, validation_records
        self.epoch_seconds: list[float] = []
        self.scoring_s: float | None = None
        self.reason = ""
        self._epoch_start = self._first_batch_end = self._last_batch_end = 0.0
        self._batches = 0

    def _scoring_estimate(self) -> float:
        """Seconds of one validation pass: measured after the first epoch, else projected from
        the training pace."""
        if self.scoring_s is not None:
            return self.scoring_s
        if self._batches < 2:
            return 0.0
        per_record = (self._last_batch_end - self._first_batch_end) / ((self._batches - 1) * self.batch_size)
        return self.validation_records * per_record * PREDICT_PER_TRAIN

    def reserve(self) -> float:
        """Seconds kept back for the held-out predictions of every view, the fusion, the
        thresholds and saving."""
        return self.passes * self._scoring_estimate() + SAVE_ALLOWANCE_S

    def _stop(self, reason: str) -> None:
        self.reason = reason
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self.budget.clock()
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        now = self.budget.clock()
        self._batches += 1
        self._last_batch_end = now
        if self._batches == 1:  # the first step includes tracing and compiling: no pace yet
            self._first_batch_end = now
            late = self.budget.remaining() < self.reserve()
        else:
            pace = (now - self._first_batch_end) / (self._batches - 1)
            late = pace * (self.steps - self._batches) + self._scoring_estimate() > self.budget.remaining() - self.reserve()
        if late and self._batches < self.steps:
            self._stop(f"time budget: epoch {len(self.epoch_seconds) + 1} cut after {self._batches} of {self.steps} "
                       f"batches, {_clock(self.budget.elapsed())} into a {_clock(self.budget.seconds)} budget: "
                       f"it would not have finished with {_clock(self.reserve())} kept for thresholds and saving")

    def on_epoch_end(self, epoch, logs=None):
        now = self.budget.clock()
        self.scoring_s = now - self._last_batch_end
        self.epoch_seconds.append(now - self._epoch_start)
        if self.reason:  # cut during the epoch; the selection callback has since reset stop_training
            self.model.stop_training = True
            return
        need = max(self.epoch_seconds[-3:])
        if not self.model.stop_training and need > self.budget.remaining() - self.reserve():
            self._stop(f"time budget: stopped after epoch {epoch + 1}, {_clock(self.budget.elapsed())} into a "
                       f"{_clock(self.budget.seconds)} budget: the next epoch needs about {_clock(need)}, and "
                       f"{_clock(max(self.budget.remaining(), 0.0))} remain with {_clock(self.reserve())} kept "
                       f"for thresholds and saving")


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
