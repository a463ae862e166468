"""PPO on CartPole-v1 (discrete actions).

    python examples/cartpole_ppo.py [--steps 100000] [--envs 1]

Settings are Stable-Baselines3's PPO defaults: rollout 2048 steps, minibatch 64, 10 epochs,
γ 0.99, λ 0.95, clip 0.2, Adam 3e-4, two 64-unit tanh layers for policy and value.
"""

import argparse

import srl_tf
from srl_tf.algorithms import ppo


def cartpole_ppo_config(seed: int = 0) -> ppo.Config:
    rl_config = ppo.Config(seed=seed, batch_size=64, epochs=10, gae_lambda=0.95, discount=0.99)
    rl_config.memory.capacity = 2048  # env steps per update, summed over the envs
    rl_config.lr.set_constant(3e-4)
    rl_config.clip_range.set_constant(0.2)
    rl_config.policy_block.set_mlp((64, 64), activation="tanh")
    rl_config.value_block.set_mlp((64, 64), activation="tanh")
    return rl_config


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
