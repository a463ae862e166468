"""REINFORCE (Williams 1992): Monte-Carlo policy gradient with an optional learned state-value
baseline. Discrete (categorical) and continuous (Gaussian) actions.

>>> from srl_tf.algorithms import reinforce
>>> rl_config = reinforce.Config(enable_baseline=True)
>>> srl_tf.Runner("CartPole-v1", rl_config).train(max_episodes=500)
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from srl_tf.algorithms.base import StochasticPolicyAgent
from srl_tf.config import BlockConfig, RLConfig, Schedule, block, config_dataclass, schedule
from srl_tf.functions import discounted_returns
from srl_tf.nn.blocks import ValueNetwork


@config_dataclass
class Config(RLConfig):
    """REINFORCE hyperparameters. There is no memory and no batch size: each update uses
    ``episodes_per_update`` whole episodes."""

    lr: Schedule = schedule(1e-3)
    """Policy learning rate (Adam)."""
    hidden_block: BlockConfig = block(64, 64, activation="tanh")
    """Policy network."""
    enable_baseline: bool = False
    """Subtract a learned V(s) from the return."""
    lr_value: Schedule = schedule(1e-3)
    """Baseline learning rate (Adam)."""
    value_block: BlockConfig = block(64, 64, activation="tanh")
    """Baseline network."""
    episodes_per_update: int = 1
    """Episodes collected per gradient step."""
    normalize_advantage: bool = False
    """Standardise the (return − baseline) over each update's steps."""
    entropy_coef: float = 0.0
    """Entropy bonus weight."""

    name = "REINFORCE"

    def validate(self) -> None:
        super().validate()
        self._check_int("episodes_per_update", low=1)
        self._check_range("entropy_coef", 0.0, float("inf"), high_open=True)

    def make_agent(self, spec, num_envs: int = 1) -> Agent:
        return Agent(self, spec, num_envs)


class Agent(StochasticPolicyAgent):
    def __init__(self, config: Config, spec, num_envs: int = 1):
        super().__init__(config, spec, num_envs)
        self.value = None
        self.optimizer = self.make_optimizer(config.lr)
        self.optimizer.build(self.policy.trainable_variables)
        if config.enable_baseline:
            self.value = ValueNetwork(spec, config.value_block, name="value")
            self.value(np.zeros((1,) + spec.obs_shape, spec.obs_dtype))
            self.value_optimizer = self.make_optimizer(config.lr_value)
            self.value_optimizer.build(self.value.trainable_variables)
        e = config.episodes_per_update
        sig = [
            self.obs_signature((e, None)),
            self.raw_action_signature((e, None)),
            tf.TensorSpec((e, None), tf.float32),
            tf.TensorSpec((e, None), tf.float32),
        ]
        self._train = self.compile(self._train_fn, "train", sig)
        self._running = [self._empty() for _ in range(num_envs)]
        self._done_episodes: list[dict] = []

    @staticmethod
    def _empty():
        return {"obs": [], "action": [], "reward": []}

    def models(self):
        out = {"policy": self.policy}
        if self.value is not None:
            out["value"] = self.value
        return out

    # ---- run state: finished episodes waiting for the next update -----------------------------
    def state(self, include_memory: bool = True):
        arrays, meta = super().state(include_memory)
        for i, ep in enumerate(self._done_episodes):
            for key, values in ep.items():
                arrays[f"done.{i}.{key}"] = np.stack(values)
        meta["done_episodes"] = len(self._done_episodes)
        return arrays, meta

    def load_state(self, arrays, meta) -> None:
        super().load_state(arrays, meta)
        self._done_episodes = [
            {key: list(arrays[f"done.{i}.{key}"]) for key in ("obs", "action", "reward")}
            for i in range(meta.get("done_episodes", 0))
        ]

    def interrupt_episodes(self, streams=None) -> None:
        for i in range(self.num_envs) if streams is None else streams:
            self._running[i] = self._empty()  # unfinished: no return to learn from

    def observe(self, step, extras) -> None:
        super().observe(step, extras)
        ended = step.terminated | step.truncated
        for i in range(self.num_envs):
            ep = self._running[i]
            ep["obs"].append(extras["obs"][i])
            ep["action"].append(extras["action"][i])
            ep["reward"].append(step.reward[i])
            if ended[i]:
                self._done_episodes.append(ep)
                self._running[i] = self._empty()

    def update(self):
        e = self.config.episodes_per_update
        if len(self._done_episodes) < e:
            return 0, {}
        episodes, self._done_episodes = self._done_episodes[:e], self._done_episodes[e:]
        longest = max(len(ep["reward"]) for ep in episodes)
        # Pad to a power-of-two length so that XLA compiles a handful of shapes, not one per length.
        t = 1 << max(5, int(np.ceil(np.log2(longest))))
        obs = np.zeros((e, t) + self.spec.obs_shape, self.spec.obs_dtype)
        act = np.zeros((e, t) + self.spec.action_shape, np.int32 if self.spec.discrete else np.float32)
        ret = np.zeros((e, t), np.float32)
        mask = np.zeros((e, t), np.float32)
        for i, ep in enumerate(episodes):
            n = len(ep["reward"])
            obs[i, :n] = np.stack(ep["obs"])
            act[i, :n] = np.stack(ep["action"])
            ret[i, :n] = discounted_returns(np.asarray(ep["reward"], np.float32), self.config.discount)
            mask[i, :n] = 1.0
        metrics = self._train(obs, act, ret, mask)
        self.train_count += 1
        return 1, metrics

    def _train_fn(self, obs, action, returns, mask):
        cfg = self.config
        flat_obs = tf.reshape(obs, (-1,) + self.spec.obs_shape)
        flat_act = tf.reshape(action, (-1,) + self.spec.action_shape)
        ret = tf.reshape(returns, (-1,))
        m = tf.reshape(mask, (-1,))
        count = tf.maximum(tf.reduce_sum(m), 1.0)
        metrics = {}
        adv = ret
        if self.value is not None:
            with tf.GradientTape() as tape:
                v = self.value(flat_obs)
                value_loss = 0.5 * tf.reduce_sum(m * tf.square(ret - v)) / count
            metrics["value_loss"] = value_loss
            self.apply_gradients(tape, value_loss, self.value.trainable_variables, self.value_optimizer, cfg.max_grad_norm)
            adv = ret - tf.stop_gradient(v)
        if cfg.normalize_advantage:
            mean = tf.reduce_sum(m * adv) / count
            std = tf.sqrt(tf.reduce_sum(m * tf.square(adv - mean)) / count)
            adv = (adv - mean) / (std + 1e-8)
        with tf.GradientTape() as tape:
            dist = self.policy.distribution(flat_obs)
            logp = dist.log_prob(flat_act)
            entropy = tf.reduce_sum(m * dist.entropy()) / count
            policy_loss = -tf.reduce_sum(m * adv * logp) / count - cfg.entropy_coef * entropy
        norm = self.apply_gradients(tape, policy_loss, self.policy.trainable_variables, self.optimizer, cfg.max_grad_norm)
        metrics.update({"policy_loss": policy_loss, "entropy": entropy, "grad_norm": norm})
        return metrics
