"""Uniform experience replay on preallocated numpy arrays.

Layout: one ring of slots per env stream, shape ``(num_envs, slots_per_env, ...)``. A slot holds an
observation and, once the agent acted on it, the action, reward and end flags of that step. The
next observation of slot ``i`` is the observation in slot ``i + 1`` of the same stream, so every
frame is stored exactly once; when an episode ends its final observation takes one slot of its
own (marked as not a transition start) and the next episode begins in the slot after it.
Image observations therefore live in the buffer as uint8 only, vectors as float32.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Batch(NamedTuple):
    """A sampled batch. ``discount`` is γ^n·(1 − terminated) for the n-step return in ``reward``
    (with n = 1 it is γ·(1 − terminated)); bootstrapping continues through a time-limit
    truncation."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    discount: np.ndarray


class ReplayBuffer:
    """Uniform replay ring buffer.

    >>> rb = ReplayBuffer(10_000, obs_shape=(4,), obs_dtype=np.float32, action_shape=(), action_dtype=np.int32)
    >>> rb.add(obs, action, reward, next_obs, terminated, truncated)   # arrays with a leading env axis
    >>> batch = rb.sample(64, rng)
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple,
        obs_dtype,
        action_shape: tuple,
        action_dtype,
        num_envs: int = 1,
        discount: float = 0.99,
        n_step: int = 1,
    ):
        self.num_envs = num_envs
        self.slots = max(2, -(-capacity // num_envs))  # ceil
        shape = (num_envs, self.slots)
        self.obs = np.zeros(shape + tuple(obs_shape), dtype=obs_dtype)
        self.action = np.zeros(shape + tuple(action_shape), dtype=action_dtype)
        self.reward = np.zeros(shape, np.float32)
        self.terminated = np.zeros(shape, bool)
        self.episode_end = np.zeros(shape, bool)  # terminated or truncated
        self.valid = np.zeros(shape, bool)  # slot starts a stored transition
        self._count = 0  # number of valid slots, kept in step with `valid` (len() is O(1))
        self.head = np.full(num_envs, self.slots - 1, np.int64)  # slot of the latest observation
        self.pending = np.zeros(num_envs, bool)  # head slot holds the obs the env will act on next
        self.writes = np.zeros(num_envs, np.int64)  # slots written per stream
        self.discount = discount
        self.n_step = n_step
        self._env_idx = np.arange(num_envs)

    def __len__(self) -> int:
        """Stored transitions."""
        return self._count

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.obs, self.action, self.reward, self.terminated, self.episode_end, self.valid))

    def _advance(self, mask: np.ndarray) -> None:
        self.head[mask] = (self.head[mask] + 1) % self.slots
        self.writes[mask] += 1
        slots = (self._env_idx[mask], self.head[mask])
        self._count -= int(np.count_nonzero(self.valid[slots]))  # an old transition is overwritten
        self.valid[slots] = False

    def add(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        """Stores one step of every env stream (arrays with a leading ``num_envs`` axis)."""
        e = self._env_idx
        fresh = ~self.pending  # stream's current obs is not in the buffer yet (start or after an end)
        if fresh.any():
            self._advance(fresh)
            self.obs[e[fresh], self.head[fresh]] = obs[fresh]
        h = self.head.copy()
        self.action[e, h] = action
        self.reward[e, h] = reward
        self.terminated[e, h] = terminated
        ended = np.asarray(terminated) | np.asarray(truncated)
        self.episode_end[e, h] = ended
        self.valid[e, h] = True  # head slots were pending (invalid) until now
        self._count += self.num_envs
        self._advance(np.ones(self.num_envs, bool))
        self.obs[e, self.head] = next_obs
        # After an episode end the stored next obs is a final observation: the next add() writes the
        # first observation of the new episode into a slot of its own.
        self.pending = ~ended

    # ---- checkpoints ------------------------------------------------------------------------
    _SLOTS = ("obs", "action", "reward", "terminated", "episode_end", "valid")  # shaped (envs, slots, ...)
    _COUNTERS = ("_count", "head", "pending", "writes")

    def state_arrays(self, prefix: str, out: dict) -> None:
        """Adds the stored arrays (as they are: uint8 frames stay uint8) to ``out``; slots never
        written are left out."""
        from srl_tf.checkpoint import pack_fields

        pack_fields(self, self._SLOTS, prefix, out, rows=self.filled)
        pack_fields(self, self._COUNTERS, prefix, out)

    def load_state_arrays(self, prefix: str, arrays: dict) -> None:
        from srl_tf.checkpoint import unpack_fields

        unpack_fields(self, self._SLOTS, prefix, arrays, rows=True)
        unpack_fields(self, self._COUNTERS, prefix, arrays)

    def interrupt_episodes(self, streams=None) -> None:
        """The envs restart mid-episode (a resumed run; with ``streams``, only the env streams of
        those indices): each such stream's last transition becomes a truncation, so no stored
        transition runs on into the next episode."""
        cut = np.zeros(self.num_envs, bool)
        cut[slice(None) if streams is None else np.asarray(streams, np.int64)] = True
        e = np.flatnonzero(self.pending & cut)
        last = (self.head[e] - 1) % self.slots
        self.episode_end[e, last] = True
        self.pending[cut] = False

    @property
    def filled(self) -> int:
        return int(min(self.writes.max(), self.slots))

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        env_i, slot_i = self._sample_indices(batch_size, rng)
        return self._gather(env_i, slot_i)

    def sample_many(self, count: int, batch_size: int, rng: np.random.Generator) -> Batch:
        """``count`` independent batches stacked on a leading axis: (count, batch_size, ...)."""
        env_i, slot_i = self._sample_indices(count * batch_size, rng)
        b = self._gather(env_i, slot_i)
        return Batch(*(x.reshape((count, batch_size) + x.shape[1:]) for x in b))

    def _sample_indices(self, n: int, rng: np.random.Generator):
        if len(self) == 0:
            raise RuntimeError("ReplayBuffer.sample() called on an empty buffer.")
        out_e, out_s, got = [], [], 0
        while got < n:
            k = max(2 * (n - got), 16)
            e = rng.integers(0, self.num_envs, size=k)
            s = rng.integers(0, self.filled, size=k)
            ok = self.valid[e, s]
            out_e.append(e[ok])
            out_s.append(s[ok])
            got += int(ok.sum())
        return np.concatenate(out_e)[:n], np.concatenate(out_s)[:n]

    def _gather(self, env_i: np.ndarray, slot_i: np.ndarray) -> Batch:
        obs = self.obs[env_i, slot_i]
        action = self.action[env_i, slot_i]
        reward = self.reward[env_i, slot_i].copy()
        discount = np.full(len(env_i), self.discount, np.float32)
        alive = ~self.episode_end[env_i, slot_i]
        terminated = self.terminated[env_i, slot_i].copy()
        nxt = (slot_i + 1) % self.slots
        for _ in range(1, self.n_step):
            # extend the return while the episode goes on and the next step has been stored
            step_ok = alive & self.valid[env_i, nxt]
            if not step_ok.any():
                break
            reward += np.where(step_ok, discount * self.reward[env_i, nxt], 0.0)
            discount = np.where(step_ok, discount * self.discount, discount)
            terminated = np.where(step_ok, self.terminated[env_i, nxt], terminated)
            alive = step_ok & ~self.episode_end[env_i, nxt]
            nxt = np.where(step_ok, (nxt + 1) % self.slots, nxt)
        next_obs = self.obs[env_i, nxt]
        discount = (discount * (1.0 - terminated)).astype(np.float32)
        return Batch(obs, action, reward.astype(np.float32), next_obs, discount)
