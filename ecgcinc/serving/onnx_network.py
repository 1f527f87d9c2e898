"""The network as ONNX, run by onnxruntime: inference without TensorFlow, Keras or JAX.

Why: a user who only classifies ECGs should not need the 600-MB training stack, nor meet a
saved Keras network that a newer Keras no longer loads.  An exported folder (export.py) holds
the network as `network.onnx` beside the same configuration, thresholds, calibration and
fusion files as the trained folder, so everything around the network (preprocessing, the
classic features, the feature model, the fusion, the decision) is the very code the Keras path
runs; only the network's forward pass changes hands.

`OnnxNetwork` answers `predict_on_batch([signal, meta])` as a Keras model does, which is all
inference.forward asks of a network.  This module imports onnxruntime only when a network is
loaded, and never Keras.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

ONNX_FILE = "network.onnx"
INPUT_NAMES = ("signal", "meta")     # the inference network's inputs, in Keras's order


class OnnxNetwork:
    """An exported network in an onnxruntime session: one intra-op thread by default, since
    the driver scores one record at a time and extra threads only fight other processes for
    the cores (the feature model's OpenMP threads did, issue "Numbers that hold")."""

    def __init__(self, path: str | Path, threads: int = 1):
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError("the ONNX runtime needs onnxruntime: pip install -r requirements-inference.txt") \
                from error
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = [tensor.name for tensor in self.session.get_inputs()]
        if sorted(names) != sorted(INPUT_NAMES):
            raise ValueError(f"{path}: inputs {names}, expected {list(INPUT_NAMES)}")
        self.input_shapes = {tensor.name: tuple(tensor.shape[1:]) for tensor in self.session.get_inputs()}

    def predict_on_batch(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities (n, C) of [signal (n, T, 12), meta (n, M)], as Keras's
        predict_on_batch gives them."""
        feeds = {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in zip(INPUT_NAMES, inputs)}
        return self.session.run(None, feeds)[0]
