"""ecgcinc: a 12-lead ECG classifier for the PhysioNet/CinC Challenge 2020/2021.

    ecgcinc.read(path)                    any supported record, as an ECG
    ecgcinc.load(model_dir=None)          a classifier (None: the ready model); .predict(signal,
                                          fs, leads, age=None, sex=None), .predict_files(paths)
    ecgcinc.train(data_dir, model_dir)    a model folder trained on labelled Challenge records

Importing the package imports nothing else: the API (api.py) loads on first use, and Keras
(quietly, networks/framework.py) only when a network is built, trained or loaded, so the
harness's scripts and the command line start fast.  docs/api.md has the whole API.
"""
from typing import Any

from .core.version import __version__
__all__ = ["ECG", "load", "read", "train", "__version__"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'ecgcinc' has no attribute {name!r}")
