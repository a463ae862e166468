"""RL² (Duan et al. 2016) on Bernoulli bandits: 5 arms, 10 pulls per trial, a new bandit each trial.

    python examples/bandits_rl2_ppo.py [--steps 1000000]

The policy sees (previous arm one-hot, previous reward, done flag); its GRU state runs through the
10 pulls of a trial and is reset between trials, so it has to learn to explore and then exploit.
References per trial: random 5.0, UCB1 about 6.7; target >= 6.5. After 1M env steps (about a minute
here), seeds 0, 1, 2 scored 6.65, 6.49, 6.62 on 500 held-out trials (docs/benchmarks.md).
"""

import argparse

import numpy as np

import srl_tf
from srl_tf.algorithms import ppo
from srl_tf.envs.meta import bandit_trial_env

ARMS, PULLS, NUM_ENVS = 5, 10, 16


def bandit_env():
    return bandit_trial_env(ARMS, PULLS)


def rl2_bandit_config(seed: int = 0) -> ppo.Config:
    rl_config = ppo.Config(seed=seed, batch_size=400, epochs=4, discount=0.99, gae_lambda=0.3, entropy_coef=0.01)
    rl_config.memory.capacity = NUM_ENVS * 10 * PULLS  # 10 trials of each env per update
    rl_config.lr.set_constant(1e-3)
    rl_config.hidden_block.set_mlp((64,), activation="tanh")
    rl_config.policy_block.set_mlp((64,), activation="tanh")
    rl_config.value_block.set_mlp((64,), activation="tanh")
    rl_config.set_rl2(trial_steps=PULLS, gru_units=64)
    return rl_config


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--out", default="runs/bandits_rl2")
    args = parser.parse_args()

    runner = srl_tf.Runner(srl_tf.EnvConfig(bandit_env, num_envs=NUM_ENVS), rl2_bandit_config())
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=100)
    runner.train(max_steps=args.steps)
    returns = runner.evaluate(max_episodes=500, explore=True)
    print(f"mean return per trial over 500 trials (sampling policy): {np.mean(returns):.2f}  (random 5.0, UCB1 ~6.7)")


if __name__ == "__main__":
    main()
