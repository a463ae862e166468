"""Env steps per second of ``train_mp`` with 1, 2, 4 and 8 actors, against ``train`` in one
process, for DQN on an env whose step sleeps 5 ms (an env slow enough that stepping it is the
cost), or on CartPole-v1 (``--env cartpole``: an env whose steps compete with the learner for the
cores).

    python benchmarks/ray_scaling.py [--actors 1 2 4 8] [--seconds 90] [--sleep-ms 5]
    python benchmarks/ray_scaling.py --env cartpole
    python benchmarks/ray_scaling.py --table     # the docs table, from the committed result file

Every case trains for ``--seconds`` seconds (DQN, 32x32 MLP, a gradient step every 16 env steps,
one env per actor); the rate is measured from the first env step the learner sees to the end. The
learner takes its first chunk only once every actor has sent one, so Ray's start and the actors'
start (each imports TensorFlow) are left out. ``learner busy`` is ``train_mp``'s own figure: the
share of that time the learner did not wait for actors. One local Ray with as many CPUs as the
largest case has actors is started for all cases. Results go to
``benchmarks/results/ray_scaling.json`` (``ray_scaling_cartpole.json``) with the command, commit,
date and machine (its load too).
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


def runner(sleep_s: float | None):
    """``sleep_s`` None: CartPole-v1."""
    import srl_tf
    from srl_tf.algorithms import dqn

    cfg = dqn.Config(seed=0, batch_size=32, train_interval=16)
    cfg.memory.capacity, cfg.memory.warmup_size = 50_000, 500
    cfg.hidden_block.set_mlp((32, 32))
    env = srl_tf.EnvConfig("CartPole-v1") if sleep_s is None else srl_tf.EnvConfig(lambda: SleepEnv(sleep_s))
    env.vectorization = "sync"
    r = srl_tf.Runner(env, cfg)
    r.set_history_on_memory()
    return r


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
    if clock.first is None or clock.last[0] <= clock.first[0]:
        raise SystemExit(f"{actors} actor(s): no env steps within {seconds:g} s (the actors' start took it all); "
                         "give --seconds more")
    (t0, s0, g0), (t1, s1, g1) = clock.first, clock.last
    busy = [row["learner_busy"] for row in r.get_history().runs[0][1] if "learner_busy" in row]
    return {
        "actors": actors,
        "env_steps": int(s1 - s0),
        "seconds": round(t1 - t0, 2),
        "env_steps_per_s": round((s1 - s0) / (t1 - t0), 1),
        "gradient_steps_per_s": round((g1 - g0) / (t1 - t0), 1),
        "learner_busy": busy[-1] if busy else None,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--seconds", type=float, default=90.0)
    p.add_argument("--env", choices=["sleep", "cartpole"], default="sleep")
    p.add_argument("--sleep-ms", type=float, default=5.0)
    p.add_argument("--out", default=None, help="default: benchmarks/results/ray_scaling[_cartpole].json")
    p.add_argument("--table", action="store_true", help="only print the table of the result file --out")
    args = p.parse_args()
    name = "ray_scaling" if args.env == "sleep" else "ray_scaling_cartpole"
    args.out = args.out or os.path.join(os.path.dirname(__file__), "results", f"{name}.json")
    sleep_s = args.sleep_ms / 1000 if args.env == "sleep" else None
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
        rows.append(measure(0, args.seconds, sleep_s))
        print(rows[-1], flush=True)
        for n in args.actors:
            rows.append(measure(n, args.seconds, sleep_s))
            print(rows[-1], flush=True)
    finally:
        ray.shutdown()
    settings = {"env": args.env, "sleep_ms": args.sleep_ms if args.env == "sleep" else None, "seconds": args.seconds}
    result = _results.record(rows, machine_before=before, seeds=[0], settings=settings)
    _results.write(args.out, result)
    print(table(result))


def table(result: dict) -> str:
    """The markdown table of a result file (docs/guides/scaling_out.md is made from it)."""
    lines = [
        "| how | env steps measured | env steps/s | gradient steps/s | speed-up over one actor | learner busy |",
        "|---|---|---|---|---|---|",
    ]
    one = next((r["env_steps_per_s"] for r in _results.runs_of(result) if r["actors"] == 1), None)
    for r in _results.runs_of(result):
        how = "train(), one process" if r["actors"] == 0 else f"train_mp(actor_num={r['actors']})"
        speed = f"{r['env_steps_per_s'] / one:.2f}x" if one and r["actors"] else "-"
        busy = "-" if r.get("learner_busy") is None else f"{100 * r['learner_busy']:.0f} %"
        lines.append(
            f"| {how} | {r['env_steps']:,} | {r['env_steps_per_s']} | {r['gradient_steps_per_s']} | {speed} | {busy} |"
        )
    settings = result.get("settings") or result
    env = "CartPole-v1" if settings.get("env") == "cartpole" else f"env step {settings['sleep_ms']:g} ms of sleep"
    lines.append(f"\n{_results.machine_line(result)}; {env}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
