"""One-step actor-critic (Sutton & Barto, 2nd ed., §13.5), discrete and continuous actions.

After every env step, with δ = r + γ·V(s') − V(s) (V(s') = 0 on termination, kept on a
time-limit truncation) treated as a constant:
  critic: minimise ½·δ²  (semi-gradient on V(s));
  actor:  ascend I·δ·∇log π(a|s), with I = γ^t within the episode (reset to 1 when one begins).
Gradients are not clipped unless ``max_grad_norm`` is set.

>>> from srl_tf.algorithms import actor_critic
>>> srl_tf.Runner("CartPole-v1", actor_critic.Config()).train(max_episodes=300)
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from srl_tf.algorithms.base import StochasticPolicyAgent
from srl_tf.config import BlockConfig, RLConfig, Schedule, block, config_dataclass, schedule
from srl_tf.nn.blocks import ValueNetwork


@config_dataclass
class Config(RLConfig):
    """One-step actor-critic hyperparameters. There is no memory and no batch size: each update
    uses the latest step of every env."""

    lr: Schedule = schedule(5e-4)
    """Actor step size (for ``optimizer``). Single-transition updates are noisy and a learned
    near-deterministic policy can still be knocked over late in training; decaying it helps
    (CartPole-v1, 300 episodes: ``lr.set_linear(5e-4, 0.0, 100_000)`` with ``lr_value`` 1e-3)."""
    hidden_block: BlockConfig = block(64, 64, activation="tanh")
    """Actor network."""
    lr_value: Schedule = schedule(2e-3)
    """Critic step size (for ``optimizer``)."""
    value_block: BlockConfig = block(64, 64, activation="tanh")
    """Critic network."""
    entropy_coef: float = 0.0
    """Entropy bonus weight (0 is the textbook algorithm)."""
    optimizer: str = "adam"
    """'adam', 'sgd' (the textbook's plain gradient steps) or 'rmsprop', for actor and critic."""
    max_grad_norm: float = 0.0
    """Global-norm clipping of each update's gradient (<= 0 disables it; off by default, as in the
    textbook algorithm). Each update is one transition, so clipping is not a gentle safeguard here:
    it cuts the rare large |δ| (a termination the critic did not foresee) while the many small δ of
    the other steps pass whole, which biases V(s) up towards 1/(1 − γ), makes δ at termination
    hugely negative, and drives the policy to a deterministic one (on CartPole-v1 with the
    inherited default of 10, episodes of ~10 steps within ~3000 steps)."""

    name = "ActorCritic"

    def validate(self) -> None:
        super().validate()
        self._check_choice("optimizer", ("adam", "sgd", "rmsprop"))
        self._check_range("entropy_coef", 0.0, float("inf"), high_open=True)

    def make_agent(self, spec, num_envs: int = 1) -> Agent:
        return Agent(self, spec, num_envs)


class Agent(StochasticPolicyAgent):
    def __init__(self, config: Config, spec, num_envs: int = 1):
        super().__init__(config, spec, num_envs)
        self.value = ValueNetwork(spec, config.value_block, name="value")
        self.value(np.zeros((1,) + spec.obs_shape, spec.obs_dtype))
        self.optimizer = self.make_optimizer(config.lr, kind=config.optimizer)
        self.optimizer.build(self.policy.trainable_variables)
        self.value_optimizer = self.make_optimizer(config.lr_value, kind=config.optimizer)
        self.value_optimizer.build(self.value.trainable_variables)
        n = num_envs
        sig = [
            self.obs_signature((n,)),
            self.raw_action_signature((n,)),
            tf.TensorSpec((n,), tf.float32),
            self.obs_signature((n,)),
            tf.TensorSpec((n,), tf.float32),
            tf.TensorSpec((n,), tf.float32),
        ]
        self._train = self.compile(self._train_fn, "train", sig)
        self._latest = None  # the latest step of every env: the one-step memory the next update learns from

    def models(self):
        return {"policy": self.policy, "value": self.value}

    def _initial_carry(self, batch_size: int):
        return {"importance": np.ones(batch_size, np.float32)}  # I = γ^t of each stream's episode

    def act(self, obs, carry, explore: bool = True):
        action, _, extras = super().act(obs, carry, explore)
        # I = 1 where an episode begins, γ·I of the step before otherwise
        importance = np.where(carry["is_first"], 1.0, carry["importance"] * self.config.discount).astype(np.float32)
        return action, self.next_carry(carry, importance=importance), {**extras, "importance": importance}

    def observe(self, step, extras) -> None:
        super().observe(step, extras)
        terminated = step.terminated.astype(np.float32)
        self._latest = (extras["obs"], extras["action"], step.reward, step.next_obs, terminated, extras["importance"])

    def update(self):
        if self._latest is None:
            return 0, {}
        batch, self._latest = self._latest, None
        metrics = self._train(*batch)
        self.train_count += 1
        return 1, metrics

    def _train_fn(self, obs, action, reward, next_obs, terminated, importance):
        cfg = self.config
        next_v = self.value(next_obs) * (1.0 - terminated)
        with tf.GradientTape() as tape:
            v = self.value(obs)
            delta = reward + cfg.discount * next_v - v
            value_loss = 0.5 * tf.reduce_mean(tf.square(delta))  # next_v carries no gradient
        self.apply_gradients(tape, value_loss, self.value.trainable_variables, self.value_optimizer, cfg.max_grad_norm)
        delta = tf.stop_gradient(delta)
        with tf.GradientTape() as tape:
            dist = self.policy.distribution(obs)
            entropy = tf.reduce_mean(dist.entropy())
            policy_loss = -tf.reduce_mean(importance * delta * dist.log_prob(action)) - cfg.entropy_coef * entropy
        self.apply_gradients(tape, policy_loss, self.policy.trainable_variables, self.optimizer, cfg.max_grad_norm)
        return {"value_loss": value_loss, "policy_loss": policy_loss, "td_error": tf.reduce_mean(tf.abs(delta)), "entropy": entropy}
