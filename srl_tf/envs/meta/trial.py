"""The RL² trial: several episodes of one task, seen by the agent as a single episode."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class MetaTrial(gym.Wrapper):
    """Runs ``episodes_per_trial`` episodes of one task sampled when the trial begins.

    The wrapped env provides ``sample_task(rng)`` and ``set_task(task)``. The observation is
    (observation, previous action (one-hot when discrete), previous reward, done flag of the previous
    step); inner episode ends only raise the done flag, so a recurrent policy keeps its state across
    them, and the outer episode (the trial) terminates after the last inner episode: the Runner resets
    the state between trials, and PPO optimises the return of the whole trial.
    """

    def __init__(self, env: gym.Env, episodes_per_trial: int):
        super().__init__(env)
        self.episodes_per_trial = int(episodes_per_trial)
        space, act = env.observation_space, env.action_space
        self.discrete = isinstance(act, gym.spaces.Discrete)
        self.action_size = int(act.n) if self.discrete else int(np.prod(act.shape))
        extra = self.action_size + 2
        low = np.concatenate([space.low.ravel(), np.full(extra, -np.inf)]).astype(np.float32)
        high = np.concatenate([space.high.ravel(), np.full(extra, np.inf)]).astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.episode = 0

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
        self.env.unwrapped.set_task(self.env.unwrapped.sample_task(self.env.unwrapped.np_random))
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
