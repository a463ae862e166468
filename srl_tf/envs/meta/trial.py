"""The RL² trial: several episodes of one task, seen by the agent as a single episode."""

from __future__ import annotations

import numbers

import gymnasium as gym
import numpy as np

from srl_tf.errors import EnvError


class MetaTrial(gym.Wrapper):
    """Runs ``episodes_per_trial`` episodes of one task sampled when the trial begins.

    The wrapped env provides ``sample_task(rng)`` and ``set_task(task)``. The observation is
    (observation, previous action (one-hot when discrete), previous reward, done flag of the previous
    step); inner episode ends only raise the done flag, so a recurrent policy keeps its state across
    them, and the outer episode (the trial) terminates after the last inner episode: the Runner resets
    the state between trials, and PPO optimises the return of the whole trial.

    Where the tasks come from is set by ``task_seed``: None draws them from the wrapped env's own
    generator (seeded by ``reset(seed=)``, as the Runner's training envs are); an integer gives the
    tasks a generator of their own, seeded from (task_seed, reset seed), so that one task_seed for
    training and another for held-out evaluation give two separate task streams, and the same
    (task_seed, reset seed) always gives the same tasks.
    """

    def __init__(self, env: gym.Env, episodes_per_trial: int, task_seed: int | None = None):
        super().__init__(env)
        if not _is_int(episodes_per_trial) or episodes_per_trial < 1:
            raise EnvError(f"MetaTrial(episodes_per_trial={episodes_per_trial!r}) must be an integer >= 1.")
        for method in ("sample_task", "set_task"):
            if not callable(getattr(env.unwrapped, method, None)):
                raise EnvError(
                    f"MetaTrial needs a task family: {type(env.unwrapped).__name__} has no {method}() method "
                    "(see srl_tf.envs.meta.BernoulliBandit for the two methods a family provides)."
                )
        self.episodes_per_trial = int(episodes_per_trial)
        self.task_seed = task_seed
        space, act = env.observation_space, env.action_space
        self.discrete = isinstance(act, gym.spaces.Discrete)
        self.action_size = int(act.n) if self.discrete else int(np.prod(act.shape))
        extra = self.action_size + 2
        low = np.concatenate([space.low.ravel(), np.full(extra, -np.inf)]).astype(np.float32)
        high = np.concatenate([space.high.ravel(), np.full(extra, np.inf)]).astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.episode = 0
        """Index of the inner episode now running (0 .. episodes_per_trial − 1)."""

    @property
    def task_seed(self) -> int | None:
        """None: tasks from the wrapped env's generator; an integer: tasks from their own generator."""
        return self._task_seed

    @task_seed.setter
    def task_seed(self, value: int | None) -> None:
        if value is not None and (not _is_int(value) or value < 0):
            raise EnvError(f"MetaTrial(task_seed={value!r}) must be None or an integer >= 0.")
        self._task_seed = None if value is None else int(value)
        self._task_rng = None if value is None else np.random.default_rng([self._task_seed])

    def _obs(self, obs, action, reward: float, done: bool) -> np.ndarray:
        prev = np.zeros(self.action_size, np.float32)
        if action is not None:
            if self.discrete:
                prev[int(action)] = 1.0
            else:
                prev[:] = np.asarray(action, np.float32).ravel()
        return np.concatenate([np.asarray(obs, np.float32).ravel(), prev, [reward, float(done)]]).astype(np.float32)

    def reset(self, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        if self._task_seed is None:
            rng = self.env.unwrapped.np_random
        else:
            if seed is not None:
                self._task_rng = np.random.default_rng([self._task_seed, int(seed)])
            rng = self._task_rng
        self.env.unwrapped.set_task(self.env.unwrapped.sample_task(rng))
        self.episode = 0
        return self._obs(obs, None, 0.0, False), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        done = bool(terminated or truncated)
        if done:
            self.episode += 1
            if self.episode < self.episodes_per_trial:
                obs, info = self.env.reset()
        trial_over = done and self.episode >= self.episodes_per_trial
        return self._obs(obs, action, float(reward), done), float(reward), trial_over, False, info


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
