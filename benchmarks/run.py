"""Run one benchmark family end to end and write its result file under benchmarks/results/.

    python benchmarks/run.py --list                        # the families, their commands and result files
    python benchmarks/run.py dqn-cartpole --seeds 0 1 2    # -> benchmarks/results/dqn_cartpole.json
    python benchmarks/run.py td3-pendulum --seeds 0 1 2 -- --steps 2000    # after --: passed to the script
    python benchmarks/report.py cartpole                   # the docs table, from the result files

Each family is one invocation of the script that measures it, with the settings the docs state;
``--seeds`` replaces the script's default seeds (speed and cost benchmarks take one seed). A result
file is overwritten by the next run of its family, so commit it together with the docs it feeds
(``python benchmarks/report.py --write``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# family: (script, its arguments, how it takes seeds: "--seeds", "--seed" or None, result files)
FAMILIES: dict[str, tuple[str, list[str], str | None, list[str]]] = {
    "dqn-cartpole": ("cartpole.py", ["--algos", "dqn"], "--seeds", ["dqn_cartpole"]),
    "reinforce-cartpole": ("cartpole.py", ["--algos", "reinforce"], "--seeds", ["reinforce_cartpole"]),
    "reinforce-baseline-cartpole": ("cartpole.py", ["--algos", "reinforce_baseline"], "--seeds", ["reinforce_baseline_cartpole"]),
    "actor-critic-cartpole": ("cartpole.py", ["--algos", "actor_critic"], "--seeds", ["actor_critic_cartpole"]),
    "sac-pendulum": ("continuous.py", ["--algos", "sac"], "--seeds", ["sac_pendulum"]),
    "td3-pendulum": ("continuous.py", ["--algos", "td3"], "--seeds", ["td3_pendulum"]),
    "ddpg-pendulum": ("continuous.py", ["--algos", "ddpg"], "--seeds", ["ddpg_pendulum"]),
    "sac-halfcheetah": ("continuous.py", ["--algos", "cheetah"], "--seeds", ["sac_halfcheetah"]),
    "ppo-cartpole": ("ppo.py", ["--tasks", "cartpole"], "--seeds", ["ppo_cartpole"]),
    "ppo-pendulum": ("ppo.py", ["--tasks", "pendulum"], "--seeds", ["ppo_pendulum"]),
    "gru-ppo-masked-cartpole": ("ppo.py", ["--tasks", "masked_cartpole"], "--seeds", ["gru_ppo_masked_cartpole"]),
    "rl2-bandits": ("rl2.py", ["--family", "bandits"], "--seeds", ["rl2_bandits"]),
    "rl2-navigation": ("rl2.py", ["--family", "navigation"], "--seeds", ["rl2_navigation"]),
    "dreamer-v3-pendulum": ("dreamer_pendulum.py", ["--presets", "v3"], "--seeds", ["dreamer_v3_pendulum"]),
    "dreamer-v2-pendulum": ("dreamer_pendulum.py", ["--presets", "v2"], "--seeds", ["dreamer_v2_pendulum"]),
    "dreamer-v1-pendulum": ("dreamer_pendulum.py", ["--presets", "v1", "--lrs", "6e-4", "8e-5", "8e-5"], "--seeds",
                            ["dreamer_v1_pendulum"]),
    "main-job": ("main_job.py", [], "--seeds", ["main_job"]),
    "checkpoint-cost": ("checkpoint_cost.py", [], None, ["checkpoint_cost"]),
    "dqn-speed": ("dqn_speed.py", ["--steps", "30000", "--repeats", "2"], "--seed", ["dqn_speed"]),
    "ppo-speed": ("ppo_speed.py", ["--steps", "50000", "--repeats", "2"], "--seed", ["ppo_speed"]),
    "sac-ddpg-speed": ("continuous_speed.py", ["--steps", "10000", "--repeats", "1"], "--seed", ["continuous_speed"]),
    "sac-profile": ("sac_profile.py", [], None, ["sac_profile"]),
    "dreamer-speed": ("dreamer_pendulum.py", ["--speed"], None, ["dreamer_speed"]),
    "dreamer-precision": ("dreamer_precision.py", ["--repeats", "3"], None, ["dreamer_precision"]),
    "dreamer-flops": ("dreamer_flops.py", ["--repeats", "20"], None, ["dreamer_flops"]),
    "dreamer-profile": ("dreamer_profile.py", ["--steps", "3"], None, ["dreamer_profile"]),
    "dreamer-pixels-step": ("dreamer_pixels_step.py", ["--repeats", "3"], None, ["dreamer_pixels_step"]),
    "dreamer-carracing": ("dreamer_carracing.py", [], "--seed", ["dreamer_carracing"]),
}


def command(family: str, seeds: list[int] | None, extra: list[str]) -> list[str]:
    script, fixed, seed_flag, _ = FAMILIES[family]
    cmd = [sys.executable, os.path.join("benchmarks", script), *fixed]
    if seeds:
        if seed_flag is None:
            raise SystemExit(f"{family} takes no seeds (its figures are not per seed); run it without --seeds")
        if seed_flag == "--seed" and len(seeds) > 1:
            raise SystemExit(f"{family} takes one seed (--seeds {seeds[0]}); it compares frameworks on one")
        cmd += [seed_flag, *map(str, seeds)]
    return cmd + extra


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("family", nargs="?", choices=list(FAMILIES))
    p.add_argument("--seeds", type=int, nargs="+")
    p.add_argument("--list", action="store_true", help="list the families")
    p.add_argument("--dry-run", action="store_true", help="print the command only")
    args = p.parse_args(argv)
    if args.list or not args.family:
        for name, (script, fixed, seed_flag, results) in FAMILIES.items():
            seeds = f" {seed_flag} ..." if seed_flag else ""
            print(f"{name:28s} python benchmarks/{script} {' '.join(fixed)}{seeds}  ->  "
                  f"{', '.join(f'results/{r}.json' for r in results)}")
        return
    cmd = command(args.family, args.seeds, extra)
    print(" ".join(["python", *cmd[1:]]), flush=True)
    if args.dry_run:
        return
    root = os.path.dirname(HERE)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    # run from the repository root, so that the command in the result file reads as it was typed here
    sys.exit(subprocess.run(cmd, cwd=root, env=env).returncode)


if __name__ == "__main__":
    main()
