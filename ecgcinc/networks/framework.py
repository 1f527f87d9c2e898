"""Keras, imported once and quietly, by the modules that build, train or load a network.

Why here and not in the package: reading records, generating data, scoring outputs and the
command line's help need no network, and importing Keras with its backend costs seconds
(TensorFlow: about 6 s), which made `evaluate_model.py` 34 times slower to start than the
official evaluator.  Modules that need Keras write `from .framework import keras`.

The backend's C++ start-up lines (absl, oneDNN, CPU-feature notices) are written to file
descriptor 2 while it loads, before any Python logging setting applies, so stderr is pointed
at /dev/null for the import only: the project's own warnings about bad records stand out.
Set ECGCINC_FRAMEWORK_LOGS=1 to see them.
"""
import os
import sys

FRAMEWORK_LOGS_ENV = "ECGCINC_FRAMEWORK_LOGS"


def _import_keras_quietly() -> None:
    if os.environ.get(FRAMEWORK_LOGS_ENV) or "keras" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


_import_keras_quietly()
import keras  # noqa: E402  (after the quiet import above, this only binds the name)

__all__ = ["keras"]
