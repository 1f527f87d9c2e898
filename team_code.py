#!/usr/bin/env python
"""The Challenge entry points; the method lives in the ecgcinc package.

Nothing here needs helper_code.py, which the organisers replace with their own.
"""
from ecgcinc.predict import Predictor, load_predictor
from ecgcinc.train import train


def training_code(data_directory, model_directory, verbose=1):
    """Train one network for every lead set (missing leads are zeros plus a mask) and save it."""
    train(data_directory, model_directory, verbose=verbose)


def load_model(model_directory, leads):
    """A predictor for the given lead set; the network is loaded once and shared by lead sets."""
    return load_predictor(model_directory, leads)


def run_model(model: Predictor, header, recording):
    """Classes, 0/1 labels and probabilities for one record (header text, raw `val` array)."""
    return model.run(header, recording)
