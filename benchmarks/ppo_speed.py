"""PPO CartPole-v1 speed, srl_tf against Stable-Baselines3 with the same settings, side by side.

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # torch's CPU build
    pip install -e ".[bench]"                                             # stable-baselines3
    python benchmarks/ppo_speed.py --steps 50000 --repeats 2

Settings (SB3's PPO defaults): one env, rollout 2048 steps, minibatch 64, 10 epochs, Adam 3e-4,
two 64-unit tanh layers for policy and value. Wall time includes compilation / start-up; env steps/s
are whole-run figures over the env steps each framework took. Both frameworks use the machine's default
thread settings. Result: benchmarks/results/ppo_speed.json.
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from side_by_side import compare  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))


def run_srl_tf(steps: int, seed: int):
    from cartpole_ppo import cartpole_ppo_config

    import srl_tf

    runner = srl_tf.Runner("CartPole-v1", cartpole_ppo_config(seed))
    t = time.time()
    runner.train(max_steps=steps, progress=False)
    wall = time.time() - t
    return wall, runner.agent.train_count, float(np.mean(runner.evaluate(10))), runner.step


def run_sb3(steps: int, seed: int):
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy

    env = gym.make("CartPole-v1")
    model = PPO(
        "MlpPolicy", env, n_steps=2048, batch_size=64, n_epochs=10, learning_rate=3e-4, gamma=0.99,
        gae_lambda=0.95, clip_range=0.2, seed=seed, device="cpu", verbose=0,
    )
    t = time.time()
    model.learn(steps)
    wall = time.time() - t
    mean, _ = evaluate_policy(model, gym.make("CartPole-v1"), n_eval_episodes=10, deterministic=True)
    return wall, model._n_updates * (2048 // 64), float(mean), model.num_timesteps


if __name__ == "__main__":
    compare(run_srl_tf, run_sb3, default_steps=50_000, name="ppo_speed")
