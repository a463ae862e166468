"""RL² benchmark (recurrent PPO, Duan et al. 2016): meta-test returns on held-out tasks.

    python benchmarks/rl2.py --family bandits --seeds 0 1 2 [--steps-scale 1.0] [--trials 500]
    python benchmarks/rl2.py --family navigation --seeds 0 1 2

- bandits: 5-armed Bernoulli bandits, 10 pulls per trial (settings of examples/bandits_rl2_ppo.py).
  Prints the mean return per trial on held-out bandits; target >= 6.5 (random 5.0, UCB1 about 6.7).
- navigation: 2-D point navigation with a hidden goal on the circle of radius 0.5, 3 episodes of 20
  steps per trial (settings of examples/navigation_rl2_ppo.py). Prints the mean return per trial and
  the adaptation curve, the mean return of episode 1, 2, 3 of a trial, which should rise (standing
  still earns -10 per episode, going straight to a known goal about -1.5).

Every seed is evaluated on the same held-out tasks (``srl_tf.envs.meta.HELD_OUT_TASK_SEED``) with the
sampling policy. Each run writes its history to <out>/<family>_s<seed>; the script writes the
adaptation curves of all seeds to <out>/<family>_adaptation.png and prints a markdown row for
docs/benchmarks.md (results of 1M-step runs there). Result: benchmarks/results/rl2_<family>.json
(rl2_bandits.json, rl2_navigation.json) with each seed's held-out return per episode of a trial and
its evaluation curve.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402
from bandits_rl2_ppo import NUM_ENVS as BANDIT_ENVS  # noqa: E402
from bandits_rl2_ppo import bandit_env, rl2_bandit_config  # noqa: E402
from navigation_rl2_ppo import NUM_ENVS as NAVIGATION_ENVS  # noqa: E402
from navigation_rl2_ppo import navigation_env, rl2_navigation_config  # noqa: E402

import srl_tf  # noqa: E402
from srl_tf.envs.meta import evaluate_trials, plot_adaptation_curve  # noqa: E402

FAMILIES = {
    # family: (label, env factory, num_envs, budget in env steps, config maker, target / reference)
    "bandits": (
        "bandits 5 arms × 10 pulls",
        bandit_env,
        BANDIT_ENVS,
        1_000_000,
        rl2_bandit_config,
        "≥ 6.5 (random 5.0, UCB1 ≈ 6.7)",
    ),
    "navigation": (
        "point navigation 3 × 20 steps",
        navigation_env,
        NAVIGATION_ENVS,
        1_000_000,
        rl2_navigation_config,
        "rising curve (still −10 / ep, known goal ≈ −1.5 / ep)",
    ),
}


def run(family: str, seed: int, scale: float, trials: int, out: str):
    _, make_env, num_envs, budget, make_config, _ = FAMILIES[family]
    steps = max(int(budget * scale), 1)
    runner = srl_tf.Runner(srl_tf.EnvConfig(make_env, num_envs=num_envs), make_config(seed))
    runner.set_history_on_file(os.path.join(out, f"{family}_s{seed}"), enable_eval=True, eval_episode=32)
    t = time.time()
    runner.train(max_steps=steps, progress=False)
    wall = time.time() - t
    return runner.step, wall, evaluate_trials(runner, trials=trials), _results.eval_curve(runner)


def table(results: list[dict]) -> str:
    """The docs table of one or more result files of this script (one row per family)."""
    lines = ["| task | env steps | seeds | held-out return per trial per seed | mean | mean per episode of a trial | target |",
             "|---|---|---|---|---|---|---|"]
    for result in results:
        family = result["settings"]["family"]
        label, reference = FAMILIES[family][0], FAMILIES[family][5]
        runs = result["runs"]
        per_trial = [r["held_out_return_per_trial"] for r in runs]
        curve = np.mean([r["held_out_return_per_episode"] for r in runs], axis=0)
        lines.append(f"| RL² PPO {label} | {runs[0]['env_steps']} | {', '.join(str(r['seed']) for r in runs)} | "
                     f"{', '.join(f'{x:.2f}' for x in per_trial)} | {np.mean(per_trial):.2f} | "
                     f"{' → '.join(f'{c:.2f}' for c in curve)} | {reference} |")
    lines.append("")
    for result in results:
        lines.append(f"{result['settings']['family']}: `{result['command']}`, {result['settings']['trials']} held-out trials "
                     f"per seed, {_results.machine_line(result)}.  ")
    return "\n".join(lines).rstrip()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--family", choices=list(FAMILIES), required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--steps-scale", type=float, default=1.0, help="fraction of the budget to run (quick checks)")
    p.add_argument("--trials", type=int, default=500, help="held-out trials per seed")
    p.add_argument("--out", default="runs/bench_rl2")
    args = p.parse_args()
    label, *_, reference = FAMILIES[args.family]
    before = _results.machine()
    per_trial, curves, returns, runs = [], [], {}, []
    for seed in args.seeds:
        steps, wall, r, eval_curve = run(args.family, seed, args.steps_scale, args.trials, args.out)
        returns[f"seed {seed}"] = r
        per_trial.append(r.sum(axis=1).mean())
        curves.append(r.mean(axis=0))
        runs.append({"seed": seed, "env_steps": int(steps), "wall_s": round(wall, 1),
                     "held_out_return_per_trial": round(float(per_trial[-1]), 3),
                     "held_out_return_per_episode": [round(float(c), 3) for c in curves[-1]], "eval_curve": eval_curve})
        line = f"{args.family} seed {seed}: {steps} steps in {wall:.0f}s ({steps / wall:.0f} steps/s), held-out mean return per trial {per_trial[-1]:.2f}"
        if args.family == "navigation":
            line += "; per episode " + ", ".join(f"ep{i + 1} {c:.2f}" for i, c in enumerate(curves[-1]))
        print(line, flush=True)
    path = plot_adaptation_curve(
        returns, os.path.join(args.out, f"{args.family}_adaptation.png"), title=f"RL² PPO, {label}, {steps} env steps"
    )
    curve = np.mean(curves, axis=0)
    _results.write(f"rl2_{args.family}", _results.record(runs, seeds=args.seeds, machine_before=before,
                                                          settings={"family": args.family, "trials": args.trials,
                                                                    "steps_scale": args.steps_scale}))
    print(f"adaptation curves: {path}")
    print(
        f"\n| task | env steps | seeds | held-out return per trial per seed ({args.trials} trials, sampling) | mean "
        "| mean per episode of a trial | target |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| RL² PPO {label} | {steps} | {', '.join(map(str, args.seeds))} | "
        f"{', '.join(f'{r:.2f}' for r in per_trial)} | {np.mean(per_trial):.2f} | "
        f"{' → '.join(f'{c:.2f}' for c in curve)} | {reference} |"
    )


if __name__ == "__main__":
    main()
