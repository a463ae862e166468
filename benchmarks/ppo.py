"""PPO learning benchmark: CartPole-v1 (100k env steps), Pendulum-v1 (200k env steps) and recurrent
(GRU) PPO on CartPole-v1 with the velocities hidden (200k env steps).

    python benchmarks/ppo.py --seeds 0 1 2 [--tasks cartpole pendulum masked_cartpole] [--steps-scale 1.0]

Settings are those of examples/cartpole_ppo.py, examples/pendulum_ppo.py and
examples/masked_cartpole_recurrent_ppo.py. Evaluation: 10 deterministic episodes every 5% of the run
and once more at the end of training (the figure in the table).
Targets (mean of 3 seeds): CartPole 500, Pendulum >= -250, masked CartPole >= 450.

Results: benchmarks/results/ppo_cartpole.json, ppo_pendulum.json and gru_ppo_masked_cartpole.json,
with each seed's evaluation curve; ``python benchmarks/report.py`` makes the docs table from them.
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
sys.path.insert(0, HERE)

import _results  # noqa: E402
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
RESULT_NAMES = {"cartpole": "ppo_cartpole", "pendulum": "ppo_pendulum", "masked_cartpole": "gru_ppo_masked_cartpole"}
# Seeds whose runs the settings were tuned on: their mean is reported apart from fresh seeds'.
TUNED_ON = {"masked_cartpole": [0, 1, 2]}


def run(task: str, seed: int, scale: float, history: str | None = None) -> dict:
    _, env_id, num_envs, budget, make_config, _ = TASKS[task]
    steps = max(int(budget * scale), 1)
    runner = srl_tf.Runner(srl_tf.EnvConfig(env_id, num_envs=num_envs), make_config(seed, steps))
    eval_interval = max(steps // 20, 1)
    if history:
        runner.set_history_on_file(os.path.join(history, f"{task}_s{seed}"), enable_eval=True, eval_episode=10,
                                   eval_interval=eval_interval)
    else:
        runner.set_history_on_memory(enable_eval=True, eval_episode=10, eval_interval=eval_interval)
    t = time.time()
    runner.train(max_steps=steps, progress=False)
    wall = time.time() - t
    final = float(np.mean(runner.evaluate(max_episodes=10)))
    return {"seed": seed, "env_steps": steps, "final_eval": round(final, 1), "wall_s": round(wall, 1),
            "eval_curve": _results.eval_curve(runner)}


def table(results: list[dict]) -> str:
    """The docs table of one or more result files of this script (one row per file)."""
    lines = ["| task | env steps | seeds | eval return per seed (10 ep, deterministic) | mean | target |",
             "|---|---|---|---|---|---|"]
    for result in results:
        task = result["settings"]["task"]
        label, target = TASKS[task][0], TASKS[task][5]
        groups = _results.mean_rows(result)
        for group, runs in groups:
            rets = [r["final_eval"] for r in runs]
            verdict = "met" if np.mean(rets) >= target else "missed"
            seeds = ", ".join(str(r["seed"]) for r in runs)
            if len(groups) > 1:
                seeds += " (tuned on)" if "tuned on" in group else " (fresh)"
            lines.append(f"| {label} | {runs[0]['env_steps']} | {seeds} | "
                         f"{', '.join(f'{x:.1f}' for x in rets)} | {np.mean(rets):.1f} | ≥ {target:g}: **{verdict}** |")
    lines.append("")
    for result in results:
        lines.append(f"{TASKS[result['settings']['task']][0]}: `{result['command']}`, {_results.machine_line(result)}.  ")
    return "\n".join(lines).rstrip()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--steps-scale", type=float, default=1.0, help="fraction of each budget to run (quick checks)")
    p.add_argument("--history", help="also write each run's history under this folder (<task>_s<seed>)")
    p.add_argument("--results", default=_results.RESULTS, help="folder of the result files")
    args = p.parse_args()
    written = []
    for task in args.tasks:
        before = _results.machine()
        runs = []
        for seed in args.seeds:
            runs.append(run(task, seed, args.steps_scale, args.history))
            r = runs[-1]
            print(f"{task} seed {seed}: {r['env_steps']} steps in {r['wall_s']:.0f}s "
                  f"({r['env_steps'] / r['wall_s']:.0f} steps/s), eval {r['final_eval']:.1f}", flush=True)
        result = _results.record(runs, seeds=args.seeds, machine_before=before,
                                 settings={"task": task, "steps_scale": args.steps_scale,
                                           "tuned_on_seeds": TUNED_ON.get(task, [])})
        _results.write(os.path.join(args.results, f"{RESULT_NAMES[task]}.json"), result)
        written.append(result)
    print(table(written))


if __name__ == "__main__":
    main()
