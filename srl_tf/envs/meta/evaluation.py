"""Meta-test evaluation of an RL² agent on held-out tasks: the return of every episode of a trial, and
the adaptation curve (mean return of episode 1, 2, ..., k of a trial), which rises as the agent uses
what the earlier episodes of the trial told it about the task.

>>> returns = evaluate_trials(runner, trials=200)      # (200, episodes_per_trial)
>>> returns.mean(axis=0)                               # the adaptation curve
>>> returns.sum(axis=1).mean()                         # mean return per trial
>>> plot_adaptation_curve(returns, "adaptation.png")
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import gymnasium as gym
import numpy as np

from srl_tf.envs.meta.trial import MetaTrial, _is_int
from srl_tf.errors import ConfigError, EnvError

HELD_OUT_TASK_SEED = 1_000_003
"""Default ``task_seed`` of held-out tasks; training envs built with ``task_seed=None`` draw theirs
from the env generators instead, a separate stream."""


def find_meta_trial(env: gym.Env) -> MetaTrial:
    """The :class:`MetaTrial` layer inside a (possibly further wrapped) env."""
    layer = env
    while True:
        if isinstance(layer, MetaTrial):
            return layer
        if not isinstance(layer, gym.Wrapper):
            raise EnvError(
                f"{type(env).__name__} has no MetaTrial layer; meta-test evaluation needs an RL² trial env "
                "(e.g. srl_tf.envs.meta.navigation_trial_env or bandit_trial_env)."
            )
        layer = layer.env


def evaluate_trials(
    runner,
    trials: int = 100,
    task_seed: int = HELD_OUT_TASK_SEED,
    explore: bool = True,
    num_envs: int = 16,
) -> np.ndarray:
    """Plays ``trials`` trials of the runner's RL² env on held-out tasks and returns the return of
    every inner episode, an array of shape (trials, episodes_per_trial): entry [i, j] is the return of
    episode j + 1 of trial i. ``mean(axis=0)`` is the adaptation curve, ``sum(axis=1)`` the return
    of each trial.

    Trial i is reset with seed i and its task drawn from a generator seeded by (task_seed, i), so the
    held-out tasks are the same whatever the agent, its training seed or ``num_envs`` (the trials run
    ``num_envs`` at a time). The recurrent state starts fresh at each trial and runs through its
    episodes, as in training. ``explore`` samples actions (RL²'s exploration is part of the learned
    policy); False takes the policy's mode.
    """
    for name, value in (("trials", trials), ("num_envs", num_envs)):
        if not _is_int(value) or value < 1:
            raise ConfigError(f"evaluate_trials({name}={value!r}) must be an integer >= 1.")
    if not _is_int(task_seed) or task_seed < 0:
        raise ConfigError(f"evaluate_trials(task_seed={task_seed!r}) must be an integer >= 0.")
    from srl_tf.driver import EnvList, EpisodeDriver
    from srl_tf.envs import make_env

    agent, spec = runner.agent, runner.spec
    n = min(trials, num_envs)
    envs = [make_env(runner.env_config, None, runner.rl_config.action_split()) for _ in range(n)]
    try:
        metas = [find_meta_trial(env) for env in envs]
        if metas[0].task_seed == task_seed:
            raise ConfigError(
                f"evaluate_trials(task_seed={task_seed}): the training env draws its tasks with the same "
                "task_seed, so the 'held-out' tasks could be training tasks; pass another task_seed."
            )
        for meta in metas:
            meta.task_seed = task_seed
        returns = np.zeros((trials, metas[0].episodes_per_trial))
        batch = EnvList(envs, spec.obs_shape, spec.obs_dtype)
        driver = EpisodeDriver(agent, batch, explore)
        for start in range(0, trials, n):
            driver.start(batch.reset([start + j for j in range(min(n, trials - start))]))
            while batch.active.any():
                playing = np.flatnonzero(batch.active)
                episode = [metas[j].episode for j in playing]  # the inner episode each step belongs to
                _, step, _ = driver.step()
                returns[start + playing, episode] += step.reward[playing]
    finally:
        for env in envs:
            env.close()
    return returns


def plot_adaptation_curve(
    returns: np.ndarray | Mapping[str, np.ndarray],
    path: str,
    title: str | None = None,
    references: Mapping[str, float] | None = None,
) -> str:
    """Saves a PNG of the mean return per episode index of a trial and returns its path.

    ``returns`` is the (trials, episodes_per_trial) array of :func:`evaluate_trials` (drawn as the
    mean with a band of ± one standard error), a 1-D curve, or a {label: either} mapping for several
    runs on one figure; ``references`` draws labelled horizontal lines (e.g. a random policy)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    runs = dict(returns) if isinstance(returns, Mapping) else {None: returns}
    fig, ax = plt.subplots(figsize=(6, 4))
    length = 0
    for label, values in runs.items():
        values = np.asarray(values, np.float64)
        if values.ndim not in (1, 2) or values.shape[-1] == 0:
            raise ValueError(
                f"plot_adaptation_curve: returns{'' if label is None else f'[{label!r}]'} has shape "
                f"{values.shape}; pass (trials, episodes_per_trial) or (episodes_per_trial,)."
            )
        mean = values if values.ndim == 1 else values.mean(axis=0)
        x = np.arange(1, len(mean) + 1)
        line = ax.plot(x, mean, marker="o", label=label)[0]
        if values.ndim == 2 and len(values) > 1:
            se = values.std(axis=0, ddof=1) / np.sqrt(len(values))
            ax.fill_between(x, mean - se, mean + se, color=line.get_color(), alpha=0.2)
        length = max(length, len(mean))
    for name, value in (references or {}).items():
        ax.axhline(value, linestyle="--", color="gray", linewidth=1)
        ax.annotate(name, (1, value), textcoords="offset points", xytext=(2, 3), fontsize=8, color="gray")
    ax.set_xticks(np.arange(1, length + 1))
    ax.set_xlabel("episode within the trial")
    ax.set_ylabel("mean return (held-out tasks)")
    ax.set_title(title or "RL² adaptation curve")
    ax.grid(alpha=0.3)
    if any(label is not None for label in runs):
        ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
