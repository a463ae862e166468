"""Dreamer networks: observation encoder / decoder, world model, actor and critic.

Each network is a ``keras.Model`` built eagerly in its constructor (the RSSM and the actor run
inside ``tf.scan`` in the compiled train step, where no variable may be created).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from srl_tf.distributions import (
    TwoHotSymlog,
    bernoulli_dist,
    straight_through_sample,
    tanh_normal_mode,
    tanh_normal_sample,
    unimix_logits,
)
from srl_tf.errors import ConfigError
from srl_tf.functions import symexp, symlog
from srl_tf.nn.dreamer import (
    RSSM,
    ConvDecoderV2,
    ConvEncoderV2,
    DenseStack,
    ResidualDecoderV3,
    ResidualEncoderV3,
)

tfd = tfp.distributions
TWOHOT_BINS = 255


@dataclass(frozen=True)
class MLPKind:
    """The dense units every Dreamer MLP is made of."""

    activation: str
    norm: bool

    def stack(self, sizes, out_dim: int | None = None, zero_init: bool = False, name: str | None = None) -> DenseStack:
        """Dense units of this kind of the given widths and an optional linear output layer."""
        return DenseStack(sizes, self.activation, self.norm, out_dim, zero_init, name=name)


@dataclass(frozen=True)
class CoderOptions:
    """How observations are encoded and decoded."""

    image_encoder: str  # 'residual' (V3) or 'conv' (V1 / V2)
    cnn_depth: int
    cnn_blocks: int
    mlp_sizes: tuple  # vector observations
    dist: str  # the decoder's likelihood: 'normal' (unit variance) or a plain squared error
    symlog_inputs: bool


@dataclass(frozen=True)
class ActorOptions:
    """The actor's layers and action distribution."""

    layer_sizes: tuple
    continuous_dist: str  # 'bounded_normal' (V3) or 'tanh_normal' (V1 / V2)
    min_std: float
    max_std: float
    init_std: float
    unimix: float


class ObsCoder(keras.Model):
    """Encoder and decoder of one observation array: a vector (n,) or an HxWxC uint8 image.

    Vectors: symlog (when ``symlog_inputs``) → MLP; the decoder predicts the (symlogged) vector.
    Images: x/255 − 0.5 → CNN; the decoder predicts that normalised image. ``nll`` is the
    negative log-likelihood per time step, summed over features / pixels."""

    def __init__(self, options: CoderOptions, mlp: MLPKind, obs_shape: tuple, is_image: bool,
                 label: str = "observation", **kwargs):
        super().__init__(**kwargs)
        self.options, self.mlp, self.is_image = options, mlp, is_image
        self.obs_shape = tuple(obs_shape)
        if self.is_image:
            if len(self.obs_shape) != 3:
                raise ConfigError(f"Dreamer needs HxWxC images, got {label} shape {self.obs_shape}.")
            try:
                if options.image_encoder == "residual":
                    self.encoder = ResidualEncoderV3(options.cnn_depth, options.cnn_blocks, activation=mlp.activation)
                else:
                    self.encoder = ConvEncoderV2(options.cnn_depth, activation=mlp.activation)
                self.encoder.build((None, *self.obs_shape))
            except ConfigError as e:
                raise ConfigError(
                    f"{e} ({label}; image_encoder={options.image_encoder!r}; set EnvConfig.image_resize=(64, 64))"
                ) from None
            self.embed_dim = self.encoder.out_dim
        else:
            if len(self.obs_shape) != 1:
                raise ConfigError(
                    f"Dreamer takes vector observations of shape (n,) or HxWxC uint8 images; got {label} shape "
                    f"{self.obs_shape}. Flatten the observation with a gymnasium wrapper."
                )
            self.encoder = mlp.stack(options.mlp_sizes, name="obs_encoder")
            self.encoder.build((None, self.obs_shape[0]))
            self.embed_dim = options.mlp_sizes[-1] if options.mlp_sizes else self.obs_shape[0]
        self.built = True

    def build_decoder(self, feat_size: int) -> None:
        options, activation = self.options, self.mlp.activation
        if self.is_image:
            if options.image_encoder == "residual":
                self.decoder = ResidualDecoderV3(self.obs_shape, options.cnn_depth, options.cnn_blocks, activation=activation)
            else:
                self.decoder = ConvDecoderV2(self.obs_shape, options.cnn_depth, activation=activation)
        else:
            self.decoder = self.mlp.stack(options.mlp_sizes, self.obs_shape[0], name="obs_decoder")
        self.decoder.build((None, feat_size))

    def preprocess(self, obs) -> tf.Tensor:
        """The network's view of an observation: x/255 − 0.5 for images, symlog(x) (or x) for vectors."""
        obs = tf.cast(obs, tf.float32)
        if self.is_image:
            return obs / 255.0 - 0.5
        return symlog(obs) if self.options.symlog_inputs else obs

    def encode(self, obs) -> tf.Tensor:
        """The embedding (float32 under a mixed precision policy too)."""
        return tf.cast(self.encoder(self.preprocess(obs)), tf.float32)

    def decode(self, feat) -> tf.Tensor:
        """The decoder's mean, in the space of :meth:`preprocess` (float32 under mixed precision too)."""
        return tf.cast(self.decoder(feat), tf.float32)

    def nll(self, feat, obs) -> tf.Tensor:
        pred, target = self.decode(feat), self.preprocess(obs)
        axes = [-3, -2, -1] if self.is_image else [-1]
        sq = tf.reduce_sum(tf.square(pred - target), axis=axes)
        if self.options.dist == "normal":  # −log N(target; pred, 1)
            dims = math.prod(self.obs_shape)
            return 0.5 * sq + 0.5 * dims * math.log(2.0 * math.pi)
        return sq

    def to_observation(self, pred) -> np.ndarray:
        """Decoder output → observation space (uint8 image or vector)."""
        pred = np.asarray(pred)
        if self.is_image:
            return np.clip((pred + 0.5) * 255.0, 0, 255).astype(np.uint8)
        return np.asarray(symexp(pred)) if self.options.symlog_inputs else pred


class MultiCoder(keras.Model):
    """One :class:`ObsCoder` per observation key (a single one for array observations): embeddings
    are concatenated, reconstruction losses summed. Observations are arrays, or dicts of arrays for
    Dict observation spaces (``spec.obs_spaces``)."""

    def __init__(self, options: CoderOptions, mlp: MLPKind, spec, **kwargs):
        super().__init__(**kwargs)
        self.is_dict = spec.obs_spaces is not None
        spaces = spec.obs_spaces if self.is_dict else {"obs": (spec.obs_shape, spec.obs_dtype, spec.is_image)}
        self.keys = sorted(spaces)
        self.coders = {k: ObsCoder(options, mlp, spaces[k][0], spaces[k][2], f"observation '{k}'" if self.is_dict else
                                   "observation", name=f"obs_{k}") for k in self.keys}
        self.embed_dim = sum(c.embed_dim for c in self.coders.values())
        images = [k for k in self.keys if self.coders[k].is_image]
        self.image_key = images[0] if images else None  # shown by prediction videos
        self.built = True

    def _parts(self, obs) -> dict:
        return obs if self.is_dict else {"obs": obs}

    def build_decoder(self, feat_size: int) -> None:
        for coder in self.coders.values():
            coder.build_decoder(feat_size)

    def encode(self, obs) -> tf.Tensor:
        parts = self._parts(obs)
        embeds = [self.coders[k].encode(parts[k]) for k in self.keys]
        return embeds[0] if len(embeds) == 1 else tf.concat(embeds, axis=-1)

    def nll(self, feat, obs) -> tf.Tensor:
        parts = self._parts(obs)
        return tf.add_n([self.coders[k].nll(feat, parts[k]) for k in self.keys])

    def image(self, obs):
        """The image part of an observation (the observation itself when it is an image), or None."""
        if self.image_key is None:
            return None
        return self._parts(obs)[self.image_key]

    def decode_image(self, feat) -> np.ndarray:
        coder = self.coders[self.image_key]
        return coder.to_observation(coder.decode(feat))


class ScalarHead(keras.Model):
    """Reward or critic: twohot over 255 symlog bins (zero-initialised output) or a unit-variance
    Normal mean. ``mean(feat)`` is the prediction, ``log_prob(feat, target)`` its log-likelihood."""

    def __init__(self, mlp: MLPKind, sizes, twohot: bool, feat_size: int, **kwargs):
        super().__init__(**kwargs)
        self.twohot = twohot
        self.net = mlp.stack(sizes, TWOHOT_BINS if twohot else 1, zero_init=twohot)
        self.net.build((None, feat_size))
        self.built = True

    def call(self, feat):
        return self.net(feat)

    def mean(self, feat) -> tf.Tensor:
        return self.mean_of(self.net(feat))

    def log_prob(self, feat, target) -> tf.Tensor:
        return self.log_prob_of(self.net(feat), target)

    def mean_of(self, out) -> tf.Tensor:
        """The prediction from the network's output ``out`` = ``self(feat)`` (computed once, used twice)."""
        return TwoHotSymlog(out).mean() if self.twohot else out[..., 0]

    def log_prob_of(self, out, target) -> tf.Tensor:
        if self.twohot:
            return TwoHotSymlog(out).log_prob(target)
        return -0.5 * tf.square(out[..., 0] - target) - 0.5 * math.log(2.0 * math.pi)


class WorldModel(keras.Model):
    """Encoder → RSSM → decoder, reward and continue heads."""

    def __init__(self, spec, mlp: MLPKind, coder: CoderOptions, rssm: dict, reward_layer_sizes,
                 reward_twohot: bool, cont_layer_sizes, **kwargs):
        """``rssm``: the keyword arguments of :class:`~srl_tf.nn.dreamer.RSSM` besides the sizes of
        actions and embeddings and the MLP kind (deter, stoch, classes, hidden, unimix, min_std)."""
        super().__init__(**kwargs)
        self.coder = MultiCoder(coder, mlp, spec, name="obs")
        self.action_dim = spec.action_dim
        self.rssm = RSSM(spec.action_dim, self.coder.embed_dim, **rssm, activation=mlp.activation, norm=mlp.norm,
                         name="rssm")
        feat = self.rssm.feat_size
        self.coder.build_decoder(feat)
        self.reward = ScalarHead(mlp, reward_layer_sizes, reward_twohot, feat, name="reward")
        self.cont = mlp.stack(cont_layer_sizes, 1, name="cont")
        self.cont.build((None, feat))
        self.built = True

    def cont_dist(self, feat) -> tfd.Distribution:
        return bernoulli_dist(self.cont(feat)[..., 0])


class Actor(keras.Model):
    """π(a | feat): one-hot categorical with unimix and straight-through samples for discrete
    actions; for continuous actions in [-1, 1]^d a 'bounded_normal' (V3) or 'tanh_normal' (V1 / V2).

    :meth:`sample` returns (action, log-prob, entropy): the action is what the env and the world
    model receive (one-hot, or a vector in [-1, 1]) and carries gradients to the actor's weights
    (straight-through for one-hot, reparameterised for continuous); ``seed``: a stateless seed, or
    None for TensorFlow's global generator."""

    def __init__(self, options: ActorOptions, mlp: MLPKind, spec, feat_size: int, **kwargs):
        super().__init__(**kwargs)
        self.options, self.discrete, self.action_dim = options, spec.discrete, spec.action_dim
        out = self.action_dim if self.discrete else 2 * self.action_dim
        self.net = mlp.stack(options.layer_sizes, out)
        self.net.build((None, feat_size))
        self.raw_init_std = math.log(math.expm1(options.init_std))
        self.built = True

    def dist(self, feat) -> tfd.Distribution:
        out = self.net(feat)
        opt = self.options
        if self.discrete:
            return tfd.OneHotCategorical(logits=unimix_logits(out, opt.unimix), dtype=tf.float32)
        mean, std = tf.split(out, 2, axis=-1)
        if opt.continuous_dist == "bounded_normal":
            std = (opt.max_std - opt.min_std) * tf.sigmoid(std + 2.0) + opt.min_std
            return tfd.Independent(tfd.Normal(tf.tanh(mean), std), 1)
        mean = 5.0 * tf.tanh(mean / 5.0)
        std = tf.nn.softplus(std + self.raw_init_std) + opt.min_std
        return tfd.TransformedDistribution(tfd.Independent(tfd.Normal(mean, std), 1), tfp.bijectors.Tanh())

    def sample(self, feat, seed=None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        dist = self.dist(feat)
        if self.discrete:
            action = straight_through_sample(dist, seed)
            return action, dist.log_prob(tf.stop_gradient(action)), dist.entropy()
        if self.options.continuous_dist == "bounded_normal":
            raw = dist.sample(seed=seed)
            action = raw + tf.stop_gradient(tf.clip_by_value(raw, -1.0, 1.0) - raw)
            return action, dist.log_prob(tf.stop_gradient(raw)), dist.entropy()
        action, log_prob = tanh_normal_sample(dist, seed)
        return action, log_prob, -log_prob  # one-sample entropy estimate

    def log_prob_entropy(self, feat, action) -> tuple[tf.Tensor, tf.Tensor]:
        """log π(action | feat) and the entropy (or its one-sample estimate) for given actions."""
        dist = self.dist(feat)
        if self.discrete or self.options.continuous_dist == "bounded_normal":
            return dist.log_prob(action), dist.entropy()
        a = tf.clip_by_value(action, -1.0 + 1e-6, 1.0 - 1e-6)
        log_prob = dist.log_prob(a)
        return log_prob, -log_prob

    def mode(self, feat) -> tf.Tensor:
        dist = self.dist(feat)
        if self.discrete:
            return tf.one_hot(tf.argmax(dist.logits_parameter(), axis=-1), self.action_dim)
        if self.options.continuous_dist == "bounded_normal":
            return tf.clip_by_value(dist.mean(), -1.0, 1.0)
        return tanh_normal_mode(dist)
