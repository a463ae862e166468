"""Train DQN on LunarLander-v3 with actor processes on Ray and one learner, then evaluate it.

    pip install -e ".[distributed]"
    python examples/lunarlander_dqn_ray.py [--actors 4] [--train 100000] [--out runs/ll_dqn_ray]
    python examples/lunarlander_dqn_ray.py --address auto     # on a running Ray cluster
    python examples/lunarlander_dqn_ray.py --tiny              # a few seconds of training: checks the set-up

Without --address a local Ray is started for the run and stopped after it.
"""

import argparse

import srl_tf
from srl_tf.algorithms import dqn


def config(seed: int, tiny: bool) -> dqn.Config:
    cfg = dqn.Config(seed=seed, batch_size=64, target_model_update_interval=1000)
    cfg.lr.set_constant(5e-4)
    cfg.hidden_block.set_mlp((128, 128))
    cfg.memory.capacity = 100_000
    cfg.memory.warmup_size = 1_000
    if tiny:
        cfg.hidden_block.set_mlp((16,))
        cfg.memory.capacity = 2_000
        cfg.memory.warmup_size = 64
    return cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actors", type=int, default=4)
    parser.add_argument("--envs-per-actor", type=int, default=1)
    parser.add_argument("--train", type=int, default=100_000, help="gradient steps")
    parser.add_argument("--address", default=None, help="a running Ray cluster ('auto' or host:port)")
    parser.add_argument("--out", default="runs/ll_dqn_ray")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="2 actors, 300 env steps, a small network")
    args = parser.parse_args()

    env_config = srl_tf.EnvConfig("LunarLander-v3", num_envs=args.envs_per_actor, vectorization="sync")
    runner = srl_tf.Runner(env_config, config(args.seed, args.tiny))
    runner.set_history_on_file(args.out, enable_eval=True, eval_episode=2 if args.tiny else 10)
    if args.tiny:
        runner.train_mp(actor_num=2, max_steps=300, ray_address=args.address, num_cpus=2, progress=False)
    else:
        runner.train_mp(actor_num=args.actors, max_train_count=args.train, ray_address=args.address)

    returns = runner.evaluate(max_episodes=2 if args.tiny else 10)
    rows = runner.get_history().runs[0][1]
    print(f"{runner.step} env steps from the actors, {runner.agent.train_count} gradient steps, "
          f"{rows[-1].get('actor_restarts', 0)} actor restarts")
    print(f"evaluation: mean return {sum(returns) / len(returns):.1f} over {len(returns)} episodes")


if __name__ == "__main__":
    main()
