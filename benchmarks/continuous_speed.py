"""SAC and DDPG Pendulum-v1 speed, srl_tf against Stable-Baselines3 with the same settings, side by side.

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # torch's CPU build
    pip install -e ".[bench]"                                             # stable-baselines3
    python benchmarks/continuous_speed.py --steps 10000 --repeats 1

Settings for both frameworks: batch 256, 256x256 MLPs, Adam 1e-3, replay 100k, 1000 uniformly
random warm-up steps, then one gradient step per env step; DDPG explores with Gaussian noise of
std 0.1 of the half action range. Wall time includes compilation / start-up; env steps/s are
whole-run figures. Both frameworks use the machine's default thread settings.
Result: benchmarks/results/continuous_speed.json.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402
from side_by_side import in_fresh_process  # noqa: E402

WARMUP = 1_000


def run_srl_tf(algo: str, steps: int, seed: int):
    import srl_tf
    from srl_tf.algorithms import ddpg, sac

    if algo == "sac":
        cfg = sac.Config(seed=seed, lr_policy=1e-3, lr_q=1e-3, lr_alpha=1e-3)
        cfg.policy_hidden_block.set_mlp((256, 256))
        cfg.q_hidden_block.set_mlp((256, 256))
    else:
        cfg = ddpg.Config(seed=seed, lr=1e-3, noise_std=0.1)
        cfg.policy_block.set_mlp((256, 256))
        cfg.q_block.set_mlp((256, 256))
    cfg.batch_size = 256
    cfg.memory.capacity, cfg.memory.warmup_size = 100_000, WARMUP
    runner = srl_tf.Runner("Pendulum-v1", cfg)
    t = time.time()
    runner.train(max_steps=steps, progress=False)
    return time.time() - t, runner.agent.train_count


def run_sb3(algo: str, steps: int, seed: int):
    import gymnasium as gym
    from stable_baselines3 import DDPG, SAC
    from stable_baselines3.common.noise import NormalActionNoise

    env = gym.make("Pendulum-v1")
    common = dict(
        learning_rate=1e-3,
        batch_size=256,
        buffer_size=100_000,
        learning_starts=WARMUP,
        train_freq=1,
        gradient_steps=1,
        policy_kwargs={"net_arch": [256, 256]},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    if algo == "sac":
        model = SAC("MlpPolicy", env, **common)
    else:
        half_range = (env.action_space.high - env.action_space.low) / 2
        model = DDPG("MlpPolicy", env, action_noise=NormalActionNoise(np.zeros(1), 0.1 * half_range), **common)
    t = time.time()
    model.learn(steps)
    return time.time() - t, model._n_updates


def table(result: dict) -> str:
    """The docs table of a result file: mean env steps/s over the repeats, and the ratio."""
    lines = ["| algorithm | srl_tf env steps/s | SB3 env steps/s | ratio |", "|---|---|---|---|"]
    for algo in dict.fromkeys(r["algorithm"] for r in result["runs"]):
        ours, theirs = (np.mean([r["env_steps_per_s"] for r in result["runs"] if r["algorithm"] == algo and r["framework"] == f])
                        for f in ("srl_tf", "sb3"))
        lines.append(f"| {algo.upper()} Pendulum-v1 | {ours:.0f} | {theirs:.0f} | {ours / theirs:.2f}× |")
    lines.append(f"\nSB3: {_results.sb3_label(result)}; `{result['command']}`, {_results.machine_line(result)}.")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--algos", nargs="+", choices=("sac", "ddpg"), default=["sac", "ddpg"])
    p.add_argument("--out", default="continuous_speed", help="result file (default benchmarks/results/continuous_speed.json)")
    args = p.parse_args()
    before = _results.machine()
    runs = []
    sps = {(a, f): [] for a in args.algos for f in ("srl_tf", "sb3")}
    for algo in args.algos:
        for r in range(args.repeats):
            order = [("srl_tf", run_srl_tf), ("sb3", run_sb3)]
            if r % 2:
                order.reverse()
            for name, fn in order:
                wall, grads = in_fresh_process(fn, algo, args.steps, args.seed)
                sps[algo, name].append(args.steps / wall)
                runs.append({"algorithm": algo, "framework": name, "repeat": r, "seed": args.seed, "env_steps": args.steps,
                             "gradient_steps": int(grads), "wall_s": round(wall, 2),
                             "env_steps_per_s": round(args.steps / wall, 1)})
                print(
                    f"{algo} {name}: {args.steps / wall:.0f} env steps/s, {grads / wall:.0f} gradient steps/s, "
                    f"wall {wall:.1f}s",
                    flush=True,
                )
    print("\n| algorithm | srl_tf env steps/s | SB3 env steps/s | ratio |")
    print("|---|---|---|---|")
    for algo in args.algos:
        ours, theirs = np.mean(sps[algo, "srl_tf"]), np.mean(sps[algo, "sb3"])
        print(f"| {algo.upper()} Pendulum-v1 | {ours:.0f} | {theirs:.0f} | {ours / theirs:.2f}x |")
    result = _results.record(runs, seeds=[args.seed], machine_before=before, extra_packages=("stable-baselines3", "torch"),
                             settings={"steps": args.steps, "repeats": args.repeats, "warmup": WARMUP})
    _results.write(args.out, result)


if __name__ == "__main__":
    main()
