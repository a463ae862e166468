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
from srl_tf.presets import NUM_ENVS, pendulum_ppo_config  # the tuned settings, shown in the docs


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
