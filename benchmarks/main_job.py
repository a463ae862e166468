"""The README's main job (examples/cartpole_dqn.py) on several seeds: the evaluation of the last
and of the best-evaluated weights, and the training time, into benchmarks/results/main_job.json;
then the example itself, end to end in a fresh process (import, training, evaluations, plot, GIF),
timed once with its default seed.

    python benchmarks/main_job.py [--seeds 0 1 2 3 4] [--steps 50000]
    python benchmarks/main_job.py --table      # the README's table, from the committed result file
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
sys.path.insert(0, HERE)

import _results  # noqa: E402


def run(seed: int, steps: int) -> dict:
    from cartpole_dqn import cartpole_dqn_config

    import srl_tf

    out = tempfile.mkdtemp(prefix=f"main_job_{seed}_")
    t0 = time.time()
    runner = srl_tf.Runner("CartPole-v1", cartpole_dqn_config(seed))
    runner.set_history_on_file(out, enable_eval=True, eval_episode=10)
    runner.train(max_steps=steps, progress=False)
    wall = time.time() - t0
    last = runner.evaluate(10)
    best = runner.evaluate(10, weights="best")
    rows = srl_tf.Runner.load_histories([out]).runs[0][1]
    curve = [[r["step"], r["eval_reward0"]] for r in rows if "eval_reward0" in r]
    return {"seed": seed, "train_seconds": round(wall, 1), "last": float(np.mean(last)), "best": float(np.mean(best)), "eval_curve": curve}


def table(result: dict) -> str:
    lines = ["| seed | last weights | best weights | training time (s) |", "|---|---|---|---|"]
    for r in result["runs"]:
        lines.append(f"| {r['seed']} | {r['last']:.1f} | {r['best']:.1f} | {r['train_seconds']:.0f} |")
    whole = result["settings"].get("example_seconds")
    if whole is not None:
        lines.append(f"\n`python examples/cartpole_dqn.py` end to end (seed 0: import, training, both evaluations, "
                     f"plot, GIF) took {whole:.0f} s.")
    lines.append(f"\nMean of 10 deterministic episodes each; {_results.machine_line(result)}.")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--steps", type=int, default=50_000)
    p.add_argument("--out", default=os.path.join(HERE, "results", "main_job.json"))
    p.add_argument("--table", action="store_true")
    args = p.parse_args()
    if args.table:
        print(table(_results.read(args.out)))
        return
    before = _results.machine()
    runs = []
    for seed in args.seeds:
        runs.append(run(seed, args.steps))
        r = runs[-1]
        print(f"seed {seed}: last {r['last']:.1f}, best {r['best']:.1f}, {r['train_seconds']:.0f}s", flush=True)
    out = tempfile.mkdtemp(prefix="main_job_example_")
    t0 = time.time()
    subprocess.run([sys.executable, os.path.join(HERE, "..", "examples", "cartpole_dqn.py"), "--out", out,
                    "--steps", str(args.steps)], check=True, stdout=subprocess.DEVNULL)
    example_seconds = round(time.time() - t0, 1)
    print(f"examples/cartpole_dqn.py end to end: {example_seconds:.0f}s", flush=True)
    result = _results.record(runs, seeds=args.seeds, machine_before=before,
                             settings={"steps": args.steps, "example_seconds": example_seconds})
    _results.write(args.out, result)
    print(table(result))


if __name__ == "__main__":
    main()
