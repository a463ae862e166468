"""Train SAC on Pendulum-v1, evaluate it, plot the learning curve and record a GIF.

python examples/pendulum_sac.py [--steps 20000] [--out runs/pendulum_sac] [--seed 0]
"""

import argparse
import os

import srl_tf
from srl_tf.presets import pendulum_sac_config  # the tuned settings, shown in the docs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--out", default="runs/pendulum_sac")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    runner = srl_tf.Runner("Pendulum-v1", pendulum_sac_config(args.seed))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=10)
    runner.train(max_steps=args.steps)

    returns = runner.evaluate(max_episodes=10)
    print(f"evaluation over 10 episodes: mean {sum(returns) / len(returns):.1f}  {returns}")
    png = srl_tf.Runner.load_histories([args.out]).plot("step", "eval_reward0", title="SAC on Pendulum-v1")
    gif = runner.animation_save_gif(os.path.join(args.out, "pendulum.gif"))
    print(f"learning curve: {png}\nepisode GIF:    {gif}\nweights:        {os.path.join(args.out, 'checkpoint')}")


if __name__ == "__main__":
    main()
