"""Turns an :class:`~srl_tf.config.EnvConfig` into Gymnasium envs with srl_tf's processing, and a
vectorised adapter that hands batched numpy arrays to the Runner.

Gymnasium 1.x vector envs are used in ``SAME_STEP`` autoreset mode: when a sub-env ends, the
observation returned is already the first one of its next episode and the last one is in
``info["final_obs"]``. The adapter returns both, so a stored transition always ends in the real
final observation and never spans a reset.
"""

from __future__ import annotations

import difflib

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from srl_tf.config import EnvConfig
from srl_tf.envs.wrappers import ActionRepeat, AddChannel, ChannelStack, DictObservation, DiscretizeAction, ResizeImage
from srl_tf.errors import ConfigError, EnvError
from srl_tf.spec import EnvSpec, Step


def _is_image_space(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) in (2, 3)


def _make_base(cfg: EnvConfig, render_mode: str | None) -> gym.Env:
    if isinstance(cfg.name, str):
        if cfg.name not in gym.registry:
            close = difflib.get_close_matches(cfg.name, list(gym.registry.keys()), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise EnvError(
                f"Unknown environment id '{cfg.name}'.{hint} Pass a registered Gymnasium id "
                "(see gymnasium.registry) or a callable that returns an env."
            )
        try:
            return gym.make(cfg.name, render_mode=render_mode, **cfg.kwargs)
        except gym.error.DependencyNotInstalled as e:
            raise EnvError(f"Environment '{cfg.name}' needs a package that is not installed: {e}") from e
        except TypeError as e:
            raise EnvError(f"Environment '{cfg.name}' rejected EnvConfig.kwargs={cfg.kwargs!r}: {e}") from e
    try:
        env = cfg.name(render_mode=render_mode, **cfg.kwargs) if render_mode else cfg.name(**cfg.kwargs)
    except TypeError:
        env = cfg.name(**cfg.kwargs)
    if not isinstance(env, gym.Env):
        raise EnvError(f"EnvConfig.name callable returned {type(env).__name__}, not a gymnasium.Env.")
    return env


def make_env(cfg: EnvConfig, render_mode: str | None = None, action_division_num: int = 0) -> gym.Env:
    """One processed env: action repeat, time limit, image resize / grayscale, frame stacking and
    (when ``action_division_num`` > 0) continuous actions split into discrete ones."""
    if cfg.render_image or render_mode == "rgb_array":
        import os

        if not os.environ.get("DISPLAY"):
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renderers need no screen
    env = _make_base(cfg, "rgb_array" if cfg.render_image else render_mode)
    if cfg.action_repeat > 1:
        env = ActionRepeat(env, cfg.action_repeat)
    if cfg.max_episode_steps is not None:
        env = gym.wrappers.TimeLimit(env, cfg.max_episode_steps)
    if cfg.render_image:
        env = _render_observation(env, cfg.display_name)
    check_spaces(env, cfg.display_name)
    obs_space = env.observation_space
    if isinstance(obs_space, gym.spaces.Dict):
        if cfg.frame_stack > 1:
            raise ConfigError(
                f"EnvConfig.frame_stack={cfg.frame_stack} is not supported for the Dict observations of "
                f"'{cfg.display_name}'; use frame_stack=1 (recurrent agents such as Dreamer need no stacking)."
            )
        env = DictObservation(env, cfg.image_resize, cfg.image_grayscale)
        if action_division_num > 0 and isinstance(env.action_space, gym.spaces.Box):
            env = DiscretizeAction(env, action_division_num)
        return env
    if _is_image_space(obs_space):
        if len(obs_space.shape) == 2:
            env = AddChannel(env)
        if cfg.image_grayscale and env.observation_space.shape[-1] == 3:
            env = gym.wrappers.GrayscaleObservation(env, keep_dim=True)
        if cfg.image_resize is not None:
            env = ResizeImage(env, tuple(int(s) for s in cfg.image_resize))
    elif cfg.image_resize is not None or cfg.image_grayscale:
        raise ConfigError(
            f"EnvConfig.image_resize / image_grayscale were set but '{cfg.display_name}' has no image "
            f"observations (observation space {obs_space})."
        )
    if not _is_image_space(env.observation_space) and env.observation_space.dtype != np.float32:
        env = gym.wrappers.DtypeObservation(env, np.float32)
    if cfg.frame_stack > 1:
        env = ChannelStack(gym.wrappers.FrameStackObservation(env, cfg.frame_stack))
    if action_division_num > 0 and isinstance(env.action_space, gym.spaces.Box):
        env = DiscretizeAction(env, action_division_num)
    return env


def _render_observation(env: gym.Env, name: str) -> gym.Env:
    """The env with its rendered rgb frame as the observation (``EnvConfig.render_image``)."""
    modes = env.metadata.get("render_modes", [])
    if env.render_mode != "rgb_array":
        raise EnvError(
            f"EnvConfig.render_image=True needs an env that renders 'rgb_array' frames, but '{name}' has "
            f"render modes {modes} (made with render_mode={env.render_mode!r}). Use an env that renders "
            "rgb_array, or leave render_image=False."
        )
    return gym.wrappers.AddRenderObservation(env, render_only=True)


def applied_action(env: gym.Env, action):
    """The action that reached the underlying env: the continuous value behind a split action."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, DiscretizeAction):
            return env.action(action)
        env = env.env
    return action


def _check_obs_box(obs: gym.Space, name: str) -> None:
    if not isinstance(obs, gym.spaces.Box) or len(obs.shape) not in (1, 2, 3):
        raise EnvError(
            f"Observation space {obs} of '{name}' is not supported; srl_tf takes a 1-D vector Box or "
            "an image Box (H, W) / (H, W, C). Wrap the env (e.g. gymnasium.wrappers.FlattenObservation)."
        )
    if len(obs.shape) in (2, 3) and obs.dtype != np.uint8:
        raise EnvError(
            f"Observation space {obs} of '{name}': multi-dimensional observations must be uint8 images."
        )


def check_spaces(env: gym.Env, name: str) -> None:
    obs, act = env.observation_space, env.action_space
    if isinstance(obs, gym.spaces.Dict):  # e.g. {'image': uint8 (H, W, C), 'state': (n,)}
        if not obs.spaces:
            raise EnvError(f"Observation space {obs} of '{name}' is an empty Dict.")
        for key, sub in obs.spaces.items():
            _check_obs_box(sub, f"{name}['{key}']")
    else:
        _check_obs_box(obs, name)
    if isinstance(act, gym.spaces.Discrete):
        return
    if isinstance(act, gym.spaces.Box):
        if not (np.all(np.isfinite(act.low)) and np.all(np.isfinite(act.high))):
            return  # bounded-ness is checked by algorithms that need it
        return
    raise EnvError(
        f"Action space {act} of '{name}' is not supported; srl_tf takes Discrete or Box actions."
    )


def spec_of(env: gym.Env, name: str) -> EnvSpec:
    obs, act = env.observation_space, env.action_space
    discrete = isinstance(act, gym.spaces.Discrete)
    max_steps = env.spec.max_episode_steps if env.spec is not None else None
    if isinstance(obs, gym.spaces.Dict):
        spaces = {k: (tuple(sp.shape), np.dtype(sp.dtype), _is_image_space(sp)) for k, sp in obs.spaces.items()}
        return EnvSpec(
            name=name, obs_shape=(), obs_dtype=np.dtype(np.float32), is_image=False, discrete=discrete,
            n_actions=int(act.n) if discrete else 0, action_shape=() if discrete else tuple(act.shape),
            action_low=None if discrete else act.low.astype(np.float32),
            action_high=None if discrete else act.high.astype(np.float32),
            max_episode_steps=max_steps, obs_spaces=spaces,
        )
    return EnvSpec(
        name=name,
        obs_shape=tuple(obs.shape),
        obs_dtype=np.dtype(obs.dtype),
        is_image=_is_image_space(obs),
        discrete=discrete,
        n_actions=int(act.n) if discrete else 0,
        action_shape=() if discrete else tuple(act.shape),
        action_low=None if discrete else act.low.astype(np.float32),
        action_high=None if discrete else act.high.astype(np.float32),
        max_episode_steps=max_steps,
    )


class VecEnvAdapter:
    """``num_envs`` processed envs behind one batched interface, with episode bookkeeping."""

    def __init__(self, cfg: EnvConfig, action_division_num: int = 0, num_envs: int | None = None):
        cfg.validate()
        self.cfg = cfg
        n = cfg.num_envs if num_envs is None else num_envs
        fns = [lambda: make_env(cfg, None, action_division_num) for _ in range(n)]
        probe = fns[0]()
        self.spec = spec_of(probe, cfg.display_name)
        # (actions per dimension, dimensions) where a continuous action space was split, else None
        self.split = (probe.division_num, probe.dims) if isinstance(probe, DiscretizeAction) else None
        # the continuous env action of each discrete index where the space was split, else None
        self.action_table = probe.table if isinstance(probe, DiscretizeAction) else None
        probe.close()
        vec_cls = gym.vector.SyncVectorEnv if cfg.vectorization == "sync" or n == 1 else gym.vector.AsyncVectorEnv
        self.env = vec_cls(fns, autoreset_mode=AutoresetMode.SAME_STEP)
        self.num_envs = n
        self.episode_return = np.zeros(n, np.float64)
        self.episode_length = np.zeros(n, np.int64)
        self.final_return = np.zeros(n, np.float64)  # return of each env's last finished episode
        self.last_length: int | None = None  # length of the episode that ended last (any env)
        self.finished: list[tuple[float, int]] = []  # (return, length) of episodes that ended

    def reset(self, seed: int | None = None) -> np.ndarray:
        obs, _ = self.env.reset(seed=seed)
        self.episode_return[:] = 0
        self.episode_length[:] = 0
        return obs

    def step(self, actions: np.ndarray) -> Step:
        if not self.spec.discrete:
            actions = np.clip(actions, self.spec.action_low, self.spec.action_high)
        obs, reward, terminated, truncated, info = self.env.step(actions)
        reward = np.asarray(reward, np.float32)
        terminated = np.asarray(terminated, bool)
        truncated = np.asarray(truncated, bool)
        done = terminated | truncated
        next_obs = obs
        self.episode_return += reward
        self.episode_length += 1
        if done.any():
            next_obs = {k: v.copy() for k, v in obs.items()} if isinstance(obs, dict) else obs.copy()
            for i in np.flatnonzero(done):
                if isinstance(obs, dict):
                    for k in next_obs:
                        next_obs[k][i] = info["final_obs"][i][k]
                else:
                    next_obs[i] = info["final_obs"][i]
                self.finished.append((float(self.episode_return[i]), int(self.episode_length[i])))
                self.last_length = int(self.episode_length[i])
            self.final_return[done] = self.episode_return[done]
            self.episode_return[done] = 0
            self.episode_length[done] = 0
        return Step(obs, reward, terminated, truncated, next_obs)

    def pop_finished(self) -> list[tuple[float, int]]:
        out, self.finished = self.finished, []
        return out

    def close(self) -> None:
        self.env.close()
