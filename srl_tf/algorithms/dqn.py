"""DQN with a double-DQN target, a target network, an ε-greedy schedule, Huber loss and optional
dueling head and n-step returns (Mnih et al. 2015; van Hasselt et al. 2016; Wang et al. 2016).

>>> from srl_tf.algorithms import dqn
>>> rl_config = dqn.Config()
>>> rl_config.lr.set_constant(1e-3)
>>> rl_config.hidden_block.set_mlp((64, 64))
>>> srl_tf.Runner("CartPole-v1", rl_config).train(max_steps=50_000)
"""

from __future__ import annotations

from dataclasses import field

import keras
import numpy as np
import tensorflow as tf

from srl_tf.algorithms.base import NumpyCopy, PolicyGraph, ReplayAgent, polyak_update, require_discrete
from srl_tf.config import BlockConfig, OffPolicyConfig, Schedule, block, config_dataclass, schedule
from srl_tf.nn.blocks import numpy_mlp, torso


@config_dataclass
class Config(OffPolicyConfig):
    """DQN hyperparameters."""

    lr: Schedule = schedule(1e-3)
    """Adam learning rate."""
    hidden_block: BlockConfig = block(64, 64)
    """MLP after the observation (after the CNN for images)."""
    image_block: BlockConfig = field(default_factory=lambda: BlockConfig().set_cnn("dqn"))
    """CNN for image observations."""
    epsilon: Schedule = field(default_factory=lambda: Schedule().set_linear(1.0, 0.05, 10_000))
    """Exploration rate against env steps."""
    test_epsilon: float = 0.0
    """Exploration rate in evaluation."""
    target_model_update_interval: int = 1000
    """Gradient steps between target-network updates."""
    target_model_update_tau: float = 1.0
    """Target update factor: 1.0 copies the online weights, < 1 blends them in (Polyak)."""
    enable_double_dqn: bool = True
    """Choose the next action with the online network, value it with the target network."""
    enable_dueling_network: bool = False
    """Q = V + A − mean(A) head."""
    multisteps: int = 1
    """n of the n-step return."""
    huber_delta: float = 1.0
    """Huber loss threshold."""
    numpy_policy: bool = True
    """Act through a numpy copy of the Q network when it is a plain vector MLP (several times
    cheaper per env step than a tf.function call; same greedy actions)."""

    name = "DQN"
    supports_continuous = False  # through action_division_num only

    def validate(self) -> None:
        super().validate()
        self._check_int("target_model_update_interval", low=1)
        self._check_range("target_model_update_tau", 0.0, 1.0, low_open=True)
        self._check_int("multisteps", low=1)
        self._check_range("huber_delta", 0.0, float("inf"), low_open=True, high_open=True)
        self._check_range("test_epsilon", 0.0, 1.0)
        for v, label in ((self.epsilon.start, "start"), (self.epsilon.end, "end")):
            if not 0.0 <= v <= 1.0:
                raise _range_error(f"epsilon {label}", v)

    def make_agent(self, spec, num_envs: int = 1) -> Agent:
        return Agent(self, spec, num_envs)


def _range_error(name, v):
    from srl_tf.errors import ConfigError

    return ConfigError(f"{name}={v!r} is out of range; expected a value in [0, 1].")


class QNetwork(keras.Model):
    def __init__(self, spec, config: Config, **kwargs):
        super().__init__(**kwargs)
        self.torso = torso(spec, config.hidden_block, config.image_block, name="q_torso")
        self.dueling = config.enable_dueling_network
        if self.dueling:
            self.value = keras.layers.Dense(1, name="value")
            self.advantage = keras.layers.Dense(spec.n_actions, name="advantage")
        else:
            self.q = keras.layers.Dense(spec.n_actions, name="q")

    def numpy_forward(self):
        """(forward, snapshot) computing Q in numpy, or None (images, layer norm)."""
        heads = [self.value, self.advantage] if self.dueling else [self.q]
        mlp = numpy_mlp(self.torso.layers)
        if mlp is None:
            return None
        torso_fwd, torso_snap = mlp

        def snapshot():
            return torso_snap(), [[w.numpy() for w in h.weights] for h in heads]

        def forward(x, weights):
            h = torso_fwd(x, weights[0])
            outs = [h @ w[0] + w[1] for w in weights[1]]
            if self.dueling:
                return outs[0] + outs[1] - outs[1].mean(axis=-1, keepdims=True)
            return outs[0]

        return forward, snapshot

    def call(self, obs):
        h = self.torso(obs)
        if self.dueling:
            a = self.advantage(h)
            return self.value(h) + a - tf.reduce_mean(a, axis=-1, keepdims=True)
        return self.q(h)


class Agent(ReplayAgent):
    def __init__(self, config: Config, spec, num_envs: int = 1):
        require_discrete(config, spec)
        super().__init__(config, spec, num_envs, n_step=config.multisteps)
        self.q = QNetwork(spec, config, name="q")
        self.q_target = QNetwork(spec, config, name="q_target")
        dummy = np.zeros((1,) + spec.obs_shape, spec.obs_dtype)
        self.q(dummy)
        self.q_target(dummy)
        self.q_target.set_weights(self.q.get_weights())
        self.optimizer = self.make_optimizer(config.lr)
        self.optimizer.build(self.q.trainable_variables)
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="dqn_train_step")
        self._greedy = self.compile(self._greedy_fn, "policy", [self.obs_signature()])
        # Acting through a small vector MLP is cheaper in numpy than through a tf.function call.
        numpy_q = self.q.numpy_forward() if config.numpy_policy else None
        self._numpy_q = None if numpy_q is None else NumpyCopy(self, *numpy_q)
        k, b = config.gradient_steps, config.batch_size
        sig = [
            self.obs_signature((k, b)),
            tf.TensorSpec((k, b), tf.int32),
            tf.TensorSpec((k, b), tf.float32),
            self.obs_signature((k, b)),
            tf.TensorSpec((k, b), tf.float32),
        ]
        self._train = self.compile(self._train_fn, "train", sig)

    def models(self):
        return {"q": self.q, "q_target": self.q_target}

    def acting_models(self):
        return {"q": self.q}

    def after_load(self):
        self.q_target.set_weights(self.q.get_weights())

    # ---- acting ----------------------------------------------------------------------------
    def _greedy_fn(self, obs):
        return tf.argmax(self.q(obs), axis=-1, output_type=tf.int32)

    def act(self, obs, carry, explore: bool = True):
        action = self._action(obs, explore)
        return action, self.next_carry(carry), {"obs": obs, "action": action}

    def _epsilon(self, explore: bool) -> float:
        """The probability of a random action now."""
        if explore and self.random_actions:
            return 1.0
        return self.config.epsilon.value(self.env_steps) if explore else self.config.test_epsilon

    def policy_graph(self, explore: bool = False) -> PolicyGraph:
        """Greedy (``test_epsilon`` is not applied), or ε-greedy with the ε :meth:`act` explores with now."""
        eps = self._epsilon(True) if explore else 0.0

        def fn(obs, carry, seed):
            greedy = self._greedy_fn(obs)
            if eps == 0.0:
                return greedy, carry
            draw, pick = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
            n = tf.shape(greedy)[0]
            random = tf.random.stateless_uniform([n], draw) < eps
            other = tf.random.stateless_uniform([n], pick, 0, self.spec.n_actions, dtype=tf.int32)
            return tf.where(random, other, greedy), carry

        return PolicyGraph(fn)

    def _action(self, obs, explore: bool) -> np.ndarray:
        n = len(obs)
        eps = self._epsilon(explore)
        # Draw from the agent's generator only when exploring, so that evaluations in between
        # leave the training run's random stream untouched.
        random = self.rng.random(n) < eps if eps > 0 else np.zeros(n, bool)
        if random.all():
            return self.rng.integers(0, self.spec.n_actions, size=n, dtype=np.int32)
        if self._numpy_q is not None:
            greedy = self._numpy_q(obs).argmax(axis=-1).astype(np.int32)
        else:
            greedy = self._greedy(obs).numpy()
        if random.any():
            greedy = np.where(random, self.rng.integers(0, self.spec.n_actions, size=n), greedy).astype(np.int32)
        return greedy

    # ---- learning ----------------------------------------------------------------------------
    def _train_fn(self, obs, action, reward, next_obs, discount):
        cfg = self.config
        qv = self.q.trainable_variables
        loss_sum = tf.constant(0.0)
        q_sum = tf.constant(0.0)
        norm_sum = tf.constant(0.0)
        for i in tf.range(cfg.gradient_steps):
            next_q_target = self.q_target(next_obs[i])
            if cfg.enable_double_dqn:
                next_a = tf.argmax(self.q(next_obs[i]), axis=-1, output_type=tf.int32)
            else:
                next_a = tf.argmax(next_q_target, axis=-1, output_type=tf.int32)
            next_v = tf.gather(next_q_target, next_a, axis=1, batch_dims=1)
            target = tf.stop_gradient(reward[i] + discount[i] * next_v)
            with tf.GradientTape() as tape:
                q = tf.gather(self.q(obs[i]), action[i], axis=1, batch_dims=1)
                loss = tf.reduce_mean(_huber(target - q, cfg.huber_delta))
            norm = self.apply_gradients(tape, loss, qv, self.optimizer, cfg.max_grad_norm)
            self._step.assign_add(1)
            # Every `interval` steps blend τ of the online weights into the target (τ = 1: copy).
            due = tf.cast(self._step % cfg.target_model_update_interval == 0, tf.float32)
            polyak_update(self.q_target.trainable_variables, qv, due * cfg.target_model_update_tau)
            loss_sum += loss
            q_sum += tf.reduce_mean(q)
            norm_sum += norm
        k = float(cfg.gradient_steps)
        return {"loss": loss_sum / k, "q_mean": q_sum / k, "grad_norm": norm_sum / k}


def _huber(x, delta):
    a = tf.abs(x)
    return tf.where(a <= delta, 0.5 * tf.square(x), delta * (a - 0.5 * delta))
