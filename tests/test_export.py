"""Exported policies (SavedModel, TFLite) act as the agent does, in a process without srl_tf.

Each test trains briefly, records observations by playing the agent's greedy policy (episode
starts included), and has a fresh Python process that imports TensorFlow but not srl_tf replay
them through the exported model, the carry threaded through and ``is_first`` set where an
episode began."""

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import srl_tf
from srl_tf import ConfigError, EnvConfig, Runner
from srl_tf.algorithms import actor_critic, ddpg, dqn, ppo, reinforce, sac
from srl_tf.cli import main
from srl_tf.envs import make_env
from srl_tf.envs.adapter import applied_action
from tests.test_dreamer import tiny as tiny_dreamer
from tests.toy_envs import ImageIdentityEnv

# Run in a fresh process: replays recorded observations through exported models, and plays whole
# episodes with a SavedModel alone. Imports TensorFlow (and Gymnasium for the episodes), never srl_tf.
REPLAY = r'''
import json, sys
import numpy as np
import tensorflow as tf

job = json.load(open(sys.argv[1]))
data = np.load(job["data"])
obs, first = data["obs"], data["is_first"]
out = {}


def saved_model_actor(path):
    policy = tf.saved_model.load(path)
    carry = policy.initial_carry(batch_size=1)

    def act(o, begins):
        nonlocal carry
        if begins and "is_first" in carry:
            carry = {**carry, "is_first": tf.constant([True])}
        action, carry = policy.act(o[None], carry)
        return action.numpy()[0]

    return act


def tflite_actor(path):
    interpreter = tf.lite.Interpreter(model_path=path)
    runners = interpreter.get_signature_list()
    act_runner = interpreter.get_signature_runner("act")
    carry = {}
    if "initial_carry" in runners:
        carry = interpreter.get_signature_runner("initial_carry")(batch_size=np.array(1, np.int32))

    def act(o, begins):
        nonlocal carry
        if begins and "carry_is_first" in carry:
            carry["carry_is_first"] = np.array([True])
        result = act_runner(obs=o[None], **carry)
        action = result.pop("action")[0]
        carry = result
        return action

    return act


for name, (kind, path) in job["models"].items():
    act = (saved_model_actor if kind == "saved_model" else tflite_actor)(path)
    out[name] = np.stack([act(obs[t], bool(first[t])) for t in range(len(obs))])
if job.get("episode"):
    import gymnasium as gym

    episode = job["episode"]
    env = gym.make(episode["env"])
    policy = tf.saved_model.load(episode["model"])
    o, _ = env.reset(seed=episode["seed"])
    carry, total, done = policy.initial_carry(batch_size=1), 0.0, False
    while not done:
        action, carry = policy.act(np.asarray(o, np.float32)[None], carry)
        o, reward, terminated, truncated, _ = env.step(action.numpy()[0])
        total, done = total + float(reward), terminated or truncated
    out["episode_return"] = np.array(total)
out["srl_tf_imported"] = np.array("srl_tf" in sys.modules)
np.savez(job["out"], **out)
'''


def record(runner: Runner, steps: int = 200, seed: int = 0):
    """(observations, is_first, env actions) of the agent's greedy policy played for ``steps`` steps
    in one env, starting a new episode wherever one ends; the actions are what reached the env
    (the continuous value behind a split action)."""
    agent = runner.agent
    env = make_env(runner.env_config, None, runner.rl_config.action_split())
    obs, _ = env.reset(seed=seed)
    carry = agent.initial_carry(1)
    observations, firsts, actions = [], [], []
    for _ in range(steps):
        observations.append(obs)
        firsts.append(bool(carry["is_first"][0]))
        action, carry, _ = agent.act(np.asarray(obs)[None], carry, explore=False)
        actions.append(applied_action(env, action[0]))
        obs, _, terminated, truncated, _ = env.step(action[0])
        if terminated or truncated:
            obs, _ = env.reset()
            carry["is_first"][:] = True
    env.close()
    return np.stack(observations), np.array(firsts), np.stack(actions)


def replay(tmp_path, obs, is_first, models: dict, episode: dict | None = None) -> dict:
    """Actions of each exported model ({name: (kind, path)}) on the recorded observations, from a
    fresh process that must not import srl_tf."""
    np.savez(tmp_path / "data.npz", obs=obs, is_first=is_first)
    job = {"data": str(tmp_path / "data.npz"), "out": str(tmp_path / "out.npz"), "models": models, "episode": episode}
    (tmp_path / "job.json").write_text(json.dumps(job))
    (tmp_path / "replay.py").write_text(REPLAY)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(tmp_path / "replay.py"), str(tmp_path / "job.json")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(tmp_path / "out.npz") as f:
        out = {k: f[k] for k in f.files}
    assert not out.pop("srl_tf_imported")
    return out


def assert_same_actions(expected, got, discrete: bool):
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if discrete:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def export_both(runner, tmp_path, name):
    return {
        "saved_model": ("saved_model", runner.export_policy(str(tmp_path / name))),
        "tflite": ("tflite", runner.export_policy(str(tmp_path / f"{name}.tflite"), format="tflite")),
    }


# ------------------------------------------------------------------------------------------
# Each algorithm family: the exported greedy policy acts as the agent does
# ------------------------------------------------------------------------------------------


def test_dqn_cartpole_saved_model_and_tflite_act_as_the_agent_and_score_as_evaluate(tmp_path):
    cfg = dqn.Config(seed=0, batch_size=32)
    cfg.memory.warmup_size = 100
    cfg.hidden_block.set_mlp((32, 32))
    cfg.epsilon.set_linear(1.0, 0.05, 300)
    runner = Runner("CartPole-v1", cfg)
    runner.train(max_steps=600, progress=False)
    obs, is_first, actions = record(runner)
    models = export_both(runner, tmp_path, "dqn")
    quantized = runner.export_policy(str(tmp_path / "dqn_int8.tflite"), format="tflite", quantize=True)
    models["quantized"] = ("tflite", quantized)
    returns = runner.evaluate(max_episodes=1)
    episode = {"env": "CartPole-v1", "seed": cfg.seed + 10_000 + runner.step, "model": models["saved_model"][1]}
    out = replay(tmp_path, obs, is_first, models, episode)
    for name in ("saved_model", "tflite"):
        assert out[name].dtype == np.int64
        assert_same_actions(actions, out[name], discrete=True)
    agreement = float(np.mean(out["quantized"] == actions))
    print(f"quantised TFLite agrees with the agent on {agreement:.1%} of {len(actions)} actions")
    assert os.path.getsize(quantized) < os.path.getsize(models["tflite"][1])
    # one whole episode played by the SavedModel alone, seeded as Runner.evaluate seeds its env
    assert float(out["episode_return"]) == returns[0]


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_ppo_with_observation_normalisation(env_id, tmp_path):
    cfg = ppo.Config(seed=0, batch_size=32, epochs=2, enable_obs_normalization=True)
    cfg.memory.capacity = 128
    runner = Runner(env_id, cfg)
    runner.train(max_steps=384, progress=False)
    assert runner.agent.net.obs_norm.count.numpy() > 0  # the statistics are in use, not the identity
    obs, is_first, actions = record(runner)
    out = replay(tmp_path, obs, is_first, export_both(runner, tmp_path, "ppo"))
    for name in ("saved_model", "tflite"):
        assert_same_actions(actions, out[name], discrete=env_id == "CartPole-v1")


@pytest.mark.parametrize("algorithm", ["sac", "ddpg"])
def test_sac_and_ddpg_pendulum_actions_within_the_bounds(algorithm, tmp_path):
    if algorithm == "sac":
        cfg = sac.Config(seed=0, batch_size=32)
        cfg.policy_hidden_block.set_mlp((32, 32))
        cfg.q_hidden_block.set_mlp((32, 32))
    else:
        cfg = ddpg.Config(seed=0, batch_size=32)
        cfg.policy_block.set_mlp((32, 32))
        cfg.q_block.set_mlp((32, 32))
    cfg.memory.warmup_size = 100
    runner = Runner("Pendulum-v1", cfg)
    runner.train(max_steps=300, progress=False)
    obs, is_first, actions = record(runner)
    out = replay(tmp_path, obs, is_first, export_both(runner, tmp_path, algorithm))
    for name in ("saved_model", "tflite"):
        assert_same_actions(actions, out[name], discrete=False)
        assert out[name].dtype == np.float32 and np.all(np.abs(out[name]) <= 2.0)  # Pendulum's torque bounds
    # Pendulum's bounds are ±2: an action left in [-1, 1] would be half of what the env receives
    assert np.abs(actions).max() > 1e-2


def test_gru_ppo_threads_the_carry_and_resets_where_an_episode_begins(tmp_path):
    cfg = ppo.Config(seed=0, batch_size=32, epochs=2).set_recurrent(8, sequence_length=8)
    cfg.memory.capacity = 128
    runner = Runner("CartPole-v1", cfg)
    runner.train(max_steps=256, progress=False)
    obs, is_first, actions = record(runner)
    assert is_first.sum() >= 3  # whole episodes, and several starts inside the recording
    out = replay(tmp_path, obs, is_first, export_both(runner, tmp_path, "gru"))
    for name in ("saved_model", "tflite"):
        assert_same_actions(actions, out[name], discrete=True)
    policy = tf.saved_model.load(str(tmp_path / "gru"))
    carry = policy.initial_carry(batch_size=2)
    assert sorted(carry) == ["h", "is_first"] and carry["h"].shape == (2, 8)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1", "pixels"])
def test_dreamer_rssm_state_previous_action_and_is_first_in_the_carry(env_id, tmp_path):
    # pixels: the V3 image encoder, whose LayerNorm + SiLU are one XLA kernel inside the policy
    env = EnvConfig(ImageIdentityEnv, image_resize=(16, 16)) if env_id == "pixels" else EnvConfig(env_id, max_episode_steps=50)
    runner = Runner(env, tiny_dreamer())
    runner.train(max_steps=40, progress=False)
    obs, is_first, actions = record(runner, steps=120)
    assert is_first.sum() >= 2
    out = replay(tmp_path, obs, is_first, export_both(runner, tmp_path, "dreamer"))
    for name in ("saved_model", "tflite"):
        assert_same_actions(actions, out[name], discrete=env_id != "Pendulum-v1")
    carry = tf.saved_model.load(str(tmp_path / "dreamer")).initial_carry(batch_size=1)
    assert {"deter", "stoch", "action", "is_first"} <= set(carry)


@pytest.mark.parametrize("module", [reinforce, actor_critic], ids=["reinforce", "actor_critic"])
@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_policy_gradient_agents_export_their_mode(module, env_id, tmp_path):
    cfg = module.Config(seed=0)
    cfg.hidden_block.set_mlp((16,))
    runner = Runner(EnvConfig(env_id, max_episode_steps=50), cfg)
    runner.train(max_steps=150, progress=False)
    obs, is_first, actions = record(runner, steps=60)
    out = replay(tmp_path, obs, is_first, export_both(runner, tmp_path, "policy"))
    for name in ("saved_model", "tflite"):
        assert_same_actions(actions, out[name], discrete=env_id == "CartPole-v1")


def test_dqn_on_a_split_action_space_exports_the_continuous_action(tmp_path):
    cfg = dqn.Config(seed=0, batch_size=32, action_division_num=7)
    cfg.memory.warmup_size = 100
    runner = Runner("Pendulum-v1", cfg)
    runner.train(max_steps=300, progress=False)
    obs, is_first, actions = record(runner)
    assert actions.dtype == np.float32 and actions.shape == (200, 1) and len(np.unique(actions)) > 1
    out = replay(tmp_path, obs, is_first, export_both(runner, tmp_path, "split"))
    for name in ("saved_model", "tflite"):
        assert_same_actions(actions, out[name], discrete=False)


def test_exploring_policy_takes_a_seed_and_is_stateless(tmp_path):
    cfg = ppo.Config(seed=0, batch_size=32, epochs=1)
    cfg.memory.capacity = 64
    runner = Runner("Pendulum-v1", cfg)
    runner.train(max_steps=64, progress=False)
    policy = tf.saved_model.load(runner.export_policy(str(tmp_path / "explore"), explore=True))
    obs = np.zeros((64, 3), np.float32)
    a1, _ = policy.act(obs, {}, tf.constant([1, 2]))
    a2, _ = policy.act(obs, {}, tf.constant([1, 2]))
    a3, _ = policy.act(obs, {}, tf.constant([1, 3]))
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(a1, a3) and np.all(np.abs(a1) <= 2.0)
    assert np.std(a1.numpy()) > 0.1  # samples around the (near-constant) mean, not the mode


# ------------------------------------------------------------------------------------------
# Bad input, untrained runners, the command
# ------------------------------------------------------------------------------------------


def tiny_runner():
    cfg = dqn.Config(seed=0, batch_size=16)
    cfg.memory.warmup_size = 20
    cfg.hidden_block.set_mlp((8,))
    return Runner("CartPole-v1", cfg)


def test_bad_requests_are_config_errors_that_say_what_to_do(tmp_path):
    runner = tiny_runner()
    with pytest.raises(ConfigError, match="'saved_model', 'tflite'"):
        runner.export_policy(str(tmp_path / "a"), format="onnx")
    with pytest.raises(ConfigError, match="tensorflowjs 4.22 requires TensorFlow 2.19"):
        runner.export_policy(str(tmp_path / "a"), format="tfjs")
    with pytest.raises(ConfigError, match="DQN cannot be converted to 'tflite'.*StatelessRandom"):
        runner.export_policy(str(tmp_path / "a.tflite"), format="tflite", explore=True)
    with pytest.raises(ConfigError, match="format='tflite'"):
        runner.export_policy(str(tmp_path / "a"), quantize=True)
    with pytest.raises(ConfigError, match="choose 'current' or 'best'"):
        runner.export_policy(str(tmp_path / "a"), weights="newest")
    with pytest.raises(ConfigError, match="no best weights yet"):
        runner.export_policy(str(tmp_path / "a"), weights="best")
    assert not os.path.exists(tmp_path / "a")
    path = runner.export_policy(str(tmp_path / "a"))
    with pytest.raises(ConfigError, match="exists; pass overwrite=True"):
        runner.export_policy(path)
    assert runner.export_policy(path, overwrite=True) == path
    assert [p for p in os.listdir(tmp_path) if p.startswith(".export-")] == []  # no temporary left behind


def test_an_untrained_runner_exports_its_initial_weights_with_a_warning(tmp_path, caplog):
    runner = tiny_runner()
    with caplog.at_level(logging.WARNING, logger="srl_tf"):
        runner.export_policy(str(tmp_path / "untrained"))
    assert "has not been trained or loaded" in caplog.text
    caplog.clear()
    runner.train(max_steps=30, progress=False)
    with caplog.at_level(logging.WARNING, logger="srl_tf"):
        runner.export_policy(str(tmp_path / "trained"))
    assert "has not been trained" not in caplog.text


def test_an_algorithm_without_a_policy_graph_is_named(tmp_path, monkeypatch):
    runner = tiny_runner()
    monkeypatch.setattr(type(runner.agent), "policy_graph", srl_tf.algorithms.base.Agent.policy_graph)
    with pytest.raises(NotImplementedError, match="DQN does not give its acting step"):
        runner.export_policy(str(tmp_path / "x"))


def test_command_exports_the_best_or_last_weights_of_a_run(tmp_path, capsys):
    run = str(tmp_path / "run")
    runner = tiny_runner()
    runner.set_history_on_file(run, enable_eval=True, eval_episode=1, eval_interval=20)
    runner.train(max_steps=60, progress=False)
    assert main(["export", run, "--format", "tflite", "--weights", "best"]) == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    assert path == os.path.join(run, "export", "policy.tflite") and os.path.getsize(path) > 0
    out = str(tmp_path / "last")
    assert main(["export", run, "--out", out]) == 0
    obs = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    policy = tf.saved_model.load(out)  # kept: a loaded object dropped mid-call takes its variables with it
    exported = policy.act(obs, {})[0].numpy()
    expected = runner.agent.act(obs, runner.agent.initial_carry(50), explore=False)[0]
    np.testing.assert_array_equal(exported, expected)  # the run's final weights
    assert main(["export", run, "--out", out]) == 2  # exists: a one-line error
    assert "exists; pass overwrite=True" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nowhere")]) == 2
    assert "no config.json" in capsys.readouterr().err
