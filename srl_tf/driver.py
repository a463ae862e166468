"""The one episode driver: an agent acting in a batched env through the agent contract.

Training, evaluation, recorded rollouts (GIFs, the replay window) and RL² trial evaluation all play
episodes the same way: ``act`` on the current observations with the carry, step the env, mark in
the carry where an episode begins. :class:`EpisodeDriver` does that once; the env is anything with
``step(actions) -> Step`` (a :class:`~srl_tf.envs.VecEnvAdapter`, :class:`OneEnv` around a single
Gymnasium env, or :class:`EnvList` around several that run to their own ends).
"""

from __future__ import annotations

import numpy as np

from srl_tf.spec import Step


class EpisodeDriver:
    """Plays ``agent`` in ``env``: owns the observations to act on and the carry of every stream."""

    def __init__(self, agent, env, explore: bool):
        self.agent, self.env, self.explore = agent, env, explore
        self.obs = None
        self.carry = None
        self.env_failed = False  # True once env.step raised (the agent has not seen that step)

    def start(self, obs) -> None:
        """Every stream begins an episode with ``obs``."""
        self.obs = obs
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        self.carry = self.agent.initial_carry(n)

    def step(self) -> tuple[np.ndarray, Step, dict]:
        """One step of every stream: (actions, the env's Step, the agent's extras for observe)."""
        self.env_failed = False
        action, carry, extras = self.agent.act(self.obs, self.carry, self.explore)
        try:
            step = self.env.step(action)
        except Exception:
            self.env_failed = True
            raise
        carry["is_first"] = step.terminated | step.truncated  # next act() begins those episodes
        self.carry, self.obs = carry, step.obs
        return action, step, extras


def _batch(obs):
    return {k: np.asarray(v)[None] for k, v in obs.items()} if isinstance(obs, dict) else np.asarray(obs)[None]


class OneEnv:
    """A single Gymnasium env as a batch of one (no autoreset: the caller stops at the episode's end)."""

    def __init__(self, env):
        self.env = env

    def reset(self, seed: int | None = None):
        return _batch(self.env.reset(seed=seed)[0])

    def step(self, action) -> Step:
        obs, reward, terminated, truncated, _ = self.env.step(action[0])
        obs = _batch(obs)
        # the reward as the env gave it (float64 for most): recorded episodes keep it exact
        return Step(obs, np.array([reward], np.float64), np.array([terminated]), np.array([truncated]), obs)


class EnvList:
    """Several Gymnasium envs as one batch, each stepped until its episode ends (then left alone:
    its reward is 0 and its observation stays the last one)."""

    def __init__(self, envs: list, obs_shape: tuple, obs_dtype):
        self.envs = envs
        self.obs = np.zeros((len(envs),) + tuple(obs_shape), obs_dtype)
        self.active = np.zeros(len(envs), bool)

    def reset(self, seeds: list[int]) -> np.ndarray:
        """Resets the first ``len(seeds)`` envs with those seeds; the others stay inactive."""
        self.active[:] = False
        for j, seed in enumerate(seeds):
            self.obs[j] = self.envs[j].reset(seed=seed)[0]
            self.active[j] = True
        return self.obs

    def step(self, action) -> Step:
        n = len(self.envs)
        reward = np.zeros(n, np.float64)  # summed into trial returns as the env gave them
        terminated, truncated = np.zeros(n, bool), np.zeros(n, bool)
        for j in np.flatnonzero(self.active):
            self.obs[j], reward[j], terminated[j], truncated[j], _ = self.envs[j].step(action[j])
            self.active[j] = not (terminated[j] or truncated[j])
        return Step(self.obs, reward, terminated, truncated, self.obs)
