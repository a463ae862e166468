"""Soft Actor-Critic with twin Q networks, Polyak target networks and automatic temperature
(Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications").

Per gradient step, on a replay batch (s, a, r, s', discount = γ·(1 − terminated)):
  critic:      y = r + discount·(min(Q1', Q2')(s', a') − α·log π(a'|s')),  a' ~ π(·|s');
               minimise ½(Q1(s, a) − y)² + ½(Q2(s, a) − y)²
  actor:       minimise α·log π(ã|s) − min(Q1, Q2)(s, ã),  ã ~ π(·|s) reparameterised
  temperature: minimise −log α·(log π(ã|s) + target_entropy)   (target −|A| by default)
  targets:     Q' ← (1 − τ)·Q' + τ·Q
The policy is a tanh-squashed Gaussian with a state-dependent, clipped log-std; evaluation acts
with tanh(mean). The whole update, K gradient steps of it, is one XLA-compiled call.

>>> from srl_tf.algorithms import sac
>>> rl_config = sac.Config(lr_policy=1e-3, lr_q=1e-3)
>>> srl_tf.Runner("Pendulum-v1", rl_config).train(max_steps=20_000)
"""

from __future__ import annotations

import math
from dataclasses import field

import keras
import numpy as np
import tensorflow as tf

from srl_tf.algorithms.base import ContinuousOffPolicyAgent, PolicyGraph, polyak_update
from srl_tf.config import BlockConfig, ContinuousOffPolicyConfig, Schedule, block, config_dataclass, schedule
from srl_tf.distributions import tanh_normal, tanh_normal_mode, tanh_normal_sample
from srl_tf.errors import ConfigError
from srl_tf.nn.blocks import QValueNetwork, torso

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # clip of the policy's state-dependent log-std


@config_dataclass
class Config(ContinuousOffPolicyConfig):
    """SAC hyperparameters (defaults: the paper's, as in Stable-Baselines3)."""

    batch_size: int = 256
    """Transitions per gradient step."""
    lr_policy: Schedule = schedule(3e-4)
    """Actor learning rate (Adam)."""
    lr_q: Schedule = schedule(3e-4)
    """Learning rate of the twin Q networks (Adam)."""
    policy_hidden_block: BlockConfig = block(256, 256)
    """Actor MLP (after the CNN for images)."""
    q_hidden_block: BlockConfig = block(256, 256)
    """MLP of each Q network, on [observation features, action]."""
    image_block: BlockConfig = field(default_factory=lambda: BlockConfig().set_cnn("dqn"))
    """CNN for image observations (each network has its own)."""
    tau: float = 0.005
    """Polyak factor of the target Q networks: Q' ← (1 − τ)·Q' + τ·Q every gradient step."""
    entropy_alpha_auto: bool = True
    """Tune the temperature α so that the policy's entropy approaches ``target_entropy``."""
    initial_alpha: float = 1.0
    """Temperature α at the start (kept fixed when ``entropy_alpha_auto`` is False)."""
    lr_alpha: Schedule = schedule(3e-4)
    """Learning rate of log α (Adam)."""
    target_entropy: float | None = None
    """Entropy the temperature tuning aims at; None means −|A| (minus the action dimension).
    Must be <= 0."""
    max_grad_norm: float = 0.0
    """Global-norm gradient clipping (<= 0 disables it; SAC does not clip by default)."""

    name = "SAC"
    supports_discrete = False

    def validate(self) -> None:
        super().validate()
        self._check_range("tau", 0.0, 1.0, low_open=True)
        self._check_range("initial_alpha", 0.0, float("inf"), low_open=True, high_open=True)
        if self.target_entropy is not None:
            ok = isinstance(self.target_entropy, (int, float)) and math.isfinite(self.target_entropy)
            if not ok or self.target_entropy > 0:
                raise ConfigError(
                    f"target_entropy={self.target_entropy!r} is out of range; expected None (−|A|) or a "
                    "finite value <= 0 (a tanh-squashed policy cannot reach a positive target)."
                )

    def make_agent(self, spec, num_envs: int = 1) -> Agent:
        return Agent(self, spec, num_envs)


class Actor(keras.Model):
    """Observation → tanh-squashed Gaussian over [-1, 1]^d."""

    def __init__(self, spec, config: Config, **kwargs):
        super().__init__(**kwargs)
        self.torso = torso(spec, config.policy_hidden_block, config.image_block, name="policy_torso")
        self.mean = keras.layers.Dense(spec.action_dim, name="mean")
        self.log_std = keras.layers.Dense(spec.action_dim, name="log_std")

    def call(self, obs):
        h = self.torso(obs)
        return self.mean(h), keras.ops.clip(self.log_std(h), LOG_STD_MIN, LOG_STD_MAX)

    def distribution(self, obs):
        return tanh_normal(*self(obs))


class Temperature(keras.Model):
    """Holds log α (a model so that it is saved with the weights)."""

    def __init__(self, initial_alpha: float, **kwargs):
        super().__init__(**kwargs)
        self.log_alpha = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(math.log(initial_alpha)), name="log_alpha"
        )
        self.built = True  # no inputs to build from; lets save_weights() work before the first update

    def call(self, inputs=None):
        return keras.ops.exp(self.log_alpha)


class Agent(ContinuousOffPolicyAgent):
    def __init__(self, config: Config, spec, num_envs: int = 1):
        super().__init__(config, spec, num_envs)
        self.actor = Actor(spec, config, name="policy")
        self.q = [QValueNetwork(spec, config.q_hidden_block, config.image_block, name=f"q{i}") for i in (1, 2)]
        self.q_target = [
            QValueNetwork(spec, config.q_hidden_block, config.image_block, name=f"q{i}_target") for i in (1, 2)
        ]
        self.temperature = Temperature(config.initial_alpha, name="temperature")
        obs = np.zeros((1,) + spec.obs_shape, spec.obs_dtype)
        act = np.zeros((1,) + spec.action_shape, np.float32)
        self.actor(obs)
        for net in self.q + self.q_target:
            net(obs, act)
        self.after_load()  # targets start as copies
        self.target_entropy = float(-spec.action_dim if config.target_entropy is None else config.target_entropy)
        self.q_vars = self.q[0].trainable_variables + self.q[1].trainable_variables
        self.q_target_vars = self.q_target[0].trainable_variables + self.q_target[1].trainable_variables
        self.policy_optimizer = self.make_optimizer(config.lr_policy)
        self.policy_optimizer.build(self.actor.trainable_variables)
        self.q_optimizer = self.make_optimizer(config.lr_q)
        self.q_optimizer.build(self.q_vars)
        self.alpha_optimizer = self.make_optimizer(config.lr_alpha)
        self.alpha_optimizer.build(self.temperature.trainable_variables)
        self._policy_step = self.compile(self._policy_fn, "policy", [self.obs_signature()])
        self._mode_step = self.compile(self._mode_fn, "policy_mode", [self.obs_signature()])
        self._train = self.compile(self._train_fn, "train", self.train_signature())

    def models(self):
        return {
            "policy": self.actor,
            "q1": self.q[0],
            "q2": self.q[1],
            "q1_target": self.q_target[0],
            "q2_target": self.q_target[1],
            "temperature": self.temperature,
        }

    def after_load(self):
        for q, q_target in zip(self.q, self.q_target):
            q_target.set_weights(q.get_weights())

    # ---- acting ----------------------------------------------------------------------------
    def _policy_fn(self, obs):
        return self._sample_fn(obs, self._seed())

    def _sample_fn(self, obs, seed):
        return tanh_normal_sample(self.actor.distribution(obs), seed)[0]

    def _mode_fn(self, obs):
        """The deterministic (evaluation) action; it draws no seed, so evaluating leaves the
        training run's random stream as it was."""
        return tanh_normal_mode(self.actor.distribution(obs))

    def acting_models(self):
        return {"policy": self.actor}

    def _act_normalised(self, obs, carry, explore):
        return (self._policy_step if explore else self._mode_step)(obs).numpy(), carry

    def _normalised_graph(self, explore: bool) -> PolicyGraph:
        def fn(obs, carry, seed):
            return (self._sample_fn(obs, seed) if explore else self._mode_fn(obs)), carry

        return PolicyGraph(fn)

    # ---- learning ----------------------------------------------------------------------------
    def critic_target(self, reward, next_obs, discount):
        """y = r + discount·(min(Q1', Q2')(s', a') − α·log π(a'|s')), a' ~ π(·|s'), where
        discount = γ·(1 − terminated) comes from the replay batch."""
        next_action, next_log_prob = tanh_normal_sample(self.actor.distribution(next_obs), self._seed())
        next_q = tf.minimum(self.q_target[0](next_obs, next_action), self.q_target[1](next_obs, next_action))
        return tf.stop_gradient(reward + discount * (next_q - self.temperature() * next_log_prob))

    def _train_fn(self, obs, action, reward, next_obs, discount):
        cfg = self.config
        policy_vars, alpha_vars = self.actor.trainable_variables, self.temperature.trainable_variables
        names = ("q_loss", "policy_loss", "alpha_loss", "alpha", "entropy", "q_mean")
        totals = tf.zeros(len(names))
        for i in tf.range(cfg.gradient_steps):
            y = self.critic_target(reward[i], next_obs[i], discount[i])
            with tf.GradientTape() as tape:
                q1, q2 = self.q[0](obs[i], action[i]), self.q[1](obs[i], action[i])
                q_loss = 0.5 * tf.reduce_mean(tf.square(q1 - y)) + 0.5 * tf.reduce_mean(tf.square(q2 - y))
            self.apply_gradients(tape, q_loss, self.q_vars, self.q_optimizer, cfg.max_grad_norm)

            alpha = self.temperature()
            with tf.GradientTape() as tape:
                new_action, log_prob = tanh_normal_sample(self.actor.distribution(obs[i]), self._seed())
                q_new = tf.minimum(self.q[0](obs[i], new_action), self.q[1](obs[i], new_action))
                policy_loss = tf.reduce_mean(alpha * log_prob - q_new)
            self.apply_gradients(tape, policy_loss, policy_vars, self.policy_optimizer, cfg.max_grad_norm)

            # d(alpha_loss)/d(log α) = entropy − target: α falls while the entropy (−log π) is above
            # its target and rises while it is below.
            entropy_gap = tf.stop_gradient(log_prob + self.target_entropy)
            with tf.GradientTape() as tape:
                alpha_loss = -tf.reduce_mean(self.temperature.log_alpha * entropy_gap)
            if cfg.entropy_alpha_auto:
                self.apply_gradients(tape, alpha_loss, alpha_vars, self.alpha_optimizer, 0.0)

            polyak_update(self.q_target_vars, self.q_vars, cfg.tau)
            totals += tf.stack([q_loss, policy_loss, alpha_loss, alpha, -tf.reduce_mean(log_prob), tf.reduce_mean(q1)])
        totals /= float(cfg.gradient_steps)
        return {k: totals[j] for j, k in enumerate(names)}
