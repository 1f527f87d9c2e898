"""Networks, loss weights, gradient reversal and augmentations."""
import numpy as np
import pytest
import keras
from keras import ops

from ecgcinc.signals import augment
from ecgcinc.core.config import PAPER_CONFIG, ModelConfig, load_config
from ecgcinc.networks.loss_weights import benefit_weights, domain_annotation_mask
from ecgcinc.networks.losses import WeightedBCE, pack_targets
from ecgcinc.networks.models import GradientReversal, attention_model, build_model, forward_flops, inference_model
from ecgcinc.signals.preprocess import N_META, meta_size

SMALL = dict(filters=[8, 8, 16], kernels=[9, 9, 5], cnn_filters=[8, 8, 8], coarse_kernels=[9, 9, 5],
             fine_kernels=[3, 3, 3], lstm_units=4, domain_hidden=8, wide_features=False, domain_head=True)


@pytest.mark.parametrize("backbone", ["resnet_cwa", "cnn_bilstm"])
@pytest.mark.parametrize("attention", [True, False])
def test_output_shapes(backbone, attention):
    model = build_model(ModelConfig(backbone=backbone, attention=attention, **SMALL), 400, 26, N_META, 3)
    out = model.predict_on_batch([np.random.randn(5, 400, 12).astype("float32"), np.zeros((5, N_META), "float32")])
    assert out["classes"].shape == (5, 26) and out["domain"].shape == (5, 3)
    assert ((out["classes"] > 0) & (out["classes"] < 1)).all()
    np.testing.assert_allclose(out["domain"].sum(axis=1), 1.0, rtol=1e-5)


def test_no_domain_head_with_one_domain():
    model = build_model(ModelConfig(**SMALL), 400, 26, N_META, 1)
    assert model.output_names == ["classes"]


def test_attention_sums_to_one_over_time():
    model = build_model(ModelConfig(**SMALL), 400, 26, N_META, 2)
    _, attention = attention_model(model).predict_on_batch(
        [np.random.randn(3, 400, 12).astype("float32"), np.zeros((3, N_META), "float32")])
    assert attention.shape == (3, 50, 26)
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, rtol=1e-5)


def test_flops_are_counted_from_the_built_layers():
    """Hand counts (2 x multiply-adds) of tiny networks: each changed setting changes the count."""
    resnet = ModelConfig(filters=[4, 8], kernels=[3, 5], wide_features=False, domain_head=False)
    convs = 2 * 16 * (3 * 12 * 4 + 3 * 4 * 4 * 2) + 2 * 8 * (1 * 4 * 8 + 5 * 4 * 8 + 5 * 8 * 8)
    attention, heads = 2 * 2 * 4 * 8 * 2, 2 * 2 * (8 + N_META)
    assert forward_flops(build_model(resnet, 16, 2, N_META)) == convs + attention + heads
    wide = ModelConfig(filters=[4, 8], kernels=[3, 5], wide_features=True, domain_head=False)
    scaled = N_META + 2 * (meta_size(wide) - N_META)  # features scaled, plus their missing flags
    assert forward_flops(build_model(wide, 16, 2, meta_size(wide))) == convs + attention + 2 * 2 * (8 + scaled)
    lstm = ModelConfig(backbone="cnn_bilstm", branches=["fine"], fine_kernels=[3, 3], cnn_filters=[4, 4],
                       lstm_units=2, wide_features=False, domain_head=False)
    convs = 2 * 16 * 3 * 12 * 4 + 2 * 4 * 3 * 4 * 4
    bilstm = 2 * (2 * 2 * 4 * 2 * (4 + 2))
    assert forward_flops(build_model(lstm, 16, 2, N_META)) == convs + bilstm + 2 * (4 + N_META) * 2


def test_paper_model_cost_is_under_three_gflop():
    cfg = load_config(PAPER_CONFIG)
    model = build_model(cfg.model, cfg.preprocess.window, 26, meta_size(cfg.model))
    assert 1e8 < forward_flops(inference_model(model)) < 3e9


def _gradient(fn, x):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return tape.gradient(y, x).numpy()
    if keras.backend.backend() == "jax":
        import jax
        return np.asarray(jax.grad(fn)(x))
    pytest.skip("gradient check written for the tensorflow and jax backends")


def test_gradient_reversal_flips_and_scales_the_gradient():
    layer = GradientReversal(0.7)
    layer.build((4,))
    x = np.array([0.5, -1.0, 2.0, 3.0], dtype="float32")
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), x, rtol=1e-6)
    grad = _gradient(lambda v: ops.sum(ops.square(layer(v))), x)
    # d/dx sum(x^2) = 2x; through the layer it becomes -0.7 * 2x
    np.testing.assert_allclose(grad, -0.7 * 2 * x, rtol=1e-5)


def test_benefit_weights_by_hand():
    w = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.4], [0.2, 0.4, 1.0]])
    labels = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)
    mw = benefit_weights(labels, w, alpha=0.5)
    # record 0: row 0 of 1 - W + 0.5 I
    np.testing.assert_allclose(mw[0], [0.5, 0.5, 0.8])
    # record 1: minimum of rows 0 and 1: [0.5, 0.5, 0.8] and [0.5, 0.5, 0.6]
    np.testing.assert_allclose(mw[1], [0.5, 0.5, 0.6])
    np.testing.assert_allclose(mw[2], [1, 1, 1])


def test_domain_mask_by_hand():
    # class 3 has no positive in any domain: it is learnt as absent everywhere, not masked
    labels = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 0]], dtype=bool)
    domains = np.array([0, 0, 1, 1])
    md = domain_annotation_mask(labels, domains)
    np.testing.assert_array_equal(md, [[1, 1, 0, 1], [1, 1, 0, 1], [1, 0, 1, 1], [1, 0, 1, 1]])


def test_weighted_bce_zero_weight_ignores_the_class():
    loss = WeightedBCE()
    y_pred = np.array([[0.9, 0.1]], dtype="float32")
    full = pack_targets(np.array([[0, 1]]), np.array([[1.0, 1.0]]))
    masked = pack_targets(np.array([[0, 1]]), np.array([[0.0, 1.0]]))
    a, b = float(loss(full, y_pred)), float(loss(masked, y_pred))
    assert b == pytest.approx(-np.log(0.1) / 2, rel=1e-4) and a == pytest.approx(-np.log(0.1), rel=1e-4)
    assert float(WeightedBCE(gamma=2.0)(full, y_pred)) < a


def test_saved_and_loaded_model_predict_the_same(tmp_path):
    model = build_model(ModelConfig(**SMALL), 400, 26, N_META, 2)
    x = [np.random.randn(2, 400, 12).astype("float32"), np.random.rand(2, N_META).astype("float32")]
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_allclose(inference_model(loaded).predict_on_batch(x),
                               inference_model(model).predict_on_batch(x), rtol=1e-5, atol=1e-6)


# --- augmentations ---------------------------------------------------------

@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 500, 12)).astype("float32")
    leads = np.stack([np.ones((16, 12)), rng.normal(size=(16, 12))], axis=-1).astype("float32")
    return x, leads


def test_zero_lead(batch):
    x, leads = batch
    y, l2 = augment.zero_lead(x, leads, np.random.default_rng(1), p=1.0)
    assert y.shape == x.shape and l2.shape == leads.shape
    zeroed = np.all(y == 0, axis=1)
    assert (zeroed.sum(axis=1) == 1).all() and (l2[zeroed] == 0).all()


def test_noise_lead(batch):
    x, _ = batch
    y = augment.noise_lead(x, np.random.default_rng(1), 1.0, fs=100)
    changed = np.any(y != x, axis=1)
    assert (changed.sum(axis=1) == 1).all()
    replaced = y.transpose(0, 2, 1)[changed]
    assert np.abs(np.diff(replaced, axis=1)).mean() < 0.2 * np.abs(np.diff(x[:, :, 0], axis=1)).mean()


def test_shuffle_leads_permutes_signal_and_features_together(batch):
    x, leads = batch
    y, l2 = augment.shuffle_leads(x, leads, np.random.default_rng(1), 1.0)
    for i in range(len(x)):
        order = [int(np.flatnonzero(np.all(x[i] == y[i][:, [k]], axis=0))[0]) for k in range(12)]
        np.testing.assert_array_equal(l2[i], leads[i][order])


def test_invert_leads(batch):
    x, _ = batch
    y = augment.invert_leads(x, np.random.default_rng(1), 1.0)
    flipped = np.all(y == -x, axis=1)
    assert (flipped | np.all(y == x, axis=1)).all() and flipped.any()


def test_random_bandpass_removes_low_frequency():
    t = np.arange(1000) / 100
    x = np.tile((np.sin(2 * np.pi * 0.1 * t) + np.sin(2 * np.pi * 10 * t))[None, :, None], (4, 1, 12)).astype("float32")
    y = augment.random_bandpass(x, np.random.default_rng(1), 1.0, fs=100)
    slow = np.sin(2 * np.pi * 0.1 * t)
    assert abs(np.corrcoef(y[0, :, 0], slow)[0, 1]) < 0.2 and y.shape == x.shape


def test_scale_offset_and_baseline(batch):
    x, _ = batch
    y = augment.scale_offset(x, np.random.default_rng(1), 1.0)
    ratio = (y[:, 1] - y[:, 0]) / (x[:, 1] - x[:, 0])
    assert ((ratio > 0.69) & (ratio < 1.31)).all()
    z = augment.baseline_artefact(np.zeros_like(x), np.random.default_rng(1), 1.0, fs=100)
    assert np.abs(z).max() > 0.05 and np.abs(np.diff(z, axis=1)).max() < 0.05


def test_short_crop_pads_with_zeros(batch):
    x, _ = batch
    y = augment.short_crop(x, np.random.default_rng(1), 1.0, fs=100)
    assert y.shape == x.shape and (y[:, -1] == 0).all() and (y[:, 0] != 0).any()


def test_reduced_leads_keeps_a_challenge_set(batch):
    x, leads = batch
    y, l2 = augment.reduced_leads(x, leads, np.random.default_rng(1), 1.0)
    kept = {tuple(np.flatnonzero(l2[i, :, 0])) for i in range(len(x))}
    allowed = {(0, 1, 2, 3, 4, 5), (0, 1, 2, 7), (0, 1, 7), (0, 1)}
    assert kept <= allowed and (y[l2[..., 0][:, None, :].repeat(500, 1) == 0] == 0).all()


def test_crop_or_pad():
    rng = np.random.default_rng(0)
    long = np.arange(3000 * 12, dtype="float32").reshape(3000, 12)
    assert augment.crop_or_pad(long, 1000, rng).shape == (1000, 12)
    short = np.ones((300, 12), "float32")
    out = augment.crop_or_pad(short, 1000, None)
    assert out[:300].sum() == 3600 and out[300:].sum() == 0


def test_unknown_augmentation_is_rejected(batch):
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment.augment_batch(*batch, np.random.default_rng(0), ["mirror"], 0.1, 100, 0.1)


@pytest.mark.slow  # trains both networks a few steps
@pytest.mark.parametrize("backbone", ["resnet_cwa", "cnn_bilstm"])
def test_mixed_bfloat16_trains_with_float32_heads(backbone, small_config, tmp_path):
    from ecgcinc.core.classes import load_classes
    from ecgcinc.serving.inference import forward
    from ecgcinc.serving.predict import load_predictor
    from ecgcinc.decision.calibration import Calibration
    from ecgcinc.signals.preprocess import meta_size
    from ecgcinc.decision.rule import Decision
    from ecgcinc.serving.model_folder import save
    from ecgcinc.training.train import compile_model
    cfg = small_config(model={"backbone": backbone, "domain_head": True, "fusion": False},
                       train={"mixed_precision": True})
    model = compile_model(cfg, cfg.preprocess.window, 26, 3, 5)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert {layer.compute_dtype for layer in model.layers if "conv" in layer.name} == {"bfloat16"}
    assert model.get_layer("classes").compute_dtype == "float32" == model.get_layer("domain").compute_dtype
    # cuDNN's fused LSTM (JAX on a GPU) has no bfloat16 kernel: the BiLSTMs stay float32
    assert {layer.compute_dtype for layer in model.layers if "bilstm" in layer.name} <= {"float32"}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, cfg.preprocess.window, 12)).astype(np.float32)
    meta = np.zeros((4, meta_size(cfg.model)), np.float32)
    y = {"classes": pack_targets(rng.random((4, 26)) < 0.2, np.ones((4, 26))), "domain": np.array([0, 1, 2, 0])}
    assert np.all(np.isfinite(model.train_on_batch((x, meta), y)))
    classes = load_classes()
    save(tmp_path, model, cfg, classes, Decision(Calibration.identity(26), np.full(26, 0.5)), {},
         np.eye(26, dtype=bool))
    probabilities = forward(load_predictor(tmp_path).network, x, meta)
    assert probabilities.dtype == np.float32 and np.all((probabilities >= 0) & (probabilities <= 1))


def test_wide_branch_scales_features_and_flags_missing_ones():
    from ecgcinc.signals.features import N_FEATURES
    from ecgcinc.signals.preprocess import meta_size
    wide = ModelConfig(**{**SMALL, "wide_features": True})
    model = build_model(wide, 400, 26, meta_size(wide), 2)
    rng = np.random.default_rng(0)
    train_features = rng.normal(5.0, 2.0, (200, N_FEATURES))
    scaling = model.get_layer("wide_scaling")
    scaling.set_statistics(train_features)
    assert np.allclose(np.asarray(scaling.centre), np.median(train_features, axis=0), atol=1e-4)
    features = train_features[:3].copy()
    features[0, :10] = np.nan
    meta = np.concatenate([np.zeros((3, N_META)), features], axis=1).astype("float32")
    scaled = np.asarray(scaling(meta))
    assert scaled.shape == (3, N_META + 2 * N_FEATURES) and np.isfinite(scaled).all()
    assert (scaled[0, N_META + N_FEATURES : N_META + N_FEATURES + 10] == 1).all()   # missing flags
    assert (scaled[0, N_META : N_META + 10] == 0).all() and (scaled[1, N_META + N_FEATURES :] == 0).all()
    out = model.predict_on_batch([rng.normal(size=(3, 400, 12)).astype("float32"), meta])
    assert np.isfinite(out["classes"]).all()


def test_ensemble_network_averages_its_members():
    from ecgcinc.networks.models import ensemble_network
    members = []
    for seed in range(2):
        keras.utils.set_random_seed(seed)
        members.append(inference_model(build_model(ModelConfig(**SMALL), 400, 26, N_META, 0)))
    x = [np.random.randn(2, 400, 12).astype("float32"), np.random.rand(2, N_META).astype("float32")]
    expected = (members[0].predict_on_batch(x) + members[1].predict_on_batch(x)) / 2
    ensemble = ensemble_network(members)
    np.testing.assert_allclose(ensemble.predict_on_batch(x), expected, rtol=1e-5, atol=1e-6)
    assert inference_model(ensemble).output_shape == (None, 26)


@pytest.mark.parametrize("wide", [True, False], ids=["wide", "no wide"])
def test_beat_branch_reads_the_tail_of_the_meta_input(wide):
    """The beat table is the last BEAT_TABLE_SIZE columns of the meta input whatever comes before
    it; a record without beats (all-zero table) gets finite outputs; the table moves them."""
    from ecgcinc.signals.beats import BEAT_COLUMNS, BEAT_TABLE_SIZE, MAX_BEATS
    from ecgcinc.signals.features import N_FEATURES
    from ecgcinc.signals.preprocess import network_meta
    cfg = ModelConfig(**{**SMALL, "wide_features": wide, "beat_branch": True, "wide_hidden": 8})
    assert meta_size(cfg) == N_META + (N_FEATURES if wide else 0) + BEAT_TABLE_SIZE
    model = build_model(cfg, 400, 26, meta_size(cfg), 0)
    rng = np.random.default_rng(0)
    tables = np.zeros((2, MAX_BEATS, len(BEAT_COLUMNS)), np.float32)
    tables[1, :10, 0] = 1.0
    tables[1, :10, 1:] = rng.normal(size=(10, len(BEAT_COLUMNS) - 1))
    meta = network_meta(np.zeros((2, N_META)), np.zeros((2, N_FEATURES)), tables, cfg)
    assert meta.shape == (2, meta_size(cfg))
    x = np.zeros((2, 400, 12), np.float32)
    out = np.asarray(model.predict([x, meta], verbose=0)["classes"])
    assert np.isfinite(out).all() and not np.allclose(out[0], out[1])
