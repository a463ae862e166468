"""Configuration objects: the RL config base, schedules, network blocks, memory and EnvConfig.

Every algorithm defines ``Config`` as a subclass of :class:`RLConfig` decorated with
:func:`config_dataclass`. Fields are documented with a docstring right below them (read by
``describe()``), validated by :meth:`RLConfig.validate`, and guarded against typos: assigning or
passing an unknown name raises :class:`ConfigError` with the closest valid name.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srl_tf.errors import ConfigError, UnknownAttributeError
from srl_tf.srl_names import srl_hint

# --------------------------------------------------------------------------------------------
# Strict attribute handling shared by every config object
# --------------------------------------------------------------------------------------------


def _suggest(name: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f" Did you mean '{close[0]}'?" if close else ""


class _Strict:
    """Rejects assignment to names that are not dataclass fields (a typo is an error), and answers
    a name that SRL has but srl_tf does not with what to write instead."""

    def __setattr__(self, name: str, value: Any) -> None:
        names = [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        if name not in names and not name.startswith("_"):
            raise ConfigError(
                f"{type(self).__qualname__} has no field '{name}'.{_suggest(name, names)} "
                f"Valid fields: {', '.join(sorted(n for n in names if not n.startswith('_')))}."
                f"{srl_hint(name)}"
            )
        value = _coerce(self, name, value)
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: a misspelt or SRL-only name read or called.
        if name.startswith("_"):
            raise AttributeError(name)
        names = [f.name for f in dataclasses.fields(self)] + [n for n in dir(type(self)) if not n.startswith("_")]  # type: ignore[arg-type]
        raise UnknownAttributeError(
            f"{type(self).__qualname__} has no attribute '{name}'.{_suggest(name, names)}{srl_hint(name)}"
        )


def _coerce(obj: Any, name: str, value: Any) -> Any:
    """Checks ``value`` against the field's annotation and converts what stands for it: a plain
    number for a constant Schedule (``Config(lr=1e-3)``), numpy scalars for Python ones, a list for
    a tuple. A value of another type is a ConfigError naming the field."""
    kinds, optional = _field_kinds(type(obj), name)
    if not kinds or (value is None and optional):
        return value
    where = f"{type(obj).__qualname__}.{name}"
    real = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if "Schedule" in kinds:
        if isinstance(value, Schedule):
            return value
        if real:
            return Schedule(float(value))
        raise ConfigError(
            f"{where}={value!r} is not a schedule; assign a number (a constant) or use "
            f"{name}.set_constant(v) / .set_linear(start, end, steps) / .set_cosine(start, steps)."
        )
    if "BlockConfig" in kinds:
        if isinstance(value, BlockConfig):
            return value
        raise ConfigError(f"{where}={value!r} is not a block; set its layers with {name}.set_mlp({value!r}) (or .set(...)).")
    if "MemoryConfig" in kinds or "RolloutConfig" in kinds:
        if isinstance(value, MemoryConfig):
            return value
        raise ConfigError(f"{where}={value!r} is not a memory config; set memory.capacity and memory.warmup_size instead.")
    if "bool" in kinds:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ConfigError(f"{where}={value!r} must be True or False.")
    if "int" in kinds and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if "float" in kinds and real:
        return float(value)
    if "str" in kinds and isinstance(value, str):
        return value
    if "tuple" in kinds and isinstance(value, (tuple, list)):
        return tuple(value)
    if "dict" in kinds and isinstance(value, dict):
        return value
    expected = " or ".join(sorted(kinds)) + (" or None" if optional else "")
    raise ConfigError(f"{where}={value!r} has type {type(value).__name__}; expected {expected}.")


_KINDS = ("Schedule", "BlockConfig", "MemoryConfig", "RolloutConfig", "bool", "int", "float", "str", "tuple", "dict")
_kind_cache: dict = {}


def _field_kinds(cls, name: str) -> tuple[frozenset, bool]:
    """The checkable kinds of a field's annotation ('int | None' → ({'int'}, True)); an empty set
    for annotations that take anything (Any, callables)."""
    key = (cls, name)
    if key not in _kind_cache:
        kinds, optional = frozenset(), False
        for f in dataclasses.fields(cls):
            if f.name == name:
                parts = [p.strip() for p in str(f.type).split("|")]
                optional = "None" in parts
                rest = [p for p in parts if p != "None"]
                if rest and all(p in _KINDS for p in rest):
                    kinds = frozenset(rest)
        _kind_cache[key] = (kinds, optional)
    return _kind_cache[key]


def config_dataclass(cls):
    """``dataclasses.dataclass`` plus a constructor that names a mistyped keyword."""
    cls = dataclass(cls)
    init = cls.__init__

    def __init__(self, *args, **kwargs):
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        for key in kwargs:
            if key not in names:
                raise ConfigError(
                    f"{cls.__qualname__}() got an unknown keyword '{key}'.{_suggest(key, names)}{srl_hint(key)}"
                )
        init(self, *args, **kwargs)  # every field goes through __setattr__: checked and coerced

    __init__.__doc__ = init.__doc__
    cls.__init__ = __init__
    return cls


# --------------------------------------------------------------------------------------------
# Schedules (learning rates, epsilon, ...)
# --------------------------------------------------------------------------------------------


@dataclass
class Schedule(_Strict):
    """A value that may change with a step counter: constant, linear or cosine decay.

    >>> lr = Schedule(1e-3)
    >>> lr.set_linear(1e-3, 1e-4, steps=10_000)
    """

    start: float = 1e-3
    kind: str = "constant"
    end: float = 0.0
    steps: int = 1

    def set_constant(self, value: float) -> Schedule:
        self.kind, self.start, self.end, self.steps = "constant", float(value), float(value), 1
        return self

    def set_linear(self, start: float, end: float, steps: int) -> Schedule:
        """Moves linearly from ``start`` to ``end`` over ``steps`` steps, then stays at ``end``."""
        self.kind, self.start, self.end, self.steps = "linear", float(start), float(end), int(steps)
        return self

    def set_cosine(self, start: float, steps: int, end: float = 0.0) -> Schedule:
        """Cosine decay from ``start`` to ``end`` over ``steps`` steps."""
        self.kind, self.start, self.end, self.steps = "cosine", float(start), float(end), int(steps)
        return self

    def value(self, step: int) -> float:
        if self.kind == "constant":
            return self.start
        frac = min(max(step, 0) / max(self.steps, 1), 1.0)
        if self.kind == "linear":
            return self.start + (self.end - self.start) * frac
        return self.end + 0.5 * (self.start - self.end) * (1.0 + math.cos(math.pi * frac))

    def to_keras(self):
        """A float or a ``keras.optimizers.schedules.LearningRateSchedule`` driven by the
        optimizer's own step counter."""
        import keras

        if self.kind == "constant":
            return self.start
        if self.kind == "linear":
            return keras.optimizers.schedules.PolynomialDecay(self.start, self.steps, self.end, power=1.0)
        alpha = self.end / self.start if self.start else 0.0
        return keras.optimizers.schedules.CosineDecay(self.start, self.steps, alpha=alpha)

    def check(self, name: str, low: float = 0.0, allow_zero: bool = False) -> None:
        if self.kind not in ("constant", "linear", "cosine"):
            raise ConfigError(f"{name}: unknown schedule kind '{self.kind}'; use constant, linear or cosine.")
        for label, v in (("start", self.start), ("end", self.end if self.kind != "constant" else self.start)):
            if not math.isfinite(v) or v < low or (v == low and not allow_zero and label == "start"):
                raise ConfigError(
                    f"{name}: {label} value {v!r} is out of range; expected a finite value "
                    f"{'>=' if allow_zero else '>'} {low}."
                )
        if self.steps < 1:
            raise ConfigError(f"{name}: steps={self.steps} must be >= 1.")


def schedule(value: float) -> Any:
    """A dataclass field holding a constant :class:`Schedule`."""
    return field(default_factory=lambda: Schedule(float(value)))


# --------------------------------------------------------------------------------------------
# Network blocks
# --------------------------------------------------------------------------------------------

_ACTIVATIONS = ("relu", "tanh", "elu", "silu", "gelu", "leaky_relu", "sigmoid", "linear")


@dataclass
class BlockConfig(_Strict):
    """A network block: an MLP (``set_mlp``) or, for image inputs, a CNN (``set_cnn``)."""

    kind: str = "mlp"
    layer_sizes: tuple = (64, 64)
    activation: str = "relu"
    layer_norm: bool = False
    cnn_preset: str = "dqn"

    def set_mlp(self, layer_sizes: Sequence[int] = (64, 64), activation: str = "relu", layer_norm: bool = False):
        """Dense layers of the given widths, each followed by ``activation`` (LayerNorm first if set)."""
        self.kind = "mlp"
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        self.activation = activation
        self.layer_norm = layer_norm
        return self

    def set(self, layer_sizes: Sequence[int] = (64, 64), activation: str = "relu", layer_norm: bool = False):
        """SRL's name for :meth:`set_mlp`."""
        return self.set_mlp(layer_sizes, activation, layer_norm)

    def set_cnn(self, preset: str = "dqn", activation: str = "relu"):
        """A convolutional image encoder; ``preset`` in {'dqn' (Nature DQN), 'small'}."""
        self.kind, self.cnn_preset, self.activation = "cnn", preset, activation
        return self

    def check(self, name: str) -> None:
        if self.kind not in ("mlp", "cnn"):
            raise ConfigError(f"{name}.kind='{self.kind}' is not one of 'mlp', 'cnn'.")
        if self.kind == "mlp" and any(s <= 0 for s in self.layer_sizes):
            raise ConfigError(f"{name}: layer sizes must be positive, got {self.layer_sizes}.")
        if self.activation not in _ACTIVATIONS:
            raise ConfigError(
                f"{name}.activation='{self.activation}' is not supported; allowed: {', '.join(_ACTIVATIONS)}."
            )
        if self.kind == "cnn" and self.cnn_preset not in ("dqn", "small"):
            raise ConfigError(f"{name}: cnn preset '{self.cnn_preset}' unknown; allowed: 'dqn', 'small'.")


def block(*layer_sizes: int, activation: str = "relu") -> Any:
    """A dataclass field holding an MLP :class:`BlockConfig`."""
    return field(default_factory=lambda: BlockConfig(layer_sizes=tuple(layer_sizes), activation=activation))


@dataclass
class MemoryConfig(_Strict):
    """Replay memory size and how much experience to collect before training starts."""

    capacity: int = 100_000
    """Transitions kept (oldest overwritten first)."""
    warmup_size: int = 1_000
    """Transitions collected before the first gradient step."""

    def check(self, batch_size: int | None = None) -> None:
        if not isinstance(self.capacity, int) or self.capacity <= 0:
            raise ConfigError(f"memory.capacity={self.capacity!r} must be a positive integer.")
        if not isinstance(self.warmup_size, int) or self.warmup_size < 0:
            raise ConfigError(f"memory.warmup_size={self.warmup_size!r} must be an integer >= 0.")
        if self.warmup_size > self.capacity:
            raise ConfigError(
                f"memory.warmup_size={self.warmup_size} is larger than memory.capacity={self.capacity}; "
                "training could never start. Lower warmup_size or raise capacity."
            )
        if batch_size is not None and self.warmup_size < batch_size:
            raise ConfigError(
                f"memory.warmup_size={self.warmup_size} is smaller than batch_size={batch_size}; "
                f"set memory.warmup_size >= {batch_size}."
            )


# --------------------------------------------------------------------------------------------
# RL config base
# --------------------------------------------------------------------------------------------


@config_dataclass
class RLConfig(_Strict):
    """Fields common to every algorithm. What an algorithm learns from (a replay ``memory`` and its
    ``batch_size``, a rollout, whole episodes) is declared by the algorithms that have it."""

    discount: float = 0.99
    """Discount factor γ."""
    action_division_num: int | None = None
    """Split each dimension of a continuous (Box) action space into this many evenly spaced
    discrete actions. None (the default): 5 for algorithms that take only discrete actions (DQN),
    no split for the others; an integer >= 2 splits for any algorithm that takes discrete actions;
    0 never splits (a discrete-only algorithm on a continuous env is then an error)."""
    observation_mode: str = "env"
    """What the agent observes: 'env' (the env's observation) or 'render_image' (the env's rendered
    rgb frame, as ``EnvConfig(render_image=True)``)."""
    max_grad_norm: float = 10.0
    """Global-norm gradient clipping (<= 0 disables it)."""
    seed: int | None = None
    """Seed for numpy, TensorFlow and the environments; None draws one."""
    jit_compile: bool = True
    """Compile the train step with XLA. Dreamer with image observations on a CPU compiles only its
    actor-critic half: there XLA's convolutions are slower than TensorFlow's own (oneDNN), so the
    world model's half runs in TensorFlow's runtime (on a GPU the whole step is compiled)."""

    # What the algorithm accepts; overridden by subclasses.
    name = "base"
    supports_discrete = True
    supports_continuous = True

    def validate(self) -> None:
        """Raises :class:`ConfigError` naming the first field out of range."""
        self._check_range("discount", 0.0, 1.0)
        division = self.action_division_num
        if division is not None and (
            not isinstance(division, int) or isinstance(division, bool) or division < 0 or division == 1
        ):
            raise ConfigError(
                f"action_division_num={division!r} is out of range; expected None (automatic), 0 (never split) "
                "or an integer >= 2 (one action per dimension is no choice)."
            )
        self._check_choice("observation_mode", OBSERVATION_MODES)
        if self.seed is not None and (not isinstance(self.seed, int) or not 0 <= self.seed < 2**32 - 100_000):
            raise ConfigError(f"seed={self.seed!r} is out of range; expected None or an integer in [0, 2**32 - 100000).")
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Schedule):
                v.check(f.name, allow_zero=f.name.startswith("epsilon"))
            elif isinstance(v, BlockConfig):
                v.check(f.name)

    # helpers for subclasses
    def _check_int(self, name: str, low: int = 0, high: int | None = None) -> None:
        v = getattr(self, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < low or (high is not None and v > high):
            allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise ConfigError(f"{name}={v!r} is out of range; expected an integer {allowed}.")

    def _check_range(self, name: str, low: float, high: float, low_open: bool = False, high_open: bool = False):
        v = getattr(self, name)
        ok = isinstance(v, (int, float)) and math.isfinite(v)
        ok = ok and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
        if not ok:
            lb, hb = "(" if low_open else "[", ")" if high_open else "]"
            raise ConfigError(f"{name}={v!r} is out of range; expected a value in {lb}{low}, {high}{hb}.")

    def _check_choice(self, name: str, choices: Sequence[str]) -> None:
        v = getattr(self, name)
        if v not in choices:
            raise ConfigError(f"{name}={v!r} is not allowed; choose one of {', '.join(map(repr, choices))}.")

    def action_split(self) -> int:
        """How many discrete actions each dimension of a continuous action space becomes for this
        algorithm (0: no split). Discrete action spaces are never touched."""
        if self.action_division_num is None:
            return DEFAULT_ACTION_DIVISION if not self.supports_continuous else 0
        return self.action_division_num

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


DEFAULT_ACTION_DIVISION = 5
"""Actions per dimension when a discrete-only algorithm meets a continuous env (SRL's default)."""
OBSERVATION_MODES = ("env", "render_image")


@config_dataclass
class OffPolicyConfig(RLConfig):
    """Fields of replay-based algorithms: the replay, the batch, how often to train and how many
    gradient steps a call."""

    batch_size: int = 64
    """Transitions per gradient step."""
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    """Replay capacity and warm-up size."""
    train_interval: int = 1
    """Env steps between training calls."""
    gradient_steps: int = 1
    """Gradient steps per training call (run inside one compiled function)."""

    def validate(self) -> None:
        super().validate()
        self._check_int("batch_size", low=1)
        self.memory.check(self.batch_size)
        self._check_int("train_interval", low=1)
        self._check_int("gradient_steps", low=1)


@config_dataclass
class ContinuousOffPolicyConfig(OffPolicyConfig):
    """Off-policy algorithms for bounded continuous actions (DDPG / TD3, SAC)."""

    start_steps: int | None = None
    """Env steps (summed over envs) of uniform random actions at the start, as SRL's and the
    TD3 / SAC reference code's ``start_steps``; training may begin earlier, at
    ``memory.warmup_size``. None: random actions until the warm-up is collected."""

    def validate(self) -> None:
        super().validate()
        if self.start_steps is not None:
            self._check_int("start_steps", low=0)


# --------------------------------------------------------------------------------------------
# EnvConfig
# --------------------------------------------------------------------------------------------


@config_dataclass
class EnvConfig(_Strict):
    """Which environment to run and how to process it.

    >>> EnvConfig("CarRacing-v3", image_resize=(64, 64), frame_stack=1, action_repeat=2)
    """

    name: Any = "CartPole-v1"
    """A Gymnasium id or a zero-argument callable returning a ``gymnasium.Env``."""
    kwargs: dict = field(default_factory=dict)
    """Keyword arguments for ``gymnasium.make``."""
    max_episode_steps: int | None = None
    """Truncate episodes after this many (agent) steps; None keeps the env's own limit."""
    action_repeat: int = 1
    """Repeat each action this many env frames, summing rewards (frame skip)."""
    image_resize: tuple | None = None
    """(height, width) to resize image observations to, e.g. (64, 64)."""
    image_grayscale: bool = False
    """Convert RGB image observations to one channel."""
    frame_stack: int = 1
    """Stack the last N observations (images along the channel axis)."""
    num_envs: int = 1
    """Parallel environments for collecting experience."""
    vectorization: str = "sync"
    """'sync' (one process) or 'async' (one subprocess per env)."""
    render_image: bool = False
    """Observe the env's rendered rgb frame (``render_mode='rgb_array'``) instead of its own
    observation, so that any env that renders can be learned from pixels; the frame is processed
    like any image observation (``image_resize``, ``image_grayscale``, ``frame_stack``)."""

    def validate(self) -> None:
        if not (isinstance(self.name, str) or callable(self.name)):
            raise ConfigError(f"EnvConfig.name={self.name!r} must be a Gymnasium id string or a callable.")
        for fname in ("action_repeat", "frame_stack", "num_envs"):
            v = getattr(self, fname)
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"EnvConfig.{fname}={v!r} must be an integer >= 1.")
        if self.max_episode_steps is not None and (
            not isinstance(self.max_episode_steps, int) or self.max_episode_steps < 1
        ):
            raise ConfigError(f"EnvConfig.max_episode_steps={self.max_episode_steps!r} must be None or >= 1.")
        if self.image_resize is not None and not _is_size_pair(self.image_resize):
            raise ConfigError(
                f"EnvConfig.image_resize={self.image_resize!r} must be (height, width), two integers >= 1."
            )
        if not isinstance(self.render_image, bool):
            raise ConfigError(f"EnvConfig.render_image={self.render_image!r} must be True or False.")
        if self.vectorization not in ("sync", "async"):
            raise ConfigError(f"EnvConfig.vectorization={self.vectorization!r}; choose 'sync' or 'async'.")

    @property
    def display_name(self) -> str:
        return self.name if isinstance(self.name, str) else getattr(self.name, "__name__", "custom_env")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["name"] = self.display_name
        return d


def _is_size_pair(value: Any) -> bool:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False
    return all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in value)


def as_env_config(env: EnvConfig | str | Callable) -> EnvConfig:
    if isinstance(env, EnvConfig):
        return env
    if isinstance(env, str) or callable(env):
        return EnvConfig(env)
    raise ConfigError(f"Expected an EnvConfig, a Gymnasium id or a callable, got {type(env).__name__}.")
