"""Shared harness for the speed benchmarks: run srl_tf and Stable-Baselines3 alternately with the
same settings, print env steps/s, gradient steps/s, their ratio and a markdown table, and write the
result file benchmarks/results/<name>.json (see _results.py). Every run is a fresh process.

Env steps/s count the env steps each framework actually took: SB3's PPO collects whole rollouts
(asked for 50 000 steps with rollouts of 2048 it takes 51 200) and its DQN whole ``train_freq``
blocks, so dividing the requested budget by the wall time would credit it with fewer steps than it
ran.
"""

import argparse
import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402

# (steps, seed) -> (wall seconds, gradient steps, eval return, env steps taken)
RunFn = Callable[[int, int], tuple]


def table(result: dict) -> str:
    """The docs table of a speed result file: mean over the repeats of each framework, and the ratio."""
    lines = ["| framework | env steps taken | env steps/s | gradient steps/s | eval return (10 ep) |", "|---|---|---|---|---|"]
    speed = {}
    for name in ("srl_tf", "sb3"):
        runs = [r for r in result["runs"] if r["framework"] == name]
        speed[name] = np.mean([r["env_steps_per_s"] for r in runs])
        label = "srl_tf" if name == "srl_tf" else _results.sb3_label(result)
        lines.append(f"| {label} | {', '.join(str(r['env_steps']) for r in runs)} | {speed[name]:.0f} | "
                     f"{np.mean([r['gradient_steps_per_s'] for r in runs]):.0f} | {', '.join(str(round(r['eval'])) for r in runs)} |")
    lines.append(f"\nsrl_tf / SB3 env steps/s: {speed['srl_tf'] / speed['sb3']:.2f}×; `{result['command']}`, "
                 f"{_results.machine_line(result)}.")
    return "\n".join(lines)


def in_fresh_process(fn: Callable, *args) -> tuple:
    """``fn(*args)`` in a new Python process: each framework starts alone (TensorFlow and a CUDA
    build of torch in one process can crash), and neither inherits the other's threads."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def compare(run_srl_tf: RunFn, run_sb3: RunFn, default_steps: int, name: str) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=default_steps)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=name, help=f"result file (default benchmarks/results/{name}.json)")
    args = p.parse_args()
    before = _results.machine()
    runs = []
    for r in range(args.repeats):
        order = [("srl_tf", run_srl_tf), ("sb3", run_sb3)]
        if r % 2:  # alternate who runs first, the machine warms up and its load drifts
            order.reverse()
        for framework, fn in order:
            wall, grads, ret, steps = in_fresh_process(fn, args.steps, args.seed)
            runs.append({"framework": framework, "repeat": r, "seed": args.seed, "env_steps": int(steps),
                         "gradient_steps": int(grads), "wall_s": round(wall, 2), "env_steps_per_s": round(steps / wall, 1),
                         "gradient_steps_per_s": round(grads / wall, 1), "eval": round(float(ret), 1)})
            print(f"{framework}: {steps / wall:.0f} env steps/s ({steps} steps), {grads / wall:.0f} gradient steps/s, "
                  f"wall {wall:.1f}s, eval {ret:.1f}", flush=True)
    result = _results.record(runs, seeds=[args.seed], machine_before=before, extra_packages=("stable-baselines3", "torch"),
                             settings={"steps_asked": args.steps, "repeats": args.repeats})
    _results.write(args.out, result)
    print(table(result))
