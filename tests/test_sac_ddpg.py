"""SAC, DDPG and TD3: smoke runs (vectors and pixels), the update arithmetic (Polyak targets, tanh
log-prob correction, temperature direction, terminated vs truncated targets), MuJoCo, and the
configuration mistakes users make."""

import numpy as np
import pytest
import tensorflow as tf
from contract import act
from toy_envs import PixelPointEnv

import srl_tf
from srl_tf.algorithms import ddpg, sac
from srl_tf.distributions import tanh_normal, tanh_normal_sample
from srl_tf.envs.adapter import Step
from srl_tf.errors import ConfigError

PIXELS = srl_tf.EnvConfig(lambda: PixelPointEnv())


def tiny_sac(**kw):
    cfg = sac.Config(seed=0, batch_size=16, **kw)
    cfg.memory.capacity, cfg.memory.warmup_size = 2_000, 50
    cfg.policy_hidden_block.set_mlp((16,))
    cfg.q_hidden_block.set_mlp((16,))
    cfg.image_block.set_cnn("small")
    return cfg


def tiny_ddpg(td3=False, **kw):
    cfg = ddpg.Config(seed=0, batch_size=16, **kw)
    if td3:
        cfg.set_td3()
    cfg.memory.capacity, cfg.memory.warmup_size = 2_000, 50
    cfg.policy_block.set_mlp((16,))
    cfg.q_block.set_mlp((16,))
    cfg.image_block.set_cnn("small")
    return cfg


def agent_with_memory(cfg, env="Pendulum-v1", steps=49):
    """An agent whose replay holds ``steps`` warm-up transitions and that has not trained yet."""
    runner = srl_tf.Runner(env, cfg)
    runner.train(max_steps=steps, progress=False)
    assert runner.agent.train_count == 0
    return runner.agent


def sample(agent):
    return agent.memory.sample_many(agent.config.gradient_steps, agent.config.batch_size, agent.rng)


SMOKE = [
    ("sac", tiny_sac, "Pendulum-v1"),
    ("ddpg_ou", lambda: tiny_ddpg(exploration_noise="ou"), "Pendulum-v1"),
    ("td3", lambda: tiny_ddpg(td3=True), "Pendulum-v1"),
    ("sac_pixels", tiny_sac, PIXELS),
    ("ddpg_pixels", tiny_ddpg, PIXELS),
    ("td3_pixels", lambda: tiny_ddpg(td3=True), PIXELS),
]


@pytest.mark.parametrize("name,make_cfg,env", SMOKE, ids=[s[0] for s in SMOKE])
def test_smoke_run_trains_and_evaluates(name, make_cfg, env):
    runner = srl_tf.Runner(env, make_cfg())
    runner.set_history_on_memory()
    runner.train(max_steps=130 if "pixels" in name else 250, progress=False)
    agent = runner.agent
    assert agent.train_count > 0
    if "pixels" in name:
        assert agent.memory.obs.dtype == np.uint8  # images stay uint8 in replay
    row = runner.get_history().runs[0][1][-1]
    assert "q_loss" in row and all(np.isfinite(v) for v in row.values() if isinstance(v, float)), row
    returns = runner.evaluate(max_episodes=2)
    assert len(returns) == 2 and all(np.isfinite(returns))


# ---- update arithmetic -------------------------------------------------------------------------


def _polyak_pairs(agent):
    if isinstance(agent, sac.Agent):
        return [(agent.q[i], agent.q_target[i]) for i in (0, 1)]
    return [(agent.actor, agent.actor_target)] + list(zip(agent.q, agent.q_target))


@pytest.mark.parametrize(
    "make_cfg", [lambda: tiny_sac(tau=0.1), lambda: tiny_ddpg(td3=True, tau=0.1)], ids=["sac", "td3"]
)
def test_target_networks_follow_polyak_arithmetic(make_cfg):
    agent = agent_with_memory(make_cfg())
    old_targets = [[w.copy() for w in t.get_weights()] for _, t in _polyak_pairs(agent)]
    agent._train(*sample(agent))
    if isinstance(agent, ddpg.Agent):  # policy_delay 2: the first critic step leaves the targets alone
        for (_, target), old in zip(_polyak_pairs(agent), old_targets):
            for w, w_old in zip(target.get_weights(), old):
                np.testing.assert_array_equal(w, w_old)
        agent._train(*sample(agent))
    for (online, target), old in zip(_polyak_pairs(agent), old_targets):
        for w_t, w_o, w_old in zip(target.get_weights(), online.get_weights(), old):
            np.testing.assert_allclose(w_t, 0.9 * w_old + 0.1 * w_o, rtol=1e-5, atol=1e-6)
        assert any(not np.allclose(w_t, w_old) for w_t, w_old in zip(target.get_weights(), old))


def test_tanh_log_prob_matches_tfp_and_the_formula():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(64, 3)).astype(np.float32)
    log_std = rng.uniform(-1.5, 0.0, size=(64, 3)).astype(np.float32)
    dist = tanh_normal(mean, log_std)
    action, log_prob = tanh_normal_sample(dist, seed=tf.constant([1, 2], tf.int32))
    action, log_prob = action.numpy(), log_prob.numpy()
    u = np.arctanh(action.astype(np.float64))
    std = np.exp(log_std.astype(np.float64))
    log_normal = np.sum(-0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi), axis=-1)
    expected = log_normal - np.sum(np.log(1.0 - np.tanh(u) ** 2), axis=-1)
    np.testing.assert_allclose(log_prob, expected, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(log_prob, dist.log_prob(action).numpy(), rtol=1e-3, atol=1e-3)
    assert np.all(np.abs(action) < 1.0)


@pytest.mark.parametrize("direction", ["down", "up"])
def test_temperature_moves_towards_target_entropy(direction):
    cfg = tiny_sac(lr_alpha=1e-2, gradient_steps=20)
    if direction == "down":
        cfg.target_entropy = -5.0  # the fresh policy's entropy (about 0.5) is far above it
    else:
        cfg.target_entropy = 0.0
        cfg.lr_policy = 1e-9  # keep the near-deterministic policy below
    agent = agent_with_memory(cfg)
    if direction == "up":
        kernel, bias = agent.actor.log_std.get_weights()  # std e^-4 everywhere: entropy about −2.6
        agent.actor.log_std.set_weights([np.zeros_like(kernel), np.full_like(bias, -4.0)])
    alpha0 = float(agent.temperature())
    metrics = agent._train(*sample(agent))
    alpha1 = float(agent.temperature())
    if direction == "down":
        assert float(metrics["entropy"]) > cfg.target_entropy and alpha1 < alpha0 * 0.9
    else:
        assert float(metrics["entropy"]) < cfg.target_entropy and alpha1 > alpha0 * 1.1


@pytest.mark.parametrize("make_cfg", [tiny_sac, tiny_ddpg], ids=["sac", "ddpg"])
def test_terminated_cuts_bootstrap_but_truncated_does_not(make_cfg):
    runner = srl_tf.Runner("Pendulum-v1", make_cfg())
    agent, gamma = runner.agent, runner.rl_config.discount
    obs = np.array([[1.0, 0.0, 0.5]], np.float32)
    next_obs = np.array([[0.0, 1.0, -0.5]], np.float32)
    action = np.array([[0.5]], np.float32)
    for terminated in (True, False):
        step = Step(next_obs, np.array([1.0], np.float32), np.array([terminated]), np.array([not terminated]), next_obs)
        agent.observe(step, {"obs": obs, "action": action})
    batch = agent.memory.sample(32, agent.rng)  # both stored transitions, many times
    assert set(np.round(batch.discount, 6)) == {0.0, np.float32(gamma).round(6)}
    reward, next_obs_b = tf.constant(batch.reward), tf.constant(batch.next_obs)

    def target(discount):
        agent.tf_rng.reset_from_seed(7)  # same a' (and smoothing noise) for every call
        return agent.critic_target(reward, next_obs_b, tf.constant(discount, tf.float32)).numpy()

    y = target(batch.discount)
    y_bootstrap = target(np.ones_like(batch.discount))  # r + (soft) value of s'
    ended = batch.discount == 0.0
    np.testing.assert_allclose(y[ended], batch.reward[ended])  # terminated: y = r
    np.testing.assert_allclose(
        y[~ended] - batch.reward[~ended], gamma * (y_bootstrap - batch.reward)[~ended], rtol=1e-5
    )
    assert np.all(y_bootstrap[~ended] != batch.reward[~ended])


@pytest.mark.parametrize("make_cfg", [tiny_sac, lambda: tiny_ddpg(td3=True)], ids=["sac", "td3"])
def test_weights_save_and_load_before_and_after_training(make_cfg, tmp_path):
    obs = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    runner = srl_tf.Runner("Pendulum-v1", make_cfg())
    runner.save_parameter(str(tmp_path / "fresh"))  # every model (SAC's temperature too) is built
    fresh_actions = act(runner.agent, obs)
    runner.train(max_steps=80, progress=False)
    runner.save_parameter(str(tmp_path / "trained"))
    trained_actions = act(runner.agent, obs)
    assert not np.allclose(trained_actions, fresh_actions)  # training moved the policy
    cfg = make_cfg()
    cfg.seed = 1  # other initial weights, so that only loading can make the actions agree
    for name, expected in (("trained", trained_actions), ("fresh", fresh_actions)):
        other = srl_tf.Runner("Pendulum-v1", cfg)
        assert not np.allclose(act(other.agent, obs), expected)
        other.load_parameter(str(tmp_path / name))
        np.testing.assert_allclose(act(other.agent, obs), expected, rtol=1e-5, atol=1e-6)


def test_halfcheetah_trains_and_evaluates():
    gym = pytest.importorskip("gymnasium")
    try:
        gym.make("HalfCheetah-v5").close()
    except Exception as e:  # mujoco missing or without a usable backend
        pytest.skip(f"MuJoCo HalfCheetah-v5 cannot be loaded here: {e}")
    runner = srl_tf.Runner(srl_tf.EnvConfig("HalfCheetah-v5", max_episode_steps=100), tiny_sac())
    runner.train(max_steps=80, progress=False)
    assert runner.agent.train_count > 0 and runner.spec.action_shape == (6,)
    returns = runner.evaluate(max_episodes=1)
    assert len(returns) == 1 and np.isfinite(returns[0])


def test_halfcheetah_gif_is_rendered_from_recorded_states(tmp_path):
    """MuJoCo frames are rendered from the recorded (qpos, qvel) in a child process without
    TensorFlow (headless software rendering next to TensorFlow crashes the process)."""
    import subprocess
    import sys

    probe = ("import os; os.environ.setdefault('MUJOCO_GL', 'egl'); import gymnasium as g; "
             "e = g.make('HalfCheetah-v5', render_mode='rgb_array'); e.reset(); e.render()")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"MuJoCo cannot render HalfCheetah-v5 headless here: {out.stderr[-300:]}")
    runner = srl_tf.Runner("HalfCheetah-v5", tiny_sac())
    episode = runner.rollout(1, render=True, max_steps=5)[0]
    frames = episode.frames
    assert len(frames) == 6 and frames[0].dtype == np.uint8 and frames[0].ndim == 3
    assert all(not np.array_equal(a, b) for a, b in zip(frames, frames[1:]))  # the body moves
    import imageio.v2 as imageio

    path = runner.animation_save_gif(str(tmp_path / "cheetah.gif"), max_steps=5)
    assert len(imageio.mimread(path)) == 6


def test_mujoco_ids_are_found_from_the_registry():
    """The rollout decides how to render before it builds the env: from the id's entry point."""
    from srl_tf.render import is_mujoco_id

    assert is_mujoco_id("HalfCheetah-v5") and is_mujoco_id("Hopper-v5")
    assert not is_mujoco_id("Pendulum-v1") and not is_mujoco_id("CarRacing-v3")
    assert not is_mujoco_id("NoSuchEnv-v0")


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make_cfg,name", [(tiny_sac, "SAC"), (tiny_ddpg, "DDPG")])
def test_discrete_actions_are_an_error(make_cfg, name):
    with pytest.raises(ConfigError, match=f"{name} needs continuous actions"):
        srl_tf.Runner("CartPole-v1", make_cfg()).train(max_steps=10, progress=False)


@pytest.mark.parametrize("make_cfg", [tiny_sac, tiny_ddpg], ids=["sac", "ddpg"])
def test_unbounded_action_space_is_an_error(make_cfg):
    env = srl_tf.EnvConfig(lambda: PixelPointEnv(action_high=np.inf))
    with pytest.raises(ConfigError, match="bounded action space"):
        srl_tf.Runner(env, make_cfg()).train(max_steps=10, progress=False)


def test_positive_target_entropy_is_an_error():
    with pytest.raises(ConfigError, match=r"target_entropy=1\.0 .*<= 0"):
        srl_tf.Runner("Pendulum-v1", tiny_sac(target_entropy=1.0))


@pytest.mark.parametrize("make_cfg", [tiny_sac, tiny_ddpg], ids=["sac", "ddpg"])
@pytest.mark.parametrize("tau", [0.0, 1.5])
def test_tau_outside_unit_interval_is_an_error(make_cfg, tau):
    with pytest.raises(ConfigError, match=rf"tau={tau}.*\(0\.0, 1\.0\]"):
        srl_tf.Runner("Pendulum-v1", make_cfg(tau=tau))


@pytest.mark.parametrize("make_cfg", [tiny_sac, tiny_ddpg], ids=["sac", "ddpg"])
def test_warmup_below_batch_size_is_an_error(make_cfg):
    cfg = make_cfg()
    cfg.memory.warmup_size = 10
    with pytest.raises(ConfigError, match="warmup_size=10.*batch_size=16"):
        srl_tf.Runner("Pendulum-v1", cfg)


def test_unknown_noise_kind_is_an_error():
    with pytest.raises(ConfigError, match="exploration_noise='pink'"):
        srl_tf.Runner("Pendulum-v1", tiny_ddpg(exploration_noise="pink"))
