"""The weight-space ensemble of a fine-tuned network with the weights it started from (WiSE-FT).

Why: fine-tuning the head start on a few hundred records of a few sources fits those sources
and forgets some of what the generated records taught about ECGs in general.  On real records
of a source none of the training saw, the fine-tuned network ranks worse than the head start
alone does (docs/results.md, "Real records": AUROC 0.61 against 0.70), while it decides better.
Wortsman et al. (CVPR 2022, "Robust fine-tuning of zero-shot models") found that averaging the
fine-tuned weights with the starting weights, every weight by the same share, keeps the
fine-tuned network's accuracy on its own distribution and recovers robustness under a shift of
distribution, at no cost at inference: the result is one network of the same shape.

How: after the epoch is selected, each weight (batch-norm statistics included; the wide path's
feature scaling, set from the folder's own records, excepted) becomes
share * fine-tuned + (1 - share) * pretrained.  The calibration, the fusion and the thresholds
are then fitted on the validation records through the averaged network, as for any network.
`train.fine_tuned_share` is the share: 1.0 (the default) keeps the fine-tuned network; it acts
only where the network started from a head start.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..networks.framework import keras
from .head_start import network_weights, pretrained_arrays

OFF = 1.0


def average(model: keras.Model, pretrained: Path, share: float) -> str:
    """Set every weight of `model` (fine-tuned from `pretrained`) to share * its own +
    (1 - share) * the pretrained one (a share in [0, 1]: config.py checks); what was done, for
    the history."""
    if share == OFF:
        return "fine-tuned network kept (train.fine_tuned_share 1.0)"
    for (_, variable), start in zip(network_weights(model), pretrained_arrays(model, pretrained)):
        tuned = np.asarray(variable.numpy())
        variable.assign((share * tuned + (1.0 - share) * start).astype(tuned.dtype))
    return f"weights averaged with the head start: {share:g} fine-tuned, {1.0 - share:g} pretrained"
