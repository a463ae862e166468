"""Recurrent (GRU) PPO on CartPole-v1 with the velocities hidden: the policy sees only the cart
position and the pole angle, so it has to infer the velocities from what it remembers.

    python examples/masked_cartpole_recurrent_ppo.py [--steps 200000] [--feedforward]

Settings: 8 envs, 32 steps of each per update (one 256-step minibatch of 8 whole sequences),
20 epochs, γ 0.98, λ 0.98, Adam 1e-3 and clip range 0.2 both decaying linearly to 0 over the run,
ReLU layers, and a GRU of 128 units for the policy and another for the value (``shared=False``):
with one shared GRU the value loss, whose gradient is the larger, pulls on the policy's memory and
the runs swing between 500 and collapse. Results are in docs/benchmarks.md
(``python benchmarks/ppo.py --tasks masked_cartpole``). A feed-forward policy on the same
observations stays far below 500 (try --feedforward).
"""

import argparse

import gymnasium as gym

import srl_tf
from srl_tf.algorithms import ppo
from srl_tf.envs.wrappers import MaskVelocity

NUM_ENVS = 8


def masked_cartpole():
    return MaskVelocity(gym.make("CartPole-v1"))


def masked_cartpole_config(seed: int = 0, recurrent: bool = True, total_steps: int = 200_000) -> ppo.Config:
    rl_config = ppo.Config(seed=seed, batch_size=256, epochs=20, discount=0.98, gae_lambda=0.98)
    rl_config.memory.capacity = 256  # 32 steps of each of the 8 envs per update
    # schedules count gradient steps: updates × epochs × minibatches per rollout (1 here)
    gradient_steps = max(total_steps // rl_config.memory.capacity * rl_config.epochs, 1)
    rl_config.lr.set_linear(1e-3, 0.0, gradient_steps)
    rl_config.clip_range.set_linear(0.2, 0.0, gradient_steps)
    rl_config.hidden_block.set_mlp(())  # the observations go straight into the GRUs
    rl_config.policy_block.set_mlp((64,), activation="relu")
    rl_config.value_block.set_mlp((64,), activation="relu")
    if recurrent:
        rl_config.set_recurrent(gru_units=128, sequence_length=32, shared=False)
    return rl_config


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--feedforward", action="store_true", help="the same PPO without the GRU, for comparison")
    parser.add_argument("--out", default="runs/masked_cartpole_ppo")
    args = parser.parse_args()

    env_config = srl_tf.EnvConfig(masked_cartpole, num_envs=NUM_ENVS)
    runner = srl_tf.Runner(env_config, masked_cartpole_config(recurrent=not args.feedforward, total_steps=args.steps))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=10)
    runner.train(max_steps=args.steps)
    print("evaluation returns:", runner.evaluate(max_episodes=10))
    print(srl_tf.Runner.load_histories([args.out]).plot("step", "eval_reward0", title="GRU PPO, CartPole-v1 without velocities"))


if __name__ == "__main__":
    main()
