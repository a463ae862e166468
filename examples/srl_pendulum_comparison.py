"""Seven algorithms on Pendulum-v1, written the way SRL scripts are (``import srl_tf as srl``).

DQN meets Pendulum's continuous action through the automatic split (5 actions), PPO sets
``warmup_size`` (rollout length) below ``capacity``, SAC takes ``start_steps``, blocks are set with
``.set(...)`` and learning rates as plain numbers. Every run writes its history; one plot compares
the evaluation returns against the train count.

    python examples/srl_pendulum_comparison.py [--train-count 3000] [--out runs/srl_pendulum] [--tiny]

``--tiny`` shrinks the models and warm-ups so that the whole script runs in about a minute (the
tests run it so); without it, a train count of a few thousand takes tens of minutes on 2 CPU cores.
"""

import argparse
import os

import srl_tf as srl
from srl_tf.algorithms import ddpg, dqn, dreamer_v3, ppo, sac


def configs(tiny: bool) -> dict:
    out = {}

    rl_config = dqn.Config()
    rl_config.lr = 0.001
    rl_config.epsilon = 0.1
    rl_config.hidden_block.set((64, 64))
    rl_config.memory.warmup_size = 1000
    out["DQN"] = rl_config

    rl_config = ppo.Config()
    rl_config.batch_size = 128
    rl_config.memory.capacity = 10_000
    rl_config.memory.warmup_size = 1000
    rl_config.lr = 0.001
    rl_config.entropy_coef = 0.0
    out["PPO"] = rl_config

    rl_config = ddpg.Config()
    rl_config.lr = 0.001
    rl_config.memory.warmup_size = 1000
    out["DDPG"] = rl_config

    rl_config = sac.Config()
    rl_config.lr_policy = 0.001
    rl_config.lr_q = 0.001
    rl_config.start_steps = 1000
    rl_config.memory.warmup_size = 1000
    out["SAC"] = rl_config

    for version in ("v1", "v2", "v3"):
        rl_config = dreamer_v3.Config()
        getattr(rl_config, f"set_dreamer_{version}")()
        rl_config.memory.warmup_size = 1000
        out[f"Dreamer{version.upper()}"] = rl_config

    if tiny:
        for rl_config in out.values():
            rl_config.memory.warmup_size = 64
            if isinstance(rl_config, dreamer_v3.Config):
                rl_config.set_model_size("tiny")
                rl_config.batch_size, rl_config.batch_length, rl_config.horizon = 4, 8, 3
                rl_config.jit_compile = False  # no XLA compile for a few steps
            elif isinstance(rl_config, ppo.Config):
                rl_config.memory.warmup_size = 128
                rl_config.epochs = 2
            else:
                rl_config.batch_size = 32
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-count", type=int, default=3000)
    parser.add_argument("--out", default="runs/srl_pendulum")
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args()

    env_config = srl.EnvConfig("Pendulum-v1")
    dirs = []
    for name, rl_config in configs(args.tiny).items():
        runner = srl.Runner(env_config, rl_config)
        runner.set_seed(0)
        path = os.path.join(args.out, name)
        runner.set_history_on_file(path, enable_eval=True, eval_episode=2 if args.tiny else 10)
        runner.train(max_train_count=args.train_count)
        rewards = runner.evaluate(max_episodes=2 if args.tiny else 10)
        print(f"{name}: evaluation mean {sum(rewards) / len(rewards):.1f}")
        dirs.append(path)

    png = srl.Runner.load_histories(dirs).plot(
        "train", "eval_reward0", title="Pendulum-v1", path=os.path.join(args.out, "comparison.png")
    )
    print(f"comparison plot: {png}")


if __name__ == "__main__":
    main()
