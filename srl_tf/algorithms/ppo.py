"""PPO (Schulman et al. 2017) with GAE(λ), discrete (categorical) and continuous (Gaussian with a
learned log-std) policies, optional observation / reward normalisation, and a recurrent (GRU)
variant trained on sequences with truncated back-propagation through time.

One update = ``memory.warmup_size`` env steps summed over the envs (``memory.capacity`` when
warmup_size is None; ``rollout / num_envs`` steps of each), then ``epochs`` passes over the rollout in minibatches of ``batch_size`` transitions, all
inside one compiled function. The recurrent variant cuts each env's rollout into sequences of
``sequence_length`` steps that start from the hidden state stored at their first step; the state is
reset (multiplied by 1 − is_first) wherever an episode begins, in acting and in training alike.

>>> from srl_tf.algorithms import ppo
>>> rl_config = ppo.Config()
>>> srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", num_envs=4), rl_config).train(max_steps=100_000)
>>> ppo.Config().set_recurrent(gru_units=64)      # partially observed tasks
>>> ppo.Config().set_rl2(trial_steps=10)          # RL² on srl_tf.envs.meta.bandit_trial_env(5, 10)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from srl_tf.algorithms import base
from srl_tf.config import BlockConfig, MemoryConfig, RLConfig, Schedule, block, config_dataclass, schedule
from srl_tf.distributions import PolicyHead, to_env_action
from srl_tf.errors import ConfigError
from srl_tf.functions import gae
from srl_tf.logs import logger
from srl_tf.memory.rollout import RolloutBuffer
from srl_tf.nn.blocks import RunningNormalization, mlp_layers, numpy_mlp, torso

# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclass
class RolloutConfig(MemoryConfig):
    """The on-policy rollout, in SRL's terms: ``warmup_size`` env steps are collected before each
    update (the rollout length), ``capacity`` bounds what may be kept and must be >= that."""

    capacity: int = 2048
    """Most env steps kept, summed over the parallel envs; the rollout length when ``warmup_size``
    is None."""
    warmup_size: int | None = None
    """Env steps per update summed over the parallel envs (each env contributes warmup_size /
    num_envs); None: ``capacity``."""

    @property
    def rollout_size(self) -> int:
        """Env steps collected before each update, summed over the envs."""
        return self.capacity if self.warmup_size is None else self.warmup_size

    def check(self, batch_size: int | None = None) -> None:
        if not isinstance(self.capacity, int) or isinstance(self.capacity, bool) or self.capacity <= 0:
            raise ConfigError(f"memory.capacity={self.capacity!r} must be a positive integer (most env steps kept).")
        if self.warmup_size is None:
            return
        if not isinstance(self.warmup_size, int) or isinstance(self.warmup_size, bool) or self.warmup_size <= 0:
            raise ConfigError(
                f"memory.warmup_size={self.warmup_size!r} must be None or a positive integer (env steps per update)."
            )
        if self.warmup_size > self.capacity:
            raise ConfigError(
                f"memory.warmup_size={self.warmup_size} (env steps per update) is larger than "
                f"memory.capacity={self.capacity}; raise capacity to at least {self.warmup_size} or lower warmup_size."
            )


@config_dataclass
class Config(RLConfig):
    """PPO hyperparameters. Schedules (``lr``, ``clip_range``) count gradient steps, i.e.
    updates × epochs × (rollout // batch_size)."""

    lr: Schedule = schedule(3e-4)
    """Learning rate (Adam, ε = 1e-5) of the policy and value networks."""
    hidden_block: BlockConfig = block()
    """Torso shared by policy and value (empty by default: separate networks)."""
    policy_block: BlockConfig = block(64, 64, activation="tanh")
    """Policy layers after the shared torso (and GRU)."""
    value_block: BlockConfig = block(64, 64, activation="tanh")
    """Value layers after the shared torso (and GRU)."""
    image_block: BlockConfig = field(default_factory=lambda: BlockConfig().set_cnn("dqn"))
    """CNN in front of the torso for image observations."""
    memory: RolloutConfig = field(default_factory=RolloutConfig)
    """Rollout length per update (``memory.warmup_size``, or ``memory.capacity`` when warmup_size is None)."""
    batch_size: int = 64
    """Minibatch size in transitions (at most the rollout). Where it does not divide the rollout,
    each epoch uses rollout // batch_size minibatches and leaves out a fresh random remainder."""
    discount: float = 0.99
    """Discount factor γ."""
    epochs: int = 10
    """Passes over each rollout."""
    gae_lambda: float = 0.95
    """λ of generalised advantage estimation (1: Monte-Carlo, 0: one-step TD)."""
    clip_range: Schedule = schedule(0.2)
    """ε of the clipped ratio objective: the ratio π/π_old is clipped to [1 − ε, 1 + ε]."""
    enable_value_clip: bool = False
    """Clip the value update around the rollout's values (pessimistic max of both losses)."""
    value_clip_range: float = 0.2
    """Clip range of the value update when ``enable_value_clip``."""
    entropy_coef: float = 0.0
    """Entropy bonus weight."""
    value_coef: float = 0.5
    """Value loss weight in the joint loss."""
    normalize_advantage: bool = True
    """Standardise advantages within each minibatch."""
    enable_obs_normalization: bool = False
    """Normalise observations by running mean / std (vector observations only). The statistics are
    non-trainable weights of the network, saved with it, and move only between rollouts."""
    enable_reward_normalization: bool = False
    """Divide rewards by the running std of the discounted return (as SB3's VecNormalize)."""
    normalization_clip: float = 10.0
    """Normalised observations and rewards are clipped to ±this."""
    init_log_std: float = 0.0
    """Initial log standard deviation of the Gaussian policy (continuous actions)."""
    max_grad_norm: float = 0.5
    """Global-norm gradient clipping (<= 0 disables it)."""
    numpy_policy: bool = True
    """Act through a numpy copy of the policy when it is a plain vector MLP (non-recurrent): a
    ~15 µs forward pass instead of a ~150 µs tf.function call per env step."""
    enable_recurrent: bool = False
    """GRU policy and value (see :meth:`set_recurrent`)."""
    gru_units: int = 64
    """GRU state size (recurrent)."""
    sequence_length: int = 16
    """Steps per training sequence (truncated BPTT); must divide rollout / num_envs and batch_size."""
    gru_shared: bool = True
    """One GRU feeds both the policy and the value layers (True), or the value has a GRU of its own
    (False; the carried state is then both GRUs' states side by side, 2 × gru_units wide), so the
    value loss cannot pull on the policy's memory."""

    name = "PPO"

    def set_recurrent(self, gru_units: int = 64, sequence_length: int | None = None, shared: bool = True) -> Config:
        """A GRU after the shared torso feeds the policy and value layers (``shared=False``: one GRU
        each); training uses sequences of ``sequence_length`` steps."""
        self.enable_recurrent = True
        self.gru_units = gru_units
        self.gru_shared = shared
        if sequence_length is not None:
            self.sequence_length = sequence_length
        return self

    def set_rl2(self, trial_steps: int, gru_units: int = 64, shared: bool = True) -> Config:
        """RL² (Duan et al. 2016) on a :class:`~srl_tf.envs.meta.MetaTrial` env: recurrent PPO whose
        training sequences are whole trials (``sequence_length = trial_steps``), so the GRU state runs
        across the episodes of a trial and is reset only where a new trial begins."""
        return self.set_recurrent(gru_units, sequence_length=trial_steps, shared=shared)

    def validate(self) -> None:
        super().validate()
        self._check_int("batch_size", low=1)
        self.memory.check()
        self._check_int("epochs", low=1)
        self._check_range("gae_lambda", 0.0, 1.0)
        self._check_range("value_clip_range", 0.0, float("inf"), low_open=True, high_open=True)
        for name in ("entropy_coef", "value_coef"):
            self._check_range(name, 0.0, float("inf"), high_open=True)
        self._check_range("normalization_clip", 0.0, float("inf"), low_open=True, high_open=True)
        self._check_range("init_log_std", -5.0, 2.0)
        rollout, bs = self.memory.rollout_size, self.batch_size
        if bs > rollout:
            raise ConfigError(
                f"batch_size={bs} is larger than the rollout of {rollout} env steps ({self._rollout_fields()}); "
                f"lower batch_size to at most {rollout}, or collect more per update (memory.warmup_size)."
            )
        if self.enable_recurrent:
            self._check_int("gru_units", low=1)
            self._check_int("sequence_length", low=1)
            if bs % self.sequence_length:
                raise ConfigError(
                    f"batch_size={bs} is not divisible by sequence_length={self.sequence_length}; a recurrent "
                    "minibatch is made of whole sequences."
                )

    def _rollout_fields(self) -> str:
        m = self.memory
        return f"memory.capacity={m.capacity}" if m.warmup_size is None else f"memory.warmup_size={m.warmup_size}"

    def check_rollout(self, num_envs: int) -> None:
        """The checks that need the number of parallel envs."""
        rollout = self.memory.rollout_size
        if rollout % num_envs:
            raise ConfigError(
                f"the rollout of {rollout} env steps ({self._rollout_fields()}) is not divisible by "
                f"num_envs={num_envs}; each env must contribute the same number of steps to a rollout."
            )
        steps = rollout // num_envs
        if self.enable_recurrent and steps % self.sequence_length:
            raise ConfigError(
                f"each env's rollout of {steps} steps ({self._rollout_fields()} / num_envs={num_envs}) is not "
                f"divisible by sequence_length={self.sequence_length}."
            )

    def make_agent(self, spec, num_envs: int = 1) -> Agent:
        return Agent(self, spec, num_envs)


# --------------------------------------------------------------------------------------------
# Losses (pure functions, pinned by tests)
# --------------------------------------------------------------------------------------------


def clipped_surrogate_loss(logp, old_logp, advantage, clip):
    """−E[min(ρ·A, clip(ρ, 1 − ε, 1 + ε)·A)] with ρ = π/π_old; also returns ρ."""
    ratio = tf.exp(logp - old_logp)
    surrogate = tf.minimum(ratio * advantage, tf.clip_by_value(ratio, 1.0 - clip, 1.0 + clip) * advantage)
    return -tf.reduce_mean(surrogate), ratio


def value_loss(value, old_value, returns, clip=None):
    """½·E[(V − R)²]; with ``clip`` the pessimistic max with the loss of V clipped to old_value ± clip."""
    loss = tf.square(value - returns)
    if clip is not None:
        clipped = old_value + tf.clip_by_value(value - old_value, -clip, clip)
        loss = tf.maximum(loss, tf.square(clipped - returns))
    return 0.5 * tf.reduce_mean(loss)


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------


class ActorCritic(keras.Model):
    """(obs normalisation) → shared torso → (GRU) → policy layers → PolicyHead
                                                  → value layers → V."""

    def __init__(self, spec, config: Config, **kwargs):
        super().__init__(**kwargs)
        clip = config.normalization_clip
        self.obs_norm = RunningNormalization(spec.obs_shape, clip, name="obs_norm") if config.enable_obs_normalization else None
        self.reward_norm = RunningNormalization((), clip, center=False, name="reward_norm")  # used by the agent
        shared = spec.is_image or bool(config.hidden_block.layer_sizes)
        self.torso = torso(spec, config.hidden_block, config.image_block, name="torso") if shared else None
        recurrent = config.enable_recurrent
        self.cell = keras.layers.GRUCell(config.gru_units, name="gru") if recurrent else None
        separate = recurrent and not config.gru_shared
        self.value_cell = keras.layers.GRUCell(config.gru_units, name="value_gru") if separate else None
        self.policy_layers = mlp_layers(config.policy_block, "policy")
        self.head = PolicyHead(spec.discrete, spec.action_dim, config.init_log_std, name="policy_head")
        self.value_layers = mlp_layers(config.value_block, "value")
        self.value_out = keras.layers.Dense(1, name="value_out")
        self.units = config.gru_units if recurrent else 0
        self.state_size = self.units * (2 if separate else 1)

    def encode(self, obs):
        if self.obs_norm is not None:
            obs = self.obs_norm(obs)
        return tf.cast(obs, tf.float32) if self.torso is None else self.torso(obs)

    def policy_params(self, h):
        for layer in self.policy_layers:
            h = layer(h)
        return self.head(h)

    def value(self, h):
        for layer in self.value_layers:
            h = layer(h)
        return tf.squeeze(self.value_out(h), -1)

    def recur(self, x, state, is_first):
        """One GRU step (both GRUs when the value has its own); the state is zeroed where an episode
        begins."""
        state = state * (1.0 - is_first)[:, None]
        if self.value_cell is None:
            return self.cell(x, [state])[0]
        u = self.units
        return tf.concat([self.cell(x, [state[:, :u]])[0], self.value_cell(x, [state[:, u:]])[0]], -1)

    def heads(self, h):
        """(policy params, value) from the recurrent state h."""
        hp, hv = (h, h) if self.value_cell is None else (h[:, : self.units], h[:, self.units :])
        return self.policy_params(hp), self.value(hv)

    def call(self, obs):
        """Feed-forward: obs (B, ...) → (policy params, value)."""
        h = self.encode(obs)
        return self.policy_params(h), self.value(h)

    def step(self, obs, state, is_first):
        """Recurrent, one step: → (policy params, value, new state)."""
        h = self.recur(self.encode(obs), state, is_first)
        return (*self.heads(h), h)

    def sequence(self, obs, state, is_first):
        """Recurrent, sequences obs (B, L, ...) from ``state`` (B, U) with resets where is_first
        (B, L) → (policy params, value) flattened to B·L rows in (B, L) order."""
        length = obs.shape[1]
        x = self.encode(tf.reshape(obs, (-1,) + tuple(obs.shape[2:])))
        x = tf.reshape(x, (-1, length, x.shape[-1]))
        outs = []
        for t in range(length):  # unrolled: the length is a static config value
            state = self.recur(x[:, t], state, is_first[:, t])
            outs.append(state)
        return self.heads(tf.reshape(tf.stack(outs, axis=1), (-1, self.state_size)))


# --------------------------------------------------------------------------------------------
# Agent
# --------------------------------------------------------------------------------------------


class Agent(base.Agent):
    def __init__(self, config: Config, spec, num_envs: int = 1):
        super().__init__(config, spec, num_envs)
        config.check_rollout(num_envs)
        if not spec.discrete:
            base.require_bounded(config, spec)
        if config.enable_obs_normalization and spec.is_image:
            raise ConfigError("enable_obs_normalization is for vector observations; images are scaled to [0, 1].")
        self.recurrent = config.enable_recurrent
        self.net = ActorCritic(spec, config, name="actor_critic")
        units = self.net.state_size
        if self.recurrent:
            self.net.step(np.zeros((1,) + spec.obs_shape, spec.obs_dtype), np.zeros((1, units), np.float32), np.zeros(1, np.float32))
            self.net.built = True  # built through step(), never call(): lets save_weights() work
        else:
            self.net(np.zeros((1,) + spec.obs_shape, spec.obs_dtype))
        self.optimizer = self.make_optimizer(config.lr, epsilon=1e-5)
        self.optimizer.build(self.net.trainable_variables)

        self.steps = config.memory.rollout_size // num_envs
        self.steps_per_update = self.steps  # on-policy: every rollout is acted with the weights of the last update
        items, per_batch = (
            (self.steps * num_envs // config.sequence_length, config.batch_size // config.sequence_length)
            if self.recurrent
            else (self.steps * num_envs, config.batch_size)
        )
        if items % per_batch:
            unit = "sequences" if self.recurrent else "env steps"
            logger.info(
                f"PPO: the rollout of {items} {unit} is no multiple of the minibatch of {per_batch}; each epoch "
                f"trains on {items // per_batch} minibatches and leaves out a random {items % per_batch}"
            )
        action_dtype = np.int32 if spec.discrete else np.float32
        self.rollout = RolloutBuffer(self.steps, num_envs, spec.obs_shape, spec.obs_dtype, spec.action_shape, action_dtype, units)
        self._discounted = np.zeros((self.steps, num_envs), np.float32)  # for reward normalisation
        self._return_acc = np.zeros(num_envs, np.float32)
        self._state_out = np.zeros((num_envs, units), np.float32)  # the GRU state after the latest step
        self._next_obs = None

        f32 = tf.float32
        state_sig = tf.TensorSpec((None, units), f32)
        if self.recurrent:
            act_sig = [self.obs_signature(), state_sig, tf.TensorSpec((None,), f32)]
        else:
            act_sig = [self.obs_signature()]
        self._policy_step = self.compile(self._policy_fn, "policy", act_sig)
        self._numpy_policy = self._build_numpy_policy()
        self._value_step = self.compile(self._value_fn, "value", [self.obs_signature(), state_sig])
        lead = (None, config.sequence_length) if self.recurrent else (None,)
        data_sig = {"obs": self.obs_signature(lead), "action": tf.TensorSpec(lead + spec.action_shape, tf.as_dtype(action_dtype))}
        if self.recurrent:
            data_sig.update(is_first=tf.TensorSpec(lead, f32), state=state_sig)
        self._evaluate = self.compile(self._evaluate_fn, "evaluate", [data_sig])
        train_sig = {**data_sig, **{k: tf.TensorSpec(lead, f32) for k in ("old_logp", "old_value", "advantage", "returns")}}
        self._train = self.compile(
            self._train_fn, "train", [train_sig, tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((), f32)]
        )

    def models(self):
        return {"actor_critic": self.net}

    # ---- acting ----------------------------------------------------------------------------
    def _initial_carry(self, batch_size: int):
        return {"h": np.zeros((batch_size, self.net.state_size), np.float32)} if self.recurrent else {}

    def act(self, obs, carry, explore: bool = True):
        extras = {"obs": obs}
        if self.recurrent:
            first = np.asarray(carry["is_first"], np.float32)
            sample, mode, h = self._policy_step(obs, carry["h"], first)
            h = h.numpy()
            extras.update(state=carry["h"], is_first=first, state_out=h)
            carry = {**carry, "h": h}
        elif self._numpy_policy is not None:
            raw = self._numpy_act(obs, explore)
        else:
            sample, mode = self._policy_step(obs)
        if self.recurrent or self._numpy_policy is None:
            raw = (sample if explore else mode).numpy()
        extras["action"] = raw
        action = raw if self.spec.discrete else to_env_action(raw, self.spec.action_low, self.spec.action_high)
        return action, self.next_carry(carry), extras

    def acting_models(self):
        return {"actor_critic": self.net}

    def _build_numpy_policy(self):
        """(forward, snapshot) of obs → policy parameters in numpy, or None where the network has
        parts without a numpy form (images, GRU, layer norm)."""
        net = self.net
        if self.recurrent or self.spec.is_image or not self.config.numpy_policy:
            return None
        torso_layers = [] if net.torso is None else net.torso.layers
        mlp = numpy_mlp(torso_layers + list(net.policy_layers) + [net.head.out])
        if mlp is None:
            return None
        forward, snapshot = mlp
        norm = net.obs_norm

        def snap():
            stats = None if norm is None else (norm.mean.numpy(), np.sqrt(norm.var.numpy() + norm.epsilon), norm.clip)
            log_std = None if self.spec.discrete else np.clip(net.head.log_std.numpy(), -5.0, 2.0)
            return snapshot(), stats, log_std

        def params(obs, weights):
            x = np.asarray(obs, np.float32)
            if weights[1] is not None:
                mean, std, clip = weights[1]
                x = np.clip((x - mean) / std, -clip, clip)
            return forward(x, weights[0])

        return base.NumpyCopy(self, params, snap)

    def _numpy_act(self, obs, explore: bool) -> np.ndarray:
        params = self._numpy_policy(obs)
        if self.spec.discrete:
            if explore:  # Gumbel-max: argmax(logits + Gumbel noise) samples the categorical
                params = params - np.log(-np.log(self.rng.uniform(1e-12, 1.0, params.shape)))
            return params.argmax(axis=-1).astype(np.int32)
        if explore:
            log_std = self._numpy_policy.weights[2]
            return (params + np.exp(log_std) * self.rng.standard_normal(params.shape)).astype(np.float32)
        return params.astype(np.float32)

    # ---- run state ---------------------------------------------------------------------------
    host_fields = ("_discounted", "_return_acc", "_state_out", "_next_obs")

    def _memory(self):
        return self.rollout

    def interrupt_episodes(self, streams=None) -> None:
        if self._next_obs is not None:
            self.rollout.interrupt_episodes(self._next_obs, streams)
        self._return_acc[slice(None) if streams is None else np.asarray(streams, np.int64)] = 0.0

    def _policy_dist(self, obs, state=None, is_first=None):
        """(policy distribution, new GRU state or None) for a batch of observations."""
        if self.recurrent:
            params, _, h = self.net.step(obs, state, is_first)
            return self.net.head.distribution(params), h
        return self.net.head.distribution(self.net.policy_params(self.net.encode(obs))), None

    def _policy_fn(self, obs, *recurrent):
        dist, h = self._policy_dist(obs, *recurrent)
        sample, mode = (base.distribution_action(dist, self.spec.discrete, explore) for explore in (True, False))
        return (sample, mode, h) if self.recurrent else (sample, mode)

    def policy_graph(self, explore: bool = False) -> base.PolicyGraph:
        def fn(obs, carry, seed):
            if self.recurrent:
                dist, h = self._policy_dist(obs, carry["h"], tf.cast(carry["is_first"], tf.float32))
                carry = {**carry, "h": h}
            else:
                dist, _ = self._policy_dist(obs)
            return base.distribution_action(dist, self.spec.discrete, explore, seed), carry

        return base.PolicyGraph(fn, self._initial_carry(1))

    # ---- collecting ------------------------------------------------------------------------
    def observe(self, step, extras) -> None:
        super().observe(step, extras)
        t = self.rollout.pos
        self.rollout.add(
            extras["obs"],
            extras["action"],
            step.reward,
            step.terminated,
            step.truncated,
            step.next_obs,
            extras.get("state"),
            extras.get("is_first"),
        )
        if self.recurrent:
            self._state_out = extras["state_out"]
        self._return_acc = self._return_acc * self.config.discount + step.reward
        self._discounted[t] = self._return_acc
        self._return_acc[step.terminated | step.truncated] = 0.0
        self._next_obs = step.obs

    # ---- learning --------------------------------------------------------------------------
    def update(self):
        if not self.rollout.full:
            return 0, {}
        cfg, rb, net = self.config, self.rollout, self.net
        first_fit = net.obs_norm is not None and net.obs_norm.count.numpy() == 0
        if first_fit:
            net.obs_norm.update(rb.obs)  # the first rollout (of a near-uniform policy) sets the scale
        rewards = rb.reward
        if cfg.enable_reward_normalization:
            net.reward_norm.update(self._discounted)
            rewards = np.clip(rewards / np.sqrt(net.reward_norm.var.numpy() + 1e-8), -cfg.normalization_clip, cfg.normalization_clip)

        data = self._data()
        old_logp, values = (self._from_items(x.numpy()) for x in self._evaluate(data))
        next_values = np.empty_like(values)
        next_values[:-1] = values[1:]
        next_values[-1], truncated = self._bootstrap_values()
        for (t, i), v in truncated.items():
            next_values[t, i] = v
        advantage, returns = gae(rewards, values, next_values, rb.terminated, rb.ended, cfg.discount, cfg.gae_lambda)
        if not np.all(np.isfinite(advantage)):
            bad = "rewards" if not np.all(np.isfinite(rewards)) else "value estimates"
            raise FloatingPointError(
                f"PPO: non-finite advantages after {self.train_count} gradient steps, caused by non-finite {bad}. "
                "Lower lr, enable_reward_normalization / enable_obs_normalization, or check the env's rewards."
            )
        for name, x in (("old_logp", old_logp), ("old_value", values), ("advantage", advantage), ("returns", returns)):
            data[name] = self._to_items(x)

        n_items = len(data["obs"])
        per_batch = cfg.batch_size // cfg.sequence_length if self.recurrent else cfg.batch_size
        minibatches = n_items // per_batch
        # where the rollout is no multiple of the minibatch, each epoch leaves out a fresh random remainder
        used = minibatches * per_batch
        perm = np.concatenate(
            [self.rng.permutation(n_items)[:used].reshape(minibatches, per_batch) for _ in range(cfg.epochs)]
        )
        metrics = self._train(data, perm.astype(np.int32), np.float32(cfg.clip_range.value(self.train_count)))
        self.train_count += len(perm)
        if net.obs_norm is not None and not first_fit:
            net.obs_norm.update(rb.obs)  # statistics move between rollouts, never within one
        rb.reset()
        return len(perm), metrics

    def _data(self) -> dict:
        """The rollout as training items: transitions (T·N, ...) or sequences (S, L, ...)."""
        rb = self.rollout
        if self.recurrent:
            return rb.sequences(self.config.sequence_length)
        m = rb.steps * rb.num_envs
        return {"obs": rb.obs.reshape((m,) + rb.obs.shape[2:]), "action": rb.action.reshape((m,) + rb.action.shape[2:])}

    def _to_items(self, x):
        """(T, N) → the item layout of :meth:`_data`."""
        if self.recurrent:
            return np.swapaxes(x, 0, 1).reshape(-1, self.config.sequence_length)
        return x.reshape(-1)

    def _from_items(self, x):
        if self.recurrent:
            return np.swapaxes(x.reshape(self.num_envs, self.steps), 0, 1)
        return x.reshape(self.steps, self.num_envs)

    def _bootstrap_values(self):
        """V of the observation after the rollout's last step, and V(final obs) of every truncated
        episode (with the recurrent state after its last step), evaluated in chunks of num_envs rows."""
        rb, n = self.rollout, self.num_envs
        keys = [(t, i) for t, i, _ in rb.final_obs]
        obs = np.stack(list(self._next_obs) + [o for _, _, o in rb.final_obs])
        after = [rb.state[t + 1, i] if t + 1 < rb.steps else self._state_out[i] for t, i in keys]
        state = np.stack(list(self._state_out) + after).astype(np.float32)
        pad = (-len(obs)) % n
        obs = np.concatenate([obs, np.zeros((pad,) + obs.shape[1:], obs.dtype)])
        state = np.concatenate([state, np.zeros((pad, state.shape[1]), np.float32)])
        v = np.concatenate([self._value_step(obs[k : k + n], state[k : k + n]).numpy() for k in range(0, len(obs), n)])
        return v[:n], {key: v[n + j] for j, key in enumerate(keys)}

    def _value_fn(self, obs, state):
        if self.recurrent:
            return self.net.step(obs, state, tf.zeros(tf.shape(obs)[:1]))[1]
        return self.net(obs)[1]

    def _forward(self, data):
        """Policy distribution, values and flattened actions of a batch of items."""
        if self.recurrent:
            params, value = self.net.sequence(data["obs"], data["state"], data["is_first"])
        else:
            params, value = self.net(data["obs"])
        action = tf.reshape(data["action"], (-1,) + self.spec.action_shape)
        return self.net.head.distribution(params), value, action

    def _evaluate_fn(self, data):
        dist, value, action = self._forward(data)
        return dist.log_prob(action), value

    def _train_fn(self, data, perm, clip):
        cfg = self.config
        variables = self.net.trainable_variables
        names = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "grad_norm")
        sums = {k: tf.constant(0.0) for k in names}
        for i in tf.range(tf.shape(perm)[0]):
            mb = {k: tf.gather(v, perm[i]) for k, v in data.items()}
            old_logp, old_value, returns, adv = (
                tf.reshape(mb[k], (-1,)) for k in ("old_logp", "old_value", "returns", "advantage")
            )
            if cfg.normalize_advantage:
                adv = (adv - tf.reduce_mean(adv)) / (tf.math.reduce_std(adv) + 1e-8)
            with tf.GradientTape() as tape:
                dist, value, action = self._forward(mb)
                logp = dist.log_prob(action)
                policy_loss, ratio = clipped_surrogate_loss(logp, old_logp, adv, clip)
                v_loss = value_loss(value, old_value, returns, cfg.value_clip_range if cfg.enable_value_clip else None)
                entropy = tf.reduce_mean(dist.entropy())
                loss = policy_loss + cfg.value_coef * v_loss - cfg.entropy_coef * entropy
            norm = self.apply_gradients(tape, loss, variables, self.optimizer, cfg.max_grad_norm)
            log_ratio = logp - old_logp
            step = {
                "policy_loss": policy_loss,
                "value_loss": v_loss,
                "entropy": entropy,
                "approx_kl": tf.reduce_mean(tf.exp(log_ratio) - 1.0 - log_ratio),
                "clip_fraction": tf.reduce_mean(tf.cast(tf.abs(ratio - 1.0) > clip, tf.float32)),
                "grad_norm": norm,
            }
            sums = {k: sums[k] + step[k] for k in names}
        n = tf.cast(tf.shape(perm)[0], tf.float32)
        metrics = {k: v / n for k, v in sums.items()}
        ret, old_v = tf.reshape(data["returns"], (-1,)), tf.reshape(data["old_value"], (-1,))
        metrics["explained_variance"] = 1.0 - tf.math.reduce_variance(ret - old_v) / (tf.math.reduce_variance(ret) + 1e-8)
        metrics["clip_range"] = clip
        return metrics
