"""Learning benchmark for continuous control: SAC, TD3 and DDPG on Pendulum-v1 (20k env steps) and
SAC on HalfCheetah-v5, several seeds, evaluated over 10 deterministic episodes.

    python benchmarks/continuous.py                                  # sac td3 ddpg, seeds 0 1 2
    python benchmarks/continuous.py --algos cheetah --seeds 0        # SAC HalfCheetah-v5, 200k steps
    python benchmarks/continuous.py --algos sac --seeds 0 --steps 2000 --cheetah-steps 2000   # quick check
    python benchmarks/continuous.py --algos cheetah --history runs/continuous   # also write histories

Settings: SAC as in examples/pendulum_sac.py and examples/halfcheetah_sac.py; DDPG / TD3 with the
RL-Zoo Pendulum settings (γ 0.98, lr 1e-3, 400x300 networks, Gaussian noise 0.1, 200k replay, 10k
random steps first; TD3 1k). The warm-up is capped at half the budget so that short checks still train.
Evaluation (10 deterministic episodes; 5 on HalfCheetah) every 10% of the run while training and
10 episodes once more at the end ("final"). Wall time includes compilation and the evaluations;
env steps/s is the whole-run figure.

Results: benchmarks/results/<algo>_pendulum.json (sac_pendulum.json, td3_pendulum.json,
ddpg_pendulum.json) and sac_halfcheetah.json, with each seed's evaluation curve and training-episode
returns; ``python benchmarks/report.py`` makes the docs tables and plots from them.
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

os.environ.setdefault("MUJOCO_GL", "egl")

ALGOS = ("sac", "td3", "ddpg", "cheetah")
LABELS = {"sac": "SAC Pendulum-v1", "td3": "TD3 Pendulum-v1", "ddpg": "DDPG Pendulum-v1", "cheetah": "SAC HalfCheetah-v5"}
RESULT_NAMES = {"sac": "sac_pendulum", "td3": "td3_pendulum", "ddpg": "ddpg_pendulum", "cheetah": "sac_halfcheetah"}


# Seeds on which settings were chosen after a first run missed its target (TD3's 1k warm-up, after
# -171.6 with 10k): their figures are reported apart from those of fresh seeds
TUNED_ON = {"td3": [0, 1, 2]}


def pendulum_ddpg_config(seed: int, td3: bool):
    from srl_tf.algorithms import ddpg

    cfg = ddpg.Config(seed=seed, lr=1e-3, discount=0.98, noise_std=0.1)
    if td3:
        cfg.set_td3()
    cfg.policy_block.set_mlp((400, 300))
    cfg.q_block.set_mlp((400, 300))
    cfg.memory.capacity = 200_000
    # TD3 learns more slowly per step (delayed, smoothed updates): with RL-Zoo's 10k random steps it
    # ended at -171.6 (3 seeds); 1k leaves it twice the learning steps within the 20k budget
    cfg.memory.warmup_size = 1_000 if td3 else 10_000
    return cfg


def make(algo: str, seed: int):
    """(env id, rl config) of one benchmark entry."""
    if algo == "sac":
        from pendulum_sac import pendulum_sac_config

        return "Pendulum-v1", pendulum_sac_config(seed)
    if algo == "cheetah":
        from halfcheetah_sac import halfcheetah_sac_config

        return "HalfCheetah-v5", halfcheetah_sac_config(seed)
    return "Pendulum-v1", pendulum_ddpg_config(seed, td3=algo == "td3")


def run(algo: str, seed: int, steps: int, history: str | None = None) -> dict:
    import srl_tf

    env, cfg = make(algo, seed)
    cfg.memory.warmup_size = min(cfg.memory.warmup_size, max(cfg.batch_size, steps // 2))
    runner = srl_tf.Runner(env, cfg)
    eval_episode = 5 if algo == "cheetah" else 10
    eval_interval = max(steps // 10, 1)
    if history:
        runner.set_history_on_file(os.path.join(history, f"{algo}_seed{seed}"), enable_eval=True,
                                   eval_episode=eval_episode, eval_interval=eval_interval)
    else:
        runner.set_history_on_memory(enable_eval=True, eval_episode=eval_episode, eval_interval=eval_interval)
    returns = []

    class TrainReturns(srl_tf.Callback):
        def on_episode_end(self, runner, episode_return, episode_length):
            returns.append(round(float(episode_return), 1))

    t = time.time()
    runner.train(max_steps=steps, progress=False, callbacks=[TrainReturns()])
    wall = time.time() - t
    final = float(np.mean(runner.evaluate(max_episodes=10)))
    return {
        "seed": seed,
        "env_steps": steps,
        "warmup": int(cfg.memory.warmup_size),
        "final_eval": round(final, 1),
        "env_steps_per_s": round(steps / wall, 1),
        "wall_s": round(wall, 1),
        "eval_curve": _results.eval_curve(runner),
        "train_returns": returns,
    }


def table(results: list[dict]) -> str:
    """The docs table of one or more result files of this script."""
    lines = [
        "| algorithm | seed | env steps | random steps first | final eval (10 ep, deterministic) | env steps/s | wall (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        name = LABELS[result["settings"]["algorithm"]]
        for r in result["runs"]:
            lines.append(f"| {name} | {r['seed']} | {r['env_steps']} | {r['warmup']} | {r['final_eval']:.1f} | "
                         f"{r['env_steps_per_s']:.0f} | {r['wall_s']:.0f} |")
    for result in results:
        for label, runs in _results.mean_rows(result):
            rets = [r["final_eval"] for r in runs]
            lines.append(f"| {LABELS[result['settings']['algorithm']]} | {label} | | | "
                         f"{np.mean(rets):.1f} ± {np.std(rets):.1f} | | |")
    lines.append("")
    for result in results:
        lines.append(f"{LABELS[result['settings']['algorithm']]}: `{result['command']}`, {_results.machine_line(result)}.  ")
    return "\n".join(lines).rstrip()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", nargs="+", choices=ALGOS, default=["sac", "td3", "ddpg"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=20_000, help="Pendulum-v1 env steps")
    p.add_argument("--cheetah-steps", type=int, default=200_000, help="HalfCheetah-v5 env steps")
    p.add_argument("--history", help="also write each run's history under this folder (<algo>_seed<N>)")
    p.add_argument("--results", default=_results.RESULTS, help="folder of the result files")
    args = p.parse_args()

    written = []
    for algo in args.algos:
        steps = args.cheetah_steps if algo == "cheetah" else args.steps
        before = _results.machine()
        runs = []
        for seed in args.seeds:
            runs.append(run(algo, seed, steps, args.history))
            r = runs[-1]
            print(f"{LABELS[algo]} seed {seed}: eval {r['final_eval']:.1f}, {r['env_steps_per_s']:.0f} env steps/s, "
                  f"wall {r['wall_s']:.0f}s", flush=True)
        result = _results.record(runs, seeds=args.seeds, machine_before=before, extra_packages=("mujoco",) if algo == "cheetah" else (),
                                 settings={"algorithm": algo, "env": "HalfCheetah-v5" if algo == "cheetah" else "Pendulum-v1",
                                           "tuned_on_seeds": TUNED_ON.get(algo, [])})
        _results.write(os.path.join(args.results, f"{RESULT_NAMES[algo]}.json"), result)
        written.append(result)
    print(table(written))


if __name__ == "__main__":
    main()
