"""Env steps per second of ``train_mp`` with 1, 2 and 4 actors, against ``train`` in one process,
for DQN on an env whose step sleeps 5 ms (an env slow enough that stepping it is the cost).

    python benchmarks/ray_scaling.py [--actors 1 2 4] [--seconds 40] [--sleep-ms 5]
    python benchmarks/ray_scaling.py --table     # the docs table, from the committed result file

Every case trains for ``--seconds`` seconds (DQN, 32x32 MLP, a gradient step every 16 env steps,
one env per actor); the rate is measured from the first env step the learner sees to the end, so
Ray's start and the actors' start (each imports TensorFlow) are left out. One local Ray with as
many CPUs as the largest case has actors is started for all cases. Results go to
``benchmarks/results/ray_scaling.json`` with the command, commit, date and machine (its load too).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import gymnasium as gym
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402


class SleepEnv(gym.Env):
    """A 4-vector observation, 2 actions, 200 steps an episode; every step sleeps ``sleep_s``."""

    def __init__(self, sleep_s: float = 0.005):
        self.sleep_s = sleep_s
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.uniform(-1, 1, 4).astype(np.float32), {}

    def step(self, action):
        time.sleep(self.sleep_s)
        self.t += 1
        obs = self.np_random.uniform(-1, 1, 4).astype(np.float32)
        return obs, float(action == 1), False, self.t >= 200, {}


def runner(sleep_s: float):
    import srl_tf
    from srl_tf.algorithms import dqn

    cfg = dqn.Config(seed=0, batch_size=32, train_interval=16)
    cfg.memory.capacity, cfg.memory.warmup_size = 50_000, 500
    cfg.hidden_block.set_mlp((32, 32))
    return srl_tf.Runner(srl_tf.EnvConfig(lambda: SleepEnv(sleep_s), vectorization="sync"), cfg)


def measure(actors: int, seconds: float, sleep_s: float) -> dict:
    """``actors`` = 0: ``train()`` in this process."""
    from srl_tf import Callback

    class Clock(Callback):
        first = last = None

        def on_step(self, runner, info):
            now = (time.perf_counter(), info["step"], info["train"])
            self.first = self.first or now
            self.last = now

    clock = Clock()
    r = runner(sleep_s)
    if actors:
        r.train_mp(actor_num=actors, timeout=seconds, callbacks=[clock], progress=False)
    else:
        r.train(timeout=seconds, callbacks=[clock], progress=False)
    (t0, s0, g0), (t1, s1, g1) = clock.first, clock.last
    return {
        "actors": actors,
        "env_steps": int(s1 - s0),
        "seconds": round(t1 - t0, 2),
        "env_steps_per_s": round((s1 - s0) / (t1 - t0), 1),
        "gradient_steps_per_s": round((g1 - g0) / (t1 - t0), 1),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--sleep-ms", type=float, default=5.0)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "ray_scaling.json"))
    p.add_argument("--table", action="store_true", help="only print the table of the result file --out")
    args = p.parse_args()
    if args.table:
        print(table(_results.read(args.out)))
        return
    import ray

    before = _results.machine()
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ray.init(
        num_cpus=max(args.actors),
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": source}},
    )
    rows = []
    try:
        rows.append(measure(0, args.seconds, args.sleep_ms / 1000))
        for n in args.actors:
            rows.append(measure(n, args.seconds, args.sleep_ms / 1000))
            print(rows[-1], flush=True)
    finally:
        ray.shutdown()
    settings = {"sleep_ms": args.sleep_ms, "seconds": args.seconds}
    result = _results.record(rows, machine_before=before, seeds=[0], settings=settings)
    _results.write(args.out, result)
    print(table(result))


def table(result: dict) -> str:
    """The markdown table of a result file (docs/guides/scaling_out.md is made from it)."""
    lines = [
        "| how | env steps measured | env steps/s | gradient steps/s | speed-up over one actor |",
        "|---|---|---|---|---|",
    ]
    one = next((r["env_steps_per_s"] for r in _results.runs_of(result) if r["actors"] == 1), None)
    for r in _results.runs_of(result):
        how = "train(), one process" if r["actors"] == 0 else f"train_mp(actor_num={r['actors']})"
        speed = f"{r['env_steps_per_s'] / one:.2f}x" if one and r["actors"] else "-"
        lines.append(
            f"| {how} | {r['env_steps']:,} | {r['env_steps_per_s']} | {r['gradient_steps_per_s']} | {speed} |"
        )
    m = result["machine"]
    before, after = _results.loads(result)
    lines.append(
        f"\n{result['date']}, {m['cpu']}, {m['cores']} cores shared with other work, load {before:.1f} "
        f"before and {after:.1f} after; env step {(result.get('settings') or result)['sleep_ms']:g} ms of sleep."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
