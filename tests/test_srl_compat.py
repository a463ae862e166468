"""SRL habits: automatic action splitting, PPO's warmup_size as the rollout, SRL's config and Runner
idioms, pixels from render_image, SRL names with no counterpart, and an SRL-style comparison script."""

import logging
import os
import re
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from toy_envs import IdentityEnv

import srl_tf
from srl_tf.algorithms import ddpg, dqn, ppo, sac
from srl_tf.errors import ConfigError, EnvError, UnknownAttributeError

SPLIT_MESSAGE = "DQN on a continuous action space: each of the 1 action dimensions split into 5 actions"


def tiny_dqn(**kw):
    cfg = dqn.Config(**{"seed": 0, "batch_size": 16, **kw})
    cfg.memory.capacity, cfg.memory.warmup_size = 2_000, 50
    cfg.hidden_block.set((16,))
    return cfg


def tiny_ppo(**kw):
    cfg = ppo.Config(seed=0, batch_size=32, epochs=2, **kw)
    cfg.policy_block.set((16,), activation="tanh")
    cfg.value_block.set((16,), activation="tanh")
    return cfg


def split_messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "split into" in r.getMessage()]


# ---- automatic action splitting -----------------------------------------------------------------


def test_dqn_splits_a_continuous_env_by_default_and_says_so_once(caplog):
    caplog.set_level(logging.INFO, logger="srl_tf")
    runner = srl_tf.Runner("Pendulum-v1", tiny_dqn())
    runner.train(max_steps=120, progress=False)
    runner.evaluate(max_episodes=2)
    runner.rollout(max_episodes=1, max_steps=5)
    assert runner.spec.discrete and runner.spec.n_actions == 5
    assert runner.agent.train_count > 0
    messages = split_messages(caplog)
    assert len(messages) == 1 and messages[0].startswith(SPLIT_MESSAGE)
    assert "set rl_config.action_division_num to change" in messages[0]


def test_split_message_prints_without_any_logging_setup():
    code = (
        "import srl_tf\nfrom srl_tf.algorithms import dqn\n"
        "r = srl_tf.Runner('Pendulum-v1', dqn.Config(seed=0))\nr.agent\nr.evaluate(max_episodes=1)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stderr.count(SPLIT_MESSAGE) == 1


def test_explicit_division_splits_for_an_algorithm_that_also_takes_continuous_actions():
    runner = srl_tf.Runner("Pendulum-v1", tiny_ppo(action_division_num=3))
    assert runner.spec.discrete and runner.spec.n_actions == 3
    assert not srl_tf.Runner("Pendulum-v1", tiny_ppo()).spec.discrete  # default: PPO acts continuously


@pytest.mark.parametrize("value", [1, -1, 2.5, True])
def test_action_division_num_out_of_range_names_field_and_value(value):
    with pytest.raises(ConfigError, match=rf"action_division_num={value!r} .*(integer >= 2|expected int or None)"):
        srl_tf.Runner("Pendulum-v1", tiny_dqn(action_division_num=value))


def test_rollout_and_gif_captions_show_the_continuous_action_applied():
    runner = srl_tf.Runner("Pendulum-v1", tiny_dqn())
    runner.agent.act = lambda obs, carry, explore: (np.zeros(len(obs), np.int32), carry, {})  # the first of 5 actions
    episode = runner.rollout(max_episodes=1, max_steps=3)[0]
    assert [a.tolist() for a in episode.actions] == [[-2.0]] * 3  # Pendulum's low bound, not the index 0
    captions = runner._captions(episode)
    assert "action [-2.00]" in captions[1], captions[1]


# ---- PPO's memory, as SRL users write it --------------------------------------------------------


def test_ppo_warmup_size_is_the_rollout_and_capacity_only_bounds_it():
    cfg = tiny_ppo()
    cfg.memory.capacity, cfg.memory.warmup_size = 10_000, 96
    runner = srl_tf.Runner("CartPole-v1", cfg)
    runner.train(max_steps=95, progress=False)
    assert runner.agent.train_count == 0
    runner.train(max_steps=1, progress=False)
    assert runner.agent.train_count == cfg.epochs * (96 // 32)  # one update after exactly 96 env steps


def test_ppo_rollout_no_multiple_of_the_minibatch_trains_on_whole_minibatches(caplog):
    caplog.set_level(logging.INFO, logger="srl_tf")
    cfg = tiny_ppo()
    cfg.memory.capacity, cfg.memory.warmup_size = 1_000, 100
    runner = srl_tf.Runner("CartPole-v1", cfg)
    runner.train(max_steps=100, progress=False)
    assert runner.agent.train_count == cfg.epochs * 3  # 100 // 32 minibatches per epoch
    assert any("leaves out a random 4" in r.getMessage() for r in caplog.records)


def test_ppo_existing_configs_keep_their_meaning():
    cfg = tiny_ppo()
    cfg.memory.capacity = 128  # warmup_size None: the rollout is the capacity
    assert cfg.memory.rollout_size == 128
    runner = srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", num_envs=2), cfg)
    assert runner.agent.steps == 64


def test_recurrent_ppo_with_warmup_below_capacity():
    cfg = tiny_ppo().set_recurrent(gru_units=8, sequence_length=8)
    cfg.memory.capacity, cfg.memory.warmup_size = 5_000, 64
    runner = srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", num_envs=2), cfg)
    runner.train(max_steps=64, progress=False)
    assert runner.agent.steps == 32 and runner.agent.train_count == cfg.epochs * (64 // 32)


def test_ppo_memory_mistakes_name_the_fields():
    cfg = tiny_ppo()
    cfg.memory.capacity, cfg.memory.warmup_size = 1_000, 2_000
    with pytest.raises(ConfigError, match=r"memory.warmup_size=2000 .*larger than memory.capacity=1000"):
        cfg.validate()
    cfg = tiny_ppo()
    cfg.memory.capacity, cfg.memory.warmup_size = 1_000, 100
    with pytest.raises(ConfigError, match=r"memory.warmup_size=100.*num_envs=3"):
        _ = srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", num_envs=3), cfg).agent


# ---- config idioms -------------------------------------------------------------------------------


def test_block_set_is_set_mlp():
    a, b = dqn.Config(), dqn.Config()
    a.hidden_block.set((32, 16), activation="tanh")
    b.hidden_block.set_mlp((32, 16), activation="tanh")
    assert a.hidden_block == b.hidden_block and a.hidden_block.layer_sizes == (32, 16)


def test_plain_numbers_assigned_to_schedules_become_constants():
    cfg = dqn.Config()
    cfg.lr = 0.001
    cfg.epsilon = 0.1
    for sched, v in ((cfg.lr, 0.001), (cfg.epsilon, 0.1)):
        assert sched.kind == "constant" and sched.value(0) == sched.value(10**6) == v
    cfg.epsilon.set_linear(1.0, 0.1, 100)  # still a schedule object afterwards
    assert cfg.epsilon.value(50) == pytest.approx(0.55)


def test_sac_start_steps_act_randomly_while_training_already_runs():
    cfg = sac.Config(seed=0, batch_size=16, start_steps=150)
    cfg.memory.capacity, cfg.memory.warmup_size = 1_000, 40
    cfg.policy_hidden_block.set((16,))
    cfg.q_hidden_block.set((16,))
    runner = srl_tf.Runner("Pendulum-v1", cfg)
    agent = runner.agent
    policy_calls = []
    act_normalised = agent._act_normalised
    agent._act_normalised = lambda obs, carry, explore: policy_calls.append(explore) or act_normalised(obs, carry, explore)
    runner.train(max_steps=150, progress=False)
    assert agent.train_count > 0 and True not in policy_calls  # trained, yet every exploring action was random
    runner.train(max_steps=5, progress=False)
    assert policy_calls.count(True) == 5


def test_start_steps_none_keeps_random_actions_until_the_warm_up():
    cfg = ddpg.Config(seed=0, batch_size=16)
    cfg.memory.capacity, cfg.memory.warmup_size = 1_000, 40
    agent = srl_tf.Runner("Pendulum-v1", cfg).agent
    assert agent.random_actions
    with pytest.raises(ConfigError, match="start_steps=-1"):
        sac.Config(start_steps=-1).validate()


# ---- Runner idioms -------------------------------------------------------------------------------


def test_summary_names_algorithm_spaces_models_and_changed_fields():
    runner = srl_tf.Runner("Pendulum-v1", tiny_dqn())
    text = runner.summary(print_out=False)
    assert text.startswith("DQN on Pendulum-v1 (seed 0")
    assert "action: 5 discrete (continuous, split 5 ways in each of 1 dims)" in text
    assert "observation: vector (3,) float32" in text
    n = sum(int(np.prod(v.shape)) for m in runner.agent.models().values() for v in m.trainable_weights)
    assert f"total: {n:,}" in text
    assert "batch_size = 16" in text and "discount" not in text  # only fields that differ


def test_set_seed_seeds_the_run_and_must_come_first():
    weights = []
    for _ in range(2):
        runner = srl_tf.Runner("CartPole-v1", tiny_dqn(seed=None))
        runner.set_seed(7)
        assert runner.rl_config.seed == 7
        runner.train(max_steps=200, progress=False)
        weights.append(np.concatenate([w.numpy().ravel() for w in runner.agent.q.trainable_weights]))
    np.testing.assert_array_equal(weights[0], weights[1])
    with pytest.raises(ConfigError, match="set_seed.*after the agent was built"):
        runner.set_seed(1)
    with pytest.raises(ConfigError, match="seed='x'"):
        srl_tf.Runner("CartPole-v1", tiny_dqn()).set_seed("x")


def test_set_progress_prints_lines_with_train_info_and_evaluations(capsys):
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    runner.set_progress(single_line=False, start_time=1e-3, interval_limit=1e-3, enable_eval=True, eval_episode=1,
                        env_info=True, worker_info=True, max_actor=2)
    runner.train(max_steps=150)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "steps/s" in ln]
    assert len(lines) > 3 and "steps" in lines[-1] and "150/150" in lines[-1]
    assert any(" eval " in ln for ln in lines) and any(" loss " in ln for ln in lines)
    assert any(" ep_len " in ln for ln in lines)


def test_set_progress_mistakes_and_disable_progress(capsys):
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    with pytest.raises(ConfigError, match="unknown keyword 'single_lines'.*Did you mean 'single_line'"):
        runner.set_progress(single_lines=False)
    with pytest.raises(ConfigError, match="interval_limit=1.*start_time=5"):
        runner.set_progress(start_time=5, interval_limit=1)
    runner.disable_progress()
    runner.train(max_steps=20)
    captured = capsys.readouterr()
    assert "steps/s" not in captured.out + captured.err


def test_a_run_bounded_by_train_count_logs_and_evaluates_by_train_count():
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    runner.set_history_on_memory(enable_eval=True)
    runner.train(max_train_count=200, progress=False)
    rows = runner.get_history().runs[0][1]
    evals = [r["train"] for r in rows if "eval_reward0" in r]
    assert len(rows) >= 50 and len(evals) >= 15  # every 2 and every 10 gradient steps, not every 1000 env steps
    assert evals[0] <= 20 and evals[-1] == 200


# ---- pixels from render_image --------------------------------------------------------------------


def test_render_image_observes_the_rendered_frame():
    cfg = srl_tf.EnvConfig("Pendulum-v1", render_image=True)
    env = srl_tf.envs.make_env(cfg)
    obs, _ = env.reset(seed=3)
    reference = gym.make("Pendulum-v1", render_mode="rgb_array")
    reference.reset(seed=3)
    np.testing.assert_array_equal(obs, reference.render())
    obs, *_ = env.step(np.array([1.0], np.float32))
    reference.step(np.array([1.0], np.float32))
    np.testing.assert_array_equal(obs, reference.render())


def test_render_image_is_processed_like_any_image_and_trains():
    cfg = srl_tf.EnvConfig("Pendulum-v1", render_image=True, image_resize=(24, 24), image_grayscale=True, frame_stack=2)
    rl = tiny_dqn()
    rl.image_block.set_cnn("small")
    runner = srl_tf.Runner(cfg, rl)
    assert runner.spec.is_image and runner.spec.obs_shape == (24, 24, 2) and runner.spec.obs_dtype == np.uint8
    runner.train(max_steps=80, progress=False)
    assert runner.agent.train_count > 0


def test_observation_mode_render_image_is_srls_way_to_ask_for_pixels():
    env_config = srl_tf.EnvConfig("Pendulum-v1", image_resize=(16, 16))
    rl = tiny_dqn()
    rl.image_block.set_cnn("small")
    rl.observation_mode = "render_image"
    runner = srl_tf.Runner(env_config, rl)
    assert runner.spec.is_image and runner.spec.obs_shape == (16, 16, 3)
    assert env_config.render_image is False  # the caller's EnvConfig is left as it was
    rl.observation_mode = "pixels"
    with pytest.raises(ConfigError, match="observation_mode='pixels'.*'render_image'"):
        rl.validate()


def test_render_image_on_an_env_that_cannot_render_is_an_env_error():
    with pytest.raises(EnvError, match=r"render_image=True needs an env that renders 'rgb_array'.*IdentityEnv"):
        _ = srl_tf.Runner(srl_tf.EnvConfig(IdentityEnv, render_image=True), tiny_dqn()).agent
    with pytest.raises(ConfigError, match="render_image='yes'"):
        srl_tf.EnvConfig("Pendulum-v1", render_image="yes").validate()


# ---- SRL names without a counterpart -------------------------------------------------------------


def test_srl_only_names_raise_the_usual_error_plus_what_to_do_instead():
    cfg = dqn.Config()
    with pytest.raises(UnknownAttributeError, match=r"no attribute 'set_atari_config'.*SRL:.*frame_stack=4"):
        cfg.set_atari_config()
    with pytest.raises(ConfigError, match=r"unknown keyword 'window_length'.*SRL:.*frame_stack=N"):
        dqn.Config(window_length=4)
    with pytest.raises(ConfigError, match=r"MemoryConfig has no field 'compress'.*SRL:.*uint8"):
        cfg.memory.compress = True
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    with pytest.raises(UnknownAttributeError, match=r"Runner has no attribute 'set_device'.*CUDA_VISIBLE_DEVICES"):
        runner.set_device("CPU")
    with pytest.raises(UnknownAttributeError, match=r"'evalute'.*Did you mean 'evaluate'"):
        runner.evalute()
    assert not hasattr(cfg, "no_such_field") and getattr(runner, "no_such_method", 3) == 3


# ---- an SRL-style comparison script --------------------------------------------------------------


def test_srl_style_comparison_of_seven_algorithms_runs_and_plots(tmp_path):
    script = os.path.join(os.path.dirname(__file__), "..", "examples", "srl_pendulum_comparison.py")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, script, "--tiny", "--train-count", "10", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    names = ["DQN", "PPO", "DDPG", "SAC", "DreamerV1", "DreamerV2", "DreamerV3"]
    for name in names:
        assert f"{name}: evaluation mean" in out.stdout
        assert os.path.getsize(tmp_path / name / "history.jsonl") > 0
    assert os.path.getsize(tmp_path / "comparison.png") > 10_000
    histories = srl_tf.Runner.load_histories([str(tmp_path / n) for n in names])
    assert all(any("eval_reward0" in row for row in rows) for _, rows in histories.runs)
    assert out.stderr.count(SPLIT_MESSAGE) == 1


def test_the_guide_lists_every_srl_name_of_the_table():
    from srl_tf.srl_names import SRL_INSTEAD

    path = os.path.join(os.path.dirname(__file__), "..", "docs", "guides", "coming_from_srl.md")
    with open(path, encoding="utf-8") as f:
        guide = f.read()
    missing = [name for name in SRL_INSTEAD if not re.search(rf"\b{name}\b", guide)]
    assert not missing, f"docs/guides/coming_from_srl.md does not mention {missing}"
