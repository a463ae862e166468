"""The agent contract the Runner talks to, and shared machinery for off-policy agents.

An agent turns observations into actions (:meth:`Agent.act`), sees every step of the training envs
(:meth:`Agent.observe`) and decides itself when to learn (:meth:`Agent.update`, called once per
vector-env step). Its policy step and train step are ``tf.function``s built with
:meth:`Agent.compile`, which also counts traces so that tests can pin "no retrace".
"""

from __future__ import annotations

import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from srl_tf.config import RLConfig
from srl_tf.errors import ConfigError, MissingPathError
from srl_tf.memory.replay import ReplayBuffer
from srl_tf.spec import EnvSpec, Step


class Agent:
    """Base class of every algorithm's agent."""

    accepts_dict_obs = False  # whether the agent takes Dict observations (spec.obs_spaces)

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
        self.trace_counts: dict[str, int] = {}

    def _seed(self):
        """A fresh stateless seed from the agent's generator (deterministic for a config seed)."""
        return self.tf_rng.uniform_full_int((2,), tf.int32)

    # ---- what the Runner calls -----------------------------------------------------------
    def initial_state(self, batch_size: int):
        """The recurrent carry for ``batch_size`` env streams: a mutable object that :meth:`act`
        updates in place, owned by the caller (one for training, one per evaluation). Stateless
        agents return None."""
        return None

    def act(self, obs: np.ndarray, explore: bool = True, state=None, is_first: np.ndarray | None = None) -> np.ndarray:
        """Actions for a batch of observations (numpy in, numpy out). ``state`` is the carry from
        :meth:`initial_state`; ``is_first`` marks the streams whose episode begins with ``obs``
        (a recurrent agent resets their state)."""
        raise NotImplementedError

    def observe(self, obs: np.ndarray, action: np.ndarray, step: Step) -> None:
        """Sees one step of every training env: the observation acted on, the action, the result."""
        self.env_steps += len(action)

    def update(self) -> tuple[int, dict]:
        """Learns if it is time to; returns (gradient steps done, metrics as tensors)."""
        return 0, {}

    def models(self) -> dict[str, keras.Model]:
        """Every Keras model whose weights make up the agent."""
        raise NotImplementedError

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
        kinds = (keras.layers.Layer, keras.optimizers.Optimizer, tf.Variable, tf.random.Generator)

        def trackable(value):
            # A Keras layer is given as the list of its weights: TensorFlow's object graph does not
            # reach every variable of a Keras 3 layer (those held in plain lists are missed).
            return {"weights": list(value.weights)} if isinstance(value, keras.layers.Layer) else value

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
        """Hook: the weights were replaced from outside (a load); drop copies made from them."""

    def _memory(self):
        """The experience store whose arrays are part of the state (None if the agent keeps none)."""
        return None

    def interrupt_episodes(self) -> None:
        """The training envs restart in the middle of their episodes (a resumed run): cut whatever
        per-episode data would otherwise run on into the next episode."""

    # ---- helpers -------------------------------------------------------------------------
    def compile(self, fn: Callable, name: str, signature=None, jit: bool | None = None):
        """``tf.function`` with a trace counter (``self.trace_counts[name]``)."""

        def traced(*args):
            self.trace_counts[name] = self.trace_counts.get(name, 0) + 1
            return fn(*args)

        traced.__name__ = name
        jit = self.config.jit_compile if jit is None else jit
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
    def apply_gradients(tape, loss, variables, optimizer, max_grad_norm: float):
        """Gradient, global-norm clipping and the optimizer step (inside a compiled function)."""
        grads = tape.gradient(loss, variables)
        if max_grad_norm > 0:
            grads, norm = tf.clip_by_global_norm(grads, max_grad_norm)
        else:
            norm = tf.linalg.global_norm(grads)
        optimizer.apply_gradients(zip(grads, variables))
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


class OffPolicyAgent(Agent):
    """Replay memory, warm-up and the "train every N env steps, K gradient steps per call" schedule.

    Subclasses implement ``_train(batch) -> metrics`` as one compiled function over ``K`` stacked
    batches of shape ``(K, batch_size, ...)``; the K gradient steps run inside one call.
    """

    def __init__(self, config, spec: EnvSpec, num_envs: int = 1, n_step: int = 1):
        super().__init__(config, spec, num_envs)
        config.memory.check(config.batch_size)
        action_dtype = np.int32 if spec.discrete else np.float32
        self.memory = ReplayBuffer(
            config.memory.capacity,
            spec.obs_shape,
            spec.obs_dtype,
            spec.action_shape,
            action_dtype,
            num_envs=num_envs,
            discount=config.discount,
            n_step=n_step,
        )
        self._since_train = 0

    host_fields = ("_since_train",)

    def _memory(self):
        return self.memory

    def interrupt_episodes(self) -> None:
        self.memory.interrupt_episodes()

    def observe(self, obs, action, step: Step) -> None:
        super().observe(obs, action, step)
        self.memory.add(obs, action, step.reward, step.next_obs, step.terminated, step.truncated)
        self._since_train += len(action)

    @property
    def warming_up(self) -> bool:
        return len(self.memory) < max(self.config.memory.warmup_size, self.config.batch_size)

    def update(self) -> tuple[int, dict]:
        if self.warming_up or self._since_train < self.config.train_interval:
            return 0, {}
        self._since_train = 0
        k = self.config.gradient_steps
        batch = self.memory.sample_many(k, self.config.batch_size, self.rng)
        metrics = self._train(*batch)
        self.train_count += k
        return k, metrics

    def _train(self, *batch):
        raise NotImplementedError


class ContinuousOffPolicyAgent(OffPolicyAgent):
    """Off-policy agent for bounded continuous actions (DDPG, TD3, SAC).

    Its networks act in [-1, 1]^d: :meth:`act` maps actions to the env's bounds, :meth:`observe`
    stores them normalised again. For ``start_steps`` env steps (or, by default, until the warm-up
    is collected) exploring actions are uniform random. Subclasses implement ``_act_normalised(obs, explore)`` (one compiled policy call)."""

    def __init__(self, config, spec: EnvSpec, num_envs: int = 1):
        require_continuous(config, spec)
        require_bounded(config, spec)
        super().__init__(config, spec, num_envs)

    def act(self, obs, explore: bool = True, state=None, is_first=None):
        from srl_tf.distributions import to_env_action

        if explore and self.acting_randomly:
            raw = self.rng.uniform(-1.0, 1.0, (len(obs),) + self.spec.action_shape)
        else:
            raw = self._act_normalised(obs, explore)
        return to_env_action(raw, self.spec.action_low, self.spec.action_high)

    @property
    def acting_randomly(self) -> bool:
        """Whether exploring actions are still uniform random: for ``start_steps`` env steps, or
        until the warm-up is collected when start_steps is None."""
        start = self.config.start_steps
        return self.warming_up if start is None else self.env_steps < start

    def _act_normalised(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        raise NotImplementedError

    def observe(self, obs, action, step: Step) -> None:
        from srl_tf.distributions import from_env_action

        super().observe(obs, from_env_action(action, self.spec.action_low, self.spec.action_high), step)

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
    compiled step returns a sample and the mode. Continuous policies act in [-1, 1]^d; the raw
    sample of the last exploring ``act`` call is kept in ``last_raw_action`` for the update."""

    def __init__(self, config, spec: EnvSpec, num_envs: int = 1):
        from srl_tf.nn.blocks import PolicyNetwork

        super().__init__(config, spec, num_envs)
        if not spec.discrete:
            require_bounded(config, spec)
        self.policy = PolicyNetwork(spec, config.hidden_block, getattr(config, "image_block", None), name="policy")
        self.policy(np.zeros((1,) + spec.obs_shape, spec.obs_dtype))
        self._policy_step = self.compile(self._policy_fn, "policy", [self.obs_signature()])
        self._mode_step = self.compile(self._mode_fn, "policy_mode", [self.obs_signature()])
        self.last_raw_action = None

    def raw_action_signature(self, leading=(None,)) -> tf.TensorSpec:
        if self.spec.discrete:
            return tf.TensorSpec(tuple(leading), tf.int32)
        return tf.TensorSpec(tuple(leading) + self.spec.action_shape, tf.float32)

    def _policy_fn(self, obs):
        sample = self.policy.distribution(obs).sample(seed=self._seed())
        return tf.cast(sample, tf.int32) if self.spec.discrete else sample

    def _mode_fn(self, obs):
        """The deterministic action. A function of its own, so that evaluating draws no random
        numbers and leaves the training run's random stream as it was."""
        mode = self.policy.distribution(obs).mode()
        return tf.cast(mode, tf.int32) if self.spec.discrete else mode

    def act(self, obs, explore: bool = True, state=None, is_first=None):
        from srl_tf.distributions import to_env_action

        raw = (self._policy_step if explore else self._mode_step)(obs).numpy()
        if explore:
            self.last_raw_action = raw
        if self.spec.discrete:
            return raw
        return to_env_action(raw, self.spec.action_low, self.spec.action_high)
