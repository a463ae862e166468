"""Runner.train_mp: actors on Ray, one learner. One local Ray for the module, tiny configs."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from toy_envs import CounterEnv

import srl_tf
from srl_tf import Callback, ConfigError, EnvConfig, Runner
from srl_tf.algorithms import dqn, ppo
from srl_tf.distributed import actor_seeds
from srl_tf.driver import EpisodeDriver
from srl_tf.envs import VecEnvAdapter

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")  # one worker runs every test that starts Ray actors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(srl_tf.__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    started = not ray.is_initialized()
    if started:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=100 * 1024**2,
            log_to_driver=False,
            # the actors import this srl_tf and the test envs
            runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([ROOT, TESTS])}},
        )
    yield
    if started:
        ray.shutdown()


def dqn_config(seed=3):
    cfg = dqn.Config(seed=seed, batch_size=16, jit_compile=False)
    cfg.memory.capacity = 4000
    cfg.memory.warmup_size = 40
    cfg.hidden_block.set_mlp((8,))
    return cfg


def counter_env(num_envs=1, **kwargs):
    return EnvConfig(lambda: CounterEnv(**kwargs), num_envs=num_envs, vectorization="sync")


def actor_processes() -> list[int]:
    """Pids of live processes that run an srl_tf actor (Ray names them ``ray::Actor...``)."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("ray::Actor"):
            pids.append(int(pid))
    return pids


def wait_for_no_actor_processes(timeout=20.0) -> list[int]:
    deadline = time.time() + timeout
    while actor_processes() and time.time() < deadline:
        time.sleep(0.2)
    return actor_processes()


class WeightsProbe(Callback):
    """Now and then asks actor 0 for its acting weights and compares them with the broadcast of
    the same version (the learner's ``get_weights()`` at that broadcast)."""

    def __init__(self):
        self.compared = []  # (version, equal)
        self.sources = set()

    def on_step(self, runner, info):
        actors = runner._actors
        if info["step"] % 48 or actors is None:
            return False
        handle = actors.actors[0]
        self.sources.add(ray.get(handle.where.remote()))
        got = ray.get(handle.weights.remote())
        if got["version"] == actors.version and actors.version > 1:
            sent = ray.get(actors.weights_ref)
            equal = sent.keys() == got["weights"].keys() and all(
                np.array_equal(sent[k], got["weights"][k]) for k in sent
            )
            self.compared.append((got["version"], equal))
        return False


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory):
    """DQN on CounterEnv, 2 actors x 2 envs, 8 steps per chunk: 480 env steps."""
    directory = str(tmp_path_factory.mktemp("dqn_ray"))
    runner = Runner(counter_env(num_envs=2), dqn_config())
    runner.set_history_on_file(directory, enable_eval=True, eval_episode=2, interval=64)
    probe = WeightsProbe()
    runner.train_mp(actor_num=2, max_steps=480, steps_per_chunk=8, callbacks=[probe], progress=False)
    return runner, directory, probe


def reference_streams(seed, actor_num, envs_per_actor, steps, generation=0):
    """What each actor's envs produce, made again in this process: CounterEnv ignores actions, so
    stream ``i * E + j`` is env ``j`` of a VecEnvAdapter reset with actor ``i``'s seed."""
    out = []
    for i in range(actor_num):
        env = VecEnvAdapter(counter_env(envs_per_actor), 0)
        obs = env.reset(seed=actor_seeds(seed, i, generation)[0])
        acted, rewards, ends, nexts = [], [], [], []
        for _ in range(steps):
            st = env.step(np.zeros(envs_per_actor, np.int64))
            acted.append(obs)
            rewards.append(st.reward)
            ends.append(st.terminated | st.truncated)
            nexts.append(st.next_obs)
            obs = st.obs
        env.close()
        for j in range(envs_per_actor):
            out.append(
                {
                    "obs": np.stack([o[j] for o in acted]),
                    "reward": np.array([r[j] for r in rewards]),
                    "end": np.array([e[j] for e in ends]),
                    "next_obs": np.stack([o[j] for o in nexts]),
                }
            )
    return out


def stored_streams(memory):
    """The transitions of every stream of a ReplayBuffer that never wrapped, in order."""
    out = []
    for e in range(memory.num_envs):
        slots = np.flatnonzero(memory.valid[e])
        out.append(
            {
                "obs": memory.obs[e, slots],
                "reward": memory.reward[e, slots],
                "end": memory.episode_end[e, slots],
                "terminated": memory.terminated[e, slots],
                "next_obs": memory.obs[e, slots + 1],
            }
        )
    return out


def test_experience_of_every_actor_reaches_the_memory_once_and_in_order(dqn_run):
    runner, _, _ = dqn_run
    agent, memory = runner.agent, runner.agent.memory
    assert agent.num_envs == 4 and runner.step == 480
    assert len(memory) == agent.env_steps == runner.step  # nothing lost, nothing twice
    assert memory.writes.max() < memory.slots  # the ring never wrapped: everything is still there
    stored = stored_streams(memory)
    expected = reference_streams(runner.rl_config.seed, 2, 2, 480 // 4)
    for e, (got, want) in enumerate(zip(stored, expected)):
        for key in ("obs", "reward", "end", "next_obs"):
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"stream {e}: {key}")
    # every stream is one env: episode ids differ between streams, and t counts up inside an episode
    ids = [set(s["obs"][:, 0]) for s in stored]
    assert all(not (ids[a] & ids[b]) for a in range(4) for b in range(a + 1, 4))
    for s in stored:
        starts = np.concatenate([[True], s["end"][:-1]])
        np.testing.assert_array_equal(s["obs"][:, 1] == 0, starts)


def test_history_evaluation_and_checkpoint_as_after_train(dqn_run):
    runner, directory, _ = dqn_run
    with open(os.path.join(directory, "history.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert rows[-1]["step"] == 480 and rows[-1]["train"] == runner.agent.train_count > 0
    assert any("eval_reward0" in row for row in rows)
    assert all(row["actor_restarts"] == 0 for row in rows)
    assert "weight_staleness" in rows[-1]
    # the share of time the learner did not wait for actors once data flowed: a fraction, not a count
    assert 0.0 < rows[-1]["learner_busy"] <= 1.0
    assert os.path.exists(os.path.join(directory, "checkpoint", "srl_tf.json"))
    assert len(runner.evaluate(2)) == 2


def test_weights_reach_the_actors(dqn_run):
    runner, _, probe = dqn_run
    assert probe.sources == {srl_tf.__file__}  # the actors run this srl_tf
    assert probe.compared, "no sync was observed"
    assert all(equal for _, equal in probe.compared)
    assert max(v for v, _ in probe.compared) > 2  # weights after training, not only the first ones


def test_no_actor_process_is_left_after_train_mp(dqn_run):
    runner, _, _ = dqn_run
    assert runner._actors is None
    assert wait_for_no_actor_processes() == []


class KillActor(Callback):
    def __init__(self, at_step):
        self.at_step, self.done = at_step, False

    def on_step(self, runner, info):
        if not self.done and info["step"] >= self.at_step:
            ray.kill(runner._actors.actors[0], no_restart=False)  # the process dies; Ray starts it again
            self.done = True
        return False


def test_a_killed_actor_is_restarted_and_the_run_goes_on(tmp_path):
    runner = Runner(counter_env(), dqn_config())
    runner.set_history_on_memory(interval=16)
    runner.train_mp(actor_num=2, max_steps=320, steps_per_chunk=8, callbacks=[KillActor(96)], progress=False)
    rows = runner.get_history().runs[0][1]
    assert rows[-1]["actor_restarts"] == 1
    assert rows[0]["actor_restarts"] == 0
    memory = runner.agent.memory
    assert runner.step == 320 and len(memory) == runner.agent.env_steps == 320
    # stream 1 is actor 1's env throughout; stream 0 is actor 0's env up to the kill, then the env of
    # the restarted actor (seeded for its first restart), the episode running at the kill cut short
    seed = runner.rl_config.seed
    stored = stored_streams(memory)
    before = reference_streams(seed, 2, 1, 160)
    after = reference_streams(seed, 1, 1, 160, generation=1)[0]
    for key in ("obs", "reward", "end", "next_obs"):
        np.testing.assert_array_equal(stored[1][key], before[1][key])
    s, ref = stored[0], before[0]
    k = int(np.flatnonzero(np.any(s["obs"] != ref["obs"], axis=1))[0])  # transitions before the restart
    assert 0 < k < 160
    for key in ("obs", "reward", "next_obs"):
        np.testing.assert_array_equal(s[key][:k], ref[key][:k])
        np.testing.assert_array_equal(s[key][k:], after[key][: 160 - k])
    np.testing.assert_array_equal(s["end"][: k - 1], ref["end"][: k - 1])
    np.testing.assert_array_equal(s["end"][k:], after["end"][: 160 - k])
    assert s["end"][k - 1]  # the last step before the restart ends an episode: its own end or a cut
    assert s["terminated"][k - 1] == ref["end"][k - 1]  # a cut is a truncation (CounterEnv only terminates)
    assert wait_for_no_actor_processes() == []


def test_a_cut_ends_only_the_streams_named():
    from srl_tf.memory.replay import ReplayBuffer

    rb = ReplayBuffer(40, (1,), np.float32, (), np.int32, num_envs=3)
    for t in range(3):
        obs = np.full((3, 1), t, np.float32)
        rb.add(obs, np.zeros(3, np.int32), np.ones(3), obs + 1, np.zeros(3, bool), np.zeros(3, bool))
    rb.interrupt_episodes([1])
    assert rb.episode_end[:, 2].tolist() == [False, True, False]
    assert rb.pending.tolist() == [True, False, True]
    first = np.full((3, 1), 100, np.float32)
    rb.add(first, np.zeros(3, np.int32), np.ones(3), first, np.zeros(3, bool), np.zeros(3, bool))
    assert rb.obs[1, 4, 0] == 100 and rb.obs[0, 4, 0] == 100 and rb.obs[0, 3, 0] == 3  # a slot of its own
    assert rb.obs[1, 3, 0] == 3 and not rb.valid[1, 3]  # stream 1's last next obs stays, as no transition start
    assert len(rb) == 12


def test_an_actor_whose_env_raises_is_restarted():
    seed = 5
    env_seed = actor_seeds(seed, 1)[0]
    runner = Runner(EnvConfig(lambda: CounterEnv(fail_at=20, fail_seeds=(env_seed,))), dqn_config(seed))
    runner.set_history_on_memory(interval=16)
    runner.train_mp(actor_num=2, max_steps=160, steps_per_chunk=8, progress=False)
    rows = runner.get_history().runs[0][1]
    assert rows[-1]["actor_restarts"] == 1
    assert runner.step == 160 and len(runner.agent.memory) == 160


def test_a_run_resumes_from_its_checkpoint(tmp_path):
    def run(steps):
        runner = Runner(counter_env(), dqn_config())
        runner.set_history_on_file(str(tmp_path / "run"), interval=32)
        runner.set_checkpoint(str(tmp_path / "ckpt"), is_load=True, interval=0)
        runner.train_mp(actor_num=1, max_steps=steps, steps_per_chunk=8, progress=False)
        return runner

    first = run(64)
    assert first.step == 64
    second = run(64)  # continues from the checkpoint written when the first run stopped
    assert second.step == 128 and second.agent.env_steps == len(second.agent.memory) == 128
    assert second.agent.train_count > first.agent.train_count
    rows = srl_tf.Runner.load_histories([str(tmp_path / "run")]).runs[0][1]
    assert [row["step"] for row in rows] == [32, 64, 96, 128]
    s = stored_streams(second.agent.memory)[0]
    assert s["end"][63]  # the episode running when the first run stopped was cut
    np.testing.assert_array_equal(s["obs"][:, 1] == 0, np.concatenate([[True], s["end"][:-1]]))


class Interrupt(Callback):
    def on_step(self, runner, info):
        if info["step"] >= 64:
            raise KeyboardInterrupt  # what Ctrl-C raises in the learner


def test_ctrl_c_stops_every_actor_and_keeps_history_and_weights(tmp_path):
    runner = Runner(counter_env(), dqn_config())
    runner.set_history_on_file(str(tmp_path), interval=16)
    runner.train_mp(actor_num=2, max_steps=10_000, steps_per_chunk=8, callbacks=[Interrupt()], progress=False)
    assert runner.step == 64 and runner._actors is None
    assert wait_for_no_actor_processes() == []
    rows = srl_tf.Runner.load_histories([str(tmp_path)]).runs[0][1]
    assert rows[-1]["step"] == 64
    assert os.path.exists(tmp_path / "checkpoint" / "srl_tf.json")


def tiny_ppo(seed=7, rollout=32):
    cfg = ppo.Config(seed=seed, batch_size=16, epochs=1, jit_compile=False)
    cfg.memory.capacity = rollout
    cfg.policy_block.set_mlp((8,), activation="tanh")
    cfg.value_block.set_mlp((8,), activation="tanh")
    return cfg


def test_ppo_rollout_from_two_actors_equals_the_single_process_rollouts():
    """Two actors x one CartPole env fill the learner's rollout; each half must equal what one
    process makes with one env reset with that actor's seed and an agent seeded as that actor's,
    holding the learner's first weights. (One process with two envs cannot give the same actions:
    it draws them from one generator for both envs, the actors from one generator each.)"""
    rollout = 32  # 16 steps per actor; stop one step short of the update, so the rollout is still there
    runner = Runner(EnvConfig("CartPole-v1", max_episode_steps=12), tiny_ppo(rollout=rollout))
    runner.train_mp(actor_num=2, max_steps=rollout - 2, progress=False)
    agent = runner.agent
    assert agent.steps_per_update == 16 and agent.train_count == 0
    rb = agent.rollout
    assert rb.pos == 15
    weights = agent.get_weights()  # not trained: the weights the actors acted with
    for i in range(2):
        env_seed, agent_seed = actor_seeds(runner.rl_config.seed, i)
        cfg = tiny_ppo(seed=agent_seed)
        env = VecEnvAdapter(EnvConfig("CartPole-v1", max_episode_steps=12), 0, num_envs=1)
        actor = cfg.make_agent(env.spec, 1)
        actor.set_weights(weights)
        driver = EpisodeDriver(actor, env, explore=True)
        driver.start(env.reset(seed=env_seed))
        for t in range(15):
            _, st, extras = driver.step()
            np.testing.assert_array_equal(rb.obs[t, i], extras["obs"][0], err_msg=f"actor {i} obs at {t}")
            np.testing.assert_array_equal(rb.action[t, i], extras["action"][0], err_msg=f"actor {i} action at {t}")
            assert rb.reward[t, i] == st.reward[0]
            assert rb.terminated[t, i] == st.terminated[0] and rb.truncated[t, i] == st.truncated[0]
        env.close()
    assert rb.truncated[:15].any() or rb.terminated[:15].any()  # episode boundaries were crossed


LOCAL_RAY_SCRIPT = """
import json, os, sys, time
sys.path.insert(0, os.environ["SRL_TF_ROOT"])  # this srl_tf, found by this process only: not through PYTHONPATH
import ray
import srl_tf
from srl_tf.algorithms import ppo

def descendants(root):
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(pid))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out

def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

class Seen(srl_tf.Callback):
    pids = set()
    where = None
    def on_step(self, runner, info):
        self.pids.update(descendants(os.getpid()))
        Seen.where = Seen.where or ray.get(runner._actors.actors[1].where.remote())

cfg = ppo.Config(seed=1, batch_size=16, epochs=1, jit_compile=False)
cfg.memory.capacity = 32
runner = srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", max_episode_steps=20), cfg)
runner.set_history_on_memory(interval=32)
runner.train_mp(actor_num=2, max_steps=96, num_cpus=2, callbacks=[Seen()], progress=False)
deadline = time.time() + 15
while any(alive(p) for p in Seen.pids) and time.time() < deadline:
    time.sleep(0.2)
rows = runner.get_history().runs[0][1]
print(json.dumps({"ray_on": ray.is_initialized(), "seen": len(Seen.pids), "left": [p for p in Seen.pids if alive(p)],
                  "driver": srl_tf.__file__, "actor": Seen.where,
                  "train": runner.agent.train_count, "staleness": [r.get("weight_staleness", 0) for r in rows]}))
"""


def test_a_local_ray_is_started_and_stopped_and_ppo_trains_on_whole_rollouts(tmp_path):
    """In a fresh process, train_mp starts Ray itself, its actors import the srl_tf the driver
    imported (found through sys.path, not PYTHONPATH), and no process is left behind; PPO collects
    every rollout with the newest weights."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SRL_TF_ROOT"] = ROOT
    out = subprocess.run(
        [sys.executable, "-c", LOCAL_RAY_SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["seen"] >= 4  # Ray's own processes and the two actors were seen
    assert not result["ray_on"] and result["left"] == []
    assert result["actor"] == result["driver"] == srl_tf.__file__
    assert result["train"] > 0 and all(s == 0 for s in result["staleness"])


def test_train_mp_checks_its_arguments():
    runner = Runner(counter_env(), dqn_config())
    with pytest.raises(ConfigError, match="stop condition"):
        runner.train_mp(actor_num=2)
    with pytest.raises(ConfigError, match="actor_num"):
        runner.train_mp(actor_num=0, max_steps=10)
    with pytest.raises(ConfigError, match="weight_sync_interval"):
        runner.train_mp(actor_num=1, max_steps=10, weight_sync_interval=0)
    with pytest.raises(ConfigError, match="CPUs"):
        runner.train_mp(actor_num=3, max_steps=10, progress=False)  # the module's Ray has 2


def test_a_runner_built_for_actors_refuses_train_and_another_actor_count():
    runner = Runner(counter_env(), dqn_config())
    runner._setup(num_envs=4)  # what train_mp(actor_num=4) builds
    with pytest.raises(ConfigError, match="continue with train_mp"):
        runner.train(max_steps=10)
    with pytest.raises(ConfigError, match="same actor_num"):
        runner.train_mp(actor_num=2, max_steps=10)


def test_train_mp_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    runner = Runner(counter_env(), dqn_config())
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[distributed\]"'):
        runner.train_mp(actor_num=1, max_steps=10)
