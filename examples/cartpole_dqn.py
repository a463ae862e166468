"""Train DQN on CartPole-v1, evaluate it, plot the learning curve and record a GIF.

    python examples/cartpole_dqn.py [--steps 50000] [--out runs/cartpole_dqn] [--seed 0]
"""

import argparse
import os

import srl_tf
from srl_tf.algorithms import dqn


def cartpole_dqn_config(seed: int = 0) -> dqn.Config:
    """DQN settings for CartPole-v1: the RL-Zoo tuned ones (train every 256 env steps with 128
    gradient steps, 256x256 network, ε from 1 to 0.04 over the first 8k steps), with the learning
    rate decaying linearly to 0 over the ~25k gradient steps of a 50k-step run, which keeps a
    policy that reached 500 from drifting away as often as a constant rate lets it."""
    cfg = dqn.Config(seed=seed, batch_size=64, discount=0.99)
    cfg.lr.set_linear(2.3e-3, 0.0, 25_000)
    cfg.hidden_block.set_mlp((256, 256))
    cfg.memory.capacity = 100_000
    cfg.memory.warmup_size = 1_000
    cfg.epsilon.set_linear(1.0, 0.04, 8_000)
    cfg.train_interval = 256
    cfg.gradient_steps = 128
    cfg.target_model_update_interval = 128  # a fresh target copy before every training burst
    return cfg


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
