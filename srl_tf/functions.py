"""Numeric helpers shared by the algorithms."""

from __future__ import annotations

import numpy as np


def discounted_returns(rewards: np.ndarray, discount: float, bootstrap: float = 0.0) -> np.ndarray:
    """G_t = r_t + γ·G_{t+1} over one episode, with G_T = ``bootstrap``."""
    out = np.empty(len(rewards), np.float32)
    g = float(bootstrap)
    for t in range(len(rewards) - 1, -1, -1):
        g = float(rewards[t]) + discount * g
        out[t] = g
    return out


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    ended: np.ndarray,
    discount: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation (Schulman et al. 2016) over a rollout of shape (T, ...).

    ``next_values[t]`` is V of the observation that followed step t: the next step's value inside an
    episode, V(final observation) where the episode was truncated (a time limit still bootstraps),
    anything where it terminated (``terminated`` zeroes it). ``ended`` = terminated | truncated cuts
    the λ-recursion so that no advantage runs across an episode boundary:

        δ_t = r_t + γ·(1 − terminated_t)·next_values_t − values_t
        A_t = δ_t + γ·λ·(1 − ended_t)·A_{t+1}

    Returns (advantages, returns = advantages + values), float32.
    """
    rewards = np.asarray(rewards, np.float32)
    not_term = 1.0 - np.asarray(terminated, np.float32)
    not_end = 1.0 - np.asarray(ended, np.float32)
    delta = rewards + discount * not_term * next_values - values
    adv = np.zeros_like(delta, dtype=np.float32)
    last = np.zeros_like(delta[0], dtype=np.float32)
    for t in range(len(delta) - 1, -1, -1):
        last = delta[t] + discount * lam * not_end[t] * last
        adv[t] = last
    return adv, (adv + values).astype(np.float32)
