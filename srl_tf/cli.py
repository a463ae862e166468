"""``srl-tf`` command: train an algorithm on an env with default settings, or plot histories.

    srl-tf train dqn CartPole-v1 --steps 50000 --out runs/dqn       # tuned preset where one exists
    srl-tf train dqn CartPole-v1 --steps 50000 --resume runs/dqn   # continue after a kill
    srl-tf train ppo CartPole-v1 --set lr=1e-3 --set memory.capacity=1024
    srl-tf plot runs/a runs/b --x step --y eval_reward0
    srl-tf export runs/dqn --format tflite --weights best           # a policy that runs without srl_tf
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
    e = sub.add_parser("export", help="export the policy of a run (its history directory) as a SavedModel or TFLite model")
    e.add_argument("run_dir", help="a history directory written by set_history_on_file (or srl-tf train --out)")
    e.add_argument("--format", default="saved_model", help="saved_model (default) or tflite")
    e.add_argument("--explore", action="store_true", help="the exploring policy (takes a seed) instead of the greedy one")
    e.add_argument("--weights", default="last", choices=("last", "best"),
                   help="the run's final weights (<run_dir>/checkpoint) or its best-evaluated ones (checkpoint/best)")
    e.add_argument("--out", default=None,
                   help="where to write (default <run_dir>/export/policy, or policy.tflite for tflite)")
    e.add_argument("--overwrite", action="store_true", help="replace what is at --out")
    e.add_argument("--quantize", action="store_true", help="tflite: dynamic-range quantisation of the weights to int8")
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
    if args.command == "export":
        return _export(args)
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


def _export(args) -> int:
    from srl_tf.errors import MissingPathError

    runner = runner_of_run(args.run_dir)
    weights = os.path.join(args.run_dir, "checkpoint", *(["best"] if args.weights == "best" else []))
    if not os.path.exists(os.path.join(weights, "srl_tf.json")):
        made_by = "an evaluation during train() with enable_eval=True" if args.weights == "best" else "the end of train()"
        raise MissingPathError(f"--weights {args.weights}: no weights in {weights} (written by {made_by}).")
    runner.load_parameter(weights)
    out = args.out or os.path.join(args.run_dir, "export", "policy.tflite" if args.format == "tflite" else "policy")
    print(runner.export_policy(out, format=args.format, explore=args.explore, overwrite=args.overwrite,
                               quantize=args.quantize))
    return 0


def runner_of_run(run_dir: str):
    """A Runner with the configs of the run in ``run_dir`` (its ``config.json``); weights not loaded."""
    import dataclasses
    import json
    import pkgutil

    import srl_tf.algorithms
    from srl_tf import EnvConfig, Runner
    from srl_tf.errors import ConfigError, MissingPathError

    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise MissingPathError(f"{run_dir}: no config.json; pass a history directory written by set_history_on_file().")
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    configs = {}
    for info in pkgutil.iter_modules(srl_tf.algorithms.__path__):
        config = getattr(importlib.import_module(f"srl_tf.algorithms.{info.name}"), "Config", None)
        if config is not None:
            configs[config.name] = config
    if saved.get("algorithm") not in configs:
        raise ConfigError(f"{path}: algorithm {saved.get('algorithm')!r} is none of {', '.join(sorted(configs))}.")

    def fill(target, values: dict):
        for key, value in values.items():
            current = getattr(target, key)
            if dataclasses.is_dataclass(current) and isinstance(value, dict):
                fill(current, value)
            else:
                setattr(target, key, tuple(value) if isinstance(current, tuple) and isinstance(value, list) else value)
        return target

    rl_config = fill(configs[saved["algorithm"]](), saved["rl_config"])
    env_config = fill(EnvConfig(), saved["env_config"])
    import gymnasium as gym

    if env_config.name not in gym.registry:
        raise ConfigError(
            f"{path}: the run's env '{env_config.name}' is no registered Gymnasium id (an env made by a callable?); "
            "export from Python with Runner(env_config, rl_config).load_parameter(...) and export_policy()."
        )
    return Runner(env_config, rl_config)


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
