"""Dreamer building blocks (V1 / V2 / V3): the V3 dense unit, image encoders and decoders, and the
recurrent state-space model (RSSM).

Every layer creates its weights in ``build`` from static shapes, so a caller can build a model once
(eagerly or on the first trace) and then run it inside ``tf.function(jit_compile=True)``; the RSSM
builds itself in its constructor because it is used inside ``tf.scan`` loops, where no variable
may be created.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from srl_tf.distributions import split_seed, straight_through_sample, unimix_logits
from srl_tf.errors import ConfigError

tfd = tfp.distributions

State = dict  # name → tensor; see RSSM for the keys


def _check_positive_int(owner: str, **values) -> None:
    for name, v in values.items():
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ConfigError(f"{owner} {name}={v!r} must be a positive integer.")


def _flatten_images(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(..., H, W, C) → (N, H, W, C) and the leading shape, so that any batch rank is accepted."""
    h, w, c = x.shape[-3:]
    return tf.reshape(x, [-1, h, w, c]), tf.shape(x)[:-3]


@functools.cache
def _fused_norm_act(activation: str, epsilon: float) -> Callable:
    """``act(LayerNorm(x))`` over the last axis as one XLA computation, forward and backward.

    On a CPU the world model's half of the train step runs in TensorFlow's runtime (its convolutions
    are faster there than under XLA), where a LayerNorm and SiLU on image activations are a dozen
    separate passes over memory each way; on 64 × 64 pixels they took more thread time than the
    convolutions themselves. Compiled together they are one pass forward and one back. The gradient
    recomputes the normalisation from ``x`` (nothing else is kept for it). Statistics and the
    activation are computed in float32; the output has the input's dtype."""
    act = keras.activations.get(activation)

    def compute(x, gamma, beta):
        x32 = tf.cast(x, tf.float32)
        mean, var = tf.nn.moments(x32, axes=[-1], keepdims=True)
        y = (x32 - mean) * tf.math.rsqrt(var + epsilon) * gamma + beta
        return tf.cast(act(y), x.dtype)

    forward = tf.function(compute, jit_compile=True, autograph=False)

    @tf.function(jit_compile=True, autograph=False)
    def backward(x, gamma, beta, dy):
        with tf.GradientTape() as tape:
            tape.watch([x, gamma, beta])
            y = compute(x, gamma, beta)
        return tape.gradient(y, [x, gamma, beta], output_gradients=dy)

    @tf.custom_gradient
    def fused(x, gamma, beta):
        return forward(x, gamma, beta), lambda dy: backward(x, gamma, beta, dy)

    return fused


def norm_act(norm: keras.layers.LayerNormalization, activation: str, x: tf.Tensor) -> tf.Tensor:
    """``activation(norm(x))`` for a channel LayerNorm (scale and centre, the Keras defaults), fused
    (:func:`_fused_norm_act`); ``norm`` keeps its weights, so checkpoints are unchanged."""
    return _fused_norm_act(activation, float(norm.epsilon))(x, norm.gamma.value, norm.beta.value)


# --------------------------------------------------------------------------------------------
# Dense unit
# --------------------------------------------------------------------------------------------


class DenseNormAct(keras.layers.Layer):
    """The DreamerV3 MLP unit: Dense without bias → LayerNorm → SiLU.

    ``norm=False`` gives Dense (with bias) → activation, the V1 / V2 unit (e.g. ``activation='elu'``).
    """

    def __init__(self, units: int, activation: str = "silu", norm: bool = True, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("DenseNormAct", units=units)
        self.units = units
        self.activation_name = activation
        self.norm = norm
        self.act = keras.activations.get(activation)
        self.dense = keras.layers.Dense(units, use_bias=not norm)
        self.norm_layer = keras.layers.LayerNormalization(epsilon=1e-3) if norm else None

    def build(self, input_shape):
        self.dense.build(input_shape)
        if self.norm_layer is not None:
            self.norm_layer.build(tuple(input_shape[:-1]) + (self.units,))
        self.built = True

    def call(self, x):
        x = self.dense(x)
        if self.norm_layer is not None:
            x = self.norm_layer(x)
        return self.act(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name, "norm": self.norm}


class DenseStack(keras.layers.Layer):
    """:class:`DenseNormAct` units of the given widths and an optional linear output layer
    (zero-initialised for twohot heads, so that they predict 0 at first). Unlike a built
    ``keras.Sequential`` it accepts any number of leading batch axes, e.g. (B, T, F) or (H, N, F)."""

    def __init__(self, sizes: Sequence[int], activation: str = "silu", norm: bool = True,
                 out_dim: int | None = None, zero_init: bool = False, **kwargs):
        super().__init__(**kwargs)
        sizes = tuple(sizes)
        if any(not isinstance(s, int) or s <= 0 for s in sizes):
            raise ConfigError(f"DenseStack sizes={sizes!r} must all be positive integers.")
        self.units = [DenseNormAct(s, activation, norm) for s in sizes]
        init = "zeros" if zero_init else "glorot_uniform"
        # the output layer computes in float32 under a mixed precision policy too: heads and
        # distributions read its output
        self.out = keras.layers.Dense(out_dim, kernel_initializer=init, dtype="float32") if out_dim is not None else None

    def build(self, input_shape):
        width = input_shape[-1]
        for unit in self.units:
            unit.build((None, width))
            width = unit.units
        if self.out is not None:
            self.out.build((None, width))
        self.built = True

    def call(self, x):
        for unit in self.units:
            x = unit(x)
        return x if self.out is None else self.out(x)


# --------------------------------------------------------------------------------------------
# V1 / V2 image encoder and decoder
# --------------------------------------------------------------------------------------------


class ConvEncoderV2(keras.layers.Layer):
    """Dreamer V1/V2 image encoder: ``stages`` convolutions (kernel 4, stride 2, valid padding)
    with depth doubling (depth, 2·depth, 4·depth, ...), each followed by ``activation`` (ELU in V1,
    SiLU possible), then flattened. Input (..., H, W, C) float (normalised by the caller);
    output (..., features). 64×64 gives 2×2×8·depth features with the defaults."""

    def __init__(self, depth: int = 32, stages: int = 4, kernel: int = 4, activation: str = "elu", **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("ConvEncoderV2", depth=depth, stages=stages, kernel=kernel)
        self.depth, self.stages, self.kernel, self.activation_name = depth, stages, kernel, activation
        self.convs = [
            keras.layers.Conv2D(depth * 2**i, kernel, 2, padding="valid", activation=activation)
            for i in range(stages)
        ]

    def _sizes(self, h: int, w: int) -> list[tuple[int, int]]:
        sizes = [(h, w)]
        for _ in range(self.stages):
            h, w = (h - self.kernel) // 2 + 1, (w - self.kernel) // 2 + 1
            sizes.append((h, w))
        return sizes

    def min_size(self) -> int:
        """Smallest square input the encoder accepts."""
        size = 1
        for _ in range(self.stages):
            size = (size - 1) * 2 + self.kernel
        return size

    def build(self, input_shape):
        h, w, c = input_shape[-3:]
        if h is None or w is None or c is None:
            raise ConfigError(f"ConvEncoderV2 needs a static image shape, got {tuple(input_shape)}.")
        if min(h, w) < self.min_size():
            raise ConfigError(
                f"ConvEncoderV2: image {h}x{w} is smaller than the minimum {self.min_size()}x{self.min_size()} "
                f"for stages={self.stages}, kernel={self.kernel}; resize the image or lower stages."
            )
        sizes = self._sizes(h, w)
        channels = c
        for i, conv in enumerate(self.convs):
            conv.build((None, *sizes[i], channels))
            channels = conv.filters
        self.out_dim = sizes[-1][0] * sizes[-1][1] * channels
        self.built = True

    def call(self, x):
        x, lead = _flatten_images(tf.cast(x, tf.float32))
        for conv in self.convs:
            x = conv(x)
        return tf.reshape(x, tf.concat([lead, [self.out_dim]], axis=0))

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "stages": self.stages, "kernel": self.kernel,
                "activation": self.activation_name}


class ConvDecoderV2(keras.layers.Layer):
    """Dreamer V1/V2 image decoder: Dense → (H/2^s, W/2^s, 2^(s−1)·depth) → ``stages`` transposed
    convolutions (kernel 4, stride 2, same padding) halving the depth, the last one linear with
    C filters. Input (..., features); output (..., H, W, C) = ``output_shape``, the mean of the
    image likelihood. H and W must be multiples of 2^stages."""

    def __init__(self, output_shape: Sequence[int], depth: int = 32, stages: int = 4, kernel: int = 4,
                 activation: str = "elu", **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("ConvDecoderV2", depth=depth, stages=stages, kernel=kernel)
        self.image_shape = tuple(int(s) for s in output_shape)
        if len(self.image_shape) != 3:
            raise ConfigError(f"ConvDecoderV2 output_shape={self.image_shape!r} must be (H, W, C).")
        h, w, c = self.image_shape
        step = 2**stages
        if h % step or w % step or h < step or w < step:
            raise ConfigError(
                f"ConvDecoderV2: output {h}x{w} must be a positive multiple of 2**stages={step} in both "
                f"dimensions (stages={stages})."
            )
        self.depth, self.stages, self.kernel, self.activation_name = depth, stages, kernel, activation
        self.start = (h // step, w // step, depth * 2 ** (stages - 1))
        self.dense = keras.layers.Dense(math.prod(self.start))
        self.deconvs = [
            keras.layers.Conv2DTranspose(depth * 2**i, kernel, 2, padding="same", activation=activation)
            for i in reversed(range(stages - 1))
        ] + [keras.layers.Conv2DTranspose(c, kernel, 2, padding="same")]

    def build(self, input_shape):
        self.dense.build(input_shape)
        h, w, channels = self.start
        for deconv in self.deconvs:
            deconv.build((None, h, w, channels))
            h, w, channels = 2 * h, 2 * w, deconv.filters
        self.built = True

    def call(self, feat):
        feat = tf.cast(feat, self.compute_dtype)
        lead = tf.shape(feat)[:-1]
        x = tf.reshape(self.dense(feat), [-1, *self.start])
        for deconv in self.deconvs:
            x = deconv(x)
        return tf.reshape(x, tf.concat([lead, self.image_shape], axis=0))

    def get_config(self):
        return {**super().get_config(), "output_shape": self.image_shape, "depth": self.depth,
                "stages": self.stages, "kernel": self.kernel, "activation": self.activation_name}


# --------------------------------------------------------------------------------------------
# V3 residual image encoder and decoder
# --------------------------------------------------------------------------------------------


def v3_stages(height: int, width: int, min_resolution: int = 4, owner: str = "ResidualEncoderV3") -> int:
    """Number of stride-2 stages that bring an H×W image down to ``min_resolution`` (on the smaller
    side). Both sides must be ``min_resolution``·2^k with k >= 1; otherwise :class:`ConfigError`."""
    for name, size in (("height", height), ("width", width)):
        if size is None or size < 2 * min_resolution:
            raise ConfigError(
                f"{owner}: image {height}x{width} is too small; {name}={size} must be at least "
                f"{2 * min_resolution} (min_resolution={min_resolution} times 2)."
            )
        ratio = size // min_resolution
        if size % min_resolution or ratio & (ratio - 1):
            raise ConfigError(
                f"{owner}: image {height}x{width} is not supported; {name}={size} must be min_resolution="
                f"{min_resolution} times a power of two (e.g. 8, 16, 32, 64, 128 for 4). Resize the image."
            )
    return int(round(math.log2(min(height, width) / min_resolution)))


class ResidualBlock(keras.layers.Layer):
    """Pre-norm residual block: x + Conv3×3(SiLU(LN(Conv3×3(SiLU(LN(x))))))."""

    def __init__(self, activation: str = "silu", **kwargs):
        super().__init__(**kwargs)
        self.activation_name = activation
        keras.activations.get(activation)  # an unknown name fails here, not at the first call
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-3)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-3)
        self.conv1 = self.conv2 = None

    def build(self, input_shape):
        channels = input_shape[-1]
        self.conv1 = keras.layers.Conv2D(channels, 3, padding="same")
        self.conv2 = keras.layers.Conv2D(channels, 3, padding="same")
        for layer in (self.norm1, self.conv1, self.norm2, self.conv2):
            layer.build(input_shape)
        self.built = True

    def call(self, x):
        y = self.conv1(norm_act(self.norm1, self.activation_name, x))
        y = self.conv2(norm_act(self.norm2, self.activation_name, y))
        return x + y

    def get_config(self):
        return {**super().get_config(), "activation": self.activation_name}


class ResidualEncoderV3(keras.layers.Layer):
    """DreamerV3 image encoder: stages of Conv(k4, s2, no bias) → LayerNorm → SiLU followed by
    ``blocks`` pre-norm :class:`ResidualBlock` s, depth doubling (depth, 2·depth, ...) until the
    smaller side is ``min_resolution`` (4), then flattened.

    Input (..., H, W, C) float (images as x/255 − 0.5, normalised by the caller); H and W must be
    4·2^k with k >= 1 (:func:`v3_stages`). Output (..., features)."""

    def __init__(self, depth: int = 32, blocks: int = 1, min_resolution: int = 4, activation: str = "silu",
                 **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("ResidualEncoderV3", depth=depth, min_resolution=min_resolution)
        if not isinstance(blocks, int) or blocks < 0:
            raise ConfigError(f"ResidualEncoderV3 blocks={blocks!r} must be an integer >= 0.")
        self.depth, self.blocks, self.min_resolution, self.activation_name = depth, blocks, min_resolution, activation
        keras.activations.get(activation)  # an unknown name fails here, not at the first call
        self.stage_layers: list = []

    def build(self, input_shape):
        h, w, c = input_shape[-3:]
        stages = v3_stages(h, w, self.min_resolution, type(self).__name__)
        channels = c
        self.stage_layers = []
        for i in range(stages):
            conv = keras.layers.Conv2D(self.depth * 2**i, 4, 2, padding="same", use_bias=False)
            norm = keras.layers.LayerNormalization(epsilon=1e-3)
            res = [ResidualBlock(self.activation_name) for _ in range(self.blocks)]
            conv.build((None, h, w, channels))
            h, w, channels = h // 2, w // 2, conv.filters
            norm.build((None, h, w, channels))
            for block in res:
                block.build((None, h, w, channels))
            self.stage_layers.append((conv, norm, res))
        self.out_dim = h * w * channels
        self.built = True

    def call(self, x):
        x, lead = _flatten_images(tf.cast(x, tf.float32))
        for conv, norm, res in self.stage_layers:
            x = norm_act(norm, self.activation_name, conv(x))
            for block in res:
                x = block(x)
        return tf.reshape(x, tf.concat([lead, [self.out_dim]], axis=0))

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "blocks": self.blocks,
                "min_resolution": self.min_resolution, "activation": self.activation_name}


class ResidualDecoderV3(keras.layers.Layer):
    """Mirror of :class:`ResidualEncoderV3`: Dense → (H/2^s, W/2^s, 2^(s−1)·depth), then per stage
    ``blocks`` residual blocks and a transposed Conv(k4, s2) → LayerNorm → SiLU halving the depth;
    the last transposed conv is linear with C filters. Input (..., features); output (..., H, W, C)
    = ``output_shape`` (prediction of x/255 − 0.5)."""

    def __init__(self, output_shape: Sequence[int], depth: int = 32, blocks: int = 1, min_resolution: int = 4,
                 activation: str = "silu", **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("ResidualDecoderV3", depth=depth, min_resolution=min_resolution)
        if not isinstance(blocks, int) or blocks < 0:
            raise ConfigError(f"ResidualDecoderV3 blocks={blocks!r} must be an integer >= 0.")
        self.image_shape = tuple(int(s) for s in output_shape)
        if len(self.image_shape) != 3:
            raise ConfigError(f"ResidualDecoderV3 output_shape={self.image_shape!r} must be (H, W, C).")
        h, w, c = self.image_shape
        self.stages = v3_stages(h, w, min_resolution, type(self).__name__)
        self.depth, self.blocks, self.min_resolution, self.activation_name = depth, blocks, min_resolution, activation
        keras.activations.get(activation)  # an unknown name fails here, not at the first call
        step = 2**self.stages
        self.start = (h // step, w // step, depth * 2 ** (self.stages - 1))
        self.dense = keras.layers.Dense(math.prod(self.start))
        self.stage_layers: list = []
        for i in reversed(range(self.stages)):
            res = [ResidualBlock(activation) for _ in range(blocks)]
            if i > 0:
                deconv = keras.layers.Conv2DTranspose(depth * 2 ** (i - 1), 4, 2, padding="same", use_bias=False)
                norm = keras.layers.LayerNormalization(epsilon=1e-3)
            else:
                deconv, norm = keras.layers.Conv2DTranspose(c, 4, 2, padding="same"), None
            self.stage_layers.append((res, deconv, norm))

    def build(self, input_shape):
        self.dense.build(input_shape)
        h, w, channels = self.start
        for res, deconv, norm in self.stage_layers:
            for block in res:
                block.build((None, h, w, channels))
            deconv.build((None, h, w, channels))
            h, w, channels = 2 * h, 2 * w, deconv.filters
            if norm is not None:
                norm.build((None, h, w, channels))
        self.built = True

    def call(self, feat):
        feat = tf.cast(feat, self.compute_dtype)
        lead = tf.shape(feat)[:-1]
        x = tf.reshape(self.dense(feat), [-1, *self.start])
        for res, deconv, norm in self.stage_layers:
            for block in res:
                x = block(x)
            x = deconv(x)
            if norm is not None:
                x = norm_act(norm, self.activation_name, x)
        return tf.reshape(x, tf.concat([lead, self.image_shape], axis=0))

    def get_config(self):
        return {**super().get_config(), "output_shape": self.image_shape, "depth": self.depth,
                "blocks": self.blocks, "min_resolution": self.min_resolution, "activation": self.activation_name}


# --------------------------------------------------------------------------------------------
# RSSM
# --------------------------------------------------------------------------------------------


class NormGRUCell(keras.layers.Layer):
    """GRU cell of DreamerV2/V3: one Dense on [x, h] (→ LayerNorm when ``norm``) split into reset,
    candidate and update parts; update gate biased by −1 so the state is kept at first:

        r = σ(r̃),  c = tanh(r ⊙ c̃),  u = σ(ũ − 1),  h' = u ⊙ c + (1 − u) ⊙ h
    """

    def __init__(self, units: int, norm: bool = True, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("NormGRUCell", units=units)
        self.units, self.norm = units, norm
        self.dense = keras.layers.Dense(3 * units, use_bias=not norm)
        self.norm_layer = keras.layers.LayerNormalization(epsilon=1e-3) if norm else None

    def build(self, input_shape):
        self.dense.build((None, input_shape[-1] + self.units))
        if self.norm_layer is not None:
            self.norm_layer.build((None, 3 * self.units))
        self.built = True

    def call(self, x, h):
        parts = self.dense(tf.concat([x, h], axis=-1))
        if self.norm_layer is not None:
            parts = self.norm_layer(parts)
        reset, cand, update = tf.split(parts, 3, axis=-1)
        reset = tf.sigmoid(reset)
        cand = tf.tanh(reset * cand)
        update = tf.sigmoid(update - 1.0)
        return update * cand + (1.0 - update) * h

    def get_config(self):
        return {**super().get_config(), "units": self.units, "norm": self.norm}


class RSSM(keras.layers.Layer):
    """Recurrent state-space model: a deterministic GRU state h (``deter`` units) and a stochastic
    state z, either categorical (``stoch`` variables × ``classes`` classes, ``unimix`` uniform
    mixing, straight-through samples; V2 / V3) or Gaussian (``classes=0``: ``stoch`` dimensions,
    std = softplus + ``min_std``; V1).

    A state is a dict of tensors with batch shape (B,) (or (B, T) / (T, B) for sequences):
    ``deter`` (deter,), ``stoch`` (stoch, classes) or (stoch,), and the statistics of the
    distribution z was drawn from: ``logits`` (stoch, classes) (unimixed log-probabilities) or
    ``mean`` and ``std`` (stoch,). Actions are float vectors (one-hot for discrete actions).

    Prior (:meth:`img_step`): x = MLP([z, a]); h' = GRU(x, h); z' ~ p(z' | MLP(h')).
    Posterior (:meth:`obs_step`): z' ~ q(z' | MLP([h', embed])).
    ``activation`` / ``norm`` pick the dense unit (:class:`DenseNormAct`): SiLU + LayerNorm for V3,
    ``activation='elu', norm=False`` for V1 / V2. All weights are built in the constructor.
    """

    def __init__(self, action_dim: int, embed_dim: int, deter: int = 512, stoch: int = 32, classes: int = 32,
                 hidden: int = 512, unimix: float = 0.01, min_std: float = 0.1, activation: str = "silu",
                 norm: bool = True, **kwargs):
        super().__init__(**kwargs)
        if (not isinstance(stoch, int) or isinstance(stoch, bool) or stoch <= 0
                or not isinstance(classes, int) or isinstance(classes, bool) or classes < 0 or classes == 1):
            raise ConfigError(
                f"RSSM cannot be built with stoch={stoch!r} (rssm_stoch_size), classes={classes!r} (rssm_classes): "
                "stoch must be a positive integer and classes 0 (Gaussian latent, V1) or an integer >= 2 "
                "(categorical latent of stoch variables × classes classes, V2/V3)."
            )
        _check_positive_int("RSSM", deter=deter, hidden=hidden, action_dim=action_dim, embed_dim=embed_dim)
        if not 0.0 <= unimix < 1.0:
            raise ConfigError(f"RSSM unimix={unimix!r} must be in [0, 1).")
        if not min_std > 0.0:
            raise ConfigError(f"RSSM min_std={min_std!r} must be > 0.")
        self.action_dim, self.embed_dim = action_dim, embed_dim
        self.deter, self.stoch, self.classes, self.hidden = deter, stoch, classes, hidden
        self.unimix, self.min_std, self.activation_name, self.norm = float(unimix), float(min_std), activation, norm
        self.discrete = classes > 0
        stats_dim = stoch * classes if self.discrete else 2 * stoch
        self.img_in = DenseNormAct(hidden, activation, norm)
        self.cell = NormGRUCell(deter, norm)
        self.img_out = DenseNormAct(hidden, activation, norm)
        # states, statistics and samples stay float32 under a mixed precision policy: the layers
        # that make them compute in float32, and the GRU's output is cast
        self.prior_stats = keras.layers.Dense(stats_dim, dtype="float32")
        self.obs_out = DenseNormAct(hidden, activation, norm)
        self.post_stats = keras.layers.Dense(stats_dim, dtype="float32")
        self.build()

    @property
    def stoch_flat(self) -> int:
        return self.stoch * (self.classes if self.discrete else 1)

    @property
    def feat_size(self) -> int:
        """Width of :meth:`get_feat`: deter + stoch·classes (or deter + stoch)."""
        return self.deter + self.stoch_flat

    def build(self, input_shape=None):
        self.img_in.build((None, self.stoch_flat + self.action_dim))
        self.cell.build((None, self.hidden))
        self.img_out.build((None, self.deter))
        self.prior_stats.build((None, self.hidden))
        self.obs_out.build((None, self.deter + self.embed_dim))
        self.post_stats.build((None, self.hidden))
        self.built = True

    # ---- states ------------------------------------------------------------------------------

    def initial(self, batch) -> State:
        """The all-zero start state for ``batch`` sequences (uniform logits / unit std)."""
        deter = tf.zeros([batch, self.deter])
        if self.discrete:
            logits = tf.zeros([batch, self.stoch, self.classes])
            return {"deter": deter, "stoch": tf.zeros_like(logits), "logits": logits}
        mean = tf.zeros([batch, self.stoch])
        return {"deter": deter, "stoch": mean, "mean": mean, "std": tf.ones_like(mean)}

    def get_feat(self, state: State) -> tf.Tensor:
        """concat(h, flattened z) over the last axis; works for any leading batch shape."""
        stoch = state["stoch"]
        if self.discrete:
            stoch = tf.reshape(stoch, tf.concat([tf.shape(stoch)[:-2], [self.stoch_flat]], axis=0))
        return tf.concat([state["deter"], stoch], axis=-1)

    def get_dist(self, state: State) -> tfd.Distribution:
        """The distribution over z described by ``state``'s statistics; log_prob and KL sum over
        all latent variables (the event is the whole z of one step)."""
        if self.discrete:
            return tfd.Independent(tfd.OneHotCategorical(logits=state["logits"], dtype=tf.float32), 1)
        return tfd.Independent(tfd.Normal(state["mean"], state["std"]), 1)

    def _stats(self, layer, x) -> State:
        x = layer(x)
        if self.discrete:
            logits = tf.reshape(x, [-1, self.stoch, self.classes])
            return {"logits": unimix_logits(logits, self.unimix)}
        mean, std = tf.split(x, 2, axis=-1)
        return {"mean": mean, "std": tf.nn.softplus(std) + self.min_std}

    def _sample(self, stats: State, sample: bool, seed=None) -> tf.Tensor:
        if self.discrete:
            dist = tfd.OneHotCategorical(logits=stats["logits"], dtype=tf.float32)
            if sample:
                return straight_through_sample(dist, seed)
            probs = dist.probs_parameter()
            mode = tf.one_hot(tf.argmax(probs, axis=-1), self.classes, dtype=tf.float32)
            return mode + (probs - tf.stop_gradient(probs))
        if sample:
            shape = tf.shape(stats["mean"])
            normal = tf.random.normal(shape) if seed is None else tf.random.stateless_normal(shape, seed)
            return stats["mean"] + stats["std"] * normal
        return stats["mean"]

    # ---- steps -------------------------------------------------------------------------------

    def _next_deter(self, state: State, action: tf.Tensor) -> tf.Tensor:
        """h' = GRU(MLP([z, a]), h): the deterministic part of a step, shared by prior and posterior."""
        stoch = state["stoch"]
        if self.discrete:
            stoch = tf.reshape(stoch, [-1, self.stoch_flat])
        x = self.img_in(tf.concat([stoch, tf.cast(action, tf.float32)], axis=-1))
        return tf.cast(self.cell(x, state["deter"]), tf.float32)

    def _prior(self, deter: tf.Tensor) -> State:
        """The prior's statistics for a batch (B, deter) of deterministic states."""
        return self._stats(self.prior_stats, self.img_out(deter))

    def prior_stats_of(self, deter: tf.Tensor) -> State:
        """The prior's statistics for deterministic states of any leading batch shape."""
        lead = tf.shape(deter)[:-1]
        stats = self._prior(tf.reshape(deter, [-1, self.deter]))
        return {k: tf.reshape(v, tf.concat([lead, tf.shape(v)[1:]], 0)) for k, v in stats.items()}

    def img_step(self, state: State, action: tf.Tensor, sample: bool = True, seed=None) -> State:
        """One prior step: (state at t, action a_t) → prior state at t + 1. ``sample=False`` uses
        the mode of z (deterministic); ``seed``: a stateless seed for the sample (None: TensorFlow's
        global generator)."""
        deter = self._next_deter(state, action)
        stats = self._prior(deter)
        return {"deter": deter, "stoch": self._sample(stats, sample, seed), **stats}

    def _reset(self, state: State, action: tf.Tensor, is_first: tf.Tensor) -> tuple[State, tf.Tensor]:
        """Where ``is_first`` is 1, the state becomes :meth:`initial` and the action zero."""
        keep = 1.0 - tf.cast(is_first, tf.float32)
        init = self.initial(tf.shape(keep)[0])

        def reset(value, start):
            mask = tf.reshape(keep, tf.concat([tf.shape(keep), tf.ones([tf.rank(value) - 1], tf.int32)], 0))
            return value * mask + start * (1.0 - mask)

        return {k: reset(state[k], init[k]) for k in init}, tf.cast(action, tf.float32) * keep[:, None]

    def _posterior(self, deter: tf.Tensor, embed: tf.Tensor, sample: bool, seed) -> State:
        x = self.obs_out(tf.concat([deter, tf.cast(embed, tf.float32)], axis=-1))
        stats = self._stats(self.post_stats, x)
        return {"deter": deter, "stoch": self._sample(stats, sample, seed), **stats}

    def obs_step(self, state: State, action: tf.Tensor, embed: tf.Tensor, is_first: tf.Tensor,
                 sample: bool = True, seed=None) -> tuple[State, State]:
        """One posterior step, returning (posterior, prior) for the new time step.

        ``action`` is the action that led to this observation and ``embed`` its encoding. Where
        ``is_first`` (B,) is 1 a new episode begins: the previous state is replaced by
        :meth:`initial` (state·(1 − is_first) + initial·is_first) and the action zeroed before the
        step, so nothing carries over from the previous episode."""
        state, action = self._reset(state, action, is_first)
        prior_seed, post_seed = split_seed(seed, 2)
        prior = self.img_step(state, action, sample, prior_seed)
        return self._posterior(prior["deter"], embed, sample, post_seed), prior

    def posterior_step(self, state: State, action: tf.Tensor, embed: tf.Tensor, is_first: tf.Tensor,
                       sample: bool = True, seed=None) -> State:
        """The posterior of :meth:`obs_step` alone (the same state for the same ``seed``), without
        the prior's head or sample: what acting and :meth:`observe`'s loop need."""
        state, action = self._reset(state, action, is_first)
        return self._posterior(self._next_deter(state, action), embed, sample, split_seed(seed, 2)[1])

    # ---- sequences ---------------------------------------------------------------------------

    def observe(self, embeds: tf.Tensor, actions: tf.Tensor, is_first: tf.Tensor, state: State | None = None,
                sample: bool = True, seed=None) -> tuple[State, State, State]:
        """Runs :meth:`obs_step` over batch-major sequences: ``embeds`` (B, T, E), ``actions``
        (B, T, A) (``actions[:, t]`` led to observation t), ``is_first`` (B, T). ``state`` is the
        state before the first step (the last state of the previous batch, carried across
        batches) or None for :meth:`initial`.

        Returns (posteriors, priors) with shapes (B, T, ...) and the last posterior state (B, ...)
        to pass as ``state`` with the next batch. Compiles under XLA (``tf.scan``). The loop runs
        only what the next step depends on (h and the posterior); the priors' statistics, which
        the KL losses need, are computed after it for all steps at once, and the priors hold
        ``deter`` and those statistics (no sample of z). ``seed``: a stateless seed (int32 (2,)) from
        which each step's sample gets its own, or None for TensorFlow's global generator."""
        embeds = tf.cast(embeds, tf.float32)
        if state is None:
            state = self.initial(tf.shape(embeds)[0])

        def time_major(x):
            x = tf.convert_to_tensor(x)
            return tf.transpose(x, tf.concat([[1, 0], tf.range(2, tf.rank(x))], 0))

        seq = (time_major(tf.cast(actions, tf.float32)), time_major(embeds), time_major(tf.cast(is_first, tf.float32)))
        if seed is not None:
            seq += (tf.random.experimental.stateless_split(seed, tf.shape(embeds)[1]),)

        def step(carry, inputs):
            action, embed, first = inputs[:3]
            return self.posterior_step(carry, action, embed, first, sample, inputs[3] if seed is not None else None)

        posts = tf.scan(step, seq, initializer=dict(state))
        last = {k: v[-1] for k, v in posts.items()}
        posts = {k: time_major(v) for k, v in posts.items()}
        priors = {"deter": posts["deter"], **self.prior_stats_of(posts["deter"])}
        return posts, priors, last

    def imagine(self, policy_fn: Callable[..., tf.Tensor], start_state: State, horizon: int,
                sample: bool = True, seed=None) -> tuple[State, tf.Tensor]:
        """Rolls the prior forward from ``start_state`` (batch (N,), e.g. every posterior state of a
        training batch flattened) for ``horizon`` steps, with a_t = policy_fn(get_feat(s_t)). With a
        stateless ``seed`` (int32 (2,)) each step draws its own pair of seeds from it, one for
        ``policy_fn(feat, seed)`` and one for the sample of z; None leaves both to TensorFlow's
        global generator (and calls ``policy_fn(feat)``).

        Returns time-major states (horizon + 1, N, ...) with s_0 = ``start_state`` and the actions
        (horizon, N, A), ``actions[t]`` taken in ``states[t]``. Gradients flow through the actions
        and the dynamics (stop them in ``policy_fn`` / on the start state where not wanted)."""
        start_state = dict(start_state)
        batch = tf.shape(start_state["deter"])[0]

        def step(carry, step_seed):
            state = carry[0]
            feat = self.get_feat(state)
            if seed is None:
                action, latent_seed = policy_fn(feat), None
            else:
                action_seed, latent_seed = split_seed(step_seed, 2)
                action = policy_fn(feat, action_seed)
            action = tf.cast(action, tf.float32)
            return self.img_step(state, action, sample, latent_seed), action

        zero_action = tf.zeros([batch, self.action_dim])
        steps = tf.range(horizon) if seed is None else tf.random.experimental.stateless_split(seed, horizon)
        states, actions = tf.scan(step, steps, initializer=(start_state, zero_action))
        states = {k: tf.concat([start_state[k][None], states[k]], axis=0) for k in states}
        return states, actions

    def call(self, embeds, actions, is_first, state=None):
        return self.observe(embeds, actions, is_first, state)

    # ---- KL losses ---------------------------------------------------------------------------

    def _kl(self, lhs: State, rhs: State) -> tf.Tensor:
        return tfd.kl_divergence(self.get_dist(lhs), self.get_dist(rhs))

    @staticmethod
    def _sg(state: State) -> State:
        return {k: tf.stop_gradient(v) for k, v in state.items()}

    def kl_loss(self, post: State, prior: State, free: float = 1.0, dyn_scale: float = 0.5,
                rep_scale: float = 0.1) -> tuple[tf.Tensor, tf.Tensor]:
        """DreamerV3 KL loss per time step:

            L = dyn_scale·max(free, KL(sg(post) ‖ prior)) + rep_scale·max(free, KL(post ‖ sg(prior)))

        Each KL is summed over all latent variables of the step *before* the free-bits clamp (a
        per-variable clamp would hide up to stoch·free nats). Returns (loss, KL(post ‖ prior)),
        both of the states' batch shape (e.g. (B, T)); the caller averages."""
        dyn = self._kl(self._sg(post), prior)
        rep = self._kl(post, self._sg(prior))
        loss = dyn_scale * tf.maximum(free, dyn) + rep_scale * tf.maximum(free, rep)
        return loss, dyn

    def get_config(self):
        return {**super().get_config(), "action_dim": self.action_dim, "embed_dim": self.embed_dim,
                "deter": self.deter, "stoch": self.stoch, "classes": self.classes, "hidden": self.hidden,
                "unimix": self.unimix, "min_std": self.min_std, "activation": self.activation_name, "norm": self.norm}
