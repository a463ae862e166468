"""DDPG (Lillicrap et al. 2016) with the TD3 options of Fujimoto et al. 2018.

Per gradient step, on a replay batch (s, a, r, s', discount = γ·(1 − terminated)):
  critic:  y = r + discount·Q'(s', μ'(s') + ε), ε = clip(N(0, target_policy_noise²), ±target_noise_clip)
           (ε = 0 without target-policy smoothing; the min over twin target critics with
           ``enable_twin_critics``); minimise ½(Q(s, a) − y)² for each critic
  actor:   every ``policy_delay`` steps, maximise Q1(s, μ(s)) and update the targets
           μ' ← (1 − τ)·μ' + τ·μ, Q' ← (1 − τ)·Q' + τ·Q.
Exploration adds Gaussian or Ornstein-Uhlenbeck noise to μ(s) in the normalised action box
[-1, 1]^d. The whole update, K gradient steps of it, is one XLA-compiled call.

>>> from srl_tf.algorithms import ddpg
>>> rl_config = ddpg.Config(lr=1e-3)
>>> rl_config.set_td3()
>>> srl_tf.Runner("Pendulum-v1", rl_config).train(max_steps=20_000)
"""

from __future__ import annotations

import functools
import math
from dataclasses import field

import keras
import numpy as np
import tensorflow as tf

from srl_tf.algorithms.base import ContinuousOffPolicyAgent, PolicyGraph, polyak_update
from srl_tf.config import BlockConfig, ContinuousOffPolicyConfig, Schedule, block, config_dataclass, schedule
from srl_tf.nn.blocks import QValueNetwork, torso


@config_dataclass
class Config(ContinuousOffPolicyConfig):
    """DDPG / TD3 hyperparameters (``set_td3()`` switches on the three TD3 options)."""

    batch_size: int = 256
    """Transitions per gradient step."""
    lr: Schedule = schedule(1e-3)
    """Learning rate of the actor and of the critics (Adam)."""
    policy_block: BlockConfig = block(256, 256)
    """Actor MLP (after the CNN for images); its output is tanh-squashed into [-1, 1]^d."""
    q_block: BlockConfig = block(256, 256)
    """MLP of each critic, on [observation features, action]."""
    image_block: BlockConfig = field(default_factory=lambda: BlockConfig().set_cnn("dqn"))
    """CNN for image observations (each network has its own)."""
    tau: float = 0.005
    """Polyak factor of the target networks: θ' ← (1 − τ)·θ' + τ·θ at every actor update."""
    exploration_noise: str = "gaussian"
    """Exploration noise added to μ(s) in [-1, 1]^d: 'gaussian' (independent, ``noise_std``) or
    'ou' (Ornstein-Uhlenbeck, temporally correlated, ``ou_theta`` / ``ou_sigma``)."""
    noise_std: float = 0.1
    """Standard deviation of the Gaussian exploration noise (in units of the normalised action)."""
    ou_theta: float = 0.15
    """Ornstein-Uhlenbeck mean-reversion rate θ: x ← x − θ·x·dt + σ·√dt·N(0, 1)."""
    ou_sigma: float = 0.2
    """Ornstein-Uhlenbeck noise scale σ."""
    ou_dt: float = 1e-2
    """Ornstein-Uhlenbeck time step dt."""
    enable_twin_critics: bool = False
    """TD3: two critics, the target takes the smaller of their target values."""
    target_policy_noise: float = 0.0
    """TD3 target-policy smoothing: std of the noise added to μ'(s') in the target (0: off)."""
    target_noise_clip: float = 0.5
    """TD3: the target-policy noise is clipped to ±this."""
    policy_delay: int = 1
    """TD3: critic updates per actor (and target) update."""
    max_grad_norm: float = 0.0
    """Global-norm gradient clipping (<= 0 disables it; DDPG / TD3 do not clip by default)."""

    name = "DDPG"
    supports_discrete = False

    def set_td3(self) -> Config:
        """TD3 (Fujimoto et al. 2018): twin critics, target-policy smoothing (0.2, clipped to 0.5)
        and actor updates delayed to every second critic update."""
        self.enable_twin_critics = True
        self.target_policy_noise = 0.2
        self.target_noise_clip = 0.5
        self.policy_delay = 2
        return self

    def validate(self) -> None:
        super().validate()
        self._check_range("tau", 0.0, 1.0, low_open=True)
        self._check_choice("exploration_noise", ("gaussian", "ou"))
        inf = float("inf")
        for name in ("noise_std", "ou_sigma", "target_policy_noise", "target_noise_clip"):
            self._check_range(name, 0.0, inf, high_open=True)
        for name in ("ou_theta", "ou_dt"):
            self._check_range(name, 0.0, inf, low_open=True, high_open=True)
        self._check_int("policy_delay", low=1)

    def make_agent(self, spec, num_envs: int = 1) -> Agent:
        return Agent(self, spec, num_envs)


class Actor(keras.Model):
    """Observation → deterministic action μ(s) in [-1, 1]^d."""

    def __init__(self, spec, config: Config, **kwargs):
        super().__init__(**kwargs)
        self.torso = torso(spec, config.policy_block, config.image_block, name=f"{self.name}_torso")
        self.out = keras.layers.Dense(spec.action_dim, activation="tanh", name=f"{self.name}_out")

    def call(self, obs):
        return self.out(self.torso(obs))


class Agent(ContinuousOffPolicyAgent):
    def __init__(self, config: Config, spec, num_envs: int = 1):
        super().__init__(config, spec, num_envs)
        n_critics = 2 if config.enable_twin_critics else 1
        self.actor = Actor(spec, config, name="policy")
        self.actor_target = Actor(spec, config, name="policy_target")
        self.q = [QValueNetwork(spec, config.q_block, config.image_block, name=f"q{i + 1}") for i in range(n_critics)]
        self.q_target = [
            QValueNetwork(spec, config.q_block, config.image_block, name=f"q{i + 1}_target") for i in range(n_critics)
        ]
        obs = np.zeros((1,) + spec.obs_shape, spec.obs_dtype)
        act = np.zeros((1,) + spec.action_shape, np.float32)
        for actor in (self.actor, self.actor_target):
            actor(obs)
        for net in self.q + self.q_target:
            net(obs, act)
        self.after_load()  # targets start as copies
        self.q_vars = [v for net in self.q for v in net.trainable_variables]
        self.target_vars = self.actor_target.trainable_variables + [
            v for net in self.q_target for v in net.trainable_variables
        ]
        self.online_vars = self.actor.trainable_variables + self.q_vars
        self.policy_optimizer = self.make_optimizer(config.lr)
        self.policy_optimizer.build(self.actor.trainable_variables)
        self.q_optimizer = self.make_optimizer(config.lr)
        self.q_optimizer.build(self.q_vars)
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="ddpg_critic_step")
        self._policy_loss = tf.Variable(0.0, trainable=False, name="ddpg_last_policy_loss")
        self._policy_step = self.compile(self.actor.call, "policy", [self.obs_signature()])
        self._train = self.compile(self._train_fn, "train", self.train_signature())

    def models(self):
        nets = {"policy": self.actor, "policy_target": self.actor_target}
        nets.update({net.name: net for net in self.q + self.q_target})
        return nets

    def acting_models(self):
        return {"policy": self.actor}

    def _initial_carry(self, batch_size: int):
        """Ornstein-Uhlenbeck noise is a process of each env stream, restarted with each episode."""
        if self.config.exploration_noise != "ou":
            return {}
        return {"ou": np.zeros((batch_size,) + self.spec.action_shape, np.float32)}

    def after_load(self):
        self.actor_target.set_weights(self.actor.get_weights())
        for q, q_target in zip(self.q, self.q_target):
            q_target.set_weights(q.get_weights())

    # ---- acting ----------------------------------------------------------------------------
    def _act_normalised(self, obs, carry, explore):
        mu = self._policy_step(obs).numpy()
        if not explore:
            return mu, carry
        keep = 1.0 - carry["is_first"].astype(np.float32)
        noise, carry = self._noise(self.rng.standard_normal(mu.shape), keep, carry)
        return np.clip(mu + noise, -1.0, 1.0), carry

    def _noise(self, normal, keep, carry):
        """(exploration noise, carry) from standard-normal draws ``normal`` shaped like the actions:
        Gaussian, or the next Ornstein-Uhlenbeck value of each stream (restarted from 0 where
        ``keep`` (B,) is 0: an episode begins). Plain arithmetic: numpy arrays or tensors alike."""
        cfg = self.config
        if cfg.exploration_noise != "ou":
            return cfg.noise_std * normal, carry
        x = carry["ou"] * keep[(slice(None),) + (None,) * len(self.spec.action_shape)]
        x = x - cfg.ou_theta * x * cfg.ou_dt + cfg.ou_sigma * math.sqrt(cfg.ou_dt) * normal
        return x, {**carry, "ou": x}

    def _normalised_graph(self, explore: bool) -> PolicyGraph:
        def fn(obs, carry, seed):
            mu = self.actor(obs)
            if not explore:
                return mu, carry
            keep = 1.0 - tf.cast(carry["is_first"], tf.float32)
            noise, carry = self._noise(tf.random.stateless_normal(tf.shape(mu), seed), keep, carry)
            return tf.clip_by_value(mu + noise, -1.0, 1.0), carry

        return PolicyGraph(fn, self._initial_carry(1) if explore else {})

    # ---- learning ----------------------------------------------------------------------------
    def critic_target(self, reward, next_obs, discount):
        """y = r + discount·min_i Q'_i(s', clip(μ'(s') + ε, −1, 1)), where discount = γ·(1 − terminated)
        comes from the replay batch and ε is the (clipped) target-policy smoothing noise."""
        cfg = self.config
        next_action = self.actor_target(next_obs)
        if cfg.target_policy_noise > 0:
            eps = cfg.target_policy_noise * self.tf_rng.normal(tf.shape(next_action))
            eps = tf.clip_by_value(eps, -cfg.target_noise_clip, cfg.target_noise_clip)
            next_action = tf.clip_by_value(next_action + eps, -1.0, 1.0)
        next_q = self.q_target[0](next_obs, next_action)
        for q_target in self.q_target[1:]:
            next_q = tf.minimum(next_q, q_target(next_obs, next_action))
        return tf.stop_gradient(reward + discount * next_q)

    def _update_actor(self, obs):
        """Actor step on −Q1(s, μ(s)), then the Polyak update of every target network."""
        with tf.GradientTape() as tape:
            policy_loss = -tf.reduce_mean(self.q[0](obs, self.actor(obs)))
        self.apply_gradients(
            tape, policy_loss, self.actor.trainable_variables, self.policy_optimizer, self.config.max_grad_norm
        )
        polyak_update(self.target_vars, self.online_vars, self.config.tau)
        self._policy_loss.assign(policy_loss)
        return policy_loss

    def _train_fn(self, obs, action, reward, next_obs, discount):
        cfg = self.config
        q_loss_sum, q_sum = tf.constant(0.0), tf.constant(0.0)
        for i in tf.range(cfg.gradient_steps):
            y = self.critic_target(reward[i], next_obs[i], discount[i])
            with tf.GradientTape() as tape:
                qs = [q(obs[i], action[i]) for q in self.q]
                q_loss = tf.add_n([0.5 * tf.reduce_mean(tf.square(q - y)) for q in qs])
            self.apply_gradients(tape, q_loss, self.q_vars, self.q_optimizer, cfg.max_grad_norm)
            self._step.assign_add(1)
            due = self._step % cfg.policy_delay == 0  # TD3's delayed actor and target updates
            tf.cond(due, functools.partial(self._update_actor, obs[i]), lambda: tf.constant(0.0))
            q_loss_sum += q_loss
            q_sum += tf.reduce_mean(qs[0])
        k = float(cfg.gradient_steps)
        return {"q_loss": q_loss_sum / k, "q_mean": q_sum / k, "policy_loss": tf.identity(self._policy_loss)}
