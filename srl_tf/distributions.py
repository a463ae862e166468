"""Policy distributions built with TensorFlow Probability from tensors that Keras layers return.

Continuous policies act in the normalised box [-1, 1]^d; :func:`to_env_action` maps such an
action to the env's bounds (the adapter clips whatever lies outside).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from srl_tf.functions import symexp, symlog, twohot_decode, twohot_encode

tfd = tfp.distributions


class PolicyHead(keras.layers.Layer):
    """Logits for a categorical policy, or the mean of a diagonal Gaussian with a learned,
    state-independent log standard deviation."""

    def __init__(self, discrete: bool, action_dim: int, init_log_std: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.discrete = discrete
        self.action_dim = action_dim
        self.init_log_std = init_log_std
        self.out = keras.layers.Dense(action_dim, kernel_initializer=keras.initializers.Orthogonal(0.01))

    def build(self, input_shape):
        self.out.build(input_shape)
        if not self.discrete:
            self.log_std = self.add_weight(
                shape=(self.action_dim,), initializer=keras.initializers.Constant(self.init_log_std), name="log_std"
            )

    def call(self, h):
        return self.out(h)

    def distribution(self, params) -> tfd.Distribution:
        if self.discrete:
            return tfd.Categorical(logits=params)
        std = tf.exp(tf.clip_by_value(self.log_std, -5.0, 2.0))
        return tfd.Independent(tfd.Normal(params, std * tf.ones_like(params)), reinterpreted_batch_ndims=1)

    def get_config(self):
        return {**super().get_config(), "discrete": self.discrete, "action_dim": self.action_dim,
                "init_log_std": self.init_log_std}


def to_env_action(action, low: np.ndarray, high: np.ndarray):
    """[-1, 1] → [low, high] (clipped): numpy in, float32 numpy out, or a tensor in, a tensor out
    (the same float32 operations, inside an exported policy)."""
    tensor = tf.is_tensor(action)
    a = (tf.clip_by_value if tensor else np.clip)(action, -1.0, 1.0)
    out = low + (a + 1.0) * 0.5 * (high - low)
    return out if tensor else out.astype(np.float32)


def from_env_action(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """[low, high] → [-1, 1], the inverse of :func:`to_env_action`."""
    return np.clip(2.0 * (action - low) / (high - low) - 1.0, -1.0, 1.0).astype(np.float32)


def split_seed(seed, n: int) -> list:
    """``n`` independent stateless seeds from one (int32 (2,)), or ``n`` times None for None
    (TensorFlow's global generator)."""
    if seed is None:
        return [None] * n
    return list(tf.unstack(tf.random.experimental.stateless_split(seed, n)))


def tanh_normal(mean, log_std) -> tfd.TransformedDistribution:
    """A diagonal Gaussian squashed into (-1, 1)^d by tanh (the SAC policy):
    ``TransformedDistribution(Independent(Normal(mean, exp(log_std))), Tanh())``.

    Its ``log_prob(a)`` inverts tanh, which loses precision as |a| → 1; when the action is a fresh
    sample use :func:`tanh_normal_sample`, which scores the pre-squash value instead."""
    base = tfd.Independent(tfd.Normal(mean, tf.exp(log_std)), reinterpreted_batch_ndims=1)
    return tfd.TransformedDistribution(base, tfp.bijectors.Tanh())


def tanh_normal_sample(dist: tfd.TransformedDistribution, seed=None):
    """A reparameterised sample a = tanh(u), u ~ N(mean, std), and its log-density with the
    change-of-variables correction: log π(a) = log N(u) − Σ log(1 − tanh(u)²) (the bijector's
    log-det-Jacobian, computed stably from u)."""
    u = dist.distribution.sample(seed=seed)
    log_prob = dist.distribution.log_prob(u) - dist.bijector.forward_log_det_jacobian(u, event_ndims=1)
    return dist.bijector.forward(u), log_prob


def tanh_normal_mode(dist: tfd.TransformedDistribution):
    """tanh(mean): the deterministic action of a tanh-squashed Gaussian."""
    return dist.bijector.forward(dist.distribution.mode())


# --------------------------------------------------------------------------------------------
# World-model heads (Dreamer): categorical with unimix + straight-through, twohot-symlog, builders
# --------------------------------------------------------------------------------------------


def unimix_logits(logits: tf.Tensor, unimix: float = 0.01) -> tf.Tensor:
    """Log-probabilities of softmax(logits) mixed with ``unimix`` of the uniform distribution over
    the last axis (K classes): p = (1 − unimix)·softmax(logits) + unimix/K, so every class keeps
    at least unimix/K (DreamerV3 uses 1%). ``unimix=0`` returns log_softmax(logits)."""
    if not 0.0 <= unimix < 1.0:
        raise ValueError(f"unimix={unimix!r} must be in [0, 1).")
    logits = tf.convert_to_tensor(logits, tf.float32)
    if unimix == 0.0:
        return tf.nn.log_softmax(logits, axis=-1)
    num = tf.cast(tf.shape(logits)[-1], tf.float32)
    probs = (1.0 - unimix) * tf.nn.softmax(logits, axis=-1) + unimix / num
    return tf.math.log(probs)


def straight_through_sample(dist_or_probs, seed=None) -> tf.Tensor:
    """A one-hot sample whose gradient is that of the probabilities (straight-through estimator):
    onehot + (probs − stop_gradient(probs)). The value is exactly the one-hot sample.

    ``dist_or_probs`` is a TFP ``OneHotCategorical`` (possibly wrapped in ``Independent``) or a
    tensor of probabilities over the last axis; ``seed`` is passed to TFP's sampler (an int, a
    stateless seed of shape (2,), or None)."""
    if isinstance(dist_or_probs, tfd.Independent):
        dist = dist_or_probs.distribution
    elif isinstance(dist_or_probs, tfd.Distribution):
        dist = dist_or_probs
    else:
        probs = tf.convert_to_tensor(dist_or_probs, tf.float32)
        dist = tfd.OneHotCategorical(probs=probs, dtype=tf.float32)
    if not isinstance(dist, tfd.OneHotCategorical):
        raise TypeError(f"straight_through_sample needs a OneHotCategorical or probabilities, got {type(dist).__name__}.")
    probs = dist.probs_parameter()
    onehot = onehot_categorical_sample(probs, seed)
    return onehot + (probs - tf.stop_gradient(probs))


def onehot_categorical_sample(probs: tf.Tensor, seed=None) -> tf.Tensor:
    """One-hot samples (float32) of categorical variables with ``probs`` over the last axis, by the
    inverse of each variable's CDF: one uniform number per variable, where a Gumbel-max sampler
    (TFP's, ``tf.random.categorical``) draws one per class. For DreamerV3's 32 × 32 latents that is 32
    times fewer random numbers, which on a CPU under XLA made the sampling the largest piece of
    the imagination loop outside its matrix products. ``seed``: a stateless seed of shape (2,), an
    int (op seed) or None (TensorFlow's global generator)."""
    probs = tf.convert_to_tensor(probs, tf.float32)
    shape = tf.shape(probs)[:-1]
    if seed is None:
        u = tf.random.uniform(shape)
    elif isinstance(seed, (int, np.integer)):
        u = tf.random.uniform(shape, seed=int(seed))
    else:
        u = tf.random.stateless_uniform(shape, seed)
    cdf = tf.math.cumsum(probs, axis=-1)
    u = u * cdf[..., -1]  # probabilities that sum to 1 up to rounding
    # class k is drawn when cdf[k-1] <= u < cdf[k]
    index = tf.reduce_sum(tf.cast(cdf <= u[..., None], tf.int32), axis=-1)
    classes = tf.shape(probs)[-1]
    return tf.one_hot(tf.minimum(index, classes - 1), classes, dtype=tf.float32)


def bernoulli_dist(logits: tf.Tensor, event_ndims: int = 0) -> tfd.Distribution:
    """Bernoulli on ``logits`` with float samples (the continue head: P(continue) = P(1 − terminal))."""
    dist = tfd.Bernoulli(logits=tf.convert_to_tensor(logits, tf.float32), dtype=tf.float32)
    return tfd.Independent(dist, reinterpreted_batch_ndims=event_ndims) if event_ndims else dist


class TwoHotSymlog:
    """Distribution-like head over ``num_bins`` (255) bins spread evenly over [low, high]
    (−20…20) in symlog space, for DreamerV3 reward and critic predictions.

    ``mean()`` / ``mode()`` = symexp(Σ softmax(logits)·bins); ``log_prob(target)`` = Σ
    twohot(symlog(target))·log_softmax(logits), so −log_prob is the twohot cross-entropy. ``logits``
    has shape batch + (num_bins,), ``target`` shape batch. Zero logits (a zero-initialised output
    layer) predict exactly 0 because the bins are symmetric around 0."""

    def __init__(self, logits: tf.Tensor, low: float = -20.0, high: float = 20.0, num_bins: int = 255):
        if num_bins < 2 or not low < high:
            raise ValueError(f"TwoHotSymlog needs num_bins >= 2 and low < high, got num_bins={num_bins}, "
                             f"low={low}, high={high}.")
        self.logits = tf.convert_to_tensor(logits, tf.float32)
        if self.logits.shape[-1] is not None and self.logits.shape[-1] != num_bins:
            raise ValueError(f"TwoHotSymlog logits have {self.logits.shape[-1]} entries on the last axis, "
                             f"expected num_bins={num_bins}.")
        self.bins = tf.linspace(tf.constant(low, tf.float32), tf.constant(high, tf.float32), num_bins)

    @property
    def probs(self) -> tf.Tensor:
        return tf.nn.softmax(self.logits, axis=-1)

    def mean(self) -> tf.Tensor:
        return symexp(twohot_decode(self.probs, self.bins))

    def mode(self) -> tf.Tensor:
        return self.mean()

    def log_prob(self, target: tf.Tensor) -> tf.Tensor:
        weights = twohot_encode(symlog(tf.convert_to_tensor(target, tf.float32)), self.bins)
        return tf.reduce_sum(weights * tf.nn.log_softmax(self.logits, axis=-1), axis=-1)
