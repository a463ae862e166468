"""The types that environments and algorithms share: what an agent knows of the (processed) env,
and one batched env step. Both ``srl_tf.envs`` and ``srl_tf.algorithms`` import them from here, so
algorithms need nothing from the env package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class EnvSpec:
    """What an agent needs to know about the (processed) environment."""

    name: str
    obs_shape: tuple
    obs_dtype: np.dtype
    is_image: bool
    discrete: bool
    n_actions: int  # number of discrete actions (0 when continuous)
    action_shape: tuple  # () for discrete
    action_low: np.ndarray | None
    action_high: np.ndarray | None
    max_episode_steps: int | None
    obs_spaces: dict | None = None  # Dict observations: key → (shape, dtype, is_image); None otherwise

    @property
    def action_dim(self) -> int:
        return self.n_actions if self.discrete else int(np.prod(self.action_shape))


class Step(NamedTuple):
    """One step of every sub-env."""

    obs: np.ndarray  # what to act on next (first obs of a new episode where one ended)
    reward: np.ndarray  # float32 (n,)
    terminated: np.ndarray  # bool (n,)
    truncated: np.ndarray  # bool (n,)
    next_obs: np.ndarray  # the observation that followed the action (final obs where one ended)
