"""The beat branch end to end: trained, saved, loaded by the harness on 12 and 2 leads, and a
record with too few beats for it (3 s, all flat) still gets its output."""
import numpy as np
import pytest

import helper_code
import team_code
from ecgcinc.signals.beats import BEAT_TABLE_SIZE
from ecgcinc.io.records import TWELVE_LEADS, RecordError, load_mat


@pytest.fixture(scope="module")
def beat_model(tmp_path_factory, synthetic_train, small_config):
    from ecgcinc.training.train import train
    model_dir = tmp_path_factory.mktemp("beat_model")
    # the fusion's feature models are not what this tests: off, to keep the suite short
    cfg = small_config(model={"beat_branch": True, "wide_hidden": 16, "fusion": False},
                       train={"epochs": 2, "max_records": 160})
    train(synthetic_train, model_dir, cfg, verbose=0)
    return model_dir


def _header_and_data(sample_dir, leads, seconds=None):
    """E07500 (500 Hz, 10 s) restricted to `leads` and cut to `seconds`: header text and data."""
    header = (sample_dir / "E07500.hea").read_text()
    data = load_mat(sample_dir / "E07500.mat", "E07500").astype(float)
    lines = header.splitlines()
    keep = [i for i, line in enumerate(lines[1:13]) if line.split()[-1] in leads]
    fields = lines[0].split()
    if seconds:
        data = data[:, : int(seconds * float(fields[2]))]
    fields[1], fields[3] = str(len(keep)), str(data.shape[1])
    text = "\n".join([" ".join(fields)] + [lines[1 + i] for i in keep] + lines[13:]) + "\n"
    return text, data[keep]


@pytest.mark.slow
@pytest.mark.parametrize("leads", [TWELVE_LEADS, ("I", "II")], ids=["12 leads", "2 leads"])
def test_saved_beat_branch_runs_through_the_harness(beat_model, sample_dir, leads):
    model = team_code.load_model(str(beat_model), helper_code.sort_leads(leads))
    assert model.network.get_layer("beat_pool") is not None
    assert model.network.inputs[1].shape[-1] > BEAT_TABLE_SIZE
    header, data = _header_and_data(sample_dir, leads)
    classes, labels, probabilities = team_code.run_model(model, header, data)
    assert len(classes) == 26 and np.isfinite(probabilities).all() and sum(labels) >= 1
    # too few beats for the branch: 3 s of signal still gets an answer; nothing but flat leads is
    # no record at all (records.make_record refuses it, naming it)
    short_header, short_data = _header_and_data(sample_dir, leads, seconds=3)
    classes, labels, probabilities = team_code.run_model(model, short_header, short_data)
    assert len(classes) == 26 and np.isfinite(probabilities).all() and sum(labels) >= 1
    with pytest.raises(RecordError, match="no usable standard lead"):
        team_code.run_model(model, header, np.zeros_like(data))
