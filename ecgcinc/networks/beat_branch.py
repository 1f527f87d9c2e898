"""The network's beat branch: the record's beat table (beats.py) encoded into one vector.

Why: the convolutional backbone sees one 10-20 s window of signal, and the wide
branch hands record-level averages to heads that are linear in them; neither
can say "one beat in ten comes early, with an odd P wave, and no pause
follows" or "the RR interval swings with breathing".  The beat table states
each beat of the whole record (up to beats.MAX_BEATS) by its RR ratios to the
local median and its QRS and P wave against the median beat; two dilated
convolutions over beats see a beat, its neighbours and the swing around it,
and a pooling over the beats present (mean and max: how often, and whether at
all) gives a vector that joins every class head.  torch_ecg's RR-LSTM is a
precedent for a rhythm branch on RR intervals; this one adds the shapes, and
is written here from that idea only.

The table travels at the end of the network's meta input (preprocess.
network_meta), so a network keeps its two inputs and every path that feeds one
(training batches, validation, the driver, ensembles) feeds the branch too.
"""
from __future__ import annotations

from .framework import keras
from keras import layers, ops

from ..signals.beats import BEAT_COLUMNS, BEAT_TABLE_SIZE, MAX_BEATS

PACKAGE = "ecgcinc"
KERNEL = 3


@keras.saving.register_keras_serializable(package=PACKAGE)
class Columns(layers.Layer):
    """(B, M) -> (B, stop - start): a slice of the meta input's columns (stop None: to the end)."""

    def __init__(self, start: int, stop: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = int(start), None if stop is None else int(stop)

    def call(self, x):
        return x[:, self.start : self.stop]

    def compute_output_shape(self, input_shape):
        stop = input_shape[-1] if self.stop is None else self.stop
        return (input_shape[0], stop - self.start)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PresentBeatPooling(layers.Layer):
    """[encoded (B, beats, U), table (B, beats, K)] -> (B, 2U): the mean and the max of the
    encoded beats over the rows whose "present" column is 1; zeros for a record without beats."""

    def call(self, inputs):
        encoded, table = inputs
        present = ops.cast(table[:, :, :1] > 0.5, encoded.dtype)
        count = ops.sum(present, axis=1)
        mean = ops.sum(encoded * present, axis=1) / ops.maximum(count, 1.0)
        # encoded is a ReLU output (>= 0), so 0 is a neutral value for absent rows in the max
        peak = ops.max(encoded * present, axis=1)
        return ops.concatenate([mean, peak], axis=-1)

    def compute_output_shape(self, input_shapes):
        encoded, _ = input_shapes
        return (encoded[0], 2 * encoded[-1])


def beat_vector(meta_input, units: int, dtype: str):
    """The beat branch on the meta input, whose last BEAT_TABLE_SIZE columns are the table."""
    start = meta_input.shape[-1] - BEAT_TABLE_SIZE
    flat = Columns(start, name="beat_table_columns", dtype=dtype)(meta_input)
    table = layers.Reshape((MAX_BEATS, len(BEAT_COLUMNS)), name="beat_table", dtype=dtype)(flat)
    x = layers.Conv1D(units, KERNEL, padding="same", activation="relu", name="beat_conv1", dtype=dtype)(table)
    x = layers.Conv1D(units, KERNEL, padding="same", dilation_rate=2, activation="relu", name="beat_conv2",
                      dtype=dtype)(x)
    return PresentBeatPooling(name="beat_pool", dtype=dtype)([x, table])
