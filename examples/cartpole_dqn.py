"""Train DQN on CartPole-v1, evaluate it, plot the learning curve and record a GIF.

    python examples/cartpole_dqn.py [--steps 50000] [--out runs/cartpole_dqn] [--seed 0]
"""

import argparse
import os

import srl_tf
from srl_tf.presets import cartpole_dqn_config  # the tuned settings, shown in the docs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--out", default="runs/cartpole_dqn")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    runner = srl_tf.Runner("CartPole-v1", cartpole_dqn_config(args.seed))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=10)
    runner.train(max_steps=args.steps)

    last = runner.evaluate(max_episodes=10)
    best = runner.evaluate(max_episodes=10, weights="best")  # the weights of the best evaluation during training
    print(f"evaluation over 10 episodes: last weights {sum(last) / len(last):.1f}, best weights {sum(best) / len(best):.1f}")
    png = srl_tf.Runner.load_histories([args.out]).plot(
        "step", ["eval_reward0", "reward0"], title="DQN on CartPole-v1: evaluation and training return"
    )
    gif = runner.animation_save_gif(os.path.join(args.out, "cartpole.gif"), weights="best")
    print(f"learning curve: {png}\nepisode GIF:    {gif} (best weights)")
    print(f"weights:        {os.path.join(args.out, 'checkpoint')} (last), {runner.best_parameter_path()} (best)")


if __name__ == "__main__":
    main()
