"""Lead sets: derived limb leads, the views the feature model is fitted in, and a reduced-lead
record scored by the feature model of its own view."""
import numpy as np
import pytest

import helper_code
import team_code
from ecgcinc.core.classes import load_classes
from ecgcinc.dataset.data import load_examples
from ecgcinc.evidence.experiments import in_lead_set, lead_set_leads, lead_set_name
from ecgcinc.decision.feature_model import FeatureModel
from ecgcinc.signals.features import record_features
from ecgcinc.serving.harness import harness_record
from ecgcinc.decision.fusion import Fusion, LeadSetFusion
from ecgcinc.signals.lead_sets import (as_seen, effective_mask, lead_mask, restricted, view_name, view_of, views,
                               with_limb_leads)
from ecgcinc.evidence.arms import Unit
from ecgcinc.signals.preprocess import LEAD_MASK, LEAD_SCALE
from ecgcinc.io.records import LEAD_SETS, TWELVE_LEADS, find_records, read_record

# One ADC step of the real sample is 1 µV (gain 1000/mV); the recording devices round each lead
# on its own, so a derived lead can differ from the recorded one by a few steps.
TOLERANCE_MV = 0.005


@pytest.mark.parametrize("pair", [("I", "II"), ("I", "III"), ("II", "III")])
def test_derived_limb_leads_equal_the_recorded_ones_on_real_records(sample_dir, pair):
    for header in find_records(sample_dir):
        record = read_record(header)
        if not record.mask[:6].all():
            continue
        derived = with_limb_leads(restricted(record, lead_mask(pair)))
        assert derived.mask[:6].all() and not derived.mask[6:].any()
        error = np.abs(derived.signal[:6] - record.signal[:6]).max()
        assert error <= TOLERANCE_MV, (record.name, pair, error)


def test_recorded_leads_are_kept_and_one_limb_lead_derives_nothing(sample_dir):
    record = read_record(find_records(sample_dir)[0])
    kept = with_limb_leads(restricted(record, lead_mask(["I", "II", "aVF", "V2"])))
    np.testing.assert_array_equal(kept.signal[[0, 1, 5, 7]], record.signal[[0, 1, 5, 7]])
    alone = restricted(record, lead_mask(["II"]))
    assert with_limb_leads(alone) is alone


def test_views_with_and_without_derived_limb_leads():
    derived = [view_name(m) for m in views(True)]
    assert derived == ["-".join(TWELVE_LEADS), "I-II-III-aVR-aVL-aVF", "I-II-III-aVR-aVL-aVF-V2"]
    assert [view_name(m) for m in views(False)] == ["-".join(LEAD_SETS[n]) for n in (12, 6, 4, 3, 2)]
    masks = views(True)
    # 6 and 2 leads share a view, and so do 4 and 3; a lone lead gets the smallest view holding it
    assert {view_of(effective_mask(lead_mask(LEAD_SETS[n]), True), masks) for n in (6, 2)} == {1}
    assert {view_of(effective_mask(lead_mask(LEAD_SETS[n]), True), masks) for n in (4, 3)} == {2}
    assert view_of(lead_mask(["I"]), masks) == 1 and view_of(lead_mask(["V2"]), masks) == 2
    assert view_of(lead_mask(["V5"]), masks) == 0 and view_of(lead_mask(["I", "II", "V1"]), masks) == 0


class _Constant(FeatureModel):
    """A feature model that answers one probability for every class."""

    def __init__(self, value: float, classes: int):
        super().__init__([], np.full(classes, value))

    def probabilities_of(self, x):
        return np.tile(self.prevalence, (len(x), 1))


def test_a_record_is_fused_by_the_feature_model_of_its_view():
    """Weights (0, 1, 0) give each view's feature model alone: a 2-lead record's outputs are
    the 2-lead view's, which differ from the 12-lead view's."""
    c = 3
    members = [Fusion(_Constant(p, c), np.tile([0.0, 1.0, 0.0], (c, 1))) for p in (0.1, 0.6, 0.9)]
    fusion = LeadSetFusion(views(True), members)
    present = np.stack([effective_mask(lead_mask(LEAD_SETS[n]), True) for n in (12, 6, 4, 3, 2)])
    fused = fusion.combine_designs(np.full((5, c), 0.5), np.zeros((5, 4)), present)
    np.testing.assert_allclose(fused[:, 0], [0.1, 0.6, 0.9, 0.9, 0.6], atol=1e-6)


def test_examples_in_a_view_are_their_reduced_copies(synthetic_train, small_config, tmp_path):
    """A cached record in the limb-lead view has the meta vector and the features of its
    6-lead copy read as a record (a 2-lead copy derives the same leads from I and II, equal on
    real records within TOLERANCE_MV; the generator's independent noise per lead makes them
    differ slightly on synthetic ones)."""
    cfg = small_config()
    classes = load_classes()
    examples = load_examples(synthetic_train, classes, cfg).subset(np.arange(6))
    masks = views(True)
    two = examples.in_view(1, masks)
    assert (two.meta[:, LEAD_MASK] > 0).tolist() == [list(masks[1])] * 6
    assert (two.meta[:, LEAD_SCALE][:, 6:] == 0).all() and (two.meta[:, LEAD_SCALE][:, :6] != 0).all()
    assert not two.signals[0][:, 6:].any() and two.signals[0][:, :6].any()
    for i, name in enumerate(two.names[:2]):
        record = as_seen(read_record(synthetic_train / f"{name}.hea"), masks[1], True)
        np.testing.assert_allclose(two.features[i], record_features(record), equal_nan=True, rtol=1e-5, atol=1e-6)


def test_batches_give_a_reduced_record_its_view_features(synthetic_train, small_config):
    from ecgcinc.training.train import Batches, class_targets
    cfg = small_config(augment={"enabled": ["reduced_leads"], "reduced_leads_probability": 1.0},
                       model={"wide_features": True})
    classes = load_classes()
    examples = load_examples(synthetic_train, classes, cfg).subset(np.arange(32))
    batches = Batches(examples, class_targets(examples, classes, cfg), cfg, with_domain=False)
    _, meta, rows = batches.batch_inputs(0)
    present = meta[:, LEAD_MASK] > 0
    features = meta[:, LEAD_SCALE.stop:]
    seen = set()
    for i, row in enumerate(rows):
        view = view_of(present[i], batches.views)
        seen.add(view)
        assert view in (1, 2)   # every record was reduced to a view's leads
        np.testing.assert_array_equal(features[i], examples.view_features[row, view - 1])
    assert seen == {1, 2}


def test_lead_set_names_on_the_command_line():
    assert lead_set_leads("2") == ("I", "II") and lead_set_leads("II") == ("II",)
    assert lead_set_leads("I+V5") == ("I", "V5") and lead_set_name("I+V5") == "I, V5"
    assert lead_set_name("6") == "6 leads" and lead_set_name("II") == "II alone"
    with pytest.raises(ValueError, match="no 5-lead set"):
        lead_set_leads("5")
    with pytest.raises(ValueError, match="unknown lead"):
        lead_set_leads("I+V7")


def test_a_unit_in_a_lead_set_is_scored_on_that_set():
    classes = load_classes()
    labels = np.zeros((4, len(classes)), dtype=bool)
    labels[:, 0] = [True, False, True, False]
    right, wrong = labels.copy(), ~labels
    unit = Unit("holdout", 0, {}, labels, right, {"binary": right, "probabilities": right * 1.0,
                                                   "binary@2 leads": wrong, "probabilities@2 leads": wrong * 1.0})
    reduced = in_lead_set(classes, unit, "2 leads")
    assert reduced.binary is wrong and reduced.arrays["binary"] is wrong
    assert reduced.scores["auroc"] < 0.5


def test_a_two_lead_record_uses_the_two_lead_feature_model(trained_model, sample_dir):
    """Through team_code on a real record: the 2-lead predictor's fused probabilities are those
    of the 2-lead view's member (its own features and weights), and differ from what the
    12-lead view's member would give the same record."""
    header_path = find_records(sample_dir)[0]
    header = helper_code.load_header(str(header_path))
    predictor = team_code.load_model(str(trained_model), ("I", "II"))
    fusion = predictor.fusion
    assert fusion is not None and len(fusion.members) == 3
    seen = harness_record(header, helper_code.load_recording(str(header_path.with_suffix(".mat"))))
    x, meta, design, present = predictor.inputs(seen)
    assert view_of(present, fusion.views) == 1
    from ecgcinc.serving.inference import signal_probabilities
    raw = signal_probabilities(predictor.network, [x], meta[None], predictor.cfg.preprocess)
    own = fusion.members[1].combine(raw, fusion.members[1].feature_model.probabilities_of(design[None]))
    other = fusion.members[0].combine(raw, fusion.members[0].feature_model.probabilities_of(design[None]))
    got = predictor.probabilities([seen])
    np.testing.assert_allclose(got, predictor.calibration.apply(own), rtol=1e-6)
    assert np.abs(own - other).max() > 1e-3
    two_lead = as_seen(seen, lead_mask(["I", "II"]), True)
    assert two_lead.mask[:6].all() and not two_lead.mask[6:].any()
    np.testing.assert_allclose(design[:-5], record_features(two_lead), equal_nan=True, rtol=1e-5, atol=1e-6)


def test_compare_arms_compares_two_saved_arms_on_a_lead_set(tmp_path):
    """Two arms' saved holdout units: on '2 leads' the variant is right where the reference is
    wrong, so its paired difference there is positive; on 12 leads they are equal."""
    import json

    from ecgcinc.evidence.arms import RESULT_FILE, TEST_FILE
    from ecgcinc.evidence.class_scores import compare_saved
    classes = load_classes()
    rng = np.random.default_rng(0)
    labels = rng.random((60, len(classes))) < 0.2
    labels[:, classes.sinus_index] = ~labels.any(axis=1)
    for arm, reduced in (("reference", ~labels), ("variant", labels)):
        for seed in range(2):
            unit = tmp_path / arm / f"holdout-seed{seed}"
            unit.mkdir(parents=True)
            arrays = {"names": np.array([f"R{i}" for i in range(60)]), "labels": labels, "binary": labels,
                      "probabilities": labels * 1.0, "binary@2 leads": reduced, "probabilities@2 leads": reduced * 1.0}
            np.savez(unit / TEST_FILE, **arrays)
            (unit / RESULT_FILE).write_text(json.dumps({"scores": {"challenge": 1.0, "auroc": 1.0, "f_measure": 1.0}}))
    compare_saved(tmp_path / "reference", tmp_path / "variant", tmp_path / "out", ("reference", "variant"),
                  ["2 leads"])
    text = (tmp_path / "out" / "compare_lead_sets.md").read_text()
    variant = next(line for line in text.splitlines() if line.startswith("| 2 leads | variant"))
    assert "| helps |" in variant and "1.000 ± 0.000" in variant
    with pytest.raises(ValueError, match="lead set '2': the unit was scored on 2 leads"):
        compare_saved(tmp_path / "reference", tmp_path / "variant", tmp_path / "out2", ("reference", "variant"),
                      ["2"])  # a set the units were not scored on is not their 12-lead scores
