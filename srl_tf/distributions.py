"""Policy distributions built with TensorFlow Probability from tensors that Keras layers return.

Continuous policies act in the normalised box [-1, 1]^d; :func:`to_env_action` maps such an
action to the env's bounds (the adapter clips whatever lies outside).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

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


def to_env_action(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """[-1, 1] → [low, high] (clipped)."""
    a = np.clip(action, -1.0, 1.0)
    return (low + (a + 1.0) * 0.5 * (high - low)).astype(np.float32)


def from_env_action(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """[low, high] → [-1, 1], the inverse of :func:`to_env_action`."""
    return np.clip(2.0 * (action - low) / (high - low) - 1.0, -1.0, 1.0).astype(np.float32)


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
