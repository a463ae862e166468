"""Recurrent (GRU) PPO on CartPole-v1 with the velocities hidden: the policy sees only the cart
position and the pole angle, so it has to infer the velocities from what it remembers.

    python examples/masked_cartpole_recurrent_ppo.py [--steps 300000]

A feed-forward policy on the same observations stays far below 500 (try --feedforward). Seed 0
reached a deterministic evaluation of 340 after 160k steps (37 at 40k, 156 at 120k), still rising.
"""

import argparse

import gymnasium as gym

import srl_tf
from srl_tf.algorithms import ppo
from srl_tf.envs.wrappers import MaskVelocity

NUM_ENVS = 8


def masked_cartpole():
    return MaskVelocity(gym.make("CartPole-v1"))


def masked_cartpole_config(seed: int = 0, recurrent: bool = True) -> ppo.Config:
    rl_config = ppo.Config(seed=seed, batch_size=256, epochs=10, discount=0.99, gae_lambda=0.95)
    rl_config.memory.capacity = 1024  # 128 steps of each of the 8 envs per update
    rl_config.lr.set_constant(1e-3)
    rl_config.hidden_block.set_mlp((64,), activation="tanh")
    rl_config.policy_block.set_mlp((64,), activation="tanh")
    rl_config.value_block.set_mlp((64,), activation="tanh")
    if recurrent:
        rl_config.set_recurrent(gru_units=64, sequence_length=16)
    return rl_config


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument("--feedforward", action="store_true", help="the same PPO without the GRU, for comparison")
    parser.add_argument("--out", default="runs/masked_cartpole_ppo")
    args = parser.parse_args()

    env_config = srl_tf.EnvConfig(masked_cartpole, num_envs=NUM_ENVS)
    runner = srl_tf.Runner(env_config, masked_cartpole_config(recurrent=not args.feedforward))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=10)
    runner.train(max_steps=args.steps)
    print("evaluation returns:", runner.evaluate(max_episodes=10))


if __name__ == "__main__":
    main()
