"""2-D point navigation with a hidden goal as a task family: each task is a goal position; the agent
sees only where it is, so it must find the goal from the rewards and, in later episodes of an RL²
trial, go straight to it."""

from __future__ import annotations

import numbers

import gymnasium as gym
import numpy as np

from srl_tf.envs.meta.trial import MetaTrial, _is_int
from srl_tf.errors import EnvError

GOAL_SAMPLING = ("circle", "square")


class PointNavigation(gym.Env):
    """A point starts every episode at the origin; the action is its velocity, a 2-D vector in
    [-max_speed, max_speed]² (clipped there), added to the position each step. The reward of a step
    is minus the distance from the new position to the goal, and an episode is ``steps`` steps long
    (it ends by truncation). The observation is the position only: the goal is hidden.

    Going straight to a goal at radius 0.5 earns about −1.5 per 20-step episode (the point arrives in
    four to five steps); standing still earns −0.5 · 20 = −10.
    """

    def __init__(
        self, steps: int = 20, goal_radius: float = 0.5, goal_sampling: str = "circle", max_speed: float = 0.1
    ):
        if not _is_int(steps) or steps < 1:
            raise EnvError(f"PointNavigation(steps={steps!r}) must be an integer >= 1 (steps per episode).")
        for name, value in (("goal_radius", goal_radius), ("max_speed", max_speed)):
            if not _is_real(value) or not 0 < value < float("inf"):
                raise EnvError(f"PointNavigation({name}={value!r}) must be a finite number > 0.")
        if goal_sampling not in GOAL_SAMPLING:
            raise EnvError(
                f"PointNavigation(goal_sampling={goal_sampling!r}); choose 'circle' (goals on the circle of "
                "radius goal_radius) or 'square' (goals uniform in [-goal_radius, goal_radius]²)."
            )
        self.steps = int(steps)
        """Steps per episode."""
        self.goal_radius = float(goal_radius)
        """Radius of the goal circle, or half the side of the goal square."""
        self.goal_sampling = goal_sampling
        """'circle' or 'square': where :meth:`sample_task` draws goals."""
        self.max_speed = float(max_speed)
        """Largest move along each axis per step."""
        bound = self.steps * self.max_speed  # the farthest the point can get from the origin per axis
        self.observation_space = gym.spaces.Box(-bound, bound, (2,), np.float32)
        self.action_space = gym.spaces.Box(-self.max_speed, self.max_speed, (2,), np.float32)
        self.goal = np.zeros(2)
        self.position = np.zeros(2)
        self.t = 0

    def sample_task(self, rng: np.random.Generator) -> np.ndarray:
        """A goal: uniform on the circle of radius ``goal_radius``, or uniform in the square."""
        if self.goal_sampling == "circle":
            angle = rng.uniform(0.0, 2.0 * np.pi)
            return self.goal_radius * np.array([np.cos(angle), np.sin(angle)])
        return rng.uniform(-self.goal_radius, self.goal_radius, size=2)

    def set_task(self, task) -> None:
        goal = np.asarray(task, np.float64)
        if goal.shape != (2,) or not np.all(np.isfinite(goal)):
            raise EnvError(f"PointNavigation.set_task({task!r}): a task is a finite 2-D goal position (x, y).")
        self.goal = goal.copy()

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.position = np.zeros(2)
        self.t = 0
        return self.position.astype(np.float32), {}

    def step(self, action):
        a = np.asarray(action, np.float64)
        if a.size != 2:
            raise EnvError(f"PointNavigation.step: the action is a 2-D velocity, got shape {a.shape}.")
        self.position = self.position + np.clip(a.ravel(), -self.max_speed, self.max_speed)
        self.t += 1
        distance = float(np.linalg.norm(self.position - self.goal))
        return self.position.astype(np.float32), -distance, False, self.t >= self.steps, {"distance": distance}


def navigation_trial_env(
    episodes_per_trial: int = 3,
    steps: int = 20,
    goal_radius: float = 0.5,
    goal_sampling: str = "circle",
    max_speed: float = 0.1,
    task_seed: int | None = None,
) -> MetaTrial:
    """One trial = ``episodes_per_trial`` episodes of ``steps`` steps towards one hidden goal sampled at
    the trial's start (see :class:`PointNavigation`; ``task_seed`` as in :class:`MetaTrial`)."""
    return MetaTrial(PointNavigation(steps, goal_radius, goal_sampling, max_speed), episodes_per_trial, task_seed)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
