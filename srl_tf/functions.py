"""Numeric helpers shared by the algorithms."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp


def discounted_returns(rewards: np.ndarray, discount: float, bootstrap: float = 0.0) -> np.ndarray:
    """G_t = r_t + γ·G_{t+1} over one episode, with G_T = ``bootstrap``."""
    out = np.empty(len(rewards), np.float32)
    g = float(bootstrap)
    for t in range(len(rewards) - 1, -1, -1):
        g = float(rewards[t]) + discount * g
        out[t] = g
    return out


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    ended: np.ndarray,
    discount: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation (Schulman et al. 2016) over a rollout of shape (T, ...).

    ``next_values[t]`` is V of the observation that followed step t: the next step's value inside an
    episode, V(final observation) where the episode was truncated (a time limit still bootstraps),
    anything where it terminated (``terminated`` zeroes it). ``ended`` = terminated | truncated cuts
    the λ-recursion so that no advantage runs across an episode boundary:

        δ_t = r_t + γ·(1 − terminated_t)·next_values_t − values_t
        A_t = δ_t + γ·λ·(1 − ended_t)·A_{t+1}

    Returns (advantages, returns = advantages + values), float32.
    """
    rewards = np.asarray(rewards, np.float32)
    not_term = 1.0 - np.asarray(terminated, np.float32)
    not_end = 1.0 - np.asarray(ended, np.float32)
    delta = rewards + discount * not_term * next_values - values
    adv = np.zeros_like(delta, dtype=np.float32)
    last = np.zeros_like(delta[0], dtype=np.float32)
    for t in range(len(delta) - 1, -1, -1):
        last = delta[t] + discount * lam * not_end[t] * last
        adv[t] = last
    return adv, (adv + values).astype(np.float32)


# --------------------------------------------------------------------------------------------
# World-model helpers (Dreamer): TensorFlow ops, usable inside tf.function(jit_compile=True)
# --------------------------------------------------------------------------------------------


def symlog(x: tf.Tensor) -> tf.Tensor:
    """symlog(x) = sign(x)·log(1 + |x|) (Hafner et al. 2023): compresses large magnitudes, is the
    identity near 0 and is inverted by :func:`symexp`."""
    x = tf.convert_to_tensor(x)
    return tf.sign(x) * tf.math.log1p(tf.abs(x))


def symexp(x: tf.Tensor) -> tf.Tensor:
    """symexp(x) = sign(x)·(exp(|x|) − 1), the inverse of :func:`symlog`."""
    x = tf.convert_to_tensor(x)
    return tf.sign(x) * tf.math.expm1(tf.abs(x))


def twohot_encode(x: tf.Tensor, bins: tf.Tensor) -> tf.Tensor:
    """Encodes each scalar of ``x`` (any shape S) as weights over ``bins`` (shape (K,), strictly
    increasing), returned with shape S + (K,).

    The weight is split between the two neighbouring bins b_k <= x < b_{k+1} in proportion to
    closeness, w_{k+1} = (x − b_k)/(b_{k+1} − b_k) and w_k = 1 − w_{k+1}, so the weights sum to 1
    and Σ w·b = x. Values outside [b_0, b_{K−1}] are clipped to the range (all weight on the end
    bin). The result carries no gradient (it is a regression target)."""
    x = tf.stop_gradient(tf.convert_to_tensor(x, tf.float32))
    bins = tf.convert_to_tensor(bins, tf.float32)
    num = bins.shape[0]
    if num is not None and num < 2:
        raise ValueError(f"twohot_encode needs at least 2 bins, got {num}.")
    num = tf.shape(bins)[0]
    x = tf.clip_by_value(x, bins[0], bins[-1])
    # index of the bin at or below x, limited to [0, K-2] so that k+1 is a valid index
    below = tf.reduce_sum(tf.cast(bins <= x[..., None], tf.int32), axis=-1) - 1
    below = tf.clip_by_value(below, 0, num - 2)
    lo = tf.gather(bins, below)
    hi = tf.gather(bins, below + 1)
    w_hi = tf.clip_by_value((x - lo) / (hi - lo), 0.0, 1.0)
    return (tf.one_hot(below, num, dtype=tf.float32) * (1.0 - w_hi)[..., None]
            + tf.one_hot(below + 1, num, dtype=tf.float32) * w_hi[..., None])


def twohot_decode(probs: tf.Tensor, bins: tf.Tensor) -> tf.Tensor:
    """Σ_k probs_k·b_k over the last axis: the expected bin value (inverse of
    :func:`twohot_encode` for a twohot ``probs``)."""
    probs = tf.convert_to_tensor(probs, tf.float32)
    return tf.reduce_sum(probs * tf.convert_to_tensor(bins, tf.float32), axis=-1)


def lambda_returns(
    rewards: tf.Tensor,
    values: tf.Tensor,
    continues: tf.Tensor,
    bootstrap: tf.Tensor,
    discount: float,
    lam: float,
) -> tf.Tensor:
    """TD(λ) returns over a time-major horizon of H steps (axis 0), computed backwards:

        R_t = r_t + γ·c_t·((1 − λ)·v_{t+1} + λ·R_{t+1}),    t = H−1 … 0
        R_H = v_H = bootstrap

    ``rewards[t]`` = r_t and ``continues[t]`` = c_t (1 − terminal, or a predicted continue
    probability) belong to the transition out of state t; ``values[t]`` = v(s_t), so v_{t+1} is
    ``values[t+1]`` and ``bootstrap`` (shape of one step, v(s_H)) past the end. All of shape
    (H, ...). λ = 1 gives the discounted Monte-Carlo return bootstrapped with v_H; λ = 0 gives
    one-step TD targets. Returns R_0 … R_{H−1}, shape (H, ...)."""
    rewards = tf.convert_to_tensor(rewards, tf.float32)
    values = tf.convert_to_tensor(values, tf.float32)
    continues = tf.convert_to_tensor(continues, tf.float32)
    bootstrap = tf.convert_to_tensor(bootstrap, tf.float32)
    next_values = tf.concat([values[1:], bootstrap[None]], axis=0)
    # the part of R_t that does not depend on R_{t+1}
    inputs = rewards + discount * continues * (1.0 - lam) * next_values
    weights = discount * continues * lam

    def step(ret_next, elems):
        inp, w = elems
        return inp + w * ret_next

    return tf.scan(step, (inputs, weights), initializer=bootstrap, reverse=True)


class PercentileNormalizer(keras.layers.Layer):
    """Return scale for the DreamerV3 actor: S = max(1, P_high − P_low), where P_low and P_high are
    EMAs (``decay``, default 0.99) of the 5th and 95th percentiles of the λ-returns of each batch.

    ``update(returns)`` moves the EMAs and returns (P_low, S); ``scale()`` reads S. The EMAs are
    non-trainable weights (saved with the model), start at 0 and are updated with tf ops, so both
    calls work inside a compiled train step. ``call(x)`` returns x / S."""

    def __init__(self, decay: float = 0.99, low: float = 5.0, high: float = 95.0, min_scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"PercentileNormalizer decay={decay!r} must be in [0, 1).")
        if not 0.0 <= low < high <= 100.0:
            raise ValueError(f"PercentileNormalizer percentiles low={low!r}, high={high!r} need 0 <= low < high <= 100.")
        if min_scale <= 0.0:
            raise ValueError(f"PercentileNormalizer min_scale={min_scale!r} must be > 0.")
        self.decay, self.low, self.high, self.min_scale = float(decay), float(low), float(high), float(min_scale)
        self.low_ema = self.add_weight(shape=(), initializer="zeros", trainable=False, name="low_ema")
        self.high_ema = self.add_weight(shape=(), initializer="zeros", trainable=False, name="high_ema")
        self.built = True

    def update(self, returns: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Moves the EMAs toward the percentiles of ``returns`` (all axes pooled, no gradient) and
        returns (P_low EMA, S) after the update."""
        x = tf.reshape(tf.stop_gradient(tf.convert_to_tensor(returns, tf.float32)), [-1])
        p = tfp.stats.percentile(x, [self.low, self.high], interpolation="linear")
        d = self.decay
        self.low_ema.assign(d * self.low_ema + (1.0 - d) * p[0])
        self.high_ema.assign(d * self.high_ema + (1.0 - d) * p[1])
        return tf.convert_to_tensor(self.low_ema), self.scale()

    def scale(self) -> tf.Tensor:
        """S = max(min_scale, P_high − P_low) from the current EMAs."""
        return tf.maximum(self.min_scale, tf.convert_to_tensor(self.high_ema) - tf.convert_to_tensor(self.low_ema))

    def call(self, x):
        return tf.convert_to_tensor(x, tf.float32) / self.scale()

    def get_config(self):
        return {**super().get_config(), "decay": self.decay, "low": self.low, "high": self.high,
                "min_scale": self.min_scale}
