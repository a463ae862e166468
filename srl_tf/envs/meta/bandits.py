"""Bernoulli multi-armed bandits as a task family: each task is a vector of success probabilities
drawn uniformly from [0, 1]; an episode is a single pull."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from srl_tf.envs.meta.trial import MetaTrial


class BernoulliBandit(gym.Env):
    """``arms`` arms; pulling arm a pays 1 with probability ``probs[a]``, else 0. The observation is a
    constant (all information comes from the previous action and reward that :class:`MetaTrial` adds)."""

    def __init__(self, arms: int = 5):
        self.arms = int(arms)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(self.arms)
        self.probs = np.full(self.arms, 0.5)

    def sample_task(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(size=self.arms)

    def set_task(self, task) -> None:
        self.probs = np.asarray(task, np.float64)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        reward = float(self.np_random.random() < self.probs[int(action)])
        return np.zeros(1, np.float32), reward, True, False, {}


def bandit_trial_env(arms: int = 5, pulls: int = 10, task_seed: int | None = None) -> MetaTrial:
    """One trial = ``pulls`` pulls of one bandit sampled at the trial's start (``task_seed`` as in
    :class:`MetaTrial`). With 5 arms and 10 pulls, random play earns 5.0 per trial and UCB1 about 6.7."""
    return MetaTrial(BernoulliBandit(arms), episodes_per_trial=pulls, task_seed=task_seed)
