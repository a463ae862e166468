"""Small Gymnasium wrappers that Gymnasium itself does not ship in the form srl_tf needs."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np


class ActionRepeat(gym.Wrapper):
    """Repeats each action ``repeat`` times, summing rewards, stopping early at an episode end."""

    def __init__(self, env: gym.Env, repeat: int):
        super().__init__(env)
        self.repeat = int(repeat)

    def step(self, action):
        total = 0.0
        for _ in range(self.repeat):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
        return obs, total, terminated, truncated, info


class DiscretizeAction(gym.ActionWrapper):
    """Turns a Box action space into ``Discrete(division_num ** dims)``: each dimension of the box
    is split into ``division_num`` evenly spaced values and every combination is one action."""

    def __init__(self, env: gym.Env, division_num: int, max_actions: int = 4096):
        super().__init__(env)
        space = env.action_space
        assert isinstance(space, gym.spaces.Box)
        low, high = space.low.reshape(-1), space.high.reshape(-1)
        n = division_num ** low.size
        if n > max_actions:
            from srl_tf.errors import ConfigError

            raise ConfigError(
                f"action_division_num={division_num} over {low.size} action dimensions gives {n} "
                f"discrete actions (more than {max_actions}); lower action_division_num or use an "
                "algorithm for continuous actions."
            )
        axes = [np.linspace(lo, hi, division_num, dtype=np.float32) for lo, hi in zip(low, high)]
        self.division_num, self.dims = division_num, low.size
        self.table = np.array(list(itertools.product(*axes)), dtype=np.float32).reshape((n,) + space.shape)
        self.action_space = gym.spaces.Discrete(n)

    def action(self, action):
        return self.table[int(action)]


class ChannelStack(gym.ObservationWrapper):
    """Folds the leading stack axis of ``FrameStackObservation`` into the last axis:
    (N, H, W, C) -> (H, W, N*C) for images, (N, D) -> (N*D,) for vectors."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        space = env.observation_space
        shape = space.shape
        if len(shape) == 4:
            new_shape = shape[1:3] + (shape[0] * shape[3],)
        else:
            new_shape = (int(np.prod(shape)),)
        low = self._fold(space.low)
        high = self._fold(space.high)
        self.observation_space = gym.spaces.Box(low=low, high=high, shape=new_shape, dtype=space.dtype)

    @staticmethod
    def _fold(x: np.ndarray) -> np.ndarray:
        if x.ndim == 4:
            return np.concatenate(list(x), axis=-1)
        return x.reshape(-1)

    def observation(self, observation):
        return self._fold(np.asarray(observation))


class AddChannel(gym.ObservationWrapper):
    """(H, W) images -> (H, W, 1)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        s = env.observation_space
        self.observation_space = gym.spaces.Box(
            low=s.low[..., None], high=s.high[..., None], shape=s.shape + (1,), dtype=s.dtype
        )

    def observation(self, observation):
        return np.asarray(observation)[..., None]


class ResizeImage(gym.ObservationWrapper):
    """Resizes (H, W, C) uint8 images to ``shape`` = (height, width) with Pillow's bilinear filter
    (antialiased when shrinking), channel by channel. Unlike ``gymnasium.wrappers.ResizeObservation``
    it needs no OpenCV, which srl_tf does not depend on."""

    def __init__(self, env: gym.Env, shape: tuple):
        super().__init__(env)
        self.shape = (int(shape[0]), int(shape[1]))
        channels = env.observation_space.shape[2:]
        self.observation_space = gym.spaces.Box(0, 255, self.shape + tuple(channels), dtype=np.uint8)

    def observation(self, observation):
        obs = np.asarray(observation, dtype=np.uint8)
        if obs.ndim == 2:
            return _resize(obs[..., None], self.shape)[..., 0]
        return _resize(obs, self.shape)


def _resize(obs: np.ndarray, shape: tuple) -> np.ndarray:
    """(H, W, C) uint8 → (shape[0], shape[1], C), channel by channel with Pillow's bilinear filter."""
    from PIL import Image

    size = (shape[1], shape[0])  # Pillow takes (width, height)
    return np.stack(
        [np.asarray(Image.fromarray(obs[..., c]).resize(size, Image.Resampling.BILINEAR)) for c in range(obs.shape[-1])],
        axis=-1,
    )


class DictObservation(gym.ObservationWrapper):
    """Processes each entry of a ``Dict`` observation: uint8 images get a channel axis when they have
    none, optional grayscale and resize (as for plain image observations); vectors become float32.

    >>> DictObservation(env, resize=(64, 64))   # {'image': (96, 96, 3) uint8, 'state': (5,)} → 64×64 images
    """

    def __init__(self, env: gym.Env, resize: tuple | None = None, grayscale: bool = False):
        super().__init__(env)
        self.resize, self.grayscale = resize, grayscale
        self.image_keys = [k for k, sp in env.observation_space.spaces.items() if sp.dtype == np.uint8 and len(sp.shape) in (2, 3)]
        spaces = {}
        for key, sp in env.observation_space.spaces.items():
            if key in self.image_keys:
                h, w = sp.shape[:2]
                c = 1 if len(sp.shape) == 2 or grayscale else sp.shape[2]
                if resize is not None:
                    h, w = int(resize[0]), int(resize[1])
                spaces[key] = gym.spaces.Box(0, 255, (h, w, c), np.uint8)
            else:
                spaces[key] = gym.spaces.Box(sp.low.astype(np.float32), sp.high.astype(np.float32), sp.shape, np.float32)
        self.observation_space = gym.spaces.Dict(spaces)

    def observation(self, observation):
        out = {}
        for key, value in observation.items():
            if key not in self.image_keys:
                out[key] = np.asarray(value, np.float32)
                continue
            img = np.asarray(value, np.uint8)
            if img.ndim == 2:
                img = img[..., None]
            if self.grayscale and img.shape[-1] == 3:
                img = np.round(img @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]
            if self.resize is not None and img.shape[:2] != tuple(self.resize):
                img = _resize(img, self.resize)
            out[key] = img
        return out


class MaskVelocity(gym.ObservationWrapper):
    """Hides the velocity entries of a vector observation, making the task partially observed (a
    memory-based policy must infer velocities from the history).

    >>> EnvConfig(lambda: MaskVelocity(gym.make("CartPole-v1")))   # keeps cart position and pole angle

    ``keep``: indices of the observation entries to keep; known envs have defaults.
    """

    KEEP = {"CartPole": (0, 2), "Pendulum": (0, 1), "MountainCar": (0,), "LunarLander": (0, 1, 4, 6, 7)}

    def __init__(self, env: gym.Env, keep: tuple | None = None):
        super().__init__(env)
        if keep is None:
            env_id = env.spec.id if env.spec is not None else ""
            keep = next((k for name, k in self.KEEP.items() if env_id.startswith(name)), None)
            if keep is None:
                from srl_tf.errors import EnvError

                raise EnvError(f"MaskVelocity has no default for '{env_id}'; pass keep=(indices to keep).")
        self.keep = np.asarray(keep, np.int64)
        space = env.observation_space
        self.observation_space = gym.spaces.Box(space.low[self.keep], space.high[self.keep], dtype=space.dtype)

    def observation(self, observation):
        return np.asarray(observation)[self.keep]
