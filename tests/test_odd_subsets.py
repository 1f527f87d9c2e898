"""Leads outside the Challenge's five sets scored by a study's units (evidence/odd_subsets.py)."""
import os

import numpy as np
import pytest

from ecgcinc.core.classes import load_classes
from ecgcinc.evidence import odd_subsets
from ecgcinc.evidence.experiments import slug
from ecgcinc.io.records import find_records, read_dx


@pytest.mark.slow
def test_every_subset_is_scored_against_the_same_units_twelve_leads(trained_model, synthetic_test, tmp_path):
    """A study of two units (two seeds) whose model folder is the session's trained model: every
    subset gets a row, the 12-lead row is the reference, and one lead alone is scored from
    other probabilities than all twelve."""
    study = tmp_path / "study"
    headers = find_records(synthetic_test)[:16]
    (study / "records").mkdir(parents=True)
    for header in headers:
        for path in (header, header.with_suffix(".mat")):
            os.symlink(path, study / "records" / path.name)
    labels = load_classes().encode_many([read_dx(h) for h in headers])
    for seed in (0, 1):
        unit = study / "real" / slug(odd_subsets.DEFAULT) / f"xa-seed{seed}"
        unit.mkdir(parents=True)
        os.symlink(trained_model, unit / "model")
        np.savez(unit / "test.npz", names=np.array([h.stem for h in headers]), labels=labels)
    units = odd_subsets.pooled_units(study)
    assert list(units) == list(odd_subsets.SUBSETS)
    assert all(len(u) == 2 and len(u[0].labels) == 16 for u in units.values())
    twelve, alone = units[odd_subsets.TWELVE][0], units["V1 alone"][0]
    assert not np.allclose(twelve.arrays["probabilities"], alone.arrays["probabilities"])
    text = odd_subsets.table(study)
    assert "| 12 leads | 2 |" in text and "(reference)" in text and "| I, V5 | 2 |" in text
    assert (study / "real_odd_subsets.md").read_text() == text
