"""PPO on Pendulum-v1 (continuous actions, Gaussian policy with a learned log-std).

    python examples/pendulum_ppo.py [--steps 200000]

Untuned PPO often fails on Pendulum (≈ −1100). What makes it work here (close to RL-Zoo's
settings, without gSDE): 4 envs and a 4096-step rollout, γ 0.9 (the task's horizon is short),
λ 0.95, observation normalisation and reward scaling, Adam 1e-3 decaying linearly to 1e-4 over the
run, clip 0.2, 10 epochs of minibatches of 128, log-std starting at 0.
Seeds 0 and 1 evaluated (10 episodes, deterministic) at −131 / −143 after 50k steps and −223 / −209
after 200k: the target (≥ −250) is met, but the best policy comes early.
"""

import argparse

import srl_tf
from srl_tf.algorithms import ppo

NUM_ENVS = 4


def pendulum_ppo_config(seed: int = 0, total_steps: int = 200_000) -> ppo.Config:
    rl_config = ppo.Config(
        seed=seed,
        batch_size=128,
        epochs=10,
        discount=0.9,
        gae_lambda=0.95,
        enable_obs_normalization=True,
        enable_reward_normalization=True,
        init_log_std=0.0,
        entropy_coef=0.0,
    )
    rl_config.memory.capacity = 4096
    # schedules count gradient steps: updates × epochs × minibatches per rollout
    gradient_steps = (total_steps // rl_config.memory.capacity) * rl_config.epochs * (4096 // 128)
    rl_config.lr.set_linear(1e-3, 1e-4, max(gradient_steps, 1))
    rl_config.clip_range.set_constant(0.2)
    rl_config.policy_block.set_mlp((64, 64), activation="tanh")
    rl_config.value_block.set_mlp((64, 64), activation="tanh")
    return rl_config


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--out", default="runs/pendulum_ppo")
    args = parser.parse_args()

    env_config = srl_tf.EnvConfig("Pendulum-v1", num_envs=NUM_ENVS)
    runner = srl_tf.Runner(env_config, pendulum_ppo_config(total_steps=args.steps))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=10)
    runner.train(max_steps=args.steps)
    print("evaluation returns:", runner.evaluate(max_episodes=10))
    print(srl_tf.Runner.load_histories([args.out]).plot("step", "eval_reward0", title="PPO Pendulum-v1"))


if __name__ == "__main__":
    main()
