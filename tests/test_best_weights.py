"""The best-evaluated weights kept beside the last ones, and evaluate / GIF / rollout with either;
plots of several columns."""

import json
import os

import numpy as np
import pytest

import srl_tf
from srl_tf.algorithms import dqn
from srl_tf.errors import ConfigError


def tiny_dqn():
    cfg = dqn.Config(seed=0, batch_size=16)
    cfg.memory.capacity, cfg.memory.warmup_size = 2_000, 50
    cfg.hidden_block.set((16,))
    cfg.epsilon.set_linear(1.0, 0.05, 500)
    return cfg


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("best") / "run")
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    runner.set_history_on_file(out, enable_eval=True, eval_episode=3, interval=100, eval_interval=200)
    runner.train(max_steps=2_000, progress=False)
    return runner, out


def test_the_best_evaluation_keeps_its_weights_beside_the_last_ones(trained):
    runner, out = trained
    path = runner.best_parameter_path()
    assert path == os.path.join(out, "checkpoint", "best")
    with open(os.path.join(path, "best.json"), encoding="utf-8") as f:
        best = json.load(f)
    evals = [r["eval_reward0"] for r in srl_tf.Runner.load_histories([out]).runs[0][1] if "eval_reward0" in r]
    assert len(evals) >= 5 and best["eval_reward0"] == max(evals)
    # the kept weights are those of that evaluation: loaded into a fresh runner they differ from the last
    fresh = srl_tf.Runner("CartPole-v1", tiny_dqn())
    fresh.load_parameter(path)
    if best["step"] != runner.step:
        assert any(not np.array_equal(a, b) for a, b in zip(fresh.agent.q.get_weights(), runner.agent.q.get_weights()))


def test_evaluate_and_rollout_with_the_best_weights_then_the_current_ones_again(trained, tmp_path):
    runner, _ = trained
    before = [w.copy() for w in runner.agent.q.get_weights() + runner.agent.q_target.get_weights()]
    fresh = srl_tf.Runner("CartPole-v1", tiny_dqn())
    fresh.load_parameter(runner.best_parameter_path())
    fresh.step = runner.step  # evaluation seeds follow the step count
    assert runner.evaluate(5, weights="best") == fresh.evaluate(5)
    for a, b in zip(runner.agent.q.get_weights() + runner.agent.q_target.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # the current weights are back, target network included
    episode = runner.rollout(1, weights="best", max_steps=50)[0]
    assert episode.rewards == fresh.rollout(1, max_steps=50)[0].rewards
    assert os.path.getsize(runner.animation_save_gif(str(tmp_path / "best.gif"), max_steps=20, weights="best")) > 0


def test_best_weights_need_an_evaluating_history():
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    runner.train(max_steps=60, progress=False)
    with pytest.raises(ConfigError, match="no best weights yet"):
        runner.evaluate(2, weights="best")
    with pytest.raises(ConfigError, match="weights='last': choose 'current' or 'best'"):
        runner.evaluate(2, weights="last")


def test_a_new_run_in_a_used_directory_does_not_inherit_the_old_best(trained):
    _, out = trained
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    runner.set_history_on_file(out, enable_eval=False)
    runner.train(max_steps=60, progress=False)
    assert runner.best_parameter_path() is None


def test_plot_of_two_columns_draws_both(tmp_path):
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    out = str(tmp_path / "run")
    runner.set_history_on_file(out, enable_eval=True, eval_episode=2, interval=50)
    runner.train(max_steps=400, progress=False)
    import matplotlib.pyplot as plt

    drawn = []
    original = plt.Axes.plot
    plt.Axes.plot = lambda self, *a, **k: drawn.append(k.get("label")) or original(self, *a, **k)
    try:
        png = srl_tf.Runner.load_histories([out]).plot("step", ["eval_reward0", "reward0"])
    finally:
        plt.Axes.plot = original
    assert drawn == ["eval_reward0", "reward0"] and png.endswith("eval_reward0_reward0_vs_step.png")
    with pytest.raises(ConfigError, match="plot\\(y='rewards'\\)"):
        srl_tf.Runner.load_histories([out]).plot("step", "rewards")
    with pytest.raises(ConfigError, match="plot\\(y='rewards'\\)"):
        srl_tf.Runner.load_histories([out]).plot("step", ["rewards", "losses"])
    drawn.clear()
    plt.Axes.plot = lambda self, *a, **k: drawn.append(k.get("label")) or original(self, *a, **k)
    try:  # of several columns, one never logged is left out
        srl_tf.Runner.load_histories([out]).plot("step", ["eval_reward0", "rewards"])
    finally:
        plt.Axes.plot = original
    assert drawn == ["eval_reward0"]
