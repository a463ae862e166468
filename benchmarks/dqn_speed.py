"""DQN CartPole-v1 speed, srl_tf against Stable-Baselines3 with the same settings, side by side.

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # torch's CPU build
    pip install -e ".[bench]"                                             # stable-baselines3
    python benchmarks/dqn_speed.py --steps 30000 --repeats 2

Settings (RL-Zoo CartPole DQN): batch 64, 256x256 MLP, Adam 2.3e-3, buffer 100k, 1000 warm-up
steps, train every 256 env steps with 128 gradient steps, ε 1 → 0.04 over 16% of the run, target
copied before every training burst. Wall time includes compilation / start-up; env steps/s are
whole-run figures over the env steps each framework took. Both frameworks use the machine's default
thread settings. Result: benchmarks/results/dqn_speed.json.
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from side_by_side import compare  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))


def run_srl_tf(steps: int, seed: int):
    from cartpole_dqn import cartpole_dqn_config

    import srl_tf

    cfg = cartpole_dqn_config(seed)
    cfg.epsilon.set_linear(1.0, 0.04, int(0.16 * steps))
    runner = srl_tf.Runner("CartPole-v1", cfg)
    t = time.time()
    runner.train(max_steps=steps, progress=False)
    wall = time.time() - t
    return wall, runner.agent.train_count, float(np.mean(runner.evaluate(10))), runner.step


def run_sb3(steps: int, seed: int):
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.evaluation import evaluate_policy

    env = gym.make("CartPole-v1")
    model = DQN(
        "MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
        gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
        exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]}, seed=seed, device="cpu", verbose=0,
    )
    t = time.time()
    model.learn(steps)
    wall = time.time() - t
    mean, _ = evaluate_policy(model, gym.make("CartPole-v1"), n_eval_episodes=10, deterministic=True)
    return wall, model._n_updates, float(mean), model.num_timesteps


if __name__ == "__main__":
    compare(run_srl_tf, run_sb3, default_steps=30_000, name="dqn_speed")
