"""Train DDPG (or TD3 with --td3) on LunarLanderContinuous, evaluate, plot and record a GIF.

    python examples/lunarlander_continuous_ddpg.py [--steps 300000] [--td3] [--out runs/lunarlander_ddpg]

In Gymnasium 1.x the continuous lander is ``gym.make("LunarLander-v3", continuous=True)``.
"""

import argparse
import os

import srl_tf
from srl_tf.algorithms import ddpg


def lunarlander_ddpg_config(seed: int = 0, td3: bool = False) -> ddpg.Config:
    """RL-Zoo settings for LunarLanderContinuous: γ 0.98, lr 1e-3, 400x300 networks, Gaussian
    noise 0.1, 200k replay, 10k random steps first, one gradient step per env step."""
    cfg = ddpg.Config(seed=seed, lr=1e-3, discount=0.98, noise_std=0.1)
    if td3:
        cfg.set_td3()
    cfg.policy_block.set_mlp((400, 300))
    cfg.q_block.set_mlp((400, 300))
    cfg.memory.capacity = 200_000
    cfg.memory.warmup_size = 10_000
    return cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument("--td3", action="store_true", help="twin critics, target smoothing, delayed actor")
    parser.add_argument("--out", default="runs/lunarlander_ddpg")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env_config = srl_tf.EnvConfig("LunarLander-v3", kwargs={"continuous": True})
    runner = srl_tf.Runner(env_config, lunarlander_ddpg_config(args.seed, args.td3))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=10)
    runner.train(max_steps=args.steps)

    returns = runner.evaluate(max_episodes=10)
    print(f"evaluation over 10 episodes: mean {sum(returns) / len(returns):.1f}")
    title = f"{'TD3' if args.td3 else 'DDPG'} on LunarLanderContinuous"
    png = srl_tf.Runner.load_histories([args.out]).plot("step", "eval_reward0", title=title)
    gif = runner.animation_save_gif(os.path.join(args.out, "lunarlander.gif"))
    print(f"learning curve: {png}\nepisode GIF:    {gif}\nweights:        {os.path.join(args.out, 'checkpoint')}")


if __name__ == "__main__":
    main()
