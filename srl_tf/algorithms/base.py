"""The agent contract the Runner (and any other driver of episodes) talks to, and the machinery
that off-policy and policy-gradient agents share.

The contract
------------
``initial_carry(n) -> carry``
    The per-stream state of ``n`` env streams as a dict of numpy arrays with a leading axis of
    ``n``: always ``is_first`` (bool, True where an episode begins with the next observation) and,
    for agents that keep one, their recurrent state (a GRU state, the RSSM state and previous
    action, an exploration-noise process, ...). The caller owns it: one for the training envs, a
    fresh one for every evaluation or recorded episode.
``act(obs, carry, explore) -> (action, carry, extras)``
    The env's actions for a batch of observations, the next carry (``is_first`` cleared) and the
    ``extras`` the agent wants to see again with the step (the observation, the action in the form
    the agent learns from, the recurrent state it started from, ...). Acting changes nothing on the
    agent except its random generator. After ``env.step`` the caller sets ``carry["is_first"]``
    where an episode ended (:class:`srl_tf.driver.EpisodeDriver` does all of this).
``observe(step, extras)``
    One :class:`~srl_tf.spec.Step` of every training env with the extras ``act`` returned for it:
    the agent stores what it learns from.
``update() -> (n_train, metrics)``
    Learns if it is time to: gradient steps done and the metrics as tensors (read on the host only
    when logged).
``state()`` / ``load_state()`` and ``trackables()``
    Everything a checkpoint or another process needs to continue the run: host arrays and counters,
    the memory, and the TensorFlow objects (models, optimizers, variables, generators).
``get_weights()`` / ``set_weights()``
    The acting part as named arrays (weights of the acting models and the counters acting depends
    on), for an actor in another process.
``policy_graph(explore) -> PolicyGraph``
    The policy ``act`` follows as TensorFlow ops, for a policy exported to run without srl_tf
    (:mod:`srl_tf.export`).

Compiled steps are ``tf.function``s made with :meth:`Agent.compile`, which counts traces.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from srl_tf import xla
from srl_tf.config import RLConfig
from srl_tf.errors import ConfigError, MissingPathError
from srl_tf.memory.replay import ReplayBuffer
from srl_tf.spec import EnvSpec, Step

Carry = dict  # str → np.ndarray with a leading axis of the number of env streams
Extras = dict  # str → np.ndarray: what act() hands to observe() with the step


@dataclass(frozen=True)
class PolicyGraph:
    """The acting step as TensorFlow ops, for a policy that runs without srl_tf (see
    :mod:`srl_tf.export`).

    ``fn(obs, carry, seed) -> (action, carry)`` is traced into a ``tf.function``: ``obs`` a batch
    as :meth:`Agent.obs_signature`; ``carry`` a dict of tensors with the keys of
    ``initial_carry`` plus ``is_first`` (bool (B,), True where an episode begins) whenever
    ``initial_carry`` is not empty; ``seed`` a stateless seed (int32 (2,)) that only an exploring
    policy reads. ``action`` is the agent's action before the env-side mapping: a discrete index
    (int32 (B,)), or a continuous action in [-1, 1]^d (before clipping), exactly what :meth:`Agent.act`
    maps to the env. ``initial_carry`` is the carried state of one stream whose episode begins
    (numpy arrays of shape (1, ...)); empty for feed-forward policies."""

    fn: Callable
    initial_carry: dict = field(default_factory=dict)


def distribution_action(dist, discrete: bool, explore: bool, seed=None):
    """A sample (``explore``) or the mode of a policy distribution; discrete actions as int32.
    ``seed``: a stateless seed, or None for TensorFlow's global generator."""
    action = dist.sample(seed=seed) if explore else dist.mode()
    return tf.cast(action, tf.int32) if discrete else action


def uniform_actions(batch, action_shape: tuple, seed):
    """Uniform random actions in [-1, 1]^d for ``batch`` streams from a stateless seed."""
    return tf.random.stateless_uniform(tf.concat([[batch], list(action_shape)], 0), seed, -1.0, 1.0)


class Agent:
    """Base class of every algorithm's agent."""

    accepts_dict_obs = False  # whether the agent takes Dict observations (spec.obs_spaces)
    steps_per_update: int | None = None
    """For an agent that learns only from steps acted with its current weights (on-policy: PPO's
    rollout), the env steps of every stream from one update to the next; None where steps acted
    with somewhat older weights are fine. Actors in other processes collect exactly that many
    steps per stream under one set of weights."""

    def __init__(self, config: RLConfig, spec: EnvSpec, num_envs: int = 1):
        if spec.obs_spaces is not None and not self.accepts_dict_obs:
            raise ConfigError(
                f"{config.name} takes a vector or an image observation, but '{spec.name}' has Dict observations "
                f"with keys {sorted(spec.obs_spaces)}. Use dreamer_v3 (which encodes every key), or wrap the env "
                "(gymnasium.wrappers.FlattenObservation for vectors only)."
            )
        self.config = config
        self.spec = spec
        self.num_envs = num_envs
        self.rng = np.random.default_rng(config.seed)
        # the generator of compiled functions' random numbers (one stateless seed per draw)
        self.tf_rng = tf.random.Generator.from_seed(config.seed if config.seed is not None else 0)
        self.env_steps = 0  # transitions observed (summed over envs)
        self.train_count = 0  # gradient steps done
        self.weights_version = 0  # bumped whenever weights are replaced from outside (a load)
        self._random_actions_set: bool | None = None  # set_weights() of an acting copy decides this
        self.trace_counts: dict[str, int] = {}

    def _seed(self):
        """A fresh stateless seed from the agent's generator (deterministic for a config seed)."""
        return self.tf_rng.uniform_full_int((2,), tf.int32)

    # ---- the contract ----------------------------------------------------------------------
    def initial_carry(self, batch_size: int) -> Carry:
        """The carry of ``batch_size`` env streams whose episodes all begin (see the module doc)."""
        return {"is_first": np.ones(batch_size, bool), **self._initial_carry(batch_size)}

    def _initial_carry(self, batch_size: int) -> Carry:
        """The agent's own per-stream state (none by default)."""
        return {}

    def act(self, obs, carry: Carry, explore: bool = True) -> tuple[np.ndarray, Carry, Extras]:
        """(env actions, next carry, extras) for a batch of observations (numpy in, numpy out)."""
        raise NotImplementedError

    @staticmethod
    def next_carry(carry: Carry, **state) -> Carry:
        """``carry`` with ``state`` replaced and ``is_first`` cleared (what :meth:`act` returns)."""
        return {**carry, **state, "is_first": np.zeros_like(carry["is_first"])}

    def observe(self, step: Step, extras: Extras) -> None:
        """Sees one step of every training env, with the extras ``act`` returned for it."""
        self.env_steps += len(step.reward)

    def update(self) -> tuple[int, dict]:
        """Learns if it is time to; returns (gradient steps done, metrics as tensors)."""
        return 0, {}

    def models(self) -> dict[str, keras.Model]:
        """Every Keras model whose weights make up the agent."""
        raise NotImplementedError

    def acting_models(self) -> dict[str, keras.Model]:
        """The models :meth:`act` uses (all of them unless an agent says otherwise)."""
        return self.models()

    def policy_graph(self, explore: bool = False) -> PolicyGraph:
        """The policy :meth:`act` follows (deterministic, or exploring as it does now) as TensorFlow
        ops over :meth:`acting_models`, for export (:class:`PolicyGraph`)."""
        raise NotImplementedError(f"{self.config.name} does not give its acting step as TensorFlow ops (policy_graph)")

    @property
    def random_actions(self) -> bool:
        """Whether exploring actions are uniform random now (a warm-up). An acting copy in another
        process is told by :meth:`set_weights`."""
        if self._random_actions_set is not None:
            return self._random_actions_set
        return self._random_actions_now()

    def _random_actions_now(self) -> bool:
        return False

    def get_weights(self) -> dict[str, np.ndarray]:
        """The acting part as named arrays: every acting model's weights (``model/i``) and the
        counters acting depends on (``env_steps``, ``random_actions``)."""
        out = {
            f"{name}/{i}": np.asarray(w)
            for name, model in self.acting_models().items()
            for i, w in enumerate(model.weights)
        }
        out["env_steps"] = np.asarray(self.env_steps, np.int64)
        out["random_actions"] = np.asarray(self.random_actions)
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Loads what :meth:`get_weights` returned (of another agent of the same configuration)."""
        for name, model in self.acting_models().items():
            for i, w in enumerate(model.weights):
                w.assign(weights[f"{name}/{i}"])
        self.env_steps = int(weights["env_steps"])
        self._random_actions_set = bool(weights["random_actions"])
        self.weights_changed()

    # ---- persistence ---------------------------------------------------------------------
    def save_weights(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        for name, model in self.models().items():
            model.save_weights(os.path.join(directory, f"{name}.weights.h5"))

    def load_weights(self, directory: str) -> None:
        for name, model in self.models().items():
            path = os.path.join(directory, f"{name}.weights.h5")
            if not os.path.exists(path):
                raise MissingPathError(f"No weights for model '{name}' in {directory} (expected {path}).")
            try:
                model.load_weights(path)
            except Exception as e:  # h5py / Keras, said in terms of the file and the configuration
                text = str(e).splitlines()[0]
                if isinstance(e, OSError):
                    raise ConfigError(f"load_parameter: {path} cannot be read; the file is damaged: {text}") from e
                raise ConfigError(
                    f"load_parameter: {path} does not fit model '{name}' of this configuration (another env or "
                    f"other layer sizes?): {text}"
                ) from e
        self.after_load()
        self.weights_changed()  # copies taken from the weights before (numpy acting copies) are stale

    def after_load(self) -> None:
        """Hook: e.g. copy loaded weights into target networks."""

    # ---- run state: everything a checkpoint needs to continue exactly -------------------------
    host_fields: tuple[str, ...] = ()
    """Names of numpy arrays / Python scalars on the agent that belong to its state (per-env
    carries, counters); subclasses list theirs."""

    def trackables(self) -> dict:
        """Every TensorFlow-trackable part of the agent by name: Keras models (target networks,
        normalisers and EMAs inside them), optimizers (slots, iterations), ``tf.Variable`` counters
        and carries, and the ``tf.random.Generator``."""
        kinds = (keras.layers.Layer, keras.optimizers.Optimizer, tf.Variable, tf.random.Generator, LossScale)

        def trackable(value):
            # A Keras layer is given as the list of its weights: TensorFlow's object graph does not
            # reach every variable of a Keras 3 layer (those held in plain lists are missed).
            if isinstance(value, keras.layers.Layer):
                return {"weights": list(value.weights)}
            return {"variables": [value.scale, value.good_steps]} if isinstance(value, LossScale) else value

        out = {}
        for name, value in vars(self).items():
            if isinstance(value, kinds):
                out[name.lstrip("_")] = trackable(value)
            elif isinstance(value, dict) and value and all(isinstance(v, kinds) for v in value.values()):
                out[name.lstrip("_")] = {k: trackable(v) for k, v in value.items()}
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, kinds) for v in value):
                out[name.lstrip("_")] = [trackable(v) for v in value]  # e.g. twin critics
        return out

    def state(self, include_memory: bool = True) -> tuple[dict[str, np.ndarray], dict]:
        """The host-side state as (named arrays, JSON-able meta): counters, the numpy generator,
        ``host_fields`` and (with ``include_memory``) the memory."""
        from srl_tf.checkpoint import pack_fields

        arrays: dict[str, np.ndarray] = {}
        pack_fields(self, self.host_fields, "agent", arrays)
        meta = {"env_steps": self.env_steps, "train_count": self.train_count, "rng": self.rng.bit_generator.state}
        memory = self._memory()
        if include_memory and memory is not None:
            memory.state_arrays("memory", arrays)
            meta["memory_saved"] = True
        return arrays, meta

    def load_state(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        """Restores what :meth:`state` returned (the trackables are restored by the caller)."""
        from srl_tf.checkpoint import unpack_fields

        unpack_fields(self, self.host_fields, "agent", arrays)
        self.env_steps, self.train_count = int(meta["env_steps"]), int(meta["train_count"])
        self.rng.bit_generator.state = meta["rng"]
        memory = self._memory()
        if memory is not None and meta.get("memory_saved"):
            memory.load_state_arrays("memory", arrays)
        self.weights_changed()

    def weights_changed(self) -> None:
        """The weights were replaced from outside (a load): copies made from them are stale."""
        self.weights_version += 1

    def _memory(self):
        """The experience store whose arrays are part of the state (None if the agent keeps none)."""
        return None

    def interrupt_episodes(self, streams=None) -> None:
        """The training envs restart in the middle of their episodes (a resumed run, or the actor
        process that steps some of them was replaced): cut whatever per-episode data would otherwise
        run on into the next episode. ``streams``: the indices of the env streams that restart
        (None: all of them)."""

    # ---- helpers -------------------------------------------------------------------------
    def compile(self, fn: Callable, name: str, signature=None, jit: bool | None = None):
        """``tf.function`` with a trace counter (``self.trace_counts[name]``)."""

        jit = self.config.jit_compile if jit is None else jit

        def traced(*args):
            self.trace_counts[name] = self.trace_counts.get(name, 0) + 1
            if jit:
                xla.note_compiled()
            return fn(*args)

        traced.__name__ = name
        return tf.function(traced, input_signature=signature, jit_compile=jit, reduce_retracing=True)

    def obs_signature(self, leading=(None,)) -> tf.TensorSpec:
        return tf.TensorSpec(tuple(leading) + self.spec.obs_shape, tf.as_dtype(self.spec.obs_dtype))

    @staticmethod
    def make_optimizer(schedule, epsilon: float = 1e-7, kind: str = "adam") -> keras.optimizers.Optimizer:
        """Adam (default), plain SGD or RMSprop with the schedule as its learning rate."""
        lr = schedule.to_keras()
        if kind == "sgd":
            return keras.optimizers.SGD(learning_rate=lr)
        if kind == "rmsprop":
            return keras.optimizers.RMSprop(learning_rate=lr, epsilon=epsilon)
        return keras.optimizers.Adam(learning_rate=lr, epsilon=epsilon)

    @staticmethod
    def apply_gradients(tape, loss, variables, optimizer, max_grad_norm: float, loss_scale: LossScale | None = None):
        """Gradient, global-norm clipping and the optimizer step (inside a compiled function).
        With ``loss_scale`` (float16 compute) the gradient is taken of the scaled loss and unscaled,
        and a step whose gradient is not finite is skipped."""
        if loss_scale is None:
            grads = tape.gradient(loss, variables)
        else:
            grads, finite = loss_scale.gradients(tape, loss, variables)
            grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]  # a skipped step reports norm 0
        if max_grad_norm > 0:
            grads, norm = tf.clip_by_global_norm(grads, max_grad_norm)
        else:
            norm = tf.linalg.global_norm(grads)
        if loss_scale is None:
            optimizer.apply_gradients(zip(grads, variables))
        else:

            def step():
                optimizer.apply_gradients(zip(grads, variables))
                return tf.constant(True)

            tf.cond(finite, step, lambda: tf.constant(False))
        return norm


def require_discrete(config: RLConfig, spec: EnvSpec) -> None:
    if not spec.discrete:
        raise ConfigError(
            f"{config.name} needs discrete actions but '{spec.name}' has a continuous action space "
            f"{spec.action_shape} and action_division_num={config.action_division_num!r} turns the split off. "
            "Set rl_config.action_division_num to None (5 actions per dimension) or to a number >= 2 to "
            "split each action dimension into that many discrete actions."
        )


def require_continuous(config: RLConfig, spec: EnvSpec) -> None:
    if spec.discrete:
        split = f" (action_division_num={config.action_division_num} split it)" if config.action_division_num else ""
        raise ConfigError(
            f"{config.name} needs continuous actions, but '{spec.name}' has a discrete action space with "
            f"{spec.n_actions} actions{split}. Use an algorithm for discrete actions (dqn, reinforce, "
            "actor_critic) or an env with a Box action space, and leave action_division_num at None or 0."
        )


def require_bounded(config: RLConfig, spec: EnvSpec) -> None:
    if not spec.discrete and not (np.all(np.isfinite(spec.action_low)) and np.all(np.isfinite(spec.action_high))):
        raise ConfigError(
            f"{config.name} needs a bounded action space, but '{spec.name}' has bounds "
            f"low={spec.action_low}, high={spec.action_high}. Wrap the env with "
            "gymnasium.wrappers.ClipAction / RescaleAction to give it finite bounds."
        )


def polyak_update(target_vars, online_vars, tau):
    """target ← (1 − τ)·target + τ·online."""
    for t, o in zip(target_vars, online_vars):
        t.assign(t + tau * (o - t))


class LossScale:
    """Dynamic loss scaling for float16 compute (``precision="mixed_float16"``): gradients are
    taken of loss × scale, so that small ones do not vanish in float16, then divided by it. A step
    with a non-finite gradient is skipped and halves the scale; ``period`` finite steps in a row
    double it."""

    def __init__(self, initial: float = 2.0**15, period: int = 2000):
        self.scale = tf.Variable(initial, trainable=False, dtype=tf.float32, name="loss_scale")
        self.good_steps = tf.Variable(0, trainable=False, dtype=tf.int64, name="loss_scale_good_steps")
        self.period = period

    def gradients(self, tape, loss, variables):
        """(unscaled gradients, whether all are finite); updates the scale."""
        scale = self.scale.read_value()
        grads = tape.gradient(loss, variables, output_gradients=tf.cast(scale, loss.dtype))
        grads = [g / tf.cast(scale, g.dtype) for g in grads]
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
        good = tf.where(finite, self.good_steps + 1, 0)
        grow = good >= self.period
        self.scale.assign(tf.where(finite, tf.where(grow, scale * 2.0, scale), scale * 0.5))
        self.good_steps.assign(tf.where(grow, tf.zeros_like(good), good))
        return grads, finite


class NumpyCopy:
    """A numpy copy of (part of) a network for acting, taken again whenever the agent's weights
    moved on: after a gradient step (``train_count``) or a load (``weights_version``).

    ``snapshot()`` reads the weights; ``forward(x, weights)`` computes with such a snapshot."""

    def __init__(self, agent: Agent, forward: Callable, snapshot: Callable):
        self.agent, self.forward, self.snapshot = agent, forward, snapshot
        self._version = None
        self._weights = None

    @property
    def weights(self):
        version = (self.agent.train_count, self.agent.weights_version)
        if version != self._version:
            self._weights, self._version = self.snapshot(), version
        return self._weights

    def __call__(self, x):
        return self.forward(x, self.weights)


def replay_buffer(config, spec: EnvSpec, num_envs: int, n_step: int = 1) -> ReplayBuffer:
    """The transition replay of DQN, SAC and DDPG (actions as int32, or float32 in [-1, 1])."""
    config.memory.check(config.batch_size)
    return ReplayBuffer(
        config.memory.capacity,
        spec.obs_shape,
        spec.obs_dtype,
        spec.action_shape,
        np.int32 if spec.discrete else np.float32,
        num_envs=num_envs,
        discount=config.discount,
        n_step=n_step,
    )


class OffPolicyAgent(Agent):
    """A memory that ``observe`` fills (``extras["obs"]``, ``extras["action"]`` and the step), a
    warm-up, and the "train every ``train_interval`` env steps" schedule.

    Subclasses give the memory and implement ``_train_once() -> (gradient steps, metrics)``. The
    schedule counts credit: each env step adds ``credit_per_env_step`` (1 by default) and a train call
    costs ``credit_per_call`` (``train_interval`` by default); Dreamer's ``train_ratio`` sets them to
    the ratio and to batch_size × batch_length.
    ``catch_up = False`` (DQN, SAC, DDPG): at most one train call per :meth:`update`, counting on
    through the warm-up, so that the first call comes as soon as it ends. ``catch_up = True``
    (Dreamer): one call for every ``train_interval`` env steps observed since training became
    possible, so a vector step of more env steps than the interval runs several.
    """

    catch_up = False

    def __init__(self, config, spec: EnvSpec, num_envs: int, memory):
        super().__init__(config, spec, num_envs)
        self.memory = memory
        self._since_train = 0  # credit (env steps, by default) since the last train call

    host_fields = ("_since_train",)

    def _memory(self):
        return self.memory

    def interrupt_episodes(self, streams=None) -> None:
        self.memory.interrupt_episodes(streams)

    def observe(self, step: Step, extras: Extras) -> None:
        super().observe(step, extras)
        self.memory.add(extras["obs"], extras["action"], step.reward, step.next_obs, step.terminated, step.truncated)
        self._since_train += len(step.reward) * self.credit_per_env_step

    @property
    def credit_per_env_step(self) -> float:
        return 1

    @property
    def credit_per_call(self) -> float:
        return self.config.train_interval

    @property
    def warming_up(self) -> bool:
        return len(self.memory) < max(self.config.memory.warmup_size, self.config.batch_size)

    def ready_to_train(self) -> bool:
        return not self.warming_up

    def _random_actions_now(self) -> bool:
        return self.warming_up

    def train_calls_due(self) -> int:
        """Train calls due now, by the ``train_interval`` schedule (see the class doc)."""
        interval = self.credit_per_call
        if not self.ready_to_train():
            if self.catch_up:
                self._since_train = 0  # the train ratio starts counting when training does
            return 0
        if self._since_train < interval:
            return 0
        if self.catch_up:
            calls, self._since_train = divmod(self._since_train, interval)
            return int(calls)
        self._since_train = 0
        return 1

    def update(self) -> tuple[int, dict]:
        done, metrics = 0, {}
        for _ in range(self.train_calls_due()):
            n, metrics = self._train_once()
            self.train_count += n
            done += n
        return done, metrics

    def _train_once(self) -> tuple[int, dict]:
        raise NotImplementedError


class ReplayAgent(OffPolicyAgent):
    """Off-policy agent on a transition replay whose compiled ``_train`` runs ``gradient_steps``
    steps over ``K`` stacked batches of shape ``(K, batch_size, ...)`` in one call."""

    def __init__(self, config, spec: EnvSpec, num_envs: int = 1, n_step: int = 1):
        super().__init__(config, spec, num_envs, replay_buffer(config, spec, num_envs, n_step))

    def _train_once(self) -> tuple[int, dict]:
        k = self.config.gradient_steps
        batch = self.memory.sample_many(k, self.config.batch_size, self.rng)
        return k, self._train(*batch)

    def _train(self, *batch):
        raise NotImplementedError


class ContinuousOffPolicyAgent(ReplayAgent):
    """Off-policy agent for bounded continuous actions (DDPG, TD3, SAC).

    Its networks act in [-1, 1]^d: :meth:`act` maps actions to the env's bounds and hands the
    memory the action normalised again. For ``start_steps`` env steps (or, by default, until the
    warm-up is collected) exploring actions are uniform random. Subclasses implement
    ``_act_normalised(obs, carry, explore) -> (action in [-1, 1], carry)``."""

    def __init__(self, config, spec: EnvSpec, num_envs: int = 1):
        require_continuous(config, spec)
        require_bounded(config, spec)
        super().__init__(config, spec, num_envs)

    def act(self, obs, carry, explore: bool = True):
        from srl_tf.distributions import from_env_action, to_env_action

        if explore and self.random_actions:
            raw = self.rng.uniform(-1.0, 1.0, (len(obs),) + self.spec.action_shape)
        else:
            raw, carry = self._act_normalised(obs, carry, explore)
        action = to_env_action(raw, self.spec.action_low, self.spec.action_high)
        stored = from_env_action(action, self.spec.action_low, self.spec.action_high)
        return action, self.next_carry(carry), {"obs": obs, "action": stored}

    def _random_actions_now(self) -> bool:
        """Uniform random exploring actions for ``start_steps`` env steps, or until the warm-up is
        collected when start_steps is None."""
        start = self.config.start_steps
        return self.warming_up if start is None else self.env_steps < start

    def _act_normalised(self, obs: np.ndarray, carry: Carry, explore: bool) -> tuple[np.ndarray, Carry]:
        raise NotImplementedError

    def policy_graph(self, explore: bool = False) -> PolicyGraph:
        """:meth:`_normalised_graph`, or uniform random actions while exploring actions are (the warm-up)."""
        graph = self._normalised_graph(explore)
        if not (explore and self.random_actions):
            return graph

        def fn(obs, carry, seed):
            return uniform_actions(tf.shape(obs)[0], self.spec.action_shape, seed), carry

        return PolicyGraph(fn, graph.initial_carry)

    def _normalised_graph(self, explore: bool) -> PolicyGraph:
        """:meth:`_act_normalised` as a :class:`PolicyGraph` (actions in [-1, 1]^d)."""
        raise NotImplementedError

    def train_signature(self) -> list:
        """Specs of the (obs, action, reward, next_obs, discount) batches, shaped (K, B, ...)."""
        kb = (self.config.gradient_steps, self.config.batch_size)
        return [
            self.obs_signature(kb),
            tf.TensorSpec(kb + self.spec.action_shape, tf.float32),
            tf.TensorSpec(kb, tf.float32),
            self.obs_signature(kb),
            tf.TensorSpec(kb, tf.float32),
        ]


class StochasticPolicyAgent(Agent):
    """Shared acting for policy-gradient agents: a :class:`~srl_tf.nn.blocks.PolicyNetwork` whose
    compiled step returns a sample, or the mode. Continuous policies act in [-1, 1]^d; the extras
    hold the raw sample (what the update differentiates) as ``action``."""

    def __init__(self, config, spec: EnvSpec, num_envs: int = 1):
        from srl_tf.nn.blocks import PolicyNetwork

        super().__init__(config, spec, num_envs)
        if not spec.discrete:
            require_bounded(config, spec)
        self.policy = PolicyNetwork(spec, config.hidden_block, getattr(config, "image_block", None), name="policy")
        self.policy(np.zeros((1,) + spec.obs_shape, spec.obs_dtype))
        self._policy_step = self.compile(self._policy_fn, "policy", [self.obs_signature()])
        self._mode_step = self.compile(self._mode_fn, "policy_mode", [self.obs_signature()])

    def raw_action_signature(self, leading=(None,)) -> tf.TensorSpec:
        if self.spec.discrete:
            return tf.TensorSpec(tuple(leading), tf.int32)
        return tf.TensorSpec(tuple(leading) + self.spec.action_shape, tf.float32)

    def _policy_fn(self, obs):
        return distribution_action(self.policy.distribution(obs), self.spec.discrete, True, self._seed())

    def _mode_fn(self, obs):
        """The deterministic action. A function of its own, so that evaluating draws no random
        numbers and leaves the training run's random stream as it was."""
        return distribution_action(self.policy.distribution(obs), self.spec.discrete, False)

    def policy_graph(self, explore: bool = False) -> PolicyGraph:
        def fn(obs, carry, seed):
            return distribution_action(self.policy.distribution(obs), self.spec.discrete, explore, seed), carry

        return PolicyGraph(fn)

    def act(self, obs, carry, explore: bool = True):
        from srl_tf.distributions import to_env_action

        raw = (self._policy_step if explore else self._mode_step)(obs).numpy()
        action = raw if self.spec.discrete else to_env_action(raw, self.spec.action_low, self.spec.action_high)
        return action, self.next_carry(carry), {"obs": obs, "action": raw}
