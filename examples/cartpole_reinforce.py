"""REINFORCE with a learned baseline on CartPole-v1, then step through an episode in a window.

    python examples/cartpole_reinforce.py [--episodes 300] [--window]
"""

import argparse

import srl_tf
from srl_tf.algorithms import reinforce


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--out", default="runs/cartpole_reinforce")
    parser.add_argument("--window", action="store_true", help="open the pygame replay window at the end")
    args = parser.parse_args()

    rl_config = reinforce.Config(seed=0, enable_baseline=True)
    rl_config.lr.set_constant(2e-3)
    rl_config.lr_value.set_constant(5e-3)
    runner = srl_tf.Runner("CartPole-v1", rl_config)
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=10, interval=1000, eval_interval=5000)
    runner.train(max_episodes=args.episodes)
    print("evaluation returns:", runner.evaluate(max_episodes=10))
    print(srl_tf.Runner.load_histories([args.out]).plot("episode", "reward0", title="REINFORCE + baseline", smooth=5))
    if args.window:
        runner.replay_window()


if __name__ == "__main__":
    main()
