"""PPO: GAE and loss arithmetic, rollout / sequence assembly, recurrent state resets, smoke runs
through the Runner (discrete, continuous, recurrent), and configuration mistakes."""

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf
from contract import act
from toy_envs import EpisodeRecorder

import srl_tf
from srl_tf.algorithms import ppo
from srl_tf.envs.wrappers import MaskVelocity
from srl_tf.errors import ConfigError
from srl_tf.functions import discounted_returns, gae
from srl_tf.memory.rollout import RolloutBuffer


def tiny(**kw):
    cfg = ppo.Config(**{"seed": 0, "batch_size": 32, "epochs": 2, **kw})
    cfg.memory.capacity = 128
    cfg.policy_block.set_mlp((16,), activation="tanh")
    cfg.value_block.set_mlp((16,), activation="tanh")
    return cfg


def masked_cartpole():
    return MaskVelocity(gym.make("CartPole-v1"))


# ---- arithmetic ---------------------------------------------------------------------------------


def test_gae_truncation_bootstraps_termination_does_not():
    r = np.ones(3, np.float32)
    v = np.array([0.5, 0.6, 0.7], np.float32)
    next_v = np.array([0.6, 2.0, 0.9], np.float32)  # next_v[1] = V(final obs) of the episode ending at t=1
    ended = np.array([0, 1, 0], bool)
    g, lam = 0.9, 0.8
    # truncated at t=1: δ1 = 1 + 0.9·2.0 − 0.6 = 2.2, and A0 = δ0 + γλ·A1 (no look past the end)
    adv, ret = gae(r, v, next_v, np.zeros(3, bool), ended, g, lam)
    np.testing.assert_allclose(adv, [1.04 + 0.72 * 2.2, 2.2, 1.11], rtol=1e-5)
    np.testing.assert_allclose(ret, adv + v, rtol=1e-6)
    # terminated at t=1: no bootstrap, δ1 = 1 − 0.6
    adv, _ = gae(r, v, next_v, ended, ended, g, lam)
    np.testing.assert_allclose(adv, [1.04 + 0.72 * 0.4, 0.4, 1.11], rtol=1e-5)
    # batched over envs: (T, N) gives each column its own recursion
    adv2, _ = gae(np.stack([r, r], 1), np.stack([v, v], 1), np.stack([next_v, next_v], 1),
                  np.stack([ended, ended], 1), np.stack([ended, ended], 1), g, lam)
    np.testing.assert_allclose(adv2[:, 1], adv, rtol=1e-6)


def test_discounted_returns_by_hand_with_a_bootstrap():
    # G_2 = 3 + 0.5·4 = 5, G_1 = 2 + 0.5·5 = 4.5, G_0 = 1 + 0.5·4.5 = 3.25
    out = discounted_returns(np.array([1.0, 2.0, 3.0]), 0.5, bootstrap=4.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [3.25, 4.5, 5.0], rtol=1e-7)
    np.testing.assert_allclose(discounted_returns(np.array([1.0, 2.0]), 0.5), [2.0, 2.0], rtol=1e-7)
    assert discounted_returns(np.zeros(0), 0.9).shape == (0,)


def test_clipped_surrogate_and_value_clip():
    ratio = np.array([1.5, 0.5, 0.5, 1.1], np.float32)
    adv = np.array([1.0, -1.0, 1.0, 1.0], np.float32)
    logp = tf.math.log(ratio)
    loss, r = ppo.clipped_surrogate_loss(logp, tf.zeros(4), adv, 0.2)
    # clipped for 1.5·(+1) → 1.2 and 0.5·(−1) → −0.8; pessimistic unclipped 0.5 and in-range 1.1
    np.testing.assert_allclose(loss.numpy(), -np.mean([1.2, -0.8, 0.5, 1.1]), rtol=1e-5)
    np.testing.assert_allclose(r.numpy(), ratio, rtol=1e-5)
    v = ppo.value_loss(tf.constant([2.0]), tf.constant([0.0]), tf.constant([2.0]), clip=0.5)
    assert v.numpy() == pytest.approx(0.5 * 1.5**2)  # clipped value 0.5 is 1.5 from the return
    assert ppo.value_loss(tf.constant([2.0]), tf.constant([0.0]), tf.constant([2.0])).numpy() == 0.0


# ---- storage ------------------------------------------------------------------------------------


def test_rollout_sequences_are_contiguous_per_env_and_start_from_stored_state():
    rb = RolloutBuffer(4, 2, (1,), np.float32, (), np.int32, state_size=1)
    for t in range(4):
        trunc = np.array([t == 1, False])
        rb.add(np.array([[10 * t], [10 * t + 1]], np.float32), np.array([t, t]), np.ones(2), np.zeros(2, bool), trunc,
               np.array([[-1.0], [-2.0]], np.float32), np.array([[100 * t], [100 * t + 1]], np.float32), np.array([t == 2, 0]))
    assert rb.full and rb.final_obs[0][:2] == (1, 0) and rb.final_obs[0][2][0] == -1.0
    s = rb.sequences(2, extra=np.arange(8).reshape(4, 2))
    assert s["obs"].shape == (4, 2, 1) and s["state"].shape == (4, 1)
    np.testing.assert_array_equal(s["obs"][..., 0], [[0, 10], [20, 30], [1, 11], [21, 31]])
    np.testing.assert_array_equal(s["state"][:, 0], [0, 200, 1, 201])
    np.testing.assert_array_equal(s["is_first"], [[0, 0], [1, 0], [0, 0], [0, 0]])
    np.testing.assert_array_equal(s["extra"], [[0, 2], [4, 6], [1, 3], [5, 7]])


def filled_rollout(steps=4, num_envs=3, state_size=2):
    """A rollout whose every stored number says where it came from: obs 10·t + i, action t + i,
    reward t − i, state (100·t + i, −(100·t + i)), env 1 truncated at t = 1 (final obs −1) and
    env 2 terminated at t = 2."""
    rb = RolloutBuffer(steps, num_envs, (1,), np.float32, (), np.int32, state_size=state_size)
    e = np.arange(num_envs)
    for t in range(steps):
        term, trunc = (t == 2) & (e == 2), (t == 1) & (e == 1)
        code = (100 * t + e).astype(np.float32)
        rb.add((10 * t + e)[:, None].astype(np.float32), t + e, (t - e).astype(np.float32), term, trunc,
               -np.ones((num_envs, 1), np.float32), np.stack([code, -code], 1)[:, :state_size], (t == 0) | term)
    return rb


def test_rollout_sequences_keep_actions_and_the_state_of_each_sequence_start():
    rb = filled_rollout()
    s = rb.sequences(2)
    assert sorted(s) == ["action", "is_first", "obs", "state"]
    # sequence i·2 + k is env i's steps 2k, 2k + 1
    np.testing.assert_array_equal(s["action"], [[0, 1], [2, 3], [1, 2], [3, 4], [2, 3], [4, 5]])
    np.testing.assert_array_equal(s["state"], [[0, 0], [200, -200], [1, -1], [201, -201], [2, -2], [202, -202]])
    np.testing.assert_array_equal(s["is_first"], [[1, 0], [0, 0], [1, 0], [0, 0], [1, 0], [1, 0]])
    with pytest.raises(ValueError, match="rollout of 4 steps is not divisible into sequences of 3"):
        rb.sequences(3)


def test_rollout_stores_each_field_with_its_dtype_and_value():
    rb = filled_rollout()
    assert rb.obs.dtype == np.float32 and rb.action.dtype == np.int32 and rb.state.dtype == np.float32
    np.testing.assert_array_equal(rb.reward[:, 2], [-2, -1, 0, 1])
    np.testing.assert_array_equal(rb.truncated[1], [False, True, False])
    np.testing.assert_array_equal(rb.terminated[2], [False, False, True])
    assert RolloutBuffer(2, 1, (2, 2), np.uint8, (), np.int32).obs.dtype == np.uint8
    assert RolloutBuffer(2, 1, (1,), np.float32, (), np.int32).state.shape == (2, 1, 0)  # no state by default


def test_rollout_reset_starts_writing_at_the_first_step_again():
    rb = filled_rollout()
    assert rb.full and len(rb.final_obs) == 1
    with pytest.raises(RuntimeError, match="full"):
        rb.add(np.zeros((3, 1)), np.zeros(3), np.zeros(3), np.zeros(3, bool), np.zeros(3, bool), np.zeros((3, 1)))
    rb.reset()
    assert not rb.full and rb.final_obs == []
    rb.add(np.full((3, 1), 7.0), np.zeros(3), np.zeros(3), np.zeros(3, bool), np.zeros(3, bool), np.zeros((3, 1)))
    assert rb.pos == 1 and rb.obs[0, :, 0].tolist() == [7.0, 7.0, 7.0] and rb.obs[1, 0, 0] == 10.0


def test_rollout_interrupt_cuts_only_the_given_running_streams():
    rb = RolloutBuffer(4, 3, (1,), np.float32, (), np.int32)
    rb.interrupt_episodes(np.zeros((3, 1)))  # nothing stored yet: nothing to cut
    assert rb.final_obs == []
    rb.add(np.zeros((3, 1)), np.zeros(3), np.zeros(3), np.zeros(3, bool), np.zeros(3, bool), np.zeros((3, 1)))
    rb.interrupt_episodes(np.array([[5.0], [6.0], [7.0]]), streams=[2])
    assert rb.truncated[0].tolist() == [False, False, True] and rb.terminated[0].tolist() == [False] * 3
    assert [(t, i, o.tolist()) for t, i, o in rb.final_obs] == [(0, 2, [7.0])]
    rb.interrupt_episodes(np.array([[5.0], [6.0], [7.0]]))  # all streams; stream 2 has ended already
    assert rb.truncated[0].tolist() == [True, True, True]
    assert [(t, i, o.tolist()) for t, i, o in rb.final_obs] == [(0, 2, [7.0]), (0, 0, [5.0]), (0, 1, [6.0])]


def test_rollout_state_arrays_round_trip():
    rb = filled_rollout()
    rb.reset()
    for _ in range(3):  # a part-filled rollout with one truncation in it
        rb.add(np.ones((3, 1)), np.ones(3), np.ones(3), np.zeros(3, bool), np.array([False, True, False]),
               np.full((3, 1), 9.0), np.ones((3, 2)), np.zeros(3))
    arrays = {}
    rb.state_arrays("m", arrays)
    copy = RolloutBuffer(4, 3, (1,), np.float32, (), np.int32, state_size=2)
    copy.load_state_arrays("m", arrays)
    for name in RolloutBuffer._STATE:
        np.testing.assert_array_equal(getattr(copy, name), getattr(rb, name), err_msg=name)
    assert copy.pos == 3 and isinstance(copy.pos, int)
    assert [(t, i, o.tolist()) for t, i, o in copy.final_obs] == [(t, 1, [9.0]) for t in range(3)]
    empty = {}
    RolloutBuffer(4, 3, (1,), np.float32, (), np.int32, state_size=2).state_arrays("m", empty)
    copy.load_state_arrays("m", empty)  # a checkpoint without truncations clears them
    assert copy.final_obs == [] and copy.pos == 0


def recurrent_agent(num_envs=2, shared=True):
    cfg = tiny().set_recurrent(gru_units=8, sequence_length=4, shared=shared)
    runner = srl_tf.Runner(srl_tf.EnvConfig(masked_cartpole, num_envs=num_envs), cfg)
    return runner.agent


@pytest.mark.parametrize("shared", [True, False], ids=["shared_gru", "separate_value_gru"])
def test_recurrent_state_resets_where_an_episode_begins(shared):
    agent = recurrent_agent(shared=shared)
    width = 8 if shared else 16  # a value GRU of its own carries its state beside the policy's
    rng = np.random.default_rng(0)
    obs = [rng.normal(size=(2, 2)).astype(np.float32) for _ in range(4)]
    state = {**agent.initial_carry(2), "is_first": np.zeros(2, bool)}
    for o in obs[:3]:
        _, state, _ = agent.act(o, state)
    assert np.abs(state["h"]).min() > 0
    _, state, _ = agent.act(obs[3], {**state, "is_first": np.array([True, False])})
    _, fresh, _ = agent.act(obs[3], agent.initial_carry(2))
    np.testing.assert_allclose(state["h"][0], fresh["h"][0], atol=1e-6)  # env 0 started over
    assert not np.allclose(state["h"][1], fresh["h"][1])  # env 1 kept its memory
    # training's sequence pass with the same resets reproduces step-wise acting
    first = np.array([[1, 0], [0, 0], [0, 0], [1, 0]], np.float32)  # (time, env)
    h = agent.initial_carry(2)["h"]
    values = []
    for t in range(4):
        _, v, h = agent.net.step(obs[t], h, first[t])
        h = h.numpy()
        values.append(v.numpy())
    _, v_seq = agent.net.sequence(np.stack(obs, 1), np.zeros((2, width), np.float32), first.T)
    np.testing.assert_allclose(v_seq.numpy().reshape(2, 4), np.stack(values, 1), atol=1e-5)
    assert state["h"].shape == (2, width)


def test_separate_value_gru_keeps_value_gradients_off_the_policy():
    def grads_of_value(shared):
        cfg = tiny().set_recurrent(gru_units=8, sequence_length=4, shared=shared)
        net = srl_tf.Runner(srl_tf.EnvConfig(masked_cartpole), cfg).agent.net
        obs = np.random.default_rng(0).normal(size=(3, 4, 2)).astype(np.float32)
        with tf.GradientTape() as tape:
            _, value = net.sequence(obs, np.zeros((3, net.state_size), np.float32), np.zeros((3, 4), np.float32))
            loss = tf.reduce_sum(value**2)
        return dict(zip([v.path for v in net.trainable_variables], tape.gradient(loss, net.trainable_variables)))

    separate = grads_of_value(shared=False)
    policy_gru = [g for k, g in separate.items() if k.startswith("gru/")]
    value_gru = [g for k, g in separate.items() if k.startswith("value_gru/")]
    assert policy_gru and value_gru
    assert all(g is None or float(tf.reduce_max(tf.abs(g))) == 0 for g in policy_gru)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in value_gru)
    shared = grads_of_value(shared=True)  # the shared GRU does receive the value's gradient
    assert any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for k, g in shared.items() if k.startswith("gru/"))


def test_recurrent_agent_layout_round_trip():
    agent = recurrent_agent()
    x = np.arange(agent.steps * 2, dtype=np.float32).reshape(agent.steps, 2)
    items = agent._to_items(x)
    assert items.shape == (2 * agent.steps // 4, 4)
    np.testing.assert_array_equal(items[0], x[:4, 0])
    np.testing.assert_array_equal(agent._from_items(items.reshape(-1)), x)


# ---- runs through the Runner ----------------------------------------------------------------------


def continuous_cfg():
    cfg = tiny(enable_obs_normalization=True, enable_reward_normalization=True, enable_value_clip=True, entropy_coef=0.01)
    cfg.hidden_block.set_mlp((16,))
    cfg.lr.set_linear(1e-3, 1e-4, 100)
    cfg.clip_range.set_linear(0.2, 0.1, 100)
    return cfg


RUNS = [
    ("discrete_2envs", tiny, srl_tf.EnvConfig("CartPole-v1", num_envs=2)),
    ("continuous_normalized", continuous_cfg, srl_tf.EnvConfig("Pendulum-v1", num_envs=2)),
    ("recurrent_masked", lambda: tiny().set_recurrent(gru_units=8, sequence_length=8),
     srl_tf.EnvConfig(masked_cartpole, num_envs=2)),
    ("recurrent_separate_value_gru", lambda: tiny().set_recurrent(gru_units=8, sequence_length=8, shared=False),
     srl_tf.EnvConfig(masked_cartpole, num_envs=2)),
]


@pytest.mark.parametrize("name,make_cfg,env", RUNS, ids=[r[0] for r in RUNS])
def test_runs_trains_and_evaluates(name, make_cfg, env, tmp_path):
    runner = srl_tf.Runner(env, make_cfg())
    runner.set_history_on_memory()
    runner.train(max_steps=300, progress=False)
    runner.train(max_steps=300, progress=False)
    agent = runner.agent
    assert runner.step >= 600 and agent.train_count == 4 * 2 * 4  # 4 rollouts × 2 epochs × 4 minibatches
    # the compiled policy step is traced only where acting cannot go through the numpy copy
    expected = {"value", "evaluate", "train"} | ({"policy"} if agent._numpy_policy is None else set())
    assert set(agent.trace_counts) == expected
    row = runner.get_history().runs[0][1][-1]
    assert np.isfinite(row["policy_loss"]) and np.isfinite(row["approx_kl"])
    returns = runner.evaluate(max_episodes=2)
    assert len(returns) == 2 and all(np.isfinite(returns))
    if agent.net.obs_norm is not None:  # running statistics are weights: they round-trip through files
        mean = agent.net.obs_norm.mean.numpy().copy()
        assert agent.net.obs_norm.count.numpy() > 0 and agent.net.reward_norm.count.numpy() > 0
        agent.save_weights(str(tmp_path))
        agent.net.obs_norm.mean.assign(np.zeros_like(mean))
        agent.load_weights(str(tmp_path))
        np.testing.assert_array_equal(agent.net.obs_norm.mean.numpy(), mean)


def test_mask_velocity_keeps_position_and_angle():
    env = masked_cartpole()
    obs, _ = env.reset(seed=0)
    full = env.unwrapped.state
    assert env.observation_space.shape == (2,)
    np.testing.assert_allclose(obs, np.asarray(full)[[0, 2]], rtol=1e-6)


def test_nan_rewards_raise_a_clear_error():
    env = srl_tf.EnvConfig(lambda: gym.wrappers.TransformReward(gym.make("CartPole-v1"), lambda r: float("nan")))
    runner = srl_tf.Runner(env, tiny())
    with pytest.raises(FloatingPointError, match="non-finite rewards"):
        runner.train(max_steps=200, progress=False)


# ---- configuration mistakes ------------------------------------------------------------------------


def test_config_errors_name_the_numbers():
    cfg = tiny()
    cfg.memory.capacity = 100
    cfg.batch_size = 128
    with pytest.raises(ConfigError, match=r"batch_size=128.*rollout of 100.*memory.capacity=100"):
        cfg.validate()
    with pytest.raises(ConfigError, match=r"rollout of 128.*capacity=128.*num_envs=3"):
        _ = srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", num_envs=3), tiny()).agent
    cfg = tiny()
    cfg.memory.warmup_size = 256
    with pytest.raises(ConfigError, match="warmup_size=256.*capacity=128"):
        cfg.validate()
    with pytest.raises(ConfigError, match="Did you mean 'gae_lambda'"):
        ppo.Config(gae_lamda=0.9)


def test_recurrent_config_errors():
    cfg = tiny().set_recurrent(gru_units=8, sequence_length=5)
    assert cfg.enable_recurrent and cfg.gru_units == 8
    with pytest.raises(ConfigError, match=r"batch_size=32.*sequence_length=5"):
        cfg.validate()
    cfg = tiny().set_recurrent(sequence_length=32)
    with pytest.raises(ConfigError, match=r"rollout of 16 steps.*sequence_length=32"):
        _ = srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", num_envs=8), cfg).agent
    with pytest.raises(ConfigError, match="gru_units"):
        tiny().set_recurrent(gru_units=0).validate()


# ---- RL² ------------------------------------------------------------------------------------------


def test_meta_trial_keeps_one_task_for_a_trial_and_marks_inner_episode_ends():
    from srl_tf.envs.meta import bandit_trial_env

    env = bandit_trial_env(arms=3, pulls=4)
    obs, _ = env.reset(seed=0)
    probs = env.unwrapped.probs.copy()
    np.testing.assert_array_equal(obs, np.zeros(1 + 3 + 2))
    for t in range(4):
        obs, reward, terminated, truncated, _ = env.step(2)
        np.testing.assert_array_equal(obs[1:4], [0, 0, 1])  # previous action, one-hot
        assert obs[4] == reward and obs[5] == 1.0  # previous reward, done flag of the inner episode
        assert terminated == (t == 3) and not truncated  # only the trial's end ends the outer episode
        np.testing.assert_array_equal(env.unwrapped.probs, probs)
    env.reset()
    assert not np.allclose(env.unwrapped.probs, probs)  # a new task per trial


def test_rl2_bandits_smoke():
    from srl_tf.envs.meta import bandit_trial_env

    cfg = tiny(batch_size=40).set_rl2(trial_steps=10, gru_units=8)
    cfg.memory.capacity = 160
    counted = []
    env = srl_tf.EnvConfig(lambda: EpisodeRecorder(bandit_trial_env(5, 10), counted), num_envs=2)
    runner = srl_tf.Runner(env, cfg)
    runner.train(max_steps=320, progress=False)
    assert runner.agent.train_count == 2 * 2 * 4 and runner.episode == 32
    counted.clear()
    returns = runner.evaluate(max_episodes=4)
    assert returns == counted  # each trial's successes, as the bandits paid them


@pytest.mark.parametrize("env_id,obs_norm", [("CartPole-v1", False), ("Pendulum-v1", True)])
def test_numpy_acting_matches_the_compiled_policy(env_id, obs_norm):
    cfg = ppo.Config(seed=0, batch_size=32, enable_obs_normalization=obs_norm)
    cfg.memory.capacity = 128
    cfg.policy_block.set_mlp((16,))
    cfg.value_block.set_mlp((16,))
    runner = srl_tf.Runner(env_id, cfg)
    runner.train(max_steps=300, progress=False)  # two updates: weights and statistics have moved
    agent = runner.agent
    assert agent._numpy_policy is not None
    obs = np.random.default_rng(1).normal(size=(32,) + agent.spec.obs_shape).astype(np.float32)
    numpy_policy = agent._numpy_policy
    expected = agent.net.policy_params(agent.net.encode(obs)).numpy()
    np.testing.assert_allclose(numpy_policy(obs), expected, rtol=1e-4, atol=1e-5)
    _, mode = agent._policy_step(obs)
    if agent.spec.discrete:
        np.testing.assert_array_equal(act(agent, obs), mode.numpy())
