"""Runner and EnvConfig options each checked by its effect: train(timeout=), evaluate(explore=True),
async vectorisation, EnvConfig.kwargs, max_grad_norm, the on_log callback and loading weights
from a folder without its srl_tf.json."""

import json
import os
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

import srl_tf.runner as runner_module
from srl_tf import Callback, EnvConfig, Runner
from srl_tf.algorithms import actor_critic, dqn
from srl_tf.envs import VecEnvAdapter, make_env


def tiny_dqn(seed=0, **kwargs):
    cfg = dqn.Config(seed=seed, batch_size=16, **kwargs)
    cfg.memory.capacity, cfg.memory.warmup_size = 1000, 50
    cfg.hidden_block.set_mlp((16,))
    return cfg


def test_train_stops_at_the_timeout(monkeypatch):
    """A fake clock that advances 0.1 s whenever the Runner reads it: train(timeout=) stops after a
    number of steps set by the timeout alone (no wall-clock assertion)."""

    def steps_until(timeout):
        ticks = iter(range(10**9))
        monkeypatch.setattr(runner_module, "time", SimpleNamespace(time=lambda: 0.1 * next(ticks)))
        runner = Runner("CartPole-v1", tiny_dqn())
        runner.train(timeout=timeout, max_steps=5_000, progress=False)
        return runner.step

    short, long = steps_until(3.0), steps_until(6.0)
    assert 0 < short < long < 5_000  # the timeout, not max_steps, ended both runs
    assert long == pytest.approx(2 * short, rel=0.1)


def test_evaluate_with_explore_uses_the_exploring_policy():
    runner = Runner("CartPole-v1", tiny_dqn())  # untrained: the greedy policy pushes one way and falls quickly
    greedy = runner.evaluate(max_episodes=8)
    exploring = runner.evaluate(max_episodes=8, explore=True)  # ε = 1 before any training: random actions
    assert runner.evaluate(max_episodes=8) == greedy
    assert exploring != greedy and np.mean(exploring) > np.mean(greedy)


def test_async_vectorisation_runs_envs_in_subprocesses_and_matches_sync():
    def run(vectorization):
        runner = Runner(EnvConfig("CartPole-v1", num_envs=2, vectorization=vectorization), tiny_dqn())
        runner.set_history_on_memory(interval=40)
        runner.train(max_steps=200, progress=False)
        kind = type(runner._env.env)
        rows = [{k: v for k, v in r.items() if k != "time"} for r in runner.get_history().runs[0][1]]
        weights = runner.agent.q.get_weights()
        runner._env.close()
        return kind, rows, weights

    kind_async, rows_async, w_async = run("async")
    kind_sync, rows_sync, w_sync = run("sync")
    assert kind_async is gym.vector.AsyncVectorEnv and kind_sync is gym.vector.SyncVectorEnv
    assert rows_async == rows_sync
    for a, b in zip(w_async, w_sync):
        np.testing.assert_array_equal(a, b)


def test_env_config_kwargs_reach_the_env():
    cfg = EnvConfig("Pendulum-v1", kwargs={"g": 3.5})
    assert make_env(cfg).unwrapped.g == 3.5
    vec = VecEnvAdapter(cfg, num_envs=2)
    assert vec.env.get_attr("g") == (3.5, 3.5)
    vec.close()
    # and to a callable
    seen = []
    make_env(EnvConfig(lambda **kw: seen.append(kw) or gym.make("CartPole-v1"), kwargs={"length": 7}))
    assert seen == [{"length": 7}]


@pytest.mark.parametrize("max_grad_norm", [1e-3, 0.0], ids=["clipped", "unclipped"])
def test_max_grad_norm_bounds_each_update(max_grad_norm):
    """With plain SGD a step moves the weights by lr·‖g‖, so clipping the global norm to c caps
    the move at lr·c."""
    lr = 0.1
    cfg = actor_critic.Config(seed=0, optimizer="sgd", lr=lr, lr_value=lr, max_grad_norm=max_grad_norm)
    cfg.hidden_block.set_mlp((16,))
    cfg.value_block.set_mlp((16,))
    runner = Runner("CartPole-v1", cfg)
    before = {name: [w.copy() for w in m.get_weights()] for name, m in runner.agent.models().items()}
    runner.train(max_steps=1, progress=False)  # one update of each network
    for name, model in runner.agent.models().items():
        moved = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(model.get_weights(), before[name])))
        if max_grad_norm:
            assert 0 < moved <= lr * max_grad_norm * (1 + 1e-4), (name, moved)
        else:
            assert moved > 10 * lr * 1e-3, (name, moved)  # the same step unclipped is far larger


class LogRecorder(Callback):
    def __init__(self):
        self.rows = []

    def on_log(self, runner, row):
        self.rows.append(dict(row))


def test_on_log_receives_every_history_row_with_evaluations():
    runner = Runner(EnvConfig("CartPole-v1", max_episode_steps=50), tiny_dqn())
    runner.set_history_on_memory(enable_eval=True, eval_episode=2, interval=50, eval_interval=100)
    recorder = LogRecorder()
    runner.train(max_steps=230, callbacks=[recorder], progress=False)
    rows = runner.get_history().runs[0][1]
    assert recorder.rows == rows
    assert [r["step"] for r in rows] == [50, 100, 150, 200, 230]  # the final, partial interval too
    assert [r["step"] for r in rows if "eval_reward0" in r] == [100, 200, 230]
    assert "loss" in rows[-1]
    runner.train(max_steps=10, progress=False)  # without history: no rows, no calls
    assert len(recorder.rows) == 5


def test_load_parameter_without_metadata_loads_weights_and_keeps_the_step(tmp_path):
    trained = Runner("CartPole-v1", tiny_dqn())
    trained.train(max_steps=120, progress=False)
    path = str(tmp_path / "weights")
    trained.save_parameter(path)
    os.remove(os.path.join(path, "srl_tf.json"))  # e.g. weight files copied by hand
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    other = Runner("CartPole-v1", tiny_dqn(seed=1))
    assert not np.allclose(other.agent.q(obs).numpy(), trained.agent.q(obs).numpy())
    other.load_parameter(path)
    np.testing.assert_allclose(other.agent.q(obs).numpy(), trained.agent.q(obs).numpy(), rtol=1e-6, atol=1e-6)
    assert other.step == 0  # no metadata: nothing says which step the weights came from
    # with the metadata, the step count continues
    with open(os.path.join(path, "srl_tf.json"), "w") as f:
        json.dump({"algorithm": "DQN", "step": 120, "train": 71}, f)
    other.load_parameter(path)
    assert other.step == 120
