"""Tiny environments for tests: fast, deterministic, with a known optimal policy."""

import gymnasium as gym
import numpy as np


class IdentityEnv(gym.Env):
    """Observation: one-hot of a random state; reward 1 when the action equals the state."""

    def __init__(self, n: int = 3, length: int = 10):
        self.n, self.length = n, length
        self.observation_space = gym.spaces.Box(0.0, 1.0, (n,), np.float32)
        self.action_space = gym.spaces.Discrete(n)

    def _obs(self):
        o = np.zeros(self.n, np.float32)
        o[self.state] = 1.0
        return o

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.state = int(self.np_random.integers(self.n))
        return self._obs(), {}

    def step(self, action):
        reward = float(int(action) == self.state)
        self.t += 1
        self.state = int(self.np_random.integers(self.n))
        return self._obs(), reward, False, self.t >= self.length, {}


class ImageIdentityEnv(IdentityEnv):
    """IdentityEnv whose observation is a 40x40x3 uint8 image with the state as a bright band."""

    def __init__(self, n: int = 3, length: int = 10, render_mode=None):
        super().__init__(n, length)
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, 255, (40, 40, 3), np.uint8)

    def _obs(self):
        img = np.zeros((40, 40, 3), np.uint8)
        w = 40 // self.n
        img[:, self.state * w : (self.state + 1) * w] = 255
        return img

    def render(self):
        return self._obs()


class PixelPointEnv(gym.Env):
    """Continuous control from pixels: a 40x40x3 uint8 image of a dot on a row; the 1-D action in
    [-1, 1] moves it by up to 3 pixels; reward −|x − 20| / 20 (0 when the dot sits in the middle).
    ``action_high=np.inf`` gives an unbounded action space (for error tests)."""

    size = 40

    def __init__(self, length: int = 20, action_high: float = 1.0, render_mode=None):
        self.length, self.render_mode = length, render_mode
        self.observation_space = gym.spaces.Box(0, 255, (self.size, self.size, 3), np.uint8)
        self.action_space = gym.spaces.Box(-action_high, action_high, (1,), np.float32)

    def _obs(self):
        img = np.zeros((self.size, self.size, 3), np.uint8)
        x = int(round(self.x))
        img[18:22, max(x - 2, 0) : x + 2] = 255
        return img

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.x = float(self.np_random.uniform(2, self.size - 2))
        return self._obs(), {}

    def step(self, action):
        self.x = float(np.clip(self.x + 3.0 * np.clip(action[0], -1.0, 1.0), 2, self.size - 2))
        self.t += 1
        return self._obs(), -abs(self.x - self.size / 2) / (self.size / 2), False, self.t >= self.length, {}

    def render(self):
        return self._obs()


class DictPointEnv(PixelPointEnv):
    """PixelPointEnv with a Dict observation: {'image': the 40x40x3 frame, 'position': [x / 40]}
    (image + vector, as many robotics envs give)."""

    def __init__(self, length: int = 20, render_mode=None):
        super().__init__(length, render_mode=render_mode)
        self.observation_space = gym.spaces.Dict({
            "image": gym.spaces.Box(0, 255, (self.size, self.size, 3), np.uint8),
            "position": gym.spaces.Box(0.0, 1.0, (1,), np.float64),
        })

    def _obs(self):
        return {"image": super()._obs(), "position": np.array([self.x / self.size])}

    def render(self):
        return super()._obs()


class ChainEnv(gym.Env):
    """A corridor of ``n`` cells; the agent starts in cell 0. Action 1 moves right, action 0 moves
    left (or stays in cell 0). Entering the last cell pays 1 and ends the episode; every other step
    pays 0. Observation: one-hot of the cell. From the start the best return, discounted, is
    γ^(n − 2): the only reward comes n − 1 steps later, so a learner must bootstrap it back."""

    def __init__(self, n: int = 5, length: int = 30):
        self.n, self.length = n, length
        self.observation_space = gym.spaces.Box(0.0, 1.0, (n,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def _obs(self):
        o = np.zeros(self.n, np.float32)
        o[self.pos] = 1.0
        return o

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.pos = 0, 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        self.pos = min(self.pos + 1, self.n - 1) if int(action) == 1 else max(self.pos - 1, 0)
        done = self.pos == self.n - 1
        return self._obs(), float(done), done, self.t >= self.length and not done, {}


class ContinuousChainEnv(gym.Env):
    """ChainEnv with a continuous action: the position moves by the action (clipped to [-1, 1]),
    never below 0; reaching ``goal`` pays 1 and ends the episode. Observation: [position / goal].
    From 0 at least ``ceil(goal)`` steps are needed, so the best discounted return is
    γ^(ceil(goal) − 1)."""

    def __init__(self, goal: float = 2.5, length: int = 20):
        self.goal, self.length = goal, length
        self.observation_space = gym.spaces.Box(0.0, 2.0, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self):
        return np.array([self.pos / self.goal], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.pos = 0, 0.0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        self.pos = max(0.0, self.pos + float(np.clip(action[0], -1.0, 1.0)))
        done = self.pos >= self.goal
        return self._obs(), float(done), done, self.t >= self.length and not done, {}


class EpisodeRecorder(gym.Wrapper):
    """Appends to ``log`` the return of the first episode after every seeded reset (the episodes an
    evaluation that resets its envs with seeds should report), as the env itself counted it."""

    def __init__(self, env: gym.Env, log: list):
        super().__init__(env)
        self.log, self.fresh, self.total = log, False, 0.0

    def reset(self, *, seed=None, options=None):
        self.total = 0.0
        if seed is not None:
            self.fresh = True
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.total += float(reward)
        if (terminated or truncated) and self.fresh:
            self.log.append(self.total)
            self.fresh = False
        return obs, reward, terminated, truncated, info


class CounterEnv(gym.Env):
    """Observation ``[episode id, t]``: a random id drawn at reset and the step count, so that every
    stored transition names its episode and place. Actions change nothing; the reward is ``t``;
    episodes end (terminated) after 3 to 7 steps. With ``fail_at`` (and the seed of its first reset
    in ``fail_seeds``) ``step`` raises once per process at that step of the env's life."""

    raised = False  # per process

    def __init__(self, fail_at: int = 0, fail_seeds: tuple = ()):
        self.observation_space = gym.spaces.Box(0.0, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.fail_at, self.fail_seeds = fail_at, fail_seeds
        self.first_seed = None
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self.first_seed is None:
            self.first_seed = seed
        self.id = float(self.np_random.integers(1, 2**24))
        self.t = 0
        self.length = int(self.np_random.integers(3, 8))
        return np.array([self.id, 0.0], np.float32), {}

    def step(self, action):
        self.steps += 1
        if self.fail_at and self.steps == self.fail_at and self.first_seed in self.fail_seeds and not CounterEnv.raised:
            CounterEnv.raised = True
            raise RuntimeError("CounterEnv: a failure on purpose")
        self.t += 1
        return np.array([self.id, self.t], np.float32), float(self.t), self.t >= self.length, False, {}
