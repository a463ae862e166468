"""Every algorithm through the Runner: smoke runs, learning a tiny env, determinism, no retrace
when the batch size changes, and the configuration mistakes users make."""

import numpy as np
import pytest
from contract import act
from toy_envs import IdentityEnv, ImageIdentityEnv

import srl_tf
from srl_tf.algorithms import actor_critic, dqn, reinforce, sac
from srl_tf.errors import ConfigError, EnvError


def tiny_dqn(**kw):
    cfg = dqn.Config(seed=0, batch_size=16, **kw)
    cfg.memory.capacity = 2_000
    cfg.memory.warmup_size = 50
    cfg.hidden_block.set_mlp((16,))
    cfg.epsilon.set_linear(1.0, 0.05, 500)
    return cfg


def tiny_pg(module, **kw):
    cfg = module.Config(seed=0, **kw)
    cfg.hidden_block.set_mlp((16,))
    if hasattr(cfg, "value_block"):
        cfg.value_block.set_mlp((16,))
    return cfg


SMOKE = [
    ("dqn", lambda: tiny_dqn(), "CartPole-v1"),
    ("dqn_dueling_nstep", lambda: tiny_dqn(enable_dueling_network=True, multisteps=3, enable_double_dqn=False), "CartPole-v1"),
    ("dqn_split_pendulum", lambda: tiny_dqn(action_division_num=5), "Pendulum-v1"),
    ("reinforce", lambda: tiny_pg(reinforce), "CartPole-v1"),
    ("reinforce_baseline_pendulum", lambda: tiny_pg(reinforce, enable_baseline=True), "Pendulum-v1"),
    ("actor_critic", lambda: tiny_pg(actor_critic), "CartPole-v1"),
    ("actor_critic_pendulum", lambda: tiny_pg(actor_critic), "Pendulum-v1"),
]


@pytest.mark.parametrize("name,make_cfg,env", SMOKE, ids=[s[0] for s in SMOKE])
def test_smoke_run_trains_and_evaluates(name, make_cfg, env):
    runner = srl_tf.Runner(env, make_cfg())
    runner.set_history_on_memory()
    runner.train(max_steps=400, progress=False)
    assert runner.step >= 400
    assert runner.agent.train_count > 0
    rows = runner.get_history().runs[0][1]
    assert rows and all(np.isfinite(v) for k, v in rows[-1].items() if isinstance(v, float))
    returns = runner.evaluate(max_episodes=2)
    assert len(returns) == 2 and all(np.isfinite(returns))


def test_parallel_envs_train():
    env = srl_tf.EnvConfig("CartPole-v1", num_envs=3)
    for cfg in (tiny_dqn(), tiny_pg(reinforce), tiny_pg(actor_critic)):
        runner = srl_tf.Runner(env, cfg)
        runner.train(max_steps=300, progress=False)
        assert runner.step >= 300 and runner.agent.train_count > 0


def test_dqn_learns_identity_env():
    cfg = tiny_dqn(lr=3e-3)
    cfg.epsilon.set_linear(1.0, 0.02, 1000)
    cfg.target_model_update_interval = 100
    runner = srl_tf.Runner(srl_tf.EnvConfig(lambda: IdentityEnv(3, 10)), cfg)
    runner.train(max_steps=2_500, progress=False)
    returns = runner.evaluate(max_episodes=10)
    assert np.mean(returns) >= 9.0, returns  # random play scores ~3.3


def test_dqn_on_images():
    cfg = tiny_dqn()
    cfg.image_block.set_cnn("small")
    runner = srl_tf.Runner(srl_tf.EnvConfig(lambda: ImageIdentityEnv(3, 10)), cfg)
    runner.train(max_steps=200, progress=False)
    assert runner.agent.memory.obs.dtype == np.uint8
    assert runner.agent.train_count > 0


def test_reinforce_with_baseline_learns_identity_env():
    cfg = tiny_pg(reinforce, enable_baseline=True, lr=1e-2)
    runner = srl_tf.Runner(srl_tf.EnvConfig(lambda: IdentityEnv(2, 10)), cfg)
    runner.train(max_episodes=150, progress=False)
    assert np.mean(runner.evaluate(max_episodes=10)) >= 9.0  # random play scores ~5


def test_two_runs_with_one_seed_match():
    def run():
        runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
        runner.set_history_on_memory(interval=100)
        runner.train(max_steps=400, progress=False)
        return runner.get_history().runs[0][1], runner.agent.q.get_weights()

    (rows_a, w_a), (rows_b, w_b) = run(), run()
    assert rows_a and [r.get("reward0") for r in rows_a] == [r.get("reward0") for r in rows_b]
    assert [r.get("loss") for r in rows_a] == [r.get("loss") for r in rows_b]
    for a, b in zip(w_a, w_b):
        np.testing.assert_array_equal(a, b)


def _tiny_sac():
    cfg = sac.Config(seed=0, batch_size=16)
    cfg.memory.capacity, cfg.memory.warmup_size = 2_000, 50
    cfg.policy_hidden_block.set_mlp((16,))
    cfg.q_hidden_block.set_mlp((16,))
    return cfg


EVAL_IN_BETWEEN = [
    ("dqn", lambda: tiny_dqn(), "CartPole-v1"),
    ("reinforce", lambda: tiny_pg(reinforce), "CartPole-v1"),
    ("actor_critic_pendulum", lambda: tiny_pg(actor_critic), "Pendulum-v1"),
    ("sac", _tiny_sac, "Pendulum-v1"),
]


@pytest.mark.parametrize("name,make_cfg,env", EVAL_IN_BETWEEN, ids=[e[0] for e in EVAL_IN_BETWEEN])
def test_evaluating_during_training_leaves_the_run_unchanged(name, make_cfg, env):
    """Deterministic evaluation draws no random numbers: a run with evaluations in between ends
    with the same weights as the same run without them."""

    def run(enable_eval):
        runner = srl_tf.Runner(env, make_cfg())
        runner.set_history_on_memory(enable_eval=enable_eval, eval_episode=2, interval=100, eval_interval=100)
        runner.train(max_steps=300, progress=False)
        rows = runner.get_history().runs[0][1]
        assert any("eval_reward0" in r for r in rows) == enable_eval
        return [w for model in runner.agent.models().values() for w in model.get_weights()]

    with_eval, without = run(True), run(False)
    for a, b in zip(with_eval, without):
        np.testing.assert_array_equal(a, b)


def test_no_retrace_when_evaluation_changes_the_batch_size():
    """The one place a retrace could happen: the compiled policy acts on batches of 1 in training
    and of 3 in evaluation. (Every compiled step has an input_signature with a free batch axis;
    checking trace counts elsewhere would add nothing.)"""
    cfg = tiny_dqn(gradient_steps=4, train_interval=4, numpy_policy=False)
    runner = srl_tf.Runner("CartPole-v1", cfg)
    runner.train(max_steps=300, progress=False)
    first = dict(runner.agent.trace_counts)
    runner.train(max_steps=300, progress=False)
    runner.evaluate(max_episodes=3)  # another batch size
    assert runner.agent.trace_counts == first == {"policy": 1, "train": 1}


# ---- bad input -------------------------------------------------------------------------------


def test_dqn_on_continuous_actions_with_splitting_switched_off_is_an_error():
    with pytest.raises(ConfigError, match="action_division_num"):
        srl_tf.Runner("Pendulum-v1", tiny_dqn(action_division_num=0)).train(max_steps=10, progress=False)


@pytest.mark.parametrize("value", [0, -4])
def test_nonpositive_batch_size_is_an_error(value):
    with pytest.raises(ConfigError, match=f"batch_size={value}"):
        srl_tf.Runner("CartPole-v1", dqn.Config(batch_size=value))


def test_warmup_larger_than_capacity_is_an_error():
    cfg = dqn.Config()
    cfg.memory.capacity, cfg.memory.warmup_size = 100, 500
    with pytest.raises(ConfigError, match="warmup_size=500"):
        srl_tf.Runner("CartPole-v1", cfg)


def test_train_without_stop_condition_is_an_error():
    with pytest.raises(ConfigError, match="stop condition"):
        srl_tf.Runner("CartPole-v1", tiny_dqn()).train()


def test_unknown_env_id_is_an_error():
    with pytest.raises(EnvError, match="CartPol-v1"):
        srl_tf.Runner("CartPol-v1", tiny_dqn()).train(max_steps=10)


def test_image_smaller_than_cnn_is_an_error():
    cfg = tiny_dqn()  # default 'dqn' CNN needs 36x36
    env = srl_tf.EnvConfig(lambda: ImageIdentityEnv(), image_resize=(20, 20))
    with pytest.raises(ConfigError, match="image_resize"):
        srl_tf.Runner(env, cfg).train(max_steps=10)


@pytest.mark.parametrize("dueling", [False, True])
def test_dqn_numpy_acting_matches_the_compiled_policy(dueling):
    cfg = tiny_dqn(enable_dueling_network=dueling)
    cfg.hidden_block.set_mlp((32, 32), activation="tanh")
    runner = srl_tf.Runner("CartPole-v1", cfg)
    runner.train(max_steps=300, progress=False)  # weights have moved since the first snapshot
    agent = runner.agent
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_allclose(agent._numpy_q(obs), agent.q(obs).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(act(agent, obs), agent._greedy(obs).numpy())


def test_dqn_evaluation_does_not_change_the_training_run():
    def run(evaluate_between: bool):
        runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
        runner.train(max_steps=300, progress=False)
        if evaluate_between:
            runner.evaluate(max_episodes=2)
        runner.train(max_steps=300, progress=False)
        return runner.agent.q.get_weights()

    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)
