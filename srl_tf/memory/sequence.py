"""Sequence replay for world models (Dreamer): whole episodes stored step by step, sampled as
(batch, length) windows.

Layout: one ring of ``slots`` steps per env stream. Step ``t`` of a stream holds the observation
o_t, the action that led to it (zeros at the start of an episode), the reward received on arrival,
``is_first`` (o_t begins an episode) and ``is_terminal`` (o_t is terminal, no bootstrap past it).
So every frame is stored once (uint8 images stay uint8), and an episode's final observation is a
step of its own, followed by the next episode's first observation.

Two ways to sample (``mode``):

* ``"windows"`` (Dreamer V1 / V2): each row is a window of ``length`` consecutive steps at a
  random place that never runs across an episode boundary: no step of the window after the first
  starts an episode, so an episode end can only fall at the window's last step.
* ``"stream"`` (DreamerV3): each batch row is a cursor that reads its stream chunk after chunk:
  the next batch continues where the last one stopped, through episode boundaries (marked by
  ``is_first``), so the caller can carry the recurrent state from one batch to the next. A row
  that catches up with the newest data, or whose next chunk has been overwritten, jumps to a
  random place; the first step of such a chunk is flagged ``is_first`` so that the carried state is
  reset there.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class SequenceBatch(NamedTuple):
    """Arrays of shape (batch, length, ...)."""

    obs: np.ndarray  # or a dict of arrays for Dict observations
    action: np.ndarray
    reward: np.ndarray
    is_first: np.ndarray  # float32 0/1
    is_terminal: np.ndarray  # float32 0/1


class SequenceMemory:
    """Ring buffer of env streams for sequence sampling (see the module docstring).

    >>> mem = SequenceMemory(10_000, obs_shape=(3,), obs_dtype=np.float32, action_dim=1, num_envs=1)
    >>> mem.add(obs, action, reward, next_obs, terminated, truncated)   # arrays with a leading env axis
    >>> batch = mem.sample(16, 64, rng)
    """

    MODES = ("windows", "stream")

    def __init__(self, capacity: int, obs_shape: tuple, obs_dtype, action_dim: int, num_envs: int = 1,
                 mode: str = "stream"):
        if mode not in self.MODES:
            raise ValueError(f"SequenceMemory mode={mode!r}; allowed: {', '.join(map(repr, self.MODES))}.")
        self.mode = mode
        self.num_envs = num_envs
        self.slots = max(2, -(-capacity // num_envs))
        shape = (num_envs, self.slots)
        # ``obs_shape`` may be a dict key → (shape, dtype) for Dict observations (one array per key)
        if isinstance(obs_shape, dict):
            self.obs = {k: np.zeros(shape + tuple(sh), dt) for k, (sh, dt) in obs_shape.items()}
        else:
            self.obs = np.zeros(shape + tuple(obs_shape), obs_dtype)
        self.action = np.zeros(shape + (action_dim,), np.float32)
        self.reward = np.zeros(shape, np.float32)
        self.is_first = np.zeros(shape, bool)
        self.is_terminal = np.zeros(shape, bool)
        self.written = np.zeros(num_envs, np.int64)  # steps ever written per stream
        self._episode_open = np.zeros(num_envs, bool)
        self._cursors: np.ndarray | None = None  # (batch, 2): stream, absolute step index

    def __len__(self) -> int:
        return int(np.minimum(self.written, self.slots).sum())

    # ---- writing ----------------------------------------------------------------------------

    def _put(self, env: int, obs, action, reward: float, first: bool, terminal: bool) -> None:
        i = self.written[env] % self.slots
        if isinstance(self.obs, dict):
            for k, arr in self.obs.items():
                arr[env, i] = obs[k]
        else:
            self.obs[env, i] = obs
        self.action[env, i] = action
        self.reward[env, i] = reward
        self.is_first[env, i] = first
        self.is_terminal[env, i] = terminal
        self.written[env] += 1

    def add(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        """One env step of every stream: ``obs`` was acted on with ``action`` (a float vector, e.g.
        one-hot), giving ``reward`` and ``next_obs`` (the final observation where the episode
        ended). The first observation of an episode is stored on the first call that sees it."""
        def row(x, e):
            return {k: v[e] for k, v in x.items()} if isinstance(x, dict) else x[e]

        for e in range(self.num_envs):
            if not self._episode_open[e]:
                self._put(e, row(obs, e), 0.0, 0.0, True, False)
                self._episode_open[e] = True
            self._put(e, row(next_obs, e), action[e], reward[e], False, bool(terminated[e]))
            if terminated[e] or truncated[e]:
                self._episode_open[e] = False

    # ---- checkpoints ------------------------------------------------------------------------
    _SLOTS = ("obs", "action", "reward", "is_first", "is_terminal")  # shaped (envs, slots, ...)
    _COUNTERS = ("written", "_episode_open", "_cursors")

    def state_arrays(self, prefix: str, out: dict) -> None:
        """Adds the stored arrays to ``out``; slots never written are left out."""
        from srl_tf.checkpoint import pack_fields

        pack_fields(self, self._SLOTS, prefix, out, rows=int(np.minimum(self.written, self.slots).max()))
        pack_fields(self, self._COUNTERS, prefix, out)

    def load_state_arrays(self, prefix: str, arrays: dict) -> None:
        from srl_tf.checkpoint import unpack_fields

        unpack_fields(self, self._SLOTS, prefix, arrays, rows=True)
        unpack_fields(self, self._COUNTERS, prefix, arrays)

    def interrupt_episodes(self, streams=None) -> None:
        """The envs restart mid-episode: the next step of each stream (of those indices in
        ``streams``; None: all) begins a new episode."""
        self._episode_open[slice(None) if streams is None else np.asarray(streams, np.int64)] = False

    # ---- sampling ---------------------------------------------------------------------------

    def _oldest(self) -> np.ndarray:
        return np.maximum(self.written - self.slots, 0)

    def _gather(self, env: np.ndarray, start: np.ndarray, length: int) -> SequenceBatch:
        idx = (start[:, None] + np.arange(length)[None, :]) % self.slots
        e = env[:, None]
        obs = {k: v[e, idx] for k, v in self.obs.items()} if isinstance(self.obs, dict) else self.obs[e, idx]
        return SequenceBatch(
            obs,
            self.action[e, idx],
            self.reward[e, idx],
            self.is_first[e, idx].astype(np.float32),
            self.is_terminal[e, idx].astype(np.float32),
        )

    def can_sample(self, length: int) -> bool:
        return bool((self.written >= length).any())

    def _random_starts(self, n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Uniform (stream, absolute start) pairs whose window of ``length`` lies in stored data,
        streams weighted by how many windows they hold."""
        oldest, written = self._oldest(), self.written
        counts = np.maximum(written - oldest - length + 1, 0)
        if counts.sum() == 0:
            raise ValueError(
                f"SequenceMemory holds no window of length {length} yet ({len(self)} steps stored); "
                "collect more steps (memory.warmup_size) or lower batch_length."
            )
        env = rng.choice(self.num_envs, size=n, p=counts / counts.sum())
        start = oldest[env] + (rng.random(n) * counts[env]).astype(np.int64)
        return env, start

    def sample_windows(self, batch: int, length: int, rng: np.random.Generator, max_tries: int = 100) -> SequenceBatch:
        """Windows that do not cross an episode boundary except at their last step."""
        envs, starts = [], []
        need = batch
        for _ in range(max_tries):
            env, start = self._random_starts(4 * need, length, rng)
            idx = (start[:, None] + np.arange(1, length)[None, :]) % self.slots
            ok = ~self.is_first[env[:, None], idx].any(axis=1)
            envs.append(env[ok][:need])
            starts.append(start[ok][:need])
            need -= len(envs[-1])
            if need == 0:
                return self._gather(np.concatenate(envs), np.concatenate(starts), length)
        raise ValueError(
            f"SequenceMemory found too few windows of batch_length={length} inside single episodes; the stored "
            "episodes are shorter than that. Lower batch_length or use the 'stream' sampling mode."
        )

    def sample_stream(self, batch: int, length: int, rng: np.random.Generator) -> SequenceBatch:
        """The next chunk of every row's stream (see the module docstring)."""
        if self._cursors is None or len(self._cursors) != batch:
            env, start = self._random_starts(batch, length, rng)
            self._cursors = np.stack([env, start], axis=1)
            jumped = np.ones(batch, bool)
        else:
            env, start = self._cursors[:, 0], self._cursors[:, 1]
            stale = (start < self._oldest()[env]) | (start + length > self.written[env])
            jumped = stale
            if stale.any():
                new_env, new_start = self._random_starts(int(stale.sum()), length, rng)
                env, start = env.copy(), start.copy()
                env[stale], start[stale] = new_env, new_start
        out = self._gather(env, start, length)
        out.is_first[jumped, 0] = 1.0
        self._cursors = np.stack([env, start + length], axis=1)
        return out

    def sample(self, batch: int, length: int, rng: np.random.Generator) -> SequenceBatch:
        if self.mode == "windows":
            return self.sample_windows(batch, length, rng)
        return self.sample_stream(batch, length, rng)

    def latest(self, env: int, length: int) -> SequenceBatch:
        """The newest ``length`` steps of one stream (for prediction videos)."""
        written = int(self.written[env])
        length = min(length, written, self.slots)
        return self._gather(np.array([env]), np.array([written - length]), length)
