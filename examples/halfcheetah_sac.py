"""Train SAC on MuJoCo HalfCheetah-v5, plot evaluation return against env steps, record a GIF.

    python examples/halfcheetah_sac.py [--steps 200000] [--out runs/halfcheetah_sac] [--seed 0]

With these settings, 200k env steps gave 7748.6 / 7257.5 / 6729.7 (seeds 0 / 1 / 2, 10 deterministic
episodes; docs/benchmarks.md), about 35 minutes per seed on 2 shared CPU cores.

MuJoCo renders headless through EGL (MUJOCO_GL=egl, set below unless already set). The GIF's frames
are rendered from the recorded states in a separate process without TensorFlow, because software
EGL rendering inside a process that has loaded TensorFlow crashes on machines without a GPU.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before gymnasium / mujoco are imported

import argparse  # noqa: E402

import srl_tf  # noqa: E402
from srl_tf.algorithms import sac  # noqa: E402


def halfcheetah_sac_config(seed: int = 0) -> sac.Config:
    """SAC settings for HalfCheetah (RL-Zoo / the paper: lr 3e-4, batch 256, 256x256 networks,
    τ 0.005, automatic temperature, 10k random steps first, 1M replay)."""
    cfg = sac.Config(seed=seed, lr_policy=3e-4, lr_q=3e-4, lr_alpha=3e-4)
    cfg.memory.capacity = 1_000_000
    cfg.memory.warmup_size = 10_000
    return cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--out", default="runs/halfcheetah_sac")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gif", action=argparse.BooleanOptionalAction, default=True, help="record an episode GIF")
    args = parser.parse_args()

    runner = srl_tf.Runner("HalfCheetah-v5", halfcheetah_sac_config(args.seed))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=10)
    runner.train(max_steps=args.steps)

    returns = runner.evaluate(max_episodes=10)
    print(f"evaluation over 10 episodes: mean {sum(returns) / len(returns):.1f}")
    png = srl_tf.Runner.load_histories([args.out]).plot("step", "eval_reward0", title="SAC on HalfCheetah-v5")
    print(f"learning curve: {png}\nweights:        {os.path.join(args.out, 'checkpoint')}", flush=True)
    if args.gif:
        print(f"episode GIF:    {runner.animation_save_gif(os.path.join(args.out, 'halfcheetah.gif'), max_steps=300)}")


if __name__ == "__main__":
    main()
