"""Train DreamerV3 on CarRacing-v3 from 64×64 pixels, then write the open-loop prediction GIF
(real frames | reconstruction | imagination from 5 context frames), the world-model loss curve, an
evaluation and an episode GIF.

python examples/carracing_dreamer.py [--steps 20000] [--size S] [--train-ratio R] [--out DIR] [--seed 0]

On a CPU, use a small model and train less (--size tiny --train-ratio 64: about an hour for 20k env
steps on 2 cores); the world-model (image) loss falls long before the driving improves.
``benchmarks/dreamer_carracing.py`` runs this configuration with a checkpoint and a result file.
"""

import argparse
import os
import resource
import time

import srl_tf
from srl_tf.algorithms import dreamer_v3
from srl_tf.render import save_prediction_gif


def carracing_config(size: str = "XS", seed: int = 0, train_ratio: float = 512) -> dreamer_v3.Config:
    """DreamerV3 preset at the given model size; batch 16×64, ``train_ratio`` replayed env steps per
    env step (512: one train step every 2 env steps, i.e. every 4 frames with action repeat 2),
    1000 random steps first."""
    cfg = dreamer_v3.Config(seed=seed).set_dreamer_v3().set_model_size(size)
    cfg.batch_size, cfg.batch_length = 16, 64
    cfg.train_ratio = train_ratio
    cfg.memory.capacity, cfg.memory.warmup_size = 200_000, 1_000
    return cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000, help="env steps (agent steps; frames = 2× that)")
    parser.add_argument("--size", default="XS", choices=list(dreamer_v3.MODEL_SIZES))
    parser.add_argument("--train-ratio", type=float, default=512.0,
                        help="replayed env steps per env step (batch 16 × 64 / env steps per train step)")
    parser.add_argument("--out", default="runs/carracing_dreamer")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = srl_tf.EnvConfig("CarRacing-v3", image_resize=(64, 64), action_repeat=2)
    runner = srl_tf.Runner(env, carracing_config(args.size, args.seed, args.train_ratio))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=1, interval=500,
                               eval_interval=max(args.steps // 4, 1))
    t = time.time()
    runner.train(max_steps=args.steps)
    wall = time.time() - t
    agent = runner.agent
    print(f"{runner.step} env steps, {agent.train_count} train steps in {wall:.0f}s "
          f"({agent.train_count / wall:.2f} train steps/s), peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    pred = save_prediction_gif(agent, os.path.join(args.out, "prediction.gif"), length=50, context=5)
    hist = srl_tf.Runner.load_histories([args.out])
    loss_png = "none (no train step yet: --steps is within the 1000 random warm-up steps)"
    if "obs_loss" in hist.columns():
        loss_png = hist.plot("step", "obs_loss", title="CarRacing-v3: image reconstruction loss",
                             path=os.path.join(args.out, "obs_loss.png"))
    returns = runner.evaluate(max_episodes=1)
    print(f"evaluation return: {returns[0]:.1f}")
    gif = runner.animation_save_gif(os.path.join(args.out, "carracing.gif"), max_steps=500)
    print(f"prediction GIF: {pred}\nimage loss:     {loss_png}\nepisode GIF:    {gif}")


if __name__ == "__main__":
    main()
