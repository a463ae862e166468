"""PPO on CartPole-v1 (discrete actions).

    python examples/cartpole_ppo.py [--steps 100000] [--envs 1]

Settings are Stable-Baselines3's PPO defaults: rollout 2048 steps, minibatch 64, 10 epochs,
γ 0.99, λ 0.95, clip 0.2, Adam 3e-4, two 64-unit tanh layers for policy and value.
"""

import argparse

import srl_tf
from srl_tf.presets import cartpole_ppo_config  # the tuned settings, shown in the docs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--envs", type=int, default=1)
    parser.add_argument("--out", default="runs/cartpole_ppo")
    args = parser.parse_args()

    runner = srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", num_envs=args.envs), cartpole_ppo_config())
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=10)
    runner.train(max_steps=args.steps)
    print("evaluation returns:", runner.evaluate(max_episodes=10))
    print(srl_tf.Runner.load_histories([args.out]).plot("step", "eval_reward0", title="PPO CartPole-v1"))


if __name__ == "__main__":
    main()
