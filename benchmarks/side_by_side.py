"""Shared harness for the speed benchmarks: run srl_tf and Stable-Baselines3 alternately with the
same settings and print env steps/s, gradient steps/s, their ratio and a markdown table."""

import argparse
from collections.abc import Callable

import numpy as np

RunFn = Callable[[int, int], tuple]  # (steps, seed) -> (wall seconds, gradient steps, eval return)


def compare(run_srl_tf: RunFn, run_sb3: RunFn, default_steps: int) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=default_steps)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    results = {"srl_tf": [], "sb3": []}
    for r in range(args.repeats):
        order = [("srl_tf", run_srl_tf), ("sb3", run_sb3)]
        if r % 2:  # alternate who runs first, the machine warms up and its load drifts
            order.reverse()
        for name, fn in order:
            wall, grads, ret = fn(args.steps, args.seed)
            results[name].append((wall, grads, ret))
            print(f"{name}: {args.steps / wall:.0f} env steps/s, {grads / wall:.0f} gradient steps/s, "
                  f"wall {wall:.1f}s, eval {ret:.1f}", flush=True)
    print("\n| framework | env steps/s | gradient steps/s | eval return (10 ep) |")
    print("|---|---|---|---|")
    for name, rows in results.items():
        sps = np.mean([args.steps / w for w, _, _ in rows])
        gps = np.mean([g / w for w, g, _ in rows])
        print(f"| {name} | {sps:.0f} | {gps:.0f} | {', '.join(f'{r:.0f}' for _, _, r in rows)} |")
    speed = {name: np.mean([args.steps / w for w, _, _ in rows]) for name, rows in results.items()}
    print(f"\nsrl_tf / SB3 env steps/s: {speed['srl_tf'] / speed['sb3']:.2f}x")
