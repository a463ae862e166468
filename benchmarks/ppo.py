"""PPO learning benchmark: CartPole-v1 (100k env steps), Pendulum-v1 (200k env steps) and recurrent
(GRU) PPO on CartPole-v1 with the velocities hidden (200k env steps).

    python benchmarks/ppo.py --seeds 0 1 2 [--tasks cartpole pendulum masked_cartpole] [--steps-scale 1.0]

Settings are those of examples/cartpole_ppo.py, examples/pendulum_ppo.py and
examples/masked_cartpole_recurrent_ppo.py. Each run writes its history to
runs/bench_ppo/<task>_s<seed>; the script prints a markdown table (for docs/benchmarks.md) of the
deterministic evaluation return over 10 episodes at the end of training.
Targets (mean of 3 seeds): CartPole 500, Pendulum >= -250, masked CartPole >= 450.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

from cartpole_ppo import cartpole_ppo_config  # noqa: E402
from masked_cartpole_recurrent_ppo import NUM_ENVS as MASKED_ENVS  # noqa: E402
from masked_cartpole_recurrent_ppo import masked_cartpole, masked_cartpole_config  # noqa: E402
from pendulum_ppo import NUM_ENVS, pendulum_ppo_config  # noqa: E402

import srl_tf  # noqa: E402

TASKS = {
    # task: (label, env id or maker, num_envs, budget in env steps, config maker, target)
    "cartpole": ("PPO CartPole-v1", "CartPole-v1", 1, 100_000, lambda seed, steps: cartpole_ppo_config(seed), 500.0),
    "pendulum": ("PPO Pendulum-v1", "Pendulum-v1", NUM_ENVS, 200_000, pendulum_ppo_config, -250.0),
    "masked_cartpole": (
        "GRU PPO CartPole-v1, velocities hidden",
        masked_cartpole,
        MASKED_ENVS,
        200_000,
        lambda seed, steps: masked_cartpole_config(seed, total_steps=steps),
        450.0,
    ),
}


def run(task: str, seed: int, scale: float, out: str):
    _, env_id, num_envs, budget, make_config, _ = TASKS[task]
    steps = max(int(budget * scale), 1)
    runner = srl_tf.Runner(srl_tf.EnvConfig(env_id, num_envs=num_envs), make_config(seed, steps))
    runner.set_history_on_file(os.path.join(out, f"{task}_s{seed}"), enable_eval=True, eval_episode=10)
    t = time.time()
    runner.train(max_steps=steps, progress=False)
    wall = time.time() - t
    return steps, wall, float(np.mean(runner.evaluate(max_episodes=10)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--steps-scale", type=float, default=1.0, help="fraction of each budget to run (quick checks)")
    p.add_argument("--out", default="runs/bench_ppo")
    args = p.parse_args()
    rows = []
    for task in args.tasks:
        results = []
        for seed in args.seeds:
            steps, wall, ret = run(task, seed, args.steps_scale, args.out)
            results.append(ret)
            print(f"{task} seed {seed}: {steps} steps in {wall:.0f}s ({steps / wall:.0f} steps/s), eval {ret:.1f}", flush=True)
        rows.append((task, steps, results))
    print("\n| task | env steps | seeds | eval return per seed (10 ep, deterministic) | mean | target |")
    print("|---|---|---|---|---|---|")
    for task, steps, results in rows:
        target = TASKS[task][5]
        print(f"| {TASKS[task][0]} | {steps} | {', '.join(map(str, args.seeds))} | "
              f"{', '.join(f'{r:.1f}' for r in results)} | {np.mean(results):.1f} | {target:g} |")


if __name__ == "__main__":
    main()
