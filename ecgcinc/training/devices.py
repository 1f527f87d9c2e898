"""Data-parallel training over the devices of one host, with Keras 3's distribution API.

`train.devices` (1, N or "all") names how many local devices share each batch: every
device holds a replica of the weights, takes its slice of the global batch, and the
gradients are averaged (synchronous data parallelism), so N devices train the same
network as one device with the same global batch.  Only the JAX backend distributes
(Keras's TensorFlow backend has no DataParallel); on CPU, XLA can expose several host
devices (XLA_FLAGS=--xla_force_host_platform_device_count=N), which is how the tests
check it.  The weights are ordinary replicated variables: a network trained on N devices
saves, loads and predicts like any other, on either backend.
"""
from __future__ import annotations

import contextlib
from typing import ContextManager

from ..networks.framework import keras


def device_count(setting: int | str) -> int:
    """How many devices `train.devices` asks for: "all" local devices, or a positive number."""
    if setting == "all":
        return len(keras.distribution.list_devices()) if keras.backend.backend() == "jax" else 1
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ValueError(f"train.devices must be a positive number or \"all\", not {setting!r}")
    return setting


def data_parallel(devices: int, batch_size: int) -> ContextManager:
    """The scope to build and fit the network in: nothing for one device, else a DataParallel
    distribution over the first `devices` local devices (device_count of the setting).  The
    global batch must split evenly."""
    if devices == 1:
        return contextlib.nullcontext()
    if keras.backend.backend() != "jax":
        raise ValueError(f"train.devices {devices} needs the JAX backend (KERAS_BACKEND=jax); "
                         f"this process runs {keras.backend.backend()}")
    available = keras.distribution.list_devices()
    if devices > len(available):
        raise ValueError(f"train.devices asks for {devices} devices but this host has {len(available)}: {available}")
    if batch_size % devices:
        raise ValueError(f"train.batch_size {batch_size} does not split evenly over {devices} devices")
    return keras.distribution.DataParallel(devices=available[:devices]).scope()
