"""The networks, in Keras 3 with `keras.ops` only (TensorFlow on CPU, JAX on GPU).

- ResNet-CWA (Liu et al. 2021): full pre-activation residual blocks (BN -> ReLU ->
  dropout -> conv, twice; identity or 1x1 projection shortcut), max-pool /2 after
  each block, then class-wise attention: one 1x1-conv key channel per class,
  softmax over time, and the attention-weighted sum of the feature map as that
  class's vector; one dense+sigmoid per class on [vector, meta].
- CNN+BiLSTM (Hasani et al. 2020): a coarse-kernel and a fine-kernel conv stack,
  each max-pooled into a bidirectional LSTM; both vectors and the meta vector
  feed per-class sigmoid units.
- Domain head: gradient reversal -> 2-layer MLP -> softmax over source domains, on the
  pooled features or on the class-wise attention vectors.
- Wide branch (optional): the classic features of features.py, scaled inside the
  network by training-set statistics (FeatureScaling), join the meta vector, so
  they reach every class head next to the deep features; optionally also through
  a hidden ReLU layer (`wide_hidden`).
- Beat branch (optional, beat_branch.py): the record's beat table encoded over
  beats, joined to the same record-level vector.

`meta` carries age/sex with missing flags, the lead mask and the lead scales, then
(wide branch) the raw classic features, then (beat branch) the flattened beat table.
"""
from __future__ import annotations

import warnings
from typing import Callable

from .framework import keras
import numpy as np
from keras import layers, ops

from .beat_branch import Columns, beat_vector
from ..signals.beats import BEAT_TABLE_SIZE
from ..core.config import ModelConfig
from ..signals.preprocess import LEAD_MASK, N_META

PACKAGE = "ecgcinc"
# The heads (attention softmax, sigmoids, domain softmax) always compute in float32: under the
# mixed_bfloat16 policy only the convolutions run in bfloat16.
HEAD_DTYPE = "float32"
# The BiLSTMs too: on a GPU, JAX runs Keras's LSTM through cuDNN's fused kernel, which has no
# bfloat16 variant ("Unknown output type bfloat16", seen on an H200; docs/performance.md).
RNN_DTYPE = "float32"


@keras.saving.register_keras_serializable(package=PACKAGE)
class GradientReversal(layers.Layer):
    """Identity forward, -strength x gradient backward.

    Written as stop_gradient(x (1 + s)) - s x, which is x in value and has
    derivative -s, so it needs no backend-specific custom gradient.  The
    strength is a non-trainable variable that a callback ramps during training.
    """

    def __init__(self, strength: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_strength = float(strength)

    def build(self, input_shape):
        self.strength = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_strength),
                                        trainable=False, name="strength")

    def call(self, x):
        s = ops.cast(self.strength, x.dtype)
        return ops.stop_gradient(x * (1.0 + s)) - s * x

    def get_config(self):
        return {**super().get_config(), "strength": self.initial_strength}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClassWiseAttention(layers.Layer):
    """(B, T, F) -> class vectors (B, C, F) and attention (B, T, C), softmax over T."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        features = input_shape[-1]
        self.key_kernel = self.add_weight(shape=(features, self.num_classes), initializer="glorot_uniform",
                                          name="key_kernel")
        self.key_bias = self.add_weight(shape=(self.num_classes,), initializer="zeros", name="key_bias")

    def call(self, h):
        keys = ops.einsum("btf,fc->btc", h, self.key_kernel) + self.key_bias
        attention = ops.softmax(keys, axis=1)
        vectors = ops.einsum("btc,btf->bcf", attention, h)
        return vectors, attention

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClassDense(layers.Layer):
    """One dense unit per class on that class's own vector: (B, C, D) -> (B, C) logits."""

    def build(self, input_shape):
        classes, dim = input_shape[-2], input_shape[-1]
        self.kernel = self.add_weight(shape=(classes, dim), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(classes,), initializer="zeros", name="bias")

    def call(self, x):
        return ops.einsum("bcd,cd->bc", x, self.kernel) + self.bias


@keras.saving.register_keras_serializable(package=PACKAGE)
class RepeatMeta(layers.Layer):
    """(B, M) -> (B, C, M): the meta vector appended to every class vector."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def call(self, meta):
        return ops.repeat(ops.expand_dims(meta, 1), self.num_classes, axis=1)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package=PACKAGE)
class FeatureScaling(layers.Layer):
    """Meta (B, offset + F) whose last F entries are raw features, NaN for missing ->
    [meta[:, :offset], (x - centre) / scale clipped to +-5, missing flags] (B, offset + 2F).
    Centre and scale are non-trainable weights set from the training set (set_statistics),
    so a saved model carries them and inference needs no side file."""

    def __init__(self, offset: int = N_META, **kwargs):
        super().__init__(**kwargs)
        self.offset = int(offset)

    def build(self, input_shape):
        n = input_shape[-1] - self.offset
        self.centre = self.add_weight(shape=(n,), initializer="zeros", trainable=False, name="centre")
        self.scale = self.add_weight(shape=(n,), initializer="ones", trainable=False, name="scale")

    def set_statistics(self, features) -> None:
        """Median and robust spread (IQR / 1.349, floored) of the training features, NaN ignored;
        a feature missing in every record (a lead absent from a whole lead-set view) keeps 0 and 1."""
        finite = np.where(np.isfinite(features), features, np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy's all-NaN-column warnings
            centre = np.nan_to_num(np.nanmedian(finite, axis=0))
            q75, q25 = np.nanpercentile(finite, [75, 25], axis=0)
            spread = np.nan_to_num((q75 - q25) / 1.349, nan=1.0)
            std = np.nan_to_num(np.nanstd(finite, axis=0), nan=1.0)
        self.centre.assign(centre.astype("float32"))
        self.scale.assign(np.maximum(np.maximum(spread, 0.1 * std), 1e-3).astype("float32"))

    def call(self, meta):
        # Variables as tensors: JAX's where() takes no Keras variable.
        centre, scale = ops.convert_to_tensor(self.centre), ops.convert_to_tensor(self.scale)
        x = meta[:, self.offset:]
        missing = ops.isnan(x)
        scaled = ops.clip((ops.where(missing, centre, x) - centre) / scale, -5.0, 5.0)
        return ops.concatenate([meta[:, : self.offset], scaled, ops.cast(missing, scaled.dtype)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


def _preact_block(x, filters: int, kernel: int, dropout: float, name: str):
    shortcut = x if x.shape[-1] == filters else layers.Conv1D(filters, 1, name=f"{name}_proj")(x)
    y = x
    for i in (1, 2):
        y = layers.BatchNormalization(name=f"{name}_bn{i}")(y)
        y = layers.Activation("relu", name=f"{name}_relu{i}")(y)
        if dropout:
            y = layers.Dropout(dropout, name=f"{name}_drop{i}")(y)
        y = layers.Conv1D(filters, kernel, padding="same", use_bias=False, name=f"{name}_conv{i}")(y)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.MaxPooling1D(2, padding="same", name=f"{name}_pool")(y)


def resnet_features(signal, cfg: ModelConfig):
    if len(cfg.filters) != len(cfg.kernels):
        raise ValueError("model.filters and model.kernels need the same length")
    x = layers.Conv1D(cfg.filters[0], cfg.kernels[0], padding="same", use_bias=False, name="stem")(signal)
    for i, (filters, kernel) in enumerate(zip(cfg.filters, cfg.kernels)):
        x = _preact_block(x, filters, kernel, cfg.dropout, f"block{i + 1}")
    x = layers.BatchNormalization(name="final_bn")(x)
    return layers.Activation("relu", name="final_relu")(x)


def _branch(signal, kernels: list[int], filters: list[int], units: int, name: str):
    x = signal
    for i, (kernel, f) in enumerate(zip(kernels, filters)):
        x = layers.Conv1D(f, kernel, padding="same", use_bias=False, name=f"{name}_conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i + 1}")(x)
        x = layers.MaxPooling1D(4 if i < len(kernels) - 1 else 2, padding="same", name=f"{name}_pool{i + 1}")(x)
    return layers.Bidirectional(layers.LSTM(units, dtype=RNN_DTYPE), name=f"{name}_bilstm", dtype=RNN_DTYPE)(x)


def _meta_branch(meta_input, cfg: ModelConfig):
    """The record-level vector the heads see: the meta vector; with the wide branch, the classic
    features scaled by the training set's statistics and flagged where missing; with the beat
    branch, the encoded beat table; with wide_hidden, also a ReLU layer on all of these (the
    non-linear path: a head alone is linear in them)."""
    head = meta_input
    if cfg.beat_branch:
        head = Columns(0, meta_input.shape[-1] - BEAT_TABLE_SIZE, name="record_columns", dtype=HEAD_DTYPE)(meta_input)
    if cfg.wide_features:
        head = FeatureScaling(N_META, name="wide_scaling", dtype=HEAD_DTYPE)(head)
    parts = [head]
    if cfg.beat_branch:
        parts.append(beat_vector(meta_input, cfg.beat_units, HEAD_DTYPE))
    joined = layers.Concatenate(name="record_vector", dtype=HEAD_DTYPE)(parts) if len(parts) > 1 else head
    if not cfg.wide_hidden:
        return joined
    hidden = layers.Dense(cfg.wide_hidden, activation="relu", name="wide_hidden", dtype=HEAD_DTYPE)(joined)
    return layers.Concatenate(name="record_paths", dtype=HEAD_DTYPE)([joined, hidden])


def _dense_heads(vector, meta, num_classes: int):
    """One sigmoid unit per class on [shared vector, meta]."""
    joined = layers.Concatenate(name="join", dtype=HEAD_DTYPE)([vector, meta])
    return layers.Dense(num_classes, activation="sigmoid", name="classes", dtype=HEAD_DTYPE)(joined)


def _resnet_cwa(signal, meta, cfg: ModelConfig, num_classes: int):
    """ResNet features -> class-wise attention vectors -> one dense unit per class on [vector,
    meta] (or, without attention, global average pooling and shared dense heads)."""
    features = resnet_features(signal, cfg)
    pooled = layers.GlobalAveragePooling1D(name="gap")(features)
    if not cfg.attention:
        return _dense_heads(pooled, meta, num_classes), pooled
    vectors, _ = ClassWiseAttention(num_classes, name="cwa", dtype=HEAD_DTYPE)(features)
    repeated = RepeatMeta(num_classes, name="meta_rep", dtype=HEAD_DTYPE)(meta)
    joined = layers.Concatenate(axis=-1, name="join")([vectors, repeated])
    logits = ClassDense(name="class_dense", dtype=HEAD_DTYPE)(joined)
    probabilities = layers.Activation("sigmoid", name="classes", dtype=HEAD_DTYPE)(logits)
    return probabilities, vectors if cfg.domain_attach == "class_vectors" else pooled


def _cnn_bilstm(signal, meta, cfg: ModelConfig, num_classes: int):
    """Coarse- and fine-kernel branches, each into a BiLSTM; their vectors and meta feed the heads."""
    kernels = {"coarse": cfg.coarse_kernels, "fine": cfg.fine_kernels}
    unknown = [b for b in cfg.branches if b not in kernels]
    if unknown or not cfg.branches:
        raise ValueError(f"model.branches {cfg.branches!r}: choose one or both of {', '.join(kernels)}")
    vectors = [_branch(signal, kernels[b], cfg.cnn_filters, cfg.lstm_units, b) for b in cfg.branches]
    features = layers.Concatenate(name="features")(vectors) if len(vectors) > 1 else vectors[0]
    return _dense_heads(features, meta, num_classes), features


BACKBONES: dict[str, Callable] = {"resnet_cwa": _resnet_cwa, "cnn_bilstm": _cnn_bilstm}
DOMAIN_ATTACH = ("pooled", "class_vectors")


def _domain_head(vector, cfg: ModelConfig, num_domains: int):
    if len(vector.shape) == 3:  # class-wise vectors (B, C, F)
        vector = layers.Flatten(name="domain_flatten")(vector)
    x = GradientReversal(0.0, name="grad_reverse", dtype=HEAD_DTYPE)(vector)
    x = layers.Dense(cfg.domain_hidden, activation="relu", name="domain_hidden", dtype=HEAD_DTYPE)(x)
    return layers.Dense(num_domains, activation="softmax", name="domain", dtype=HEAD_DTYPE)(x)


def build_model(cfg: ModelConfig, window: int, num_classes: int, num_meta: int,
                num_domains: int = 0) -> keras.Model:
    """Training network: inputs [signal (window, 12), meta]; outputs `classes` and, with a
    domain head and at least two domains, `domain`."""
    if cfg.backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {cfg.backbone!r}; use one of {', '.join(BACKBONES)}")
    if cfg.domain_attach not in DOMAIN_ATTACH:
        raise ValueError(f"model.domain_attach {cfg.domain_attach!r}: choose one of {', '.join(DOMAIN_ATTACH)}")
    signal = keras.Input((window, 12), name="signal")
    meta_input = keras.Input((num_meta,), name="meta")
    probabilities, domain_input = BACKBONES[cfg.backbone](signal, _meta_branch(meta_input, cfg), cfg, num_classes)
    outputs = {"classes": probabilities}
    if cfg.domain_head and num_domains >= 2:
        outputs["domain"] = _domain_head(domain_input, cfg, num_domains)
    return keras.Model([signal, meta_input], outputs, name=cfg.backbone)


def backbone_layers(model: keras.Model, cfg: ModelConfig) -> list[layers.Layer]:
    """The layers that turn the signal into feature maps (the ResNet's stem, blocks and final
    normalisation; the CNN + BiLSTM's branches): what a head start keeps frozen when only the heads
    are fine-tuned."""
    prefixes = ("stem", "block", "final_") if cfg.backbone == "resnet_cwa" else tuple(f"{b}_" for b in cfg.branches)
    return [layer for layer in model.layers if layer.name.startswith(prefixes)]


def inference_model(model: keras.Model) -> keras.Model:
    """The class-probability part of a training network (no domain head)."""
    return keras.Model(model.inputs, model.get_layer("classes").output, name=f"{model.name}_inference")


def ensemble_network(members: list[keras.Model]) -> keras.Model:
    """One inference network averaging the class probabilities of member inference networks,
    so a fold ensemble saves, loads and runs through the same code as a single network.  Its
    output layer is named `classes` like a single network's."""
    if len(members) == 1:
        return members[0]
    signal = keras.Input(members[0].inputs[0].shape[1:], name="signal")
    meta = keras.Input(members[0].inputs[1].shape[1:], name="meta")
    outputs = []
    for i, member in enumerate(members, 1):
        member.name = f"member{i}"
        outputs.append(member([signal, meta]))
    return keras.Model([signal, meta], layers.Average(name="classes", dtype=HEAD_DTYPE)(outputs), name="ensemble")


@keras.saving.register_keras_serializable(package=PACKAGE)
class ViewRouter(layers.Layer):
    """[meta (B, M), p_1 (B, C), ..., p_V (B, C)] -> (B, C): each record's probabilities from the
    network of its lead-set view, the smallest of `masks` (V, 12) holding every lead the meta
    vector's lead mask (12 columns from `mask_start`) marks present, as lead_sets.views_of
    chooses; a record with leads outside every view goes to the first (all twelve)."""

    def __init__(self, masks: list[list[bool]], mask_start: int, **kwargs):
        super().__init__(**kwargs)
        self.masks = [[bool(x) for x in row] for row in masks]
        self.mask_start = int(mask_start)

    def call(self, inputs):
        meta, *probabilities = inputs
        present = ops.cast(meta[:, self.mask_start : self.mask_start + 12] > 0.5, "float32")
        masks = ops.convert_to_tensor(np.asarray(self.masks, dtype="float32"))
        outside = ops.matmul(present, ops.transpose(1.0 - masks))          # (B, V) leads a view lacks
        size = ops.where(outside > 0, 13.0, ops.sum(masks, axis=1)[None])
        # the first smallest view, as argmin would choose it: argmin on TensorFlow goes through a
        # bitcast (its -0.0 handling) that has no ONNX form, and this exports (ecgcinc export)
        smallest = ops.cast(ops.equal(size, ops.min(size, axis=1, keepdims=True)), "float32")
        chosen = ops.cast(ops.logical_and(smallest > 0, ops.equal(ops.cumsum(smallest, axis=1), 1.0)),
                          probabilities[0].dtype)
        return ops.einsum("bv,bvc->bc", chosen, ops.stack(probabilities, axis=1))

    def get_config(self):
        return {**super().get_config(), "masks": self.masks, "mask_start": self.mask_start}


def view_network(members: list[keras.Model], masks: np.ndarray) -> keras.Model:
    """One inference network from one member per lead-set view (lead_sets.views: `masks`), each
    record answered by its view's member (ViewRouter), so the folder, the experiments and every
    caller treat it as one network; the Predictor runs only the member a record needs
    (view_members).  Its output layer is named `classes` like a single network's."""
    signal = keras.Input(members[0].inputs[0].shape[1:], name="signal")
    meta = keras.Input(members[0].inputs[1].shape[1:], name="meta")
    outputs = []
    for v, member in enumerate(members):
        member.name = f"view{v}"
        outputs.append(member([signal, meta]))
    routed = ViewRouter(np.asarray(masks).tolist(), LEAD_MASK.start, name="classes", dtype=HEAD_DTYPE)([meta, *outputs])
    return keras.Model([signal, meta], routed, name="views")


def view_members(network: keras.Model) -> list[keras.Model] | None:
    """The per-view members of a view_network (None for any other network), so inference can
    run one member per record instead of all of them."""
    if not isinstance(network.get_layer("classes"), ViewRouter):
        return None
    return [network.get_layer(f"view{v}") for v in range(len(network.get_layer("classes").masks))]


def attention_model(model: keras.Model) -> keras.Model:
    """Class probabilities and the class-wise attention (B, T', C) of a ResNet-CWA network."""
    _, attention = model.get_layer("cwa").output
    return keras.Model(model.inputs, [model.get_layer("classes").output, attention])


def _lstm_flops(steps: int, inputs: int, units: int) -> int:
    """One direction: four gates, each a dense layer on [input, state], per time step."""
    return 2 * steps * 4 * units * (inputs + units)


def _layer_flops(layer) -> int:
    """Multiply-adds x 2 of one built layer, read from its own input shape and settings."""
    shape = tuple(layer.input.shape) if not isinstance(layer.input, (list, tuple)) else None
    if isinstance(layer, keras.Model):
        return forward_flops(layer)
    if isinstance(layer, layers.Conv1D):
        steps = layer.output.shape[1]
        return 2 * steps * layer.kernel_size[0] * shape[-1] * layer.filters
    if isinstance(layer, layers.Dense):
        return 2 * int(np.prod(shape[1:-1], dtype=np.int64)) * shape[-1] * layer.units
    if isinstance(layer, layers.Bidirectional):
        cells = (layer.forward_layer, layer.backward_layer)
        return sum(_lstm_flops(shape[1], shape[-1], cell.units) for cell in cells)
    if isinstance(layer, layers.LSTM):
        return _lstm_flops(shape[1], shape[-1], layer.units)
    if isinstance(layer, ClassWiseAttention):
        return 2 * 2 * shape[1] * shape[2] * layer.num_classes  # keys + weighted sums
    if isinstance(layer, ClassDense):
        return 2 * shape[1] * shape[2]
    return 0


def forward_flops(model: keras.Model) -> int:
    """Multiply-adds x 2 of one record's forward pass through a built network, counted from its
    layers (convolutions, dense, LSTMs, attention; the element-wise work, batch norm and pooling,
    is left out: it is small and not GEMM-bound)."""
    return sum(_layer_flops(layer) for layer in model.layers if not isinstance(layer, keras.layers.InputLayer))
