"""RL² point navigation: dynamics and reward arithmetic, goal sampling and its seeding (training vs
held-out tasks), the trial wrapper's inputs and the GRU state across the episodes of a trial, the
per-episode-return evaluation and its plot, argument errors, and an RL² PPO smoke run with a
checkpoint round trip."""

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

import srl_tf
from srl_tf.algorithms import ppo
from srl_tf.envs import make_env, spec_of
from srl_tf.envs.meta import (
    HELD_OUT_TASK_SEED,
    MetaTrial,
    PointNavigation,
    bandit_trial_env,
    evaluate_trials,
    navigation_trial_env,
    plot_adaptation_curve,
)
from srl_tf.errors import ConfigError, EnvError


def goals(env, seed, trials=3):
    """The goals of ``trials`` consecutive trials after reset(seed=seed)."""
    out = []
    for k in range(trials):
        env.reset(seed=seed if k == 0 else None)
        out.append(env.unwrapped.goal.copy())
    return np.array(out)


# ---- the task family ----------------------------------------------------------------------------


def test_dynamics_and_reward_arithmetic():
    env = PointNavigation(steps=3, max_speed=0.1)
    env.set_task([0.3, -0.4])
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (2,) and env.action_space.shape == (2,)
    np.testing.assert_allclose(env.action_space.high, [0.1, 0.1])
    np.testing.assert_array_equal(obs, [0.0, 0.0])  # the position only: the goal is hidden
    obs, reward, terminated, truncated, info = env.step(np.array([0.1, -0.05]))
    np.testing.assert_allclose(obs, [0.1, -0.05], atol=1e-7)
    assert reward == pytest.approx(-np.hypot(0.2, 0.35)) and info["distance"] == pytest.approx(-reward)
    assert not terminated and not truncated
    obs, reward, *_ = env.step(np.array([5.0, -7.0]))  # clipped to the largest velocity per axis
    np.testing.assert_allclose(obs, [0.2, -0.15], atol=1e-7)
    assert reward == pytest.approx(-np.hypot(0.1, 0.25))
    obs, reward, terminated, truncated, _ = env.step(np.array([0.1, -0.1]))
    assert reward == pytest.approx(-np.hypot(0.0, 0.15)) and not terminated and truncated  # 3 steps
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs, [0.0, 0.0])
    np.testing.assert_array_equal(env.goal, [0.3, -0.4])  # reset keeps the task; only set_task changes it


def test_goal_sampling_on_the_circle_and_in_the_square():
    rng = np.random.default_rng(0)
    circle = np.array([PointNavigation(goal_radius=0.5).sample_task(rng) for _ in range(200)])
    np.testing.assert_allclose(np.linalg.norm(circle, axis=1), 0.5)
    assert (circle[:, 0] > 0.3).any() and (circle[:, 0] < -0.3).any() and (circle[:, 1] < -0.3).any()
    square = np.array([PointNavigation(goal_radius=0.5, goal_sampling="square").sample_task(rng) for _ in range(200)])
    assert np.abs(square).max() <= 0.5 and np.linalg.norm(square, axis=1).max() > 0.55  # corners too


def test_goal_sampler_seeding_train_and_held_out():
    train, held_out = navigation_trial_env(), navigation_trial_env(task_seed=HELD_OUT_TASK_SEED)
    g_train, g_test = goals(train, seed=7), goals(held_out, seed=7)
    assert len({tuple(g) for g in g_train}) == 3  # a new goal every trial
    np.testing.assert_array_equal(goals(navigation_trial_env(), seed=7), g_train)  # same seed, same goals
    np.testing.assert_array_equal(goals(navigation_trial_env(task_seed=HELD_OUT_TASK_SEED), seed=7), g_test)
    assert not np.isclose(g_train[:, None], g_test[None]).all(-1).any()  # train and held-out goals differ
    assert not np.isclose(g_test, goals(held_out, seed=8)).all(-1).any()  # the reset seed picks the stream
    other = goals(navigation_trial_env(task_seed=HELD_OUT_TASK_SEED + 1), seed=7)
    assert not np.isclose(g_test, other).all(-1).any()  # the task seed picks the stream


def test_bad_arguments_name_the_argument_and_value():
    with pytest.raises(EnvError, match=r"steps=0.*integer >= 1"):
        PointNavigation(steps=0)
    with pytest.raises(EnvError, match=r"goal_radius=-0.5.*> 0"):
        PointNavigation(goal_radius=-0.5)
    with pytest.raises(EnvError, match=r"max_speed=nan"):
        PointNavigation(max_speed=float("nan"))
    with pytest.raises(EnvError, match=r"goal_sampling='disk'.*'circle'.*'square'"):
        PointNavigation(goal_sampling="disk")
    with pytest.raises(EnvError, match=r"set_task.*2-D goal"):
        PointNavigation().set_task([0.1, 0.2, 0.3])
    with pytest.raises(EnvError, match=r"episodes_per_trial=0"):
        navigation_trial_env(episodes_per_trial=0)
    with pytest.raises(EnvError, match=r"task_seed=-1.*None or an integer >= 0"):
        navigation_trial_env(task_seed=-1)
    with pytest.raises(EnvError, match=r"no sample_task\(\)"):
        MetaTrial(gym.make("Pendulum-v1"), 2)


# ---- the trial wrapper on this family ---------------------------------------------------------------


def test_trial_wrapper_inputs_for_navigation():
    env = navigation_trial_env(episodes_per_trial=2, steps=3)
    obs, _ = env.reset(seed=0)
    goal = env.unwrapped.goal.copy()
    assert env.observation_space.shape == (2 + 2 + 2,)  # position, previous action, previous reward, done
    np.testing.assert_array_equal(obs, np.zeros(6))
    action = np.array([0.05, -0.1], np.float32)
    for t in range(6):
        obs, reward, terminated, truncated, _ = env.step(action)
        inner_end = t in (2, 5)
        np.testing.assert_array_equal(obs[2:4], action)  # the previous action, as a velocity
        assert obs[4] == np.float32(reward) and obs[5] == float(inner_end)
        moved = 0 if t == 2 else (t % 3 + 1)  # the first episode's end shows the next episode's origin
        np.testing.assert_allclose(obs[:2], moved * action, atol=1e-6)
        assert reward == pytest.approx(-np.linalg.norm((t % 3 + 1) * action - goal), rel=1e-6)
        assert terminated == (t == 5) and not truncated  # only the trial's end ends the outer episode
        np.testing.assert_array_equal(env.unwrapped.goal, goal)  # one goal through the trial
    env.reset()
    assert not np.allclose(env.unwrapped.goal, goal)


def tiny_rl2(trial_steps: int) -> ppo.Config:
    cfg = ppo.Config(seed=0, batch_size=40, epochs=2, enable_obs_normalization=True, enable_reward_normalization=True)
    cfg.memory.capacity = 80
    cfg.hidden_block.set_mlp((8,), activation="tanh")
    cfg.policy_block.set_mlp((8,), activation="tanh")
    cfg.value_block.set_mlp((8,), activation="tanh")
    return cfg.set_rl2(trial_steps=trial_steps, gru_units=8)


def small_nav():
    return navigation_trial_env(episodes_per_trial=2, steps=5)


def test_gru_state_runs_across_episodes_and_resets_between_trials():
    runner = srl_tf.Runner(srl_tf.EnvConfig(small_nav, num_envs=2), tiny_rl2(10))
    runner.train(max_steps=60, progress=False)  # 30 steps of each env: 3 trials, the rollout not yet full
    rb = runner.agent.rollout
    assert rb.pos == 30 and runner.episode == 6
    t = np.arange(30)
    np.testing.assert_array_equal(rb.is_first[:30], np.repeat((t % 10 == 0)[:, None], 2, 1))  # trial starts only
    np.testing.assert_array_equal(rb.terminated[:30], np.repeat((t % 10 == 9)[:, None], 2, 1))
    inner = rb.obs[5:30:10]  # the first step of each trial's second episode: back at the origin, done flag up
    np.testing.assert_array_equal(inner[..., :2], 0.0)
    np.testing.assert_array_equal(inner[..., -1], 1.0)
    assert np.abs(rb.state[5:30:10]).min() > 0  # ... and the GRU state it received is the one carried on


# ---- meta-test evaluation --------------------------------------------------------------------------


class ScriptedAgent:
    """Stands still in the first episode of a trial and moves right at full speed in the later ones;
    it counts episodes by the done flag and forgets the count where a trial begins. On bandits it
    pulls arm 0."""

    def __init__(self, discrete=False):
        self.discrete = discrete

    def initial_carry(self, batch_size):
        return {"is_first": np.ones(batch_size, bool), "episode": np.zeros(batch_size, int)}

    def act(self, obs, carry, explore=True):
        episode = np.where(carry["is_first"], 0, carry["episode"]) + obs[:, -1].astype(int)
        carry = {"is_first": np.zeros_like(carry["is_first"]), "episode": episode}
        if self.discrete:
            return np.zeros(len(obs), np.int32), carry, {}
        return np.where(episode[:, None] > 0, [[1.0, 0.0]], [[0.0, 0.0]]).astype(np.float32), carry, {}


def scripted_runner(make):
    cfg = srl_tf.EnvConfig(make)
    spec = spec_of(make_env(cfg), "meta")
    return SimpleNamespace(
        agent=ScriptedAgent(spec.discrete), spec=spec, env_config=cfg, rl_config=SimpleNamespace(action_split=lambda: 0)
    )


def test_evaluate_trials_returns_each_episode_of_held_out_trials(tmp_path):
    make = lambda: navigation_trial_env(episodes_per_trial=3, steps=4)  # noqa: E731
    returns = evaluate_trials(scripted_runner(make), trials=5, task_seed=11, num_envs=2)  # rounds of 2, 2, 1
    assert returns.shape == (5, 3)
    np.testing.assert_allclose(returns[:, 0], -4 * 0.5)  # standing still at radius 0.5 for 4 steps
    for i in range(5):  # trial i: reset seed i, task generator (11, i)
        env = navigation_trial_env(episodes_per_trial=3, steps=4, task_seed=11)
        env.reset(seed=i)
        goal = env.unwrapped.goal
        moving = -sum(np.hypot(0.1 * k - goal[0], goal[1]) for k in range(1, 5))
        np.testing.assert_allclose(returns[i, 1:], moving, rtol=1e-6)
    again = evaluate_trials(scripted_runner(make), trials=5, task_seed=11, num_envs=16)
    np.testing.assert_array_equal(again, returns)  # the same held-out tasks however many run at once
    assert not np.allclose(evaluate_trials(scripted_runner(make), trials=5, task_seed=12)[:, 1], returns[:, 1])
    held_out = lambda: navigation_trial_env(task_seed=11)  # noqa: E731
    with pytest.raises(ConfigError, match=r"task_seed=11.*same task_seed"):
        evaluate_trials(scripted_runner(held_out), trials=2, task_seed=11)
    with pytest.raises(ConfigError, match=r"trials=0"):
        evaluate_trials(scripted_runner(make), trials=0)
    with pytest.raises(EnvError, match="no MetaTrial layer"):
        evaluate_trials(scripted_runner(lambda: PointNavigation()), trials=1)
    path = plot_adaptation_curve(
        {"scripted": returns, "flat": np.full(3, -2.0)},
        str(tmp_path / "curve.png"),
        references={"standing still": -2.0},
    )
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2\)"):
        plot_adaptation_curve(np.zeros((2, 2, 2)), str(tmp_path / "bad.png"))


def test_evaluate_trials_per_pull_on_bandits():
    returns = evaluate_trials(scripted_runner(lambda: bandit_trial_env(3, 4)), trials=300, task_seed=3)
    assert returns.shape == (300, 4) and set(np.unique(returns)) == {0.0, 1.0}  # one pull per episode
    assert 0.45 < returns.mean() < 0.55  # arm 0 of bandits with uniform success probabilities pays 1/2


# ---- RL² PPO ------------------------------------------------------------------------------------


def test_rl2_ppo_navigation_smoke_and_checkpoint(tmp_path):
    runner = srl_tf.Runner(srl_tf.EnvConfig(small_nav, num_envs=2), tiny_rl2(10))
    runner.train(max_steps=320, progress=False)
    agent = runner.agent
    assert agent.train_count == 4 * 2 * 2 and runner.episode == 32  # 4 rollouts × 2 epochs × 2 minibatches
    returns = evaluate_trials(runner, trials=6, num_envs=4, explore=False)
    assert returns.shape == (6, 2)
    # the held-out tasks and their results do not depend on how many trials run side by side
    np.testing.assert_allclose(evaluate_trials(runner, trials=6, num_envs=3, explore=False), returns, rtol=1e-5)
    assert len(np.unique(returns[:, 0])) == 6  # six different goals
    with open(plot_adaptation_curve(returns, str(tmp_path / "a.png")), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # the GRU agent's weights (and observation statistics) round-trip through a checkpoint
    weights = [w.copy() for w in agent.net.get_weights()]
    runner.save_parameter(str(tmp_path / "ckpt"))
    agent.net.set_weights([np.zeros_like(w) for w in weights])
    runner.load_parameter(str(tmp_path / "ckpt"))
    for a, b in zip(agent.net.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
