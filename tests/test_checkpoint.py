"""Checkpoints of the whole run: round trips per algorithm (every variable, generator, counter and
memory array), exact continuation, history without duplicates, kills at random moments, and the
mistakes users make with checkpoint directories."""

import json
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

import srl_tf
from srl_tf import checkpoint
from srl_tf.algorithms import actor_critic, ddpg, dqn, dreamer_v3, ppo, reinforce, sac
from srl_tf.errors import ConfigError


class ChainWalk(gym.Env):
    """Deterministic chain of 6 states: action 1 moves right, 0 left; reward 1 at the right end;
    10 steps an episode, always from state 0 (so a resumed run meets the same episodes)."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(0.0, 1.0, (6,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def _obs(self):
        return np.eye(6, dtype=np.float32)[self.pos]

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos, self.t = 0, 0
        return self._obs(), {}

    def step(self, action):
        self.pos = min(5, self.pos + 1) if int(action) == 1 else max(0, self.pos - 1)
        self.t += 1
        return self._obs(), float(self.pos == 5), False, self.t >= 10, {}


def tiny_dqn():
    cfg = dqn.Config(seed=0, batch_size=16)
    cfg.memory.capacity, cfg.memory.warmup_size = 2_000, 50
    cfg.hidden_block.set((16,))
    cfg.epsilon.set_linear(1.0, 0.05, 300)
    cfg.target_model_update_interval = 20
    return cfg


def tiny_ppo(**kw):
    cfg = ppo.Config(seed=0, batch_size=32, epochs=2, enable_obs_normalization=True, **kw)
    cfg.memory.capacity = 64
    cfg.policy_block.set((16,), activation="tanh")
    cfg.value_block.set((16,), activation="tanh")
    return cfg


def tiny_continuous(module, **kw):
    cfg = module.Config(seed=0, batch_size=16, **kw)
    cfg.memory.capacity, cfg.memory.warmup_size = 2_000, 40
    for name in ("policy_hidden_block", "q_hidden_block", "policy_block", "q_block"):
        if hasattr(cfg, name):
            getattr(cfg, name).set((16,))
    return cfg


def tiny_dreamer():
    cfg = dreamer_v3.Config(seed=0, jit_compile=False)
    cfg.set_dreamer_v3()
    cfg.set_model_size("tiny")
    cfg.batch_size, cfg.batch_length, cfg.horizon = 4, 8, 3
    cfg.memory.warmup_size, cfg.memory.capacity = 30, 2000
    return cfg


def tiny_pg(module):
    cfg = module.Config(seed=0)
    cfg.hidden_block.set((16,))
    if hasattr(cfg, "value_block"):
        cfg.value_block.set((16,))
    return cfg


CASES = {
    "dqn": (tiny_dqn, "CartPole-v1", 150),
    "reinforce": (lambda: tiny_pg(reinforce), "CartPole-v1", 150),
    "actor_critic": (lambda: tiny_pg(actor_critic), "CartPole-v1", 60),
    "ppo": (tiny_ppo, "Pendulum-v1", 100),
    "ppo_recurrent": (lambda: tiny_ppo().set_recurrent(gru_units=8, sequence_length=8), "CartPole-v1", 100),
    "sac": (lambda: tiny_continuous(sac), "Pendulum-v1", 80),
    "td3": (lambda: tiny_continuous(ddpg).set_td3(), "Pendulum-v1", 80),
    "ddpg_ou": (lambda: tiny_continuous(ddpg, exploration_noise="ou"), "Pendulum-v1", 80),
    "dreamer_v3": (tiny_dreamer, "Pendulum-v1", 60),
}


def saved_tensors(path: str) -> dict[str, np.ndarray]:
    """Every tensor of a checkpoint's TensorFlow part, by its path in the object graph."""
    prefix = os.path.join(path, "tf", "state")
    reader = tf.train.load_checkpoint(prefix)
    names = [n for n, _ in tf.train.list_variables(prefix) if n != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    return {n: reader.get_tensor(n) for n in names}


@pytest.mark.parametrize("name", list(CASES))
def test_round_trip_restores_every_variable_generator_counter_and_array(name, tmp_path):
    make, env_id, steps = CASES[name]
    runner = srl_tf.Runner(env_id, make())
    runner.train(max_steps=steps, progress=False)
    agent = runner.agent
    path = runner.save_checkpoint(str(tmp_path / "a"))
    saved_vars = saved_tensors(path)
    assert any("_iterations" in k for k in saved_vars) and any(k.startswith("tf_rng/") for k in saved_vars)
    saved_weights = {k: m.get_weights() for k, m in agent.models().items()}
    saved_rng = agent.rng.bit_generator.state
    agent.interrupt_episodes()  # what a resume does to the running episodes, applied to the original
    expected, _ = agent.state()

    other = srl_tf.Runner(env_id, make())
    other.rl_config.seed = 123  # another start: everything must come from the checkpoint
    other.load_checkpoint(path)
    for key, weights in saved_weights.items():
        for a, b in zip(other.agent.models()[key].get_weights(), weights):
            np.testing.assert_array_equal(a, b, err_msg=key)
    restored_vars = saved_tensors(other.save_checkpoint(str(tmp_path / "b")))
    assert sorted(restored_vars) == sorted(saved_vars)
    for key, value in saved_vars.items():
        np.testing.assert_array_equal(restored_vars[key], value, err_msg=key)
    arrays, _ = other.agent.state()
    memory = agent._memory()
    if memory is not None:  # the memory's own arrays, not only what state() reports
        assert any(k.startswith("memory.") for k in expected)
        restored = other.agent._memory()
        for key in ("obs", "action", "reward"):
            np.testing.assert_array_equal(getattr(restored, key), getattr(memory, key), err_msg=key)
    assert set(arrays) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(arrays[key], value, err_msg=key)
        assert arrays[key].dtype == value.dtype, key
    assert other.agent.rng.bit_generator.state == saved_rng
    assert (other.step, other.episode, other.agent.env_steps, other.agent.train_count) == (
        runner.step, runner.episode, agent.env_steps, agent.train_count
    )
    other.train(max_steps=20, progress=False)  # and it trains on from there


def test_images_stay_uint8_and_each_frame_is_stored_once(tmp_path):
    from toy_envs import ImageIdentityEnv

    cfg = tiny_dqn()
    cfg.image_block.set_cnn("small")
    runner = srl_tf.Runner(srl_tf.EnvConfig(ImageIdentityEnv, image_resize=(16, 16)), cfg)
    runner.train(max_steps=100, progress=False)
    path = runner.save_checkpoint(str(tmp_path))
    meta = checkpoint.read_meta(path)
    shape, dtype = meta["arrays"]["memory.obs"]
    assert dtype == "uint8" and "memory.next_obs" not in meta["arrays"]
    memory = runner.agent.memory
    assert shape == [1, memory.filled, 16, 16, 3] and memory.filled < memory.slots  # only what was written
    npz = os.path.getsize(os.path.join(path, "arrays.npz"))
    frames = memory.filled * 16 * 16 * 3
    assert frames < npz < frames + 50_000  # the frames once, plus the small per-slot arrays


def test_a_resumed_run_ends_with_the_weights_of_an_unbroken_one(tmp_path):
    def run(directory, chunks):
        for n in chunks:
            runner = srl_tf.Runner(srl_tf.EnvConfig(ChainWalk), tiny_dqn())
            runner.set_checkpoint(directory, interval=0)
            runner.train(max_steps=n, progress=False)
        counters = (runner.step, runner.episode, runner.agent.train_count)
        return runner.agent.q.get_weights(), counters

    whole, whole_counts = run(str(tmp_path / "whole"), [400])
    split, split_counts = run(str(tmp_path / "split"), [200, 200])  # stopped at an episode end
    assert split_counts == whole_counts and whole_counts[:2] == (400, 40)
    for a, b in zip(whole, split):
        np.testing.assert_array_equal(a, b)


def test_resumed_history_continues_without_duplicated_rows(tmp_path):
    run_dir, ckpt = str(tmp_path / "run"), str(tmp_path / "run" / "ckpt")
    runner = srl_tf.Runner(srl_tf.EnvConfig(ChainWalk), tiny_dqn())
    runner.set_history_on_file(run_dir, interval=20)
    runner.set_checkpoint(ckpt, interval=0, interval_steps=100)
    runner.train(max_steps=250, progress=False)
    # rows past the newest checkpoint (step 250 is saved at the end; drop it to act as if killed at 270)
    last = checkpoint.checkpoints(ckpt)[0][1]
    os.rename(last, last.replace("ckpt-", "gone-"))
    with open(os.path.join(run_dir, "history.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps({"train": 1, "step": 270, "episode": 27, "time": 1.0}) + "\n")
    resumed = srl_tf.Runner(srl_tf.EnvConfig(ChainWalk), tiny_dqn())
    resumed.set_history_on_file(run_dir, interval=20)
    resumed.set_checkpoint(ckpt, interval=0, interval_steps=100)
    resumed.train(max_steps=100, progress=False)
    assert resumed.step == 300  # continued from the checkpoint at 200
    steps = [r["step"] for r in srl_tf.Runner.load_histories([run_dir]).runs[0][1]]
    assert steps == sorted(set(steps)) and steps[-1] == 300 and 200 in steps and 220 in steps


def test_a_resumed_run_keeps_its_evaluation_schedule(tmp_path):
    """Evaluations every 100 steps fall at 100, 200, 300 however the run was split, not 100 steps
    after each continuation (a run interrupted more often than its interval would never evaluate)."""
    run_dir, ckpt = str(tmp_path / "run"), str(tmp_path / "run" / "ckpt")
    for steps in (150, 80, 70):  # 150, then continued to 230, then to 300
        runner = srl_tf.Runner(srl_tf.EnvConfig(ChainWalk), tiny_dqn())
        runner.set_history_on_file(run_dir, enable_eval=True, eval_episode=1, interval=10, eval_interval=100)
        runner.set_checkpoint(ckpt, interval=0)
        if checkpoint.latest(ckpt):
            runner.load_checkpoint(ckpt)
        runner.train(max_steps=steps, progress=False)
    rows = srl_tf.Runner.load_histories([run_dir]).runs[0][1]
    assert [r["step"] for r in rows if "eval_reward0" in r] == [100, 200, 300]
    assert [r["step"] for r in rows] == list(range(10, 301, 10))


def test_an_incomplete_checkpoint_is_skipped_with_a_warning_naming_it(tmp_path, caplog):
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    runner.train(max_steps=60, progress=False)
    good = runner.save_checkpoint(str(tmp_path))
    runner.train(max_steps=60, progress=False)
    newer = runner.save_checkpoint(str(tmp_path))
    with open(os.path.join(newer, "arrays.npz"), "r+b") as f:
        f.truncate(100)  # a write cut short
    os.makedirs(tmp_path / ".tmp-ckpt-000000000999-1")  # a writer killed before its rename
    with caplog.at_level("WARNING", logger="srl_tf"):
        assert checkpoint.latest(str(tmp_path)) == good
    assert any(newer in r.getMessage() and "arrays.npz" in r.getMessage() for r in caplog.records)
    fresh = srl_tf.Runner("CartPole-v1", tiny_dqn())
    fresh.load_checkpoint(str(tmp_path))
    assert fresh.step == 60


def test_keep_limits_the_checkpoints_on_disk(tmp_path):
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    runner.set_checkpoint(str(tmp_path), interval=0, interval_steps=20, keep=2)
    runner.train(max_steps=100, progress=False)
    assert [s for s, _ in checkpoint.checkpoints(str(tmp_path))] == [100, 80]


def test_without_memory_the_resumed_run_collects_its_warm_up_again(tmp_path, caplog):
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    runner.set_checkpoint(str(tmp_path), interval=0, save_memory=False)
    runner.train(max_steps=100, progress=False)
    assert "memory.obs" not in checkpoint.read_meta(checkpoint.latest(str(tmp_path)))["arrays"]
    resumed = srl_tf.Runner("CartPole-v1", tiny_dqn())
    resumed.set_checkpoint(str(tmp_path), interval=0, save_memory=False)
    with caplog.at_level("WARNING", logger="srl_tf"):
        resumed.train(max_steps=10, progress=False)
    assert resumed.step == 110 and len(resumed.agent.memory) == 10
    assert any("warm-up is collected again" in r.getMessage() for r in caplog.records)


def test_checkpoint_mistakes_name_the_problem(tmp_path):
    runner = srl_tf.Runner("CartPole-v1", tiny_dqn())
    runner.train(max_steps=60, progress=False)
    path = runner.save_checkpoint(str(tmp_path / "dqn"))
    with pytest.raises(ConfigError, match=r"holds a DQN run, but this runner uses PPO"):
        srl_tf.Runner("CartPole-v1", tiny_ppo()).load_checkpoint(path)
    with pytest.raises(ConfigError, match=r"written for CartPole-v1 .* but this runner has Acrobot-v1"):
        srl_tf.Runner("Acrobot-v1", tiny_dqn()).load_checkpoint(path)
    wider = tiny_dqn()
    wider.hidden_block.set((32,))
    with pytest.raises(ConfigError, match="do not fit this configuration"):
        srl_tf.Runner("CartPole-v1", wider).load_checkpoint(path)
    with pytest.raises(ConfigError, match="no such directory"):
        runner.load_checkpoint(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        runner.load_checkpoint(str(tmp_path))
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        runner.set_checkpoint(str(tmp_path / "a_file"))
    for kw, pattern in (({"interval": -1}, "interval=-1"), ({"interval_steps": 0}, "interval_steps=0"), ({"keep": 0}, "keep=0")):
        with pytest.raises(ConfigError, match=pattern):
            runner.set_checkpoint(str(tmp_path / "c"), **kw)


KILL_SCRIPT = """
import sys, time
import srl_tf
from srl_tf.algorithms import dqn
cfg = dqn.Config(seed=0, batch_size=16)
cfg.memory.capacity, cfg.memory.warmup_size = 5_000, 50
cfg.hidden_block.set((16,))
runner = srl_tf.Runner("CartPole-v1", cfg)
runner.set_history_on_file(sys.argv[1], interval=25)
runner.set_checkpoint(sys.argv[1] + "/ckpt", interval=0, interval_steps=50, keep=2)
runner.train(max_steps=int(sys.argv[2]), progress=False)
"""


def test_kill_9_at_random_moments_always_leaves_a_checkpoint_to_resume_from(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(KILL_SCRIPT)
    run_dir = str(tmp_path / "run")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    rng = np.random.default_rng(0)
    last_step = 0
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, str(script), run_dir, "100000"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # wait until it has resumed and written a new checkpoint, then kill at a random moment
        deadline = time.time() + 240
        while time.time() < deadline:
            found = checkpoint.checkpoints(str(tmp_path / "run" / "ckpt"))
            if found and found[0][0] > last_step:
                break
            time.sleep(0.2)
        time.sleep(float(rng.uniform(0.0, 1.5)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        path = checkpoint.latest(str(tmp_path / "run" / "ckpt"))
        assert path is not None, f"no complete checkpoint after kill {attempt}"
        step = checkpoint.read_meta(path)["step"]
        assert step > last_step  # progress was kept
        last_step = step
    resumed = subprocess.run([sys.executable, str(script), run_dir, "50"], env=env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed from {path}" in resumed.stderr
    rows = srl_tf.Runner.load_histories([run_dir]).runs[0][1]
    steps = [r["step"] for r in rows]
    assert steps == sorted(set(steps)) and steps[-1] == last_step + 50


def test_interrupted_episodes_end_as_truncations_in_every_memory():
    from srl_tf.memory.replay import ReplayBuffer
    from srl_tf.memory.rollout import RolloutBuffer
    from srl_tf.memory.sequence import SequenceMemory

    f = np.zeros(2, bool)
    obs = np.arange(2, dtype=np.float32)[:, None]
    replay = ReplayBuffer(20, (1,), np.float32, (), np.int32, num_envs=2)
    replay.add(obs, np.zeros(2, np.int32), np.ones(2, np.float32), obs + 1, f, np.array([True, False]))
    replay.interrupt_episodes()
    assert replay.episode_end[:, replay.head - 1].diagonal().tolist() == [True, True] and not replay.pending.any()

    seq = SequenceMemory(20, (1,), np.float32, 1, num_envs=2)
    seq.add(obs, np.zeros((2, 1), np.float32), np.ones(2, np.float32), obs + 1, f, f)
    seq.interrupt_episodes()
    seq.add(obs, np.zeros((2, 1), np.float32), np.ones(2, np.float32), obs + 1, f, f)
    assert seq.is_first[:, :4].tolist() == [[True, False, True, False]] * 2  # a new episode after the cut

    rollout = RolloutBuffer(4, 2, (1,), np.float32, (), np.int32)
    rollout.add(obs, np.zeros(2, np.int32), np.ones(2, np.float32), np.array([True, False]), f, obs + 1)
    rollout.interrupt_episodes(obs + 5)
    assert rollout.truncated[0].tolist() == [False, True]  # env 0 had terminated already
    assert [(t, i) for t, i, _ in rollout.final_obs] == [(0, 1)] and rollout.final_obs[0][2].tolist() == [6.0]


def test_cli_resume_continues_a_run_and_user_mistakes_print_no_traceback(tmp_path, capsys):
    from srl_tf.cli import main

    out = str(tmp_path / "run")
    assert main(["train", "dqn", "CartPole-v1", "--steps", "120", "--out", out]) == 0
    assert [s for s, _ in checkpoint.checkpoints(os.path.join(out, "ckpt"))] == [120]
    assert main(["train", "dqn", "CartPole-v1", "--steps", "60", "--resume", out]) == 0
    steps = [r["step"] for r in srl_tf.Runner.load_histories([out]).runs[0][1]]
    assert steps[-1] == 180 and steps == sorted(set(steps))
    capsys.readouterr()
    assert main(["train", "dqn", "CartPole-v1", "--resume", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "srl-tf: error: --resume" in err and "Traceback" not in err


class NaNRewardAfter(gym.Wrapper):
    """CartPole whose rewards turn NaN after ``start`` steps (a broken user env)."""

    def __init__(self, start: int = 150):
        super().__init__(gym.make("CartPole-v1"))
        self.start, self.count = start, 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.count += 1
        return obs, float("nan") if self.count > self.start else reward, terminated, truncated, info


def test_a_loss_turning_nan_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    runner = srl_tf.Runner(srl_tf.EnvConfig(NaNRewardAfter), tiny_dqn())
    runner.set_history_on_file(str(tmp_path / "run"), interval=10)
    runner.set_checkpoint(str(tmp_path / "ckpt"), interval=0, interval_steps=100)
    with pytest.raises(FloatingPointError, match=r"DQN: loss became nan at env step \d+ \(gradient step \d+\)"):
        runner.train(max_steps=2_000, progress=False)
    assert runner.step < 400  # stopped within a few rows of the first NaN, not at the end
    steps = [s for s, _ in checkpoint.checkpoints(str(tmp_path / "ckpt"))]
    assert steps == [100]  # written before the NaN; none after it
    resumed = srl_tf.Runner("CartPole-v1", tiny_dqn())
    resumed.load_checkpoint(str(tmp_path / "ckpt"))
    assert all(np.isfinite(w).all() for w in resumed.agent.q.get_weights())
    with pytest.raises(FloatingPointError, match="no checkpoint written .* holds NaN or Inf"):
        runner.save_checkpoint(str(tmp_path / "ckpt"))



def test_the_benchmarks_long_run_helper_continues_where_the_last_invocation_stopped(tmp_path):
    """benchmarks/_results.train_resumably: what the runs of hours use to survive a session ending."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    try:
        import _results
    finally:
        sys.path.pop(0)
    run_dir = str(tmp_path / "run")
    first = srl_tf.Runner(srl_tf.EnvConfig(ChainWalk), tiny_dqn())
    first.set_history_on_file(run_dir, interval=20)
    wall, train_steps = _results.train_resumably(first, run_dir, 120)
    assert first.step == 120 and train_steps == first.agent.train_count > 0 and wall > 0
    second = srl_tf.Runner(srl_tf.EnvConfig(ChainWalk), tiny_dqn())
    second.set_history_on_file(run_dir, interval=20)
    wall, train_steps = _results.train_resumably(second, run_dir, 200)  # only the 80 steps left
    assert second.step == 200 and second.agent.train_count == first.agent.train_count + train_steps
    assert train_steps == 80  # one per env step: the memory came back too, no second warm-up
    steps = [r["step"] for r in srl_tf.Runner.load_histories([run_dir]).runs[0][1]]
    assert steps == list(range(20, 201, 20))
