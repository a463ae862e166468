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
