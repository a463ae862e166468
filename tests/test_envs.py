"""Environment creation, spaces, processing wrappers and the vectorised adapter."""

import gymnasium as gym
import numpy as np
import pytest

from srl_tf.config import EnvConfig
from srl_tf.envs import VecEnvAdapter, make_env, spec_of
from srl_tf.envs.wrappers import ActionRepeat, DiscretizeAction
from srl_tf.errors import ConfigError, EnvError

# ------------------------------------------------------------------------------------------
# Tiny deterministic envs
# ------------------------------------------------------------------------------------------


class CounterEnv(gym.Env):
    """Observation = steps taken in the episode; reward = that step number.

    The first seeded reset fixes the episode length: 3 (terminates) for an even seed, 4 (truncates)
    for an odd one, so two sub-envs seeded 0 and 1 end at different steps and in different ways."""

    observation_space = gym.spaces.Box(-1e6, 1e6, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length: int = 3, truncate: bool = False):
        self.length, self.truncate, self.t = length, truncate, 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self.length, self.truncate = (3, False) if seed % 2 == 0 else (4, True)
        self.t = 0
        return np.array([self.t], np.float32), {}

    def step(self, action):
        self.t += 1
        end = self.t >= self.length
        return np.array([self.t], np.float32), float(self.t), end and not self.truncate, end and self.truncate, {}


class EchoActionEnv(gym.Env):
    """A continuous-action env whose observation is the action it received."""

    observation_space = gym.spaces.Box(-10, 10, (2,), np.float32)
    action_space = gym.spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([1.0, 0.5], np.float32))

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.asarray(action, np.float32), 0.0, False, False, {}


class ImageEnv(gym.Env):
    """uint8 RGB frames filled with 10 * step."""

    def __init__(self, shape=(48, 40, 3)):
        self.shape = shape
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def _obs(self):
        return np.full(self.shape, 10 * self.t, np.uint8)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, self.t >= 10, False, {}


def _env_with_spaces(obs_space, act_space):
    class Custom(gym.Env):
        observation_space = obs_space
        action_space = act_space

        def reset(self, seed=None, options=None):
            return self.observation_space.sample(), {}

        def step(self, action):
            return self.observation_space.sample(), 0.0, False, False, {}

    return Custom


# ------------------------------------------------------------------------------------------
# Creation errors
# ------------------------------------------------------------------------------------------


def test_unknown_env_id_names_it_and_suggests_a_close_one():
    with pytest.raises(EnvError, match="'CartPole-v9'") as e:
        make_env(EnvConfig("CartPole-v9"))
    assert "CartPole-v1" in str(e.value)


@pytest.mark.parametrize(
    "obs_space",
    [
        gym.spaces.Dict({"a": gym.spaces.Box(0, 1, (2,), np.float32), "b": gym.spaces.Discrete(3)}),
        gym.spaces.Dict({}),
        gym.spaces.Discrete(5),
        gym.spaces.Box(0, 1, (8, 8, 3), np.float32),  # a non-uint8 "image"
        gym.spaces.Box(0, 1, (2, 2, 2, 2), np.float32),
    ],
    ids=["dict-with-discrete-entry", "empty-dict", "discrete", "float-image", "4d"],
)
def test_unsupported_observation_space_is_an_env_error(obs_space):
    env_fn = _env_with_spaces(obs_space, gym.spaces.Discrete(2))
    with pytest.raises(EnvError, match="Observation space"):
        make_env(EnvConfig(env_fn))


def test_unsupported_action_space_is_an_env_error():
    env_fn = _env_with_spaces(gym.spaces.Box(0, 1, (3,), np.float32), gym.spaces.MultiDiscrete([2, 3]))
    with pytest.raises(EnvError, match="Action space"):
        make_env(EnvConfig(env_fn))


def test_callable_that_returns_no_env_is_an_env_error():
    with pytest.raises(EnvError, match="not a gymnasium.Env"):
        make_env(EnvConfig(lambda: object()))


def test_image_options_on_a_vector_env_are_a_config_error():
    with pytest.raises(ConfigError, match="image_resize"):
        make_env(EnvConfig("CartPole-v1", image_resize=(32, 32)))


# ------------------------------------------------------------------------------------------
# Actions
# ------------------------------------------------------------------------------------------


def test_discretize_pendulum_into_five_actions():
    env = make_env(EnvConfig("Pendulum-v1"), action_division_num=5)
    assert env.action_space == gym.spaces.Discrete(5)
    assert isinstance(env, DiscretizeAction)
    values = [env.action(i) for i in range(5)]
    np.testing.assert_allclose(np.concatenate(values), [-2, -1, 0, 1, 2])
    assert all(v.shape == (1,) for v in values)
    env.reset(seed=0)
    for i, torque in ((4, 2.0), (0, -2.0), (3, 1.0)):
        env.step(i)  # a discrete action goes through to the continuous env as its torque
        assert env.unwrapped.last_u == pytest.approx(torque)
    env.close()


def test_discretize_multi_dimensional_box_enumerates_every_combination():
    env_fn = _env_with_spaces(gym.spaces.Box(0, 1, (3,), np.float32), gym.spaces.Box(-1, 1, (2,), np.float32))
    env = DiscretizeAction(env_fn(), 3)
    assert env.action_space.n == 9
    table = {tuple(env.action(i)) for i in range(9)}
    assert table == {(a, b) for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0)}


def test_too_many_discrete_actions_is_a_config_error():
    env_fn = _env_with_spaces(gym.spaces.Box(0, 1, (3,), np.float32), gym.spaces.Box(-1, 1, (4,), np.float32))
    with pytest.raises(ConfigError, match="action_division_num=10"):
        make_env(EnvConfig(env_fn), action_division_num=10)


def test_action_repeat_sums_rewards_and_stops_at_episode_end():
    env = ActionRepeat(CounterEnv(length=6), 4)
    env.reset()
    obs, reward, terminated, truncated, _ = env.step(0)
    assert (obs[0], reward, terminated) == (4, 1 + 2 + 3 + 4, False)
    obs, reward, terminated, truncated, _ = env.step(0)
    assert (obs[0], reward, terminated, truncated) == (6, 5 + 6, True, False)  # stopped after 2 frames


def test_action_repeat_from_env_config():
    env = make_env(EnvConfig(lambda: CounterEnv(length=5), action_repeat=2))
    env.reset()
    assert env.step(0)[1] == 1 + 2
    assert env.step(0)[1] == 3 + 4
    obs, reward, terminated, _, _ = env.step(0)
    assert (obs[0], reward, terminated) == (5, 5, True)


def test_max_episode_steps_truncates_episodes():
    env = make_env(EnvConfig(lambda: CounterEnv(length=100), max_episode_steps=2))
    env.reset()
    assert env.step(0)[3] is False
    _, _, terminated, truncated, _ = env.step(0)
    assert (terminated, truncated) == (False, True)


# ------------------------------------------------------------------------------------------
# Specs
# ------------------------------------------------------------------------------------------


def test_spec_of_cartpole():
    env = make_env(EnvConfig("CartPole-v1"))
    spec = spec_of(env, "CartPole-v1")
    assert spec.name == "CartPole-v1"
    assert spec.obs_shape == (4,) and spec.obs_dtype == np.float32 and not spec.is_image
    assert spec.discrete and spec.n_actions == 2 and spec.action_shape == () and spec.action_dim == 2
    assert spec.action_low is None and spec.action_high is None
    assert spec.max_episode_steps == 500
    env.close()


def test_spec_of_pendulum():
    env = make_env(EnvConfig("Pendulum-v1"))
    spec = spec_of(env, "Pendulum-v1")
    assert spec.obs_shape == (3,) and spec.obs_dtype == np.float32 and not spec.is_image
    assert not spec.discrete and spec.n_actions == 0 and spec.action_shape == (1,) and spec.action_dim == 1
    np.testing.assert_array_equal(spec.action_low, [-2.0])
    np.testing.assert_array_equal(spec.action_high, [2.0])
    assert spec.action_low.dtype == np.float32
    assert spec.max_episode_steps == 200
    env.close()


def test_spec_reports_configured_time_limit():
    env = make_env(EnvConfig("CartPole-v1", max_episode_steps=50))
    assert spec_of(env, "c").max_episode_steps == 50


# ------------------------------------------------------------------------------------------
# Observation processing
# ------------------------------------------------------------------------------------------


def test_image_resize_grayscale_and_frame_stack():
    env = make_env(EnvConfig(ImageEnv, image_resize=(32, 32), image_grayscale=True, frame_stack=3))
    assert env.observation_space.shape == (32, 32, 3) and env.observation_space.dtype == np.uint8
    spec = spec_of(env, "img")
    assert spec.is_image and spec.obs_shape == (32, 32, 3) and spec.obs_dtype == np.uint8
    obs, _ = env.reset(seed=0)
    assert obs.shape == (32, 32, 3) and obs.dtype == np.uint8
    env.step(0)
    obs, *_ = env.step(0)
    assert obs.shape == (32, 32, 3) and obs.dtype == np.uint8
    # channels are the last three gray frames, oldest first: 0, 10, 20
    np.testing.assert_allclose(obs.reshape(-1, 3).mean(0), [0, 10, 20], atol=1)
    assert env.observation_space.contains(obs)


def test_image_resize_keeps_rgb_channels():
    env = make_env(EnvConfig(ImageEnv, image_resize=(20, 24)))
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(0)
    assert obs.shape == (20, 24, 3) and obs.dtype == np.uint8
    assert np.all(np.abs(obs.astype(int) - 10) <= 1)


def test_two_dimensional_images_get_a_channel_axis():
    env = make_env(EnvConfig(lambda: ImageEnv((30, 30))))
    assert env.observation_space.shape == (30, 30, 1)
    assert env.reset(seed=0)[0].shape == (30, 30, 1)


def test_vector_frame_stack_concatenates_observations():
    env = make_env(EnvConfig("CartPole-v1", frame_stack=2))
    assert env.observation_space.shape == (8,)
    first, _ = env.reset(seed=0)
    assert first.shape == (8,) and first.dtype == np.float32
    second, *_ = env.step(0)
    np.testing.assert_array_equal(second[:4], first[4:])  # older frame first
    assert not np.array_equal(second[4:], first[4:])
    env.close()


# ------------------------------------------------------------------------------------------
# VecEnvAdapter
# ------------------------------------------------------------------------------------------


def test_vec_adapter_next_obs_is_final_obs_and_obs_is_first_of_next_episode():
    adapter = VecEnvAdapter(EnvConfig(CounterEnv, num_envs=2))
    assert adapter.num_envs == 2
    obs = adapter.reset(seed=0)  # env 0: 3 steps then terminated; env 1: 4 steps then truncated
    np.testing.assert_array_equal(obs[:, 0], [0, 0])
    a = np.zeros(2, np.int64)
    for t in (1, 2):
        st = adapter.step(a)
        np.testing.assert_array_equal(st.obs[:, 0], [t, t])
        np.testing.assert_array_equal(st.next_obs[:, 0], [t, t])
    assert adapter.pop_finished() == []

    st = adapter.step(a)  # env 0 ends
    np.testing.assert_array_equal(st.next_obs[:, 0], [3, 3])  # the real final observation
    np.testing.assert_array_equal(st.obs[:, 0], [0, 3])  # env 0 already reset
    np.testing.assert_array_equal(st.terminated, [True, False])
    np.testing.assert_array_equal(st.truncated, [False, False])
    np.testing.assert_array_equal(st.reward, [3, 3])
    assert st.reward.dtype == np.float32
    assert adapter.pop_finished() == [(6.0, 3)]
    assert adapter.final_return[0] == 6.0

    st = adapter.step(a)  # env 1 ends by truncation
    np.testing.assert_array_equal(st.next_obs[:, 0], [1, 4])
    np.testing.assert_array_equal(st.obs[:, 0], [1, 0])
    np.testing.assert_array_equal(st.terminated, [False, False])
    np.testing.assert_array_equal(st.truncated, [False, True])
    assert adapter.pop_finished() == [(10.0, 4)]
    assert adapter.pop_finished() == []
    np.testing.assert_array_equal(adapter.final_return, [6.0, 10.0])

    for _ in range(2):  # env 0 ends its second episode with the same return
        adapter.step(a)
    assert adapter.pop_finished() == [(6.0, 3)]
    adapter.close()


def test_vec_adapter_clips_continuous_actions_to_bounds():
    adapter = VecEnvAdapter(EnvConfig(EchoActionEnv, num_envs=2))
    assert not adapter.spec.discrete
    adapter.reset(seed=0)
    st = adapter.step(np.array([[5.0, -3.0], [-0.5, 0.25]], np.float32))
    np.testing.assert_allclose(st.obs, [[1.0, 0.0], [-0.5, 0.25]])
    adapter.close()


def test_vec_adapter_with_discretized_actions_reports_discrete_spec():
    adapter = VecEnvAdapter(EnvConfig("Pendulum-v1"), action_division_num=3)
    assert adapter.spec.discrete and adapter.spec.n_actions == 3
    adapter.reset(seed=0)
    st = adapter.step(np.array([2]))
    assert st.obs.shape == (1, 3)
    adapter.close()


def test_vec_adapter_validates_env_config():
    with pytest.raises(ConfigError, match="num_envs=0"):
        VecEnvAdapter(EnvConfig(CounterEnv, num_envs=0))
