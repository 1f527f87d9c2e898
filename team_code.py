#!/usr/bin/env python
"""The Challenge entry points; the method lives in the ecgcinc package.

Nothing here needs helper_code.py, which the organisers replace with their own.  The package
is imported inside the functions, so a harness script that imports this file (the organisers'
train_model.py and test_model.py do, before they check their arguments) starts without Keras.
"""


def training_code(data_directory, model_directory, verbose=1):
    """Train one network for every lead set (missing leads are zeros plus a mask, missing limb
    leads derived from I and II), the feature model and the fusion per lead-set view, and save
    them in one model folder."""
    from ecgcinc.io.records import require_records
    require_records(data_directory)  # a missing or empty folder is one line before Keras loads
    from ecgcinc.training.train import train
    train(data_directory, model_directory, verbose=verbose)


def load_model(model_directory, leads):
    """A predictor for the given lead set; the network is loaded once and shared by lead sets."""
    from ecgcinc.serving.predict import load_predictor
    return load_predictor(model_directory, leads)


def run_model(model, header, recording):
    """Classes, 0/1 labels and probabilities for one record (header text, raw `val` array);
    `model` is what load_model returned (ecgcinc.serving.predict.Predictor)."""
    return model.run(header, recording)
