"""RL² (Duan et al. 2016) on 2-D point navigation with hidden goals: a trial is 3 episodes of 20 steps
towards one goal drawn on the circle of radius 0.5; a new goal each trial.

    python examples/navigation_rl2_ppo.py [--steps 1000000] [--seed 0] [--out runs/navigation_rl2]

The policy sees (position, previous velocity, previous reward, done flag) and never the goal; its GRU
state runs through the 3 episodes of a trial and is reset between trials, so it has to search for the
goal in the first episode and go straight to it in the next ones. After training, the agent plays 200
trials on held-out goals and the script writes the adaptation curve (mean return of episode 1, 2, 3
of a trial) to <out>/adaptation_curve.png. References per 20-step episode: standing still −10,
straight to a known goal about −1.5. After the default 1M env steps, seeds 0, 1, 2 earned
−3.22 → −1.70 → −1.71, −3.78 → −2.91 → −3.11 and −3.49 → −2.62 → −2.67 in episodes 1 → 2 → 3 of
500 held-out trials (benchmarks/rl2.py, docs/benchmarks.md). Compiling the 60-step unrolled training step takes about a minute on a CPU.
"""

import argparse
import os

import numpy as np

import srl_tf
from srl_tf.algorithms import ppo
from srl_tf.envs.meta import evaluate_trials, navigation_trial_env, plot_adaptation_curve

EPISODES, STEPS, NUM_ENVS = 3, 20, 16
TRIAL_STEPS = EPISODES * STEPS


def navigation_env():
    return navigation_trial_env(episodes_per_trial=EPISODES, steps=STEPS)


def rl2_navigation_config(seed: int = 0) -> ppo.Config:
    rl_config = ppo.Config(
        seed=seed,
        batch_size=16 * TRIAL_STEPS,  # 16 whole trials per minibatch
        epochs=4,
        discount=0.99,
        gae_lambda=0.95,
        init_log_std=-0.5,
        enable_obs_normalization=True,
        enable_reward_normalization=True,
    )
    rl_config.memory.capacity = NUM_ENVS * 4 * TRIAL_STEPS  # 4 trials of each env per update
    rl_config.lr.set_constant(5e-4)
    rl_config.hidden_block.set_mlp((64,), activation="tanh")
    rl_config.policy_block.set_mlp((64,), activation="tanh")
    rl_config.value_block.set_mlp((64,), activation="tanh")
    rl_config.set_rl2(trial_steps=TRIAL_STEPS, gru_units=64)
    return rl_config


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/navigation_rl2")
    args = parser.parse_args()

    runner = srl_tf.Runner(srl_tf.EnvConfig(navigation_env, num_envs=NUM_ENVS), rl2_navigation_config(args.seed))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=32)
    runner.train(max_steps=args.steps)
    returns = evaluate_trials(runner, trials=200)
    curve = returns.mean(axis=0)
    print(f"held-out goals, 200 trials (sampling policy): mean return per trial {returns.sum(axis=1).mean():.2f}")
    print("mean return per episode of a trial: " + ", ".join(f"ep{i + 1} {r:.2f}" for i, r in enumerate(curve)))
    path = plot_adaptation_curve(
        returns,
        os.path.join(args.out, "adaptation_curve.png"),
        title=f"RL² PPO, point navigation, {args.steps} env steps, seed {args.seed}",
        references={"standing still": -10.0},
    )
    print(f"adaptation curve: {path}")
    if np.all(np.diff(curve) > 0):
        print("the curve rises over the episodes of a trial: the agent adapts to the hidden goal")


if __name__ == "__main__":
    main()
