"""CartPole-v1: DQN, REINFORCE, REINFORCE with baseline and one-step actor-critic, side by side.

    python benchmarks/cartpole.py --seeds 0 1 2 [--algos dqn reinforce reinforce_baseline actor_critic]

Each run writes its history to runs/bench_cartpole/<algo>_s<seed>; the script prints a markdown
table (for docs/benchmarks.md) and writes comparison plots to docs/images/.
DQN runs 50k env steps (RL-Zoo settings); the policy-gradient methods run 300 episodes.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

from cartpole_dqn import cartpole_dqn_config  # noqa: E402

import srl_tf  # noqa: E402
from srl_tf.algorithms import actor_critic, reinforce  # noqa: E402


def make(algo: str, seed: int):
    if algo == "dqn":
        return cartpole_dqn_config(seed), {"max_steps": 50_000}
    if algo in ("reinforce", "reinforce_baseline"):
        cfg = reinforce.Config(seed=seed, enable_baseline=algo == "reinforce_baseline")
        cfg.lr.set_constant(2e-3)
        cfg.lr_value.set_constant(5e-3)
        return cfg, {"max_episodes": 300}
    if algo == "actor_critic":
        return actor_critic_cartpole_config(seed), {"max_episodes": 300}
    raise ValueError(algo)


def actor_critic_cartpole_config(seed: int):
    cfg = actor_critic.Config(seed=seed)
    # A decaying actor step size keeps a policy that has reached 500 from being knocked over late
    # in training by one large, Adam-amplified update (see the actor-critic docstring).
    cfg.lr.set_linear(5e-4, 0.0, 100_000)
    cfg.lr_value.set_constant(1e-3)
    return cfg


class EpisodeReturns(srl_tf.Callback):
    def __init__(self):
        self.returns = []

    def on_episode_end(self, runner, episode_return, episode_length):
        self.returns.append(episode_return)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--algos", nargs="+", default=["dqn", "reinforce", "reinforce_baseline", "actor_critic"])
    p.add_argument("--out", default="runs/bench_cartpole")
    p.add_argument("--images", default="docs/images")
    args = p.parse_args()
    rows = []
    dirs = {}
    for algo in args.algos:
        for seed in args.seeds:
            cfg, limit = make(algo, seed)
            d = os.path.join(args.out, f"{algo}_s{seed}")
            runner = srl_tf.Runner("CartPole-v1", cfg)
            runner.set_history_on_file(d, enable_eval=True, eval_episode=10, interval=1000, eval_interval=5000)
            cb = EpisodeReturns()
            t = time.time()
            runner.train(progress=False, callbacks=[cb], **limit)
            wall = time.time() - t
            final = float(np.mean(runner.evaluate(10)))
            evals = [r["eval_reward0"] for r in runner.get_history().runs[0][1] if r.get("eval_reward0") is not None]
            hit = next((r["step"] for r in runner.get_history().runs[0][1] if (r.get("eval_reward0") or 0) >= 500), None)
            rows.append((algo, seed, runner.step, len(cb.returns), float(np.mean(cb.returns[-20:])), max(evals), final, hit, wall))
            dirs.setdefault(algo, []).append(d)
            print(f"{algo} seed {seed}: steps {runner.step}, last-20 train return {rows[-1][4]:.1f}, "
                  f"best eval {max(evals):.1f}, final eval {final:.1f}, first 500 at {hit}, {wall:.0f}s", flush=True)

    print("\n| algorithm | seed | env steps | episodes | mean return, last 20 train episodes | best eval (10 ep) | final eval (10 ep) | first eval of 500 at step | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for algo, seed, steps, eps, last20, best, final, hit, wall in rows:
        print(f"| {algo} | {seed} | {steps} | {eps} | {last20:.1f} | {best:.1f} | {final:.1f} | {hit or '-'} | {wall:.0f} |")
    os.makedirs(args.images, exist_ok=True)
    # every run under --out, so that algorithms benchmarked in separate invocations share the plots
    all_dirs = sorted(os.path.join(args.out, d) for d in os.listdir(args.out) if os.path.isdir(os.path.join(args.out, d)))
    h = srl_tf.Runner.load_histories(all_dirs)
    print(h.plot("step", "eval_reward0", title="CartPole-v1: evaluation return", path=os.path.join(args.images, "cartpole_eval.png")))
    print(h.plot("episode", "reward0", title="CartPole-v1: training return", path=os.path.join(args.images, "cartpole_train.png"), smooth=5))


if __name__ == "__main__":
    main()
