"""ecgcinc: a 12-lead ECG classifier for the PhysioNet/CinC Challenge 2020/2021.

Importing the package imports Keras (and its backend) with the framework's start-up log
lines (absl, oneDNN, CPU-feature notices) silenced, so the project's own warnings about bad
records stand out.  Set ECGCINC_FRAMEWORK_LOGS=1 to see them.
"""
import os
import sys

FRAMEWORK_LOGS_ENV = "ECGCINC_FRAMEWORK_LOGS"


def _import_keras_quietly() -> None:
    """The C++ start-up lines are written to file descriptor 2 while TensorFlow loads, before
    any Python logging setting applies, so stderr is pointed at /dev/null for the import only."""
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
