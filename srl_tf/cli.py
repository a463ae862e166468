"""``srl-tf`` command: train an algorithm on an env with default settings, or plot histories.

    srl-tf train dqn CartPole-v1 --steps 50000 --out runs/dqn       # tuned preset where one exists
    srl-tf train dqn CartPole-v1 --steps 50000 --resume runs/dqn   # continue after a kill
    srl-tf train ppo CartPole-v1 --set lr=1e-3 --set memory.capacity=1024
    srl-tf plot runs/a runs/b --x step --y eval_reward0
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="srl-tf", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train with the tuned preset for the env (srl_tf.presets) or the default Config")
    t.add_argument("algorithm", help="module in srl_tf.algorithms, e.g. dqn, reinforce, actor_critic")
    t.add_argument("env", help="Gymnasium id")
    t.add_argument("--steps", type=int, default=50_000)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default=None, help="history directory (default runs/<algorithm>_<env>)")
    t.add_argument("--gif", default=None, help="write a GIF of one evaluation episode here")
    t.add_argument("--checkpoint-interval", type=float, default=600.0,
                   help="seconds between checkpoints of the whole run in <out>/ckpt (0: only at the end)")
    t.add_argument("--no-preset", action="store_true", help="start from the algorithm's default Config even where a tuned preset exists")
    t.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="set a config field, e.g. --set lr=1e-3 --set hidden_block.layer_sizes=(64,64) (repeatable)")
    t.add_argument("--resume", default=None, metavar="DIR",
                   help="continue the run in DIR (its history and newest checkpoint); --steps counts from there")
    p = sub.add_parser("plot", help="plot histories written by set_history_on_file")
    p.add_argument("dirs", nargs="+")
    p.add_argument("--x", default="step")
    p.add_argument("--y", default="eval_reward0")
    p.add_argument("--title", default=None)
    p.add_argument("--path", default=None)
    args = parser.parse_args(argv)

    import srl_tf
    from srl_tf.errors import ConfigError, EnvError

    try:
        return _run(args, parser, srl_tf)
    except (ConfigError, EnvError, FileNotFoundError) as e:  # a user's mistake: the message, not a traceback
        print(f"srl-tf: error: {e}", file=sys.stderr)
        return 2


def _run(args, parser, srl_tf) -> int:
    from srl_tf.errors import ConfigError

    if args.command == "plot":
        print(srl_tf.Runner.load_histories(args.dirs).plot(args.x, args.y, title=args.title, path=args.path))
        return 0
    try:
        module = importlib.import_module(f"srl_tf.algorithms.{args.algorithm}")
    except ModuleNotFoundError:
        module = None
    if not hasattr(module, "Config"):
        parser.error(f"unknown algorithm '{args.algorithm}'")
    from srl_tf import presets

    preset = None if args.no_preset else presets.tuned(args.algorithm, args.env, args.seed)
    config, env_kwargs = preset if preset else (module.Config(seed=args.seed), {})
    print(f"srl-tf: {'the tuned preset srl_tf.presets' if preset else 'the default Config'} for {args.algorithm} on {args.env}")
    for item in args.set:
        apply_setting(config, item)
    runner = srl_tf.Runner(srl_tf.EnvConfig(args.env, **env_kwargs), config)
    out = args.resume or args.out or f"runs/{args.algorithm}_{args.env}"
    if args.resume and not os.path.isdir(os.path.join(args.resume, "ckpt")):
        raise ConfigError(f"--resume {args.resume}: no checkpoint directory {os.path.join(args.resume, 'ckpt')}.")
    runner.set_history_on_file(out, enable_eval=True, eval_episode=10)
    runner.set_checkpoint(os.path.join(out, "ckpt"), is_load=bool(args.resume), interval=args.checkpoint_interval)
    runner.train(max_steps=args.steps)
    returns = runner.evaluate(10)
    print(f"evaluation: mean {sum(returns) / len(returns):.1f} over {len(returns)} episodes")
    print(srl_tf.Runner.load_histories([out]).plot("step", "eval_reward0"))
    if args.gif:
        print(runner.animation_save_gif(args.gif))
    return 0


def apply_setting(config, item: str) -> None:
    """``field=value`` or ``block.field=value`` onto a config; the value is a Python literal, or a
    plain string when it is none."""
    import ast

    from srl_tf.errors import ConfigError

    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected FIELD=VALUE, e.g. --set lr=1e-3.")
    path, text = item.split("=", 1)
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    *parents, name = path.strip().split(".")
    target = config
    for part in parents:
        target = getattr(target, part)
    setattr(target, name, value)


if __name__ == "__main__":
    raise SystemExit(main())
