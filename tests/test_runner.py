"""Runner plumbing with a tiny DQN: stop conditions, history, checkpoints, evaluation, rendering."""

import glob
import json
import os

import gymnasium as gym
import numpy as np
import pytest
from contract import act
from toy_envs import EpisodeRecorder

import srl_tf
from srl_tf import Callback, ConfigError, EnvConfig, Runner
from srl_tf.algorithms import dqn

ENV = "CartPole-v1"


def tiny_config(seed=0, **kwargs):
    cfg = dqn.Config(**{"seed": seed, "batch_size": 16, **kwargs})
    cfg.memory.capacity = 1000
    cfg.memory.warmup_size = 50
    cfg.hidden_block.set_mlp((16,))
    return cfg


def tiny_runner(seed=0, env=ENV, **kwargs):
    return Runner(env, tiny_config(seed, **kwargs))


@pytest.fixture(scope="module")
def trained():
    """A runner trained for 300 env steps (shared by the read-only tests)."""
    runner = tiny_runner(env=EnvConfig(ENV, max_episode_steps=100))
    runner.train(max_steps=300, progress=False)
    return runner


def _probe_obs(n=64):
    rng = np.random.default_rng(123)
    return (rng.standard_normal((n, 4)) * [1.0, 1.0, 0.1, 1.0]).astype(np.float32)


def _greedy(runner, obs):
    return act(runner.agent, obs)


class StopAfter(Callback):
    """Raises ``exc`` (or returns True) in on_step after ``n`` calls; records the hooks called."""

    def __init__(self, n, exc=None):
        self.n, self.exc, self.calls, self.events = n, exc, 0, []

    def on_train_begin(self, runner):
        self.events.append("begin")

    def on_step(self, runner, info):
        self.calls += 1
        assert set(info) == {"step", "train", "episode", "time"}
        if self.calls >= self.n:
            if self.exc is not None:
                raise self.exc
            return True
        return None

    def on_episode_end(self, runner, episode_return, episode_length):
        self.events.append(("episode", episode_return, episode_length))

    def on_log(self, runner, row):
        self.events.append("log")

    def on_train_end(self, runner):
        self.events.append("end")


# ------------------------------------------------------------------------------------------
# Construction and stop conditions
# ------------------------------------------------------------------------------------------


def test_train_without_stop_condition_raises():
    runner = tiny_runner()
    with pytest.raises(ConfigError, match="stop condition"):
        runner.train()
    with pytest.raises(ConfigError, match="max_steps=-1"):
        runner.train(max_steps=-1)
    assert runner.step == 0


@pytest.mark.parametrize("bad", [object(), {"batch_size": 16}, None])
def test_runner_rejects_a_non_config_rl_config(bad):
    with pytest.raises(ConfigError, match="rl_config"):
        Runner(ENV, bad)


def test_runner_validates_configs():
    with pytest.raises(ConfigError, match="batch_size=0"):
        Runner(ENV, tiny_config(batch_size=0))
    with pytest.raises(ConfigError, match="num_envs=0"):
        Runner(EnvConfig(ENV, num_envs=0), tiny_config())


def test_runner_draws_a_seed_when_none_given():
    runner = Runner(ENV, tiny_config(seed=None))
    assert isinstance(runner.rl_config.seed, int)


def test_train_max_steps(trained):
    assert trained.step >= 300
    assert trained.agent.train_count > 0  # warm-up of 50 transitions ended, learning happened
    assert len(trained.agent.memory) > 0
    assert trained.episode > 0
    assert {"loss", "q_mean", "grad_norm"} <= set(trained.last_metrics)


def test_train_continues_from_where_it_stopped():
    runner = tiny_runner()
    runner.train(max_steps=60, progress=False)
    first = runner.step
    runner.train(max_steps=40, progress=False)
    assert first >= 60 and runner.step >= first + 40


def test_train_max_episodes():
    runner = tiny_runner()
    runner.train(max_episodes=3, progress=False)
    assert runner.episode == 3


def test_train_max_train_count():
    runner = tiny_runner()
    runner.train(max_train_count=20, progress=False)
    assert runner.agent.train_count == 20
    assert runner.step == 50 + 20 - 1  # warm-up transitions, then one gradient step per env step


def test_callback_returning_true_stops_and_hooks_are_called():
    runner = tiny_runner()
    cb = StopAfter(30)
    runner.train(max_steps=1000, callbacks=[cb], progress=False)
    assert runner.step == 30 and cb.calls == 30
    assert cb.events[0] == "begin" and cb.events[-1] == "end"
    episodes = [e for e in cb.events if isinstance(e, tuple)]
    assert len(episodes) == runner.episode >= 1  # random CartPole episodes last < 30 steps
    assert all(ret == length for _, ret, length in episodes)  # reward 1 per step


def test_progress_bar_reaches_the_limit(capsys):
    runner = tiny_runner()
    runner.train(max_steps=30, progress=True)
    err = capsys.readouterr().err
    assert "30/30" in err and "episodes" in err


def test_parallel_envs_count_every_env_step():
    runner = tiny_runner(env=EnvConfig(ENV, num_envs=2))
    runner.train(max_steps=100, progress=False)
    assert runner.step == 100
    assert runner.agent.env_steps == 100


def test_same_seed_gives_the_same_run():
    def run():
        runner = tiny_runner(seed=3)
        runner.set_history_on_memory(interval=50)
        runner.train(max_steps=200, progress=False)
        return runner.get_history().runs[0][1], runner.evaluate(2)

    (rows_a, eval_a), (rows_b, eval_b) = run(), run()
    strip = [{k: v for k, v in r.items() if k != "time"} for r in rows_a]
    assert strip == [{k: v for k, v in r.items() if k != "time"} for r in rows_b]
    assert eval_a == eval_b


class TinyImageEnv(gym.Env):
    """RGB frames whose brightness encodes the step; 8 steps per episode; reward 1 for action 1."""

    observation_space = gym.spaces.Box(0, 255, (40, 40, 3), np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        return np.full((40, 40, 3), 20 * self.t, np.uint8)

    def step(self, action):
        self.t += 1
        return self._obs(), float(action), self.t >= 8, False, {}


def test_image_env_trains_and_stores_uint8_frames():
    cfg = tiny_config()
    cfg.image_block.set_cnn("small")
    env = EnvConfig(TinyImageEnv, image_resize=(24, 24), image_grayscale=True, frame_stack=2)
    runner = Runner(env, cfg)
    assert runner.spec.obs_shape == (24, 24, 2) and runner.spec.is_image
    runner.train(max_steps=80, progress=False)
    memory = runner.agent.memory
    assert memory.obs.dtype == np.uint8 and memory.obs.shape[2:] == (24, 24, 2)
    assert runner.agent.train_count > 0 and runner.episode == 10
    returns = runner.evaluate(2)
    # a deterministic env and policy: every evaluation episode is the single-env rollout's
    assert returns == [runner.rollout(1)[0].total_reward] * 2


# ------------------------------------------------------------------------------------------
# History
# ------------------------------------------------------------------------------------------


def test_history_on_memory_rows_have_x_columns():
    runner = tiny_runner()
    runner.set_history_on_memory(interval=20)
    runner.train(max_steps=200, progress=False)
    h = runner.get_history()
    rows = h.runs[0][1]
    assert len(rows) == 10
    for row in rows:
        assert {"train", "step", "episode", "time"} <= set(row)
    assert [r["step"] for r in rows] == list(range(20, 201, 20))
    assert rows[-1]["train"] == runner.agent.train_count
    assert rows[-1]["episode"] == runner.episode
    assert "reward0" in h.columns() and "loss" in h.columns()
    assert all(np.isfinite(r["loss"]) for r in rows if "loss" in r)


def test_history_on_memory_with_evaluation():
    runner = tiny_runner(env=EnvConfig(RandomLengthEnv))  # evaluation episodes of different returns
    runner.set_history_on_memory(enable_eval=True, eval_episode=3, interval=50, eval_interval=100)
    runner.train(max_steps=200, progress=False)
    rows = runner.get_history().runs[0][1]
    evals = [r["step"] for r in rows if "eval_reward0" in r]
    assert evals == [100, 200]
    # the logged value is the mean return of eval_episode evaluation episodes at that step
    returns = runner.evaluate(3)
    assert len(set(returns)) > 1 and rows[-1]["eval_reward0"] == pytest.approx(np.mean(returns))


def test_history_settings_are_validated():
    runner = tiny_runner()
    with pytest.raises(ConfigError, match="eval_episode=0"):
        runner.set_history_on_memory(eval_episode=0)
    with pytest.raises(ConfigError, match="interval=0"):
        runner.set_history_on_memory(interval=0)


def test_history_on_file_writes_rows_config_and_checkpoint(tmp_path):
    d = str(tmp_path / "run")
    runner = tiny_runner()
    runner.set_history_on_file(d, interval=25)
    runner.train(max_steps=100, progress=False)
    rows = srl_tf.load_histories(d).runs[0][1]
    assert [r["step"] for r in rows] == [25, 50, 75, 100]
    assert rows == runner.get_history().runs[0][1]
    config = json.loads(open(os.path.join(d, "config.json")).read())
    assert config["algorithm"] == "DQN"
    assert config["rl_config"]["batch_size"] == 16
    assert config["env_config"]["name"] == ENV
    assert glob.glob(os.path.join(d, "tensorboard", "events.out.tfevents.*"))
    ckpt = os.path.join(d, "checkpoint")
    assert os.path.isfile(os.path.join(ckpt, "q.weights.h5"))
    meta = json.loads(open(os.path.join(ckpt, "srl_tf.json")).read())
    assert meta == {"algorithm": "DQN", "step": 100, "train": runner.agent.train_count}


def test_new_run_in_used_directory_replaces_history_and_resumed_run_continues_it(tmp_path):
    d = str(tmp_path / "run")
    first = tiny_runner()
    first.set_history_on_file(d, interval=25)
    first.train(max_steps=50, progress=False)
    second = tiny_runner(seed=1)  # a new run in the same directory: old rows must not leak into it
    second.set_history_on_file(d, interval=20)
    second.train(max_steps=40, progress=False)
    assert [r["step"] for r in srl_tf.load_histories(d).runs[0][1]] == [20, 40]
    resumed = tiny_runner(seed=2)  # continues from the checkpoint: steps and rows carry on
    resumed.load_parameter(os.path.join(d, "checkpoint"))
    assert resumed.step == 40
    resumed.set_history_on_file(d, interval=20)
    resumed.train(max_steps=40, progress=False)
    assert [r["step"] for r in srl_tf.load_histories(d).runs[0][1]] == [20, 40, 60, 80]


def test_periodic_checkpoints(tmp_path, monkeypatch):
    d = str(tmp_path / "run")
    runner = tiny_runner()
    saved = []
    original = Runner.save_parameter
    monkeypatch.setattr(Runner, "save_parameter", lambda self, path: (saved.append(self.step), original(self, path)))
    runner.set_history_on_file(d, interval=50, checkpoint_interval=30)
    runner.train(max_steps=100, progress=False)
    assert saved == [30, 60, 90, 100]


def test_keyboard_interrupt_keeps_history_and_checkpoint(tmp_path):
    d = str(tmp_path / "run")
    runner = tiny_runner()
    runner.set_history_on_file(d, interval=40)
    cb = StopAfter(90, exc=KeyboardInterrupt())
    runner.train(max_steps=1000, callbacks=[cb], progress=False)  # returns normally
    assert runner.step == 90
    rows = srl_tf.load_histories(d).runs[0][1]
    assert [r["step"] for r in rows] == [40, 80, 90]  # the interrupted step is logged too
    assert os.path.isfile(os.path.join(d, "checkpoint", "q.weights.h5"))
    assert json.load(open(os.path.join(d, "checkpoint", "srl_tf.json")))["step"] == 90
    assert cb.events[-1] == "end"


# ------------------------------------------------------------------------------------------
# Parameters
# ------------------------------------------------------------------------------------------


def test_save_and_load_parameter_reproduce_greedy_actions(trained, tmp_path):
    path = str(tmp_path / "params")
    trained.save_parameter(path)
    assert os.path.isfile(os.path.join(path, "q.weights.h5"))
    obs = _probe_obs()
    q_trained = trained.agent.q(obs).numpy()

    fresh = tiny_runner(seed=1, env=EnvConfig(ENV, max_episode_steps=100))
    assert not np.allclose(fresh.agent.q(obs).numpy(), q_trained)  # different initial weights
    fresh.load_parameter(path)
    np.testing.assert_allclose(fresh.agent.q(obs).numpy(), q_trained, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(_greedy(fresh, obs), _greedy(trained, obs))
    np.testing.assert_allclose(fresh.agent.q_target(obs).numpy(), q_trained, rtol=1e-6, atol=1e-6)


def test_load_parameter_of_another_algorithm_raises(trained, tmp_path):
    path = str(tmp_path / "params")
    trained.save_parameter(path)
    meta_path = os.path.join(path, "srl_tf.json")
    meta = json.load(open(meta_path))
    meta["algorithm"] = "SAC"
    json.dump(meta, open(meta_path, "w"))
    fresh = tiny_runner(seed=1)
    with pytest.raises(ConfigError, match="SAC") as e:
        fresh.load_parameter(path)
    assert "DQN" in str(e.value)


def test_load_parameter_from_a_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="save_parameter"):
        tiny_runner().load_parameter(str(tmp_path / "nope"))


# ------------------------------------------------------------------------------------------
# Evaluation and rendering
# ------------------------------------------------------------------------------------------


def test_evaluate_returns_one_float_per_episode(trained):
    returns = trained.evaluate(max_episodes=3)
    assert len(returns) == 3 and all(isinstance(r, float) for r in returns)
    assert trained.evaluate(max_episodes=3) == returns  # deterministic policy, same seeds
    with pytest.raises(ConfigError, match="max_episodes=0"):
        trained.evaluate(max_episodes=0)


class RandomLengthEnv(gym.Env):
    """Episodes of 2 to 29 steps (drawn at reset), reward 1 per step: quick envs finish a second
    episode long before slow ones finish their first."""

    observation_space = gym.spaces.Box(0.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.length = 0, int(self.np_random.integers(2, 30))
        return np.zeros(4, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.full(4, self.t / 30, np.float32), 1.0, False, self.t >= self.length, {}


@pytest.mark.parametrize("episodes", [3, 18], ids=["fewer_than_envs", "more_than_envs"])
def test_evaluate_reports_the_returns_the_envs_counted(episodes):
    """Each reported return is that of the first whole episode an env played after its seeded
    reset, in the order they ended (18 episodes: 16 envs, then the 2 quickest of a second round)."""
    counted = []
    env = EnvConfig(lambda: EpisodeRecorder(RandomLengthEnv(), counted))
    runner = tiny_runner(env=env)
    runner.train(max_steps=100, progress=False)
    counted.clear()
    returns = runner.evaluate(max_episodes=episodes)
    assert len(returns) == episodes and len(set(returns)) > 1  # the untrained policy's episodes differ
    assert returns == counted[:episodes]


def test_rollout_records_frames(trained):
    (episode,) = trained.rollout(1, render=True, max_steps=5)
    assert len(episode) == 5 and len(episode.frames) == 6
    assert episode.frames[0].shape == (400, 600, 3)
    assert episode.total_reward == 5.0


def test_animation_save_gif_writes_annotated_frames(trained, tmp_path):
    import imageio.v2 as imageio

    (episode,) = trained.rollout(1, render=True, max_steps=20)  # the same episode, not annotated
    path = trained.animation_save_gif(str(tmp_path / "anim.gif"), max_steps=20)
    frames = [np.asarray(f)[..., :3].astype(int) for f in imageio.mimread(path, memtest=False)]
    assert len(frames) == len(episode) + 1  # every frame differs (its caption counts the steps)
    assert frames[0].shape[:2] == (400, 600)
    for i, (gif, raw) in enumerate(zip(frames, episode.frames)):
        # below the caption band the frame is the env's (up to the GIF palette) ...
        assert np.abs(gif[30:] - raw[30:].astype(int)).mean() < 3
        # ... on CartPole's white background the band is dark, with light text on it
        band = gif[:14, :300]
        assert (raw[:14, :300] > 240).all() and (band < 40).mean() > 0.7 and (band > 200).any(), i
    assert not np.array_equal(frames[1][:14], frames[2][:14])  # each step has its own caption


def test_replay_window_runs_headless(trained, monkeypatch):
    import pygame

    opened = []
    set_mode = pygame.display.set_mode
    monkeypatch.setattr(pygame.display, "set_mode", lambda size, *a, **k: (opened.append(size), set_mode(size, *a, **k))[1])
    trained.replay_window(max_steps=10, max_ticks=2, scale=0.5)
    assert opened == [(300, 200)]  # one window, the size of CartPole's frames times the scale
    assert not pygame.display.get_init()  # and it was closed again


def test_model_summary_prints(trained, capsys):
    trained.model_summary()
    out = capsys.readouterr().out
    assert "q_torso" in out and "Total params" in out
