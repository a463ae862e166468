"""Dreamer on Pendulum-v1 with the V1 / V2 / V3 presets: learning curve (evaluation return against env
steps, 10 deterministic episodes) and train-step speed, in the configuration of the Dreamer docs:
deter 64, stoch 4×4 (V1: a Gaussian z of 4 dimensions), hidden 512, every MLP 512×512, batch 32×15,
horizon 5, free nats 0.1, one train step per env step after 50 random steps, world model alone for
the first 1000.

    python benchmarks/dreamer_pendulum.py --presets v3 --seeds 0 1 2 --steps 30000
    python benchmarks/dreamer_pendulum.py --presets v1 v2 --seeds 0 --steps 50000
    python benchmarks/dreamer_pendulum.py --presets v1 --seeds 0 --steps 10000 --lrs 6e-4 8e-5 8e-5 --out runs/v1_paper_lrs
    python benchmarks/dreamer_pendulum.py --presets v1 --seeds 1 --lrs 6e-4 8e-5 8e-5 --set actor_min_std=0.1 --out runs/v1_min_std
    python benchmarks/dreamer_pendulum.py --speed          # ms per train step, ours and srl-framework's
    python benchmarks/dreamer_pendulum.py --speed --set jit_compile=False   # the same step without XLA
    python benchmarks/dreamer_pendulum.py --presets v1 --inspect runs/v1_paper_lrs/v1_s0/checkpoint
    python benchmarks/dreamer_pendulum.py --plot eval.png --dirs runs/bench_dreamer/v1_s0 runs/bench_dreamer/v2_s0

``--speed`` times full train steps (world model + imagination + actor + critic) after compilation
in two ways: through ``Runner.train(max_train_count=60)``, which per train step also steps the env
once and acts once, and as the bare compiled step on one stored batch; the difference is the loop's
share. With ``--srl-framework PATH`` (an unpacked srl-framework 1.4.6 wheel) it also times that
framework's dreamer_v3 with the same fields through its own ``Runner.train(max_train_count=60)``,
which is like for like with the first srl_tf figure. ``--sizes`` picks the configurations: "docs"
(every MLP 512 × 512) and "srl" (SRL's usual sizes: reward and continue heads (256,), actor and
critic (128, 128), MLP encoder (64, 64)). Every case runs in a process of its own, the frameworks
take turns over ``--rounds``, each process times ``--repeats`` windows of 60 train steps, and the
median of all windows counts.
Each run writes its history under runs/bench_dreamer/<preset>_s<seed> and checkpoints the whole run
under its ckpt/ every 5 minutes and when it is stopped (SIGTERM, Ctrl-C); the same command continues
it, and a larger ``--steps`` extends a finished seed. Results: each seed is written into
benchmarks/results/dreamer_<preset>_pendulum.json (or the file ``--result`` names, for variants with
other learning rates or ``--set``) as it lands, with its evaluation curve; ``python
benchmarks/report.py dreamer_v3_pendulum`` makes its table. ``--speed`` writes
benchmarks/results/dreamer_speed.json.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402

LAYERS = ("reward_layer_sizes", "cont_layer_sizes", "critic_layer_sizes", "actor_layer_sizes", "encoder_decoder_mlp")
# The widths of the heads, actor, critic and vector encoder / decoder, by name: "docs", every MLP 512 × 512 (the
# learning runs of this script); "srl", the sizes SRL users usually run Pendulum with (the Dreamer issue's).
SIZES = {
    "docs": dict.fromkeys(LAYERS, (512, 512)),
    "srl": {"reward_layer_sizes": (256,), "cont_layer_sizes": (256,), "critic_layer_sizes": (128, 128),
            "actor_layer_sizes": (128, 128), "encoder_decoder_mlp": (64, 64)},
}


def pendulum_config(preset: str = "v3", seed: int = 0, jit: bool = True, lrs: tuple = (1e-4, 1e-4, 2e-5),
                    overrides: dict | None = None, sizes: str = "docs"):
    """The Pendulum configuration: sizes fixed across presets so that they compare. ``lrs``:
    (lr_model, lr_critic, lr_actor); ``overrides``: further fields set last (``--set NAME=VALUE``);
    ``sizes``: a name in :data:`SIZES`."""
    from srl_tf.algorithms import dreamer_v3

    lr_model, lr_critic, lr_actor = lrs
    cfg = dreamer_v3.Config(lr_model=lr_model, lr_critic=lr_critic, lr_actor=lr_actor, seed=seed, jit_compile=jit)
    getattr(cfg, f"set_dreamer_{preset}")()
    cfg.rssm_deter_size, cfg.rssm_stoch_size = 64, 4
    cfg.rssm_classes = 0 if preset == "v1" else 4
    cfg.rssm_hidden_units = 512
    for name, value in SIZES[sizes].items():
        setattr(cfg, name, value)
    cfg.batch_size, cfg.batch_length, cfg.horizon = 32, 15, 5
    cfg.memory.warmup_size, cfg.memory.capacity = 50, 100_000
    cfg.encoder_decoder_dist = "linear"
    # The Dreamer docs' configuration sets 0.1 after the preset, whatever the preset. V1's paper value (3 nats)
    # is meant for a 30-dimensional z: with 4 dimensions the KL stays under 3 nats (about 2.4 here),
    # so the KL term sends no gradient and the prior is never trained.
    cfg.free_nats = 0.1
    cfg.warmup_world_model = 1_000
    for name, value in (overrides or {}).items():
        if not hasattr(cfg, name):
            raise SystemExit(f"--set {name}=...: the Dreamer config has no field {name!r}")
        setattr(cfg, name, value)
    return cfg


LOOP = "Runner.train per train step: also one env step, one action, its loop"
BARE = "the compiled train step alone, on a stored batch"
SIZES_LABEL = {"docs": "every MLP 512 × 512", "srl": "SRL's usual sizes"}


def speed_table(result: dict) -> str:
    """The docs table of a ``--speed`` result file, with each srl_tf case's ratio to srl-framework
    where that was timed the same way, on the same configuration."""
    runs = _results.runs_of(result)
    lines = ["| configuration | | what is timed | ms per train step: median (range) | train steps/s | "
             "speed against srl-framework |", "|---|---|---|---|---|---|"]
    for r in runs:
        sizes = r.get("sizes", "docs")  # files written before there was a choice timed "docs"
        srl = next((o["ms_per_train_step"] for o in runs
                    if o["case"].startswith("srl-framework") and o.get("sizes", "docs") == sizes), None)
        ms = r["ms_per_train_step"]
        same_way = srl is not None and r["timed"] == LOOP and not r["case"].startswith("srl-framework")
        ratio = f"{srl / ms:.2f}×" if same_way else ("1×" if r["case"].startswith("srl-framework") else "-")
        spread = f" ({min(r['windows_ms'])} to {max(r['windows_ms'])})" if len(r.get("windows_ms", [])) > 1 else ""
        lines.append(f"| {SIZES_LABEL[sizes]} | {r['case']} | {r['timed']} | {ms}{spread} | {1000 / ms:.1f} | {ratio} |")
    settings = result["settings"]
    rounds, repeats = settings.get("rounds", 1), settings.get("repeats", 1)
    how = (f"{rounds} rounds in which the frameworks took turns, each case a process of its own, {repeats} windows "
           f"of 60 train steps after compilation per process; the median of all windows counts"
           if "rounds" in settings else "one window of 60 train steps after compilation")
    lines.append(f"\n{how}; {_results.machine_line(result)}.")
    return "\n".join(lines)


def parse_overrides(items: list) -> dict:
    """``NAME=VALUE`` strings to a dict, VALUE read as a Python literal where it is one."""
    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name.strip()] = text
    return out


TARGETS = {"v3": (30_000, -200.0), "v2": (50_000, -300.0), "v1": (50_000, -300.0)}  # env steps, eval return


def learn(preset: str, seed: int, steps: int, out: str, eval_interval: int, lrs: tuple,
          overrides: dict | None = None) -> dict | None:
    """Trains (or continues, from ``<out>/<preset>_s<seed>/ckpt``) one seed to ``steps`` env steps;
    returns its row once there, or None when it was stopped first (SIGTERM, Ctrl-C: the checkpoint
    written on the way out holds it, and the same command continues it)."""
    import srl_tf

    runner = srl_tf.Runner(srl_tf.EnvConfig("Pendulum-v1"), pendulum_config(preset, seed, lrs=lrs, overrides=overrides))
    d = os.path.join(out, f"{preset}_s{seed}")
    runner.set_history_on_file(d, enable_eval=True, eval_episode=10, interval=1000, eval_interval=eval_interval)
    done = _results.train_resumably(runner, d, steps, f"{preset} seed {seed}: ")
    if done is None:
        return None
    wall, train_steps = done
    evals = _results.eval_curve(runner)
    final = float(np.mean(runner.evaluate(10)))
    return {"seed": seed, "env_steps": runner.step, "best_eval": max(e for _, e in evals), "final_eval": round(final, 1),
            "train_steps": int(runner.agent.train_count), "train_steps_per_s": round(train_steps / max(wall, 1e-9), 2),
            "wall_s": round(wall, 1), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "eval_curve": evals, "ran_at": {"commit": _results.commit_at_start(), "cpu": _results.machine()["cpu"]}}


def learning_table(result: dict) -> str:
    """The docs table of a learning result file: each seed against its preset's target."""
    preset = result["settings"]["preset"]
    budget, target = TARGETS[preset]
    lines = ["| preset | seed | env steps | final eval (10 ep, after training) | best eval | target | "
             "first eval at or above it | train steps/s (wall) | peak memory (MiB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(result["runs"], key=lambda r: r["seed"]):
        verdict, first = _results.verdict(r["final_eval"], r["eval_curve"], target)
        lines.append(f"| {preset.upper()} | {r['seed']} | {r['env_steps']:,} | {r['final_eval']:.1f} | "
                     f"{r['best_eval']:.1f} | ≥ {target:g} within {budget:,}: {verdict} | "
                     f"{'-' if first is None else f'{first:,}'} | {r['train_steps_per_s']} | {r['peak_rss_mb']:,} |")
    s = result["settings"]
    extra = f", `--set {' '.join(s['set'])}`" if s.get("set") else ""
    lines.append(f"\nLearning rates (model, critic, actor) {' / '.join(f'{x:g}' for x in s['lrs'])}{extra}; evaluation "
                 f"every {s['eval_interval']:,} env steps. Train steps/s: over the wall time of the run's last "
                 f"continuation, acting and evaluation included. Last written by `{result['command']}`, "
                 f"{_results.machine_line(result)}; each row's own commit and CPU are in the result file.")
    return "\n".join(lines)


def speed(preset: str, n: int = 60, overrides: dict | None = None, sizes: str = "docs",
          repeats: int = 3) -> tuple[list, list]:
    """(ms per train step through ``Runner.train(max_train_count=n)``, one env step and one action
    per train step as srl-framework's loop does them; ms per call of the bare compiled step on one
    stored batch). Both after compilation, ``repeats`` windows of ``n`` train steps each; no
    world-model-only phase, one train step per env step."""
    import srl_tf

    overrides = {"warmup_world_model": 0, "train_interval": 1, **(overrides or {})}
    runner = srl_tf.Runner(srl_tf.EnvConfig("Pendulum-v1"), pendulum_config(preset, overrides=overrides, sizes=sizes))
    runner.train(max_train_count=20, progress=False)  # the random warm-up steps, compilation, 20 train steps
    through_runner = []
    for _ in range(repeats):
        t = time.time()
        runner.train(max_train_count=n, progress=False)
        through_runner.append((time.time() - t) / n * 1000)
    agent = runner.agent
    batch = agent.memory.sample(agent.config.batch_size, agent.config.batch_length, agent.rng)
    float(agent._train_all(*batch)["model_loss"])
    bare = []
    for _ in range(repeats):
        t = time.time()
        for _ in range(n):
            metrics = agent._train_all(*batch)
        float(metrics["model_loss"])
        bare.append((time.time() - t) / n * 1000)
    return through_runner, bare


SRL_SCRIPT = r"""
import ast, json, sys, time
sys.path.insert(0, sys.argv[1])
import srl
from srl.algorithms import dreamer_v3
c = dreamer_v3.Config(lr_model=1e-4, lr_critic=1e-4, lr_actor=2e-5)
c.set_dreamer_v3()
c.rssm_deter_size, c.rssm_stoch_size, c.rssm_classes, c.rssm_hidden_units = 64, 4, 4, 512
for k, v in ast.literal_eval(sys.argv[2]).items():
    setattr(c, k, v)
c.batch_size, c.batch_length, c.horizon = 32, 15, 5
c.memory.warmup_size, c.memory.capacity = 50, 10_000
c.encoder_decoder_dist, c.free_nats, c.warmup_world_model = "linear", 0.1, 0
r = srl.Runner("Pendulum-v1", c)
r.train(max_train_count=20)
ms = []
for _ in range(int(sys.argv[3])):
    t = time.time()
    r.train(max_train_count=60)
    ms.append((time.time() - t) / 60 * 1000)
print("RESULT", json.dumps(ms))
"""

SRL_TF_SCRIPT = r"""
import ast, json, sys
sys.path.insert(0, sys.argv[1])
import dreamer_pendulum
windows = dreamer_pendulum.speed(sys.argv[2], overrides=ast.literal_eval(sys.argv[3]), sizes=sys.argv[4],
                                 repeats=int(sys.argv[5]))
print("RESULT", json.dumps(windows))
"""


def _child(script: str, *args: str) -> list:
    """Runs ``script`` in a fresh Python process; the JSON text after its ``RESULT`` lines (empty, with
    the end of its stderr printed, when it failed)."""
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    found = [line.split(" ", 1)[1] for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not found:
        print(out.stderr[-2000:], flush=True)
    return found


def inspect_actor(checkpoint: str, preset: str, overrides: dict, episodes: int = 2) -> None:
    """Loads weights written by a run and follows deterministic episodes, printing per episode the
    return, the actor's pre-tanh mean |m| and standard deviation, and the share of actions at the
    bounds (|a| > 0.99), over the episode and over its last 100 steps (the balancing part)."""
    import gymnasium as gym
    import tensorflow as tf

    import srl_tf

    runner = srl_tf.Runner(srl_tf.EnvConfig("Pendulum-v1"), pendulum_config(preset, 0, jit=False, overrides=overrides))
    runner.load_parameter(checkpoint)
    agent = runner.agent
    if agent.config.actor_continuous_dist != "tanh_normal":
        raise SystemExit("--inspect reads the 'tanh_normal' actor of the V1 / V2 presets")
    env = gym.make("Pendulum-v1")
    for ep in range(episodes):
        obs, _ = env.reset(seed=100 + ep)
        carry = agent.initial_carry(1)
        means, stds, actions, ret = [], [], [], 0.0
        for _ in range(200):
            action, carry, _ = agent.act(obs[None].astype(np.float32), carry, explore=False)
            feat = agent.rssm.get_feat({k: tf.convert_to_tensor(carry[k]) for k in agent.rssm.initial(1)})
            normal = agent.actor.dist(feat).distribution.distribution
            means.append(float(normal.loc[0, 0]))
            stds.append(float(normal.scale[0, 0]))
            actions.append(float(carry["action"][0, 0]))
            obs, reward, _, _, _ = env.step(action[0])
            ret += reward
        m, sd, a = np.abs(means), np.array(stds), np.abs(actions)
        print(f"episode {ep}: return {ret:.1f}; pre-tanh |m| median {np.median(m):.2f}, p90 {np.percentile(m, 90):.2f}; "
              f"std median {np.median(sd):.4f}, max {sd.max():.4f}; |a| > 0.99: {np.mean(a > 0.99):.2f} "
              f"(last 100 steps {np.mean(a[100:] > 0.99):.2f})", flush=True)


def plot(path: str, dirs: list, target: float) -> str:
    """Evaluation return against env steps for the runs in ``dirs`` (each labelled by its folder),
    with the target as a dotted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import srl_tf

    fig, ax = plt.subplots(figsize=(7.5, 4.3))
    for d in dirs:
        rows = srl_tf.Runner.load_histories(d).runs[0][1]
        pts = [(r["step"], r["eval_reward0"]) for r in rows if r.get("eval_reward0") is not None]
        label = os.path.relpath(d, os.path.dirname(os.path.dirname(os.path.abspath(d))))
        ax.plot(*zip(*pts), "--s" if "v2" in os.path.basename(d) else "-o", ms=3, label=label)
    ax.axhline(target, color="k", lw=0.8, ls=":", label=f"target {target:g}")
    ax.set_xlabel("env steps")
    ax.set_ylabel("eval return (10 episodes)")
    ax.set_title("Dreamer on Pendulum-v1")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--presets", nargs="+", default=["v3"], choices=["v1", "v2", "v3"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=0, help="env steps (default 30k for v3, 50k for v1 / v2)")
    p.add_argument("--eval-interval", type=int, default=2000)
    p.add_argument("--lrs", type=float, nargs=3, default=[1e-4, 1e-4, 2e-5], metavar=("MODEL", "CRITIC", "ACTOR"),
                   help="learning rates (default: the Dreamer docs' 1e-4 1e-4 2e-5; V1's paper: 6e-4 8e-5 8e-5)")
    p.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                   help="config fields set after the preset and the sizes, e.g. actor_min_std=0.1")
    p.add_argument("--out", default="runs/bench_dreamer")
    p.add_argument("--result", default="", help="result file (default benchmarks/results/dreamer_<preset>_pendulum.json, "
                                                   "or dreamer_speed.json with --speed)")
    p.add_argument("--speed", action="store_true")
    p.add_argument("--srl-framework", default="", help="folder holding an unpacked srl-framework wheel")
    p.add_argument("--repeats", type=int, default=3, help="--speed: windows of 60 train steps timed per process")
    p.add_argument("--rounds", type=int, default=3,
                   help="--speed: rounds in which the frameworks take turns, each case a process of its own; "
                        "the median of all windows of all rounds counts")
    p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES),
                   help="--speed: the configurations timed (default: all); 'docs' every MLP 512 x 512, 'srl' SRL's "
                        "usual sizes: reward and continue heads (256,), actor and critic (128, 128), MLP encoder (64, 64)")
    p.add_argument("--plot", default="", metavar="PNG", help="plot the evaluation curves of --dirs into PNG and stop")
    p.add_argument("--dirs", nargs="+", default=[], help="run folders for --plot")
    p.add_argument("--target", type=float, default=-300.0, help="the dotted line in --plot")
    p.add_argument("--inspect", default="", metavar="CHECKPOINT",
                   help="follow 2 deterministic episodes with the weights in CHECKPOINT (first of --presets, "
                        "with --set) and print the actor's mean, std and the share of actions at the bounds")
    args = p.parse_args()
    _results.stop_on_sigterm()

    if args.inspect:
        inspect_actor(args.inspect, args.presets[0], parse_overrides(args.set))
        return

    if args.plot:
        print(plot(args.plot, args.dirs, args.target))
        return

    before = _results.machine()
    settings = {"lrs": list(args.lrs), "set": args.set, "eval_interval": args.eval_interval}
    if args.speed:
        windows: dict = {}  # (sizes, case) → every window of every round, in ms per train step
        for round_ in range(args.rounds):  # the frameworks take turns, each in a process of its own
            for sizes in args.sizes:
                for preset in args.presets:
                    out = _child(SRL_TF_SCRIPT, os.path.dirname(os.path.abspath(__file__)), preset,
                                 repr(parse_overrides(args.set)), sizes, str(args.repeats))
                    through, bare = json.loads(out[0]) if out else ([], [])
                    windows.setdefault((sizes, f"srl_tf dreamer {preset}", LOOP), []).extend(through)
                    windows.setdefault((sizes, f"srl_tf dreamer {preset}, bare step", BARE), []).extend(bare)
                    print(f"round {round_} [{sizes}] srl_tf dreamer {preset}: ms per train step through Runner.train "
                          f"{through}, the bare step {bare}", flush=True)
                if args.srl_framework:
                    out = _child(SRL_SCRIPT, args.srl_framework, repr(SIZES[sizes]), str(args.repeats))
                    ms = json.loads(out[0]) if out else []
                    windows.setdefault((sizes, "srl-framework dreamer_v3", LOOP), []).extend(ms)
                    print(f"round {round_} [{sizes}] srl-framework dreamer_v3: ms per train step {ms}", flush=True)
        cases = [{"sizes": sizes, "case": case, "timed": timed, "ms_per_train_step": round(float(np.median(ms)), 1),
                  "windows_ms": [round(m, 1) for m in ms]} for (sizes, case, timed), ms in windows.items() if ms]
        settings.update(sizes=args.sizes, repeats=args.repeats, rounds=args.rounds)
        _results.write(args.result or "dreamer_speed", _results.record(cases, seeds=[0], machine_before=before, settings=settings))
        return

    lock_dir = args.out
    for preset in args.presets:
        steps = args.steps or TARGETS[preset][0]
        name = args.result if args.result and len(args.presets) == 1 else f"dreamer_{preset}_pendulum"
        preset_settings = {"preset": preset, **settings}
        for seed in args.seeds:
            landed = [r for r in _results.rows_with_settings(name, preset_settings) if r["seed"] == seed]
            if landed and landed[0]["env_steps"] >= steps:
                continue
            row = learn(preset, seed, steps, args.out, args.eval_interval, tuple(args.lrs), parse_overrides(args.set))
            if row is None:  # stopped: the checkpoint holds it
                return
            curve = ", ".join(f"{s:,}: {e:.0f}" for s, e in row["eval_curve"])
            print(f"{preset} seed {seed}: best eval {row['best_eval']:.1f}, final eval {row['final_eval']:.1f}, "
                  f"{row['train_steps_per_s']} train steps/s, peak RSS {row['peak_rss_mb']} MB\n  evals: {curve}",
                  flush=True)
            _results.add_row(name, row, ("seed",), preset_settings, before, lock_dir)
        if os.path.exists(_results.path(name)):
            print(learning_table(_results.read(name)))


if __name__ == "__main__":
    main()
