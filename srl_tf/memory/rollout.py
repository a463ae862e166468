"""On-policy rollout storage for PPO: preallocated numpy arrays of shape ``(T, num_envs, ...)``.

Step ``t`` of env ``i`` holds the observation acted on, the (raw) action, the reward and end flags
that followed, the recurrent state the policy *received* for that step (before the reset that
``is_first`` asks for, so ``state[t + 1]`` is the state after step ``t`` inside an episode), and
``is_first``. Where an episode was truncated by a time limit, its final observation is kept aside
in ``final_obs`` (the value of that observation bootstraps the return); terminated episodes need none.
"""

from __future__ import annotations

import numpy as np


class RolloutBuffer:
    """``steps`` vector-env steps of ``num_envs`` envs.

    >>> rb = RolloutBuffer(512, 4, (4,), np.float32, (), np.int32)
    >>> rb.add(obs, action, reward, terminated, truncated, next_obs)   # until rb.full
    >>> seqs = rb.sequences(16)     # (4 * 512 / 16, 16, ...) for truncated BPTT
    """

    def __init__(self, steps, num_envs, obs_shape, obs_dtype, action_shape, action_dtype, state_size: int = 0):
        self.steps, self.num_envs, self.state_size = int(steps), int(num_envs), int(state_size)
        tn = (self.steps, self.num_envs)
        self.obs = np.zeros(tn + tuple(obs_shape), obs_dtype)
        self.action = np.zeros(tn + tuple(action_shape), action_dtype)
        self.reward = np.zeros(tn, np.float32)
        self.terminated = np.zeros(tn, bool)
        self.truncated = np.zeros(tn, bool)
        self.is_first = np.zeros(tn, np.float32)
        self.state = np.zeros(tn + (self.state_size,), np.float32)
        self.final_obs: list[tuple[int, int, np.ndarray]] = []  # (t, env, final obs) of truncated episodes
        self.pos = 0

    @property
    def full(self) -> bool:
        return self.pos == self.steps

    @property
    def ended(self) -> np.ndarray:
        return self.terminated | self.truncated

    def reset(self) -> None:
        self.pos = 0
        self.final_obs = []

    _STATE = ("obs", "action", "reward", "terminated", "truncated", "is_first", "state", "pos")

    def state_arrays(self, prefix: str, out: dict) -> None:
        from srl_tf.checkpoint import pack_fields

        pack_fields(self, self._STATE, prefix, out)
        if self.final_obs:
            out[f"{prefix}.final_t"] = np.array([t for t, _, _ in self.final_obs], np.int64)
            out[f"{prefix}.final_i"] = np.array([i for _, i, _ in self.final_obs], np.int64)
            out[f"{prefix}.final_obs"] = np.stack([o for _, _, o in self.final_obs])

    def load_state_arrays(self, prefix: str, arrays: dict) -> None:
        from srl_tf.checkpoint import unpack_fields

        unpack_fields(self, self._STATE, prefix, arrays)
        self.final_obs = []
        if f"{prefix}.final_t" in arrays:
            ts, is_, obs = arrays[f"{prefix}.final_t"], arrays[f"{prefix}.final_i"], arrays[f"{prefix}.final_obs"]
            self.final_obs = [(int(t), int(i), np.array(o)) for t, i, o in zip(ts, is_, obs)]

    def interrupt_episodes(self, next_obs: np.ndarray, streams=None) -> None:
        """The envs restart mid-episode: the last stored step of each running episode (of the env
        streams in ``streams``; None: all) becomes a truncation that bootstraps from ``next_obs``
        (the observation it would have continued from)."""
        if self.pos == 0:
            return
        t = self.pos - 1
        cut = np.zeros(self.num_envs, bool)
        cut[slice(None) if streams is None else np.asarray(streams, np.int64)] = True
        for i in np.flatnonzero(~self.ended[t] & cut):
            self.truncated[t, i] = True
            self.final_obs.append((t, int(i), np.array(next_obs[i])))

    def add(self, obs, action, reward, terminated, truncated, next_obs, state=None, is_first=None) -> None:
        if self.full:
            raise RuntimeError(f"RolloutBuffer is full ({self.steps} steps); call reset() after the update.")
        t = self.pos
        self.obs[t] = obs
        self.action[t] = action
        self.reward[t] = reward
        self.terminated[t] = terminated
        self.truncated[t] = truncated
        if state is not None:
            self.state[t] = state
        if is_first is not None:
            self.is_first[t] = is_first
        for i in np.flatnonzero(np.asarray(truncated) & ~np.asarray(terminated)):
            self.final_obs.append((t, int(i), np.array(next_obs[i])))
        self.pos += 1

    def sequences(self, length: int, **extra: np.ndarray) -> dict[str, np.ndarray]:
        """The rollout cut into ``num_envs · steps / length`` sequences of ``length`` consecutive steps
        of one env each, ordered env by env: sequence ``i · (steps / length) + k`` is env ``i``'s steps
        ``k·length … (k+1)·length − 1``. Returns obs, action, is_first with shape (S, length, ...) and
        ``state``, the stored state at each sequence's first step, with shape (S, state_size).
        ``extra`` arrays of shape (T, num_envs, ...) (advantages, returns, ...) are cut the same way."""
        if self.steps % length:
            raise ValueError(f"rollout of {self.steps} steps is not divisible into sequences of {length}")

        def cut(x):
            x = np.swapaxes(x, 0, 1)  # (N, T, ...)
            return x.reshape((-1, length) + x.shape[2:])

        out = {"obs": cut(self.obs), "action": cut(self.action), "is_first": cut(self.is_first)}
        out["state"] = np.ascontiguousarray(np.swapaxes(self.state[::length], 0, 1).reshape(-1, self.state_size))
        out.update({k: cut(v) for k, v in extra.items()})
        return out
