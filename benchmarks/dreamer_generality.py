"""DreamerV3 with one fixed configuration across domains: ``set_dreamer_v3()`` and one model size,
the same fields for every task (no per-env tuning). Runs of hours: each (task, seed) checkpoints its
whole run every few minutes and continues from there when the command is given again.

    python benchmarks/dreamer_generality.py [--tasks cartpole pendulum acrobot pixels] [--seeds 0 1 2]
                                            [--size XS] [--train-ratio 256] [--runs runs/dreamer_generality]
    python benchmarks/report.py dreamer_generality     # the docs table, from the committed result file
    python benchmarks/dreamer_generality.py --tasks cartpole --seeds 0 --set imagination_cont=mode
        # a diagnostic variant beside the table: its own result file and runs directory

| task | env | env steps | target |
|---|---|---|---|
| cartpole | CartPole-v1 (discrete, vectors) | 20k | eval >= 450 |
| pendulum | Pendulum-v1 (continuous, vectors) | 20k | eval >= -200 |
| acrobot | Acrobot-v1 (discrete, vectors) | 20k | eval >= -100 |
| pixels | Pendulum-v1 from its rendered 64x64 frames (``render_image=True``) | 50k | eval >= -300 |

Evaluation: 10 deterministic episodes every 5 % of the run and at the end. Each finished (task, seed)
is written into ``benchmarks/results/dreamer_generality.json`` as it lands (evaluation curve, final
evaluation, training curve with the critic's imagined values, train steps per second, peak memory
of the process), with the settings; unfinished
runs continue from ``<runs>/<task>_s<seed>/ckpt`` and their history in ``<runs>/<task>_s<seed>``.
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

TASKS = {
    "cartpole": ("CartPole-v1", {}, 20_000, 450.0),
    "pendulum": ("Pendulum-v1", {}, 20_000, -200.0),
    "acrobot": ("Acrobot-v1", {}, 20_000, -100.0),
    "pixels": ("Pendulum-v1", {"render_image": True, "image_resize": (64, 64)}, 50_000, -300.0),
}


def config(seed: int, size: str, train_ratio: float, variant: dict | None = None):
    """The one configuration: the V3 preset at ``size`` with ``train_ratio``; nothing per task.
    ``variant``: fields set after it, for a diagnostic run beside the table (``--set``)."""
    from srl_tf.algorithms import dreamer_v3

    cfg = dreamer_v3.Config(seed=seed)
    cfg.set_dreamer_v3()
    cfg.set_model_size(size)
    cfg.train_ratio = train_ratio
    for field, value in (variant or {}).items():
        if not hasattr(cfg, field):
            raise SystemExit(f"--set {field}=...: dreamer_v3.Config has no field {field!r}")
        setattr(cfg, field, value)
    return cfg


def parse_variant(items: list[str]) -> dict:
    """``["field=value", ...]`` → {field: value}, each value read as a Python literal where it is one
    (``imagination_cont=mode`` → 'mode', ``horizon=10`` → 10)."""
    variant = {}
    for item in items:
        field, sep, text = item.partition("=")
        if not sep or not field:
            raise SystemExit(f"--set {item!r}: write FIELD=VALUE, e.g. imagination_cont=mode")
        try:
            variant[field] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            variant[field] = text
    return variant


def variant_name(variant: dict) -> str:
    """The suffix of a variant's result file and runs directory, e.g. 'imagination_cont-mode'."""
    return "_".join(f"{k}-{v}" for k, v in sorted(variant.items()))


def build(task: str, seed: int, size: str, train_ratio: float, scale: float = 1.0, variant: dict | None = None):
    """The Runner of one (task, seed), before any history or checkpoint is set; and its env steps."""
    import srl_tf

    env_id, env_kwargs, steps, _ = TASKS[task]
    steps = int(steps * scale)
    cfg = config(seed, size, train_ratio, variant)
    cfg.memory.capacity = max(steps, cfg.memory.warmup_size)  # the whole run fits: nothing is overwritten
    return srl_tf.Runner(srl_tf.EnvConfig(env_id, **env_kwargs), cfg), steps


def run(task: str, seed: int, size: str, train_ratio: float, runs: str, scale: float = 1.0,
        gif_dir: str | None = None, variant: dict | None = None, stop_at: int | None = None) -> dict | None:
    """Trains (or continues) one (task, seed); returns its figures once it reached its budget, or
    ``stop_at`` env steps where that is short of the budget (the run's schedule stays the full one's:
    it is the full run, stopped early, and the same command with a later stop continues it)."""

    env_id, env_kwargs, _, _ = TASKS[task]
    directory = os.path.join(runs, f"{task}_s{seed}")
    runner, steps = build(task, seed, size, train_ratio, scale, variant)
    runner.set_history_on_file(directory, enable_eval=True, eval_episode=10, interval=steps // 100,
                               eval_interval=steps // 20)
    from srl_tf.callbacks import PredictionGif

    # pixel runs rewrite <runs>/<task>_s<seed>/prediction.gif at every evaluation: a look at the world model mid-run
    watch = [PredictionGif(os.path.join(directory, "prediction.gif"))] if env_kwargs.get("render_image") else []
    until = min(steps, stop_at) if stop_at else steps
    done = _results.train_resumably(runner, directory, until, f"{task} seed {seed}: ", watch)
    if done is None:  # stopped early (Ctrl-C, SIGTERM): the checkpoint holds it
        return None
    train_s, train_steps = done
    curve = _results.eval_curve(runner)
    history = runner.get_history().runs[0][1]
    if env_kwargs.get("render_image"):  # the world model at work: real | reconstruction | open loop
        from srl_tf.render import save_prediction_gif

        save_prediction_gif(runner.agent, os.path.join(directory, "prediction.gif"))
        if gif_dir and scale == 1.0 and not variant:  # quick checks and variants leave the docs alone
            save_prediction_gif(runner.agent, os.path.join(gif_dir, f"dreamer_generality_{task}_s{seed}.gif"))
    return {
        "task": task, "env": env_id, "seed": seed, "env_steps": runner.step, "budget": steps, "final_eval": curve[-1][1],
        "best_eval": max(r for _, r in curve), "eval_curve": curve, "train_curve": train_curve(history),
        "train_steps_per_s": round(train_steps / max(train_s, 1e-9), 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # where this row's last piece ran: runs land across sessions, machines and commits
        "ran_at": {"commit": _results.commit_at_start(), "cpu": _results.machine()["cpu"]},
    }


TRAIN_CURVE = {"episode_return": "reward0", "imag_value": "imag_value", "imag_return": "imag_return"}


def train_curve(history: list[dict]) -> dict:
    """Per history row: env step, the mean return of the training episodes that ended in it, and the
    critic's mean value and mean λ-return over the imagined states of the last train step (None
    where the row has none), rounded to keep the file small."""
    def num(x):
        return None if x is None else round(float(x), 2)

    rows = [r for r in history if r.get("step") is not None]
    out = {"step": [int(r["step"]) for r in rows]}
    out.update({name: [num(r.get(key)) for r in rows] for name, key in TRAIN_CURVE.items()})
    return out


def _task_figure(runs: list[dict], title: str, path: str, ylabel: str, draw, legend: list | None = None) -> str:
    """A panel per task of ``runs``; ``draw(ax, task, runs_of_task)`` fills each. ``legend``: the
    handles of one legend below the panels, instead of a legend in each."""
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in runs))
    fig, axes = plt.subplots(1, max(len(tasks), 1), figsize=(max(4.2 * len(tasks) + 1, 7.0), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        of_task = [r for r in runs if r["task"] == task]
        draw(ax, task, of_task)
        ax.set_title(f"{task} ({of_task[0]['env']})", fontsize=9)
        ax.set_xlabel("env steps")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if legend is None:
            ax.legend(fontsize=6)
    if legend:
        fig.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=7, frameon=False)
    return _results.save_figure(fig, title, path, bottom=0.07 if legend else 0.0)


_SEED_STYLES = ["-", "--", ":", "-."]


def plot_eval(result: dict, title: str, path: str) -> str:
    """Evaluation return against env steps, a panel per task, a line style per seed."""
    def draw(ax, task, runs):
        for r in runs:
            ax.plot(*zip(*r["eval_curve"]), ls=_SEED_STYLES[r["seed"] % 4], color="tab:blue", lw=1.3,
                    label=f"seed {r['seed']}")
        target = TASKS[task][3]
        ax.axhline(target, color="grey", ls=(0, (2, 2)), lw=0.9, label=f"target {target:g}")

    return _task_figure(result["runs"], title, path, "return", draw)


def plot(result: dict, title: str, path: str) -> str:
    """What the critic believes against what the episodes give: a panel per task, with each seed's
    training-episode returns and the critic's mean value of the imagined states (rows without a
    ``train_curve`` are left out)."""
    from matplotlib.lines import Line2D

    lines = (("episode_return", "tab:orange", "training episodes' return"),
             ("imag_value", "tab:blue", "critic's mean value of the imagined states"))

    def draw(ax, task, runs):
        for r in runs:
            c = r["train_curve"]
            for key, colour, _ in lines:
                xy = [(x, y) for x, y in zip(c["step"], c[key]) if y is not None]
                if xy:
                    ax.plot(*zip(*xy), ls=_SEED_STYLES[r["seed"] % 4], color=colour, lw=1.1)

    runs = [r for r in result["runs"] if r.get("train_curve")]
    seeds = sorted({r["seed"] for r in runs})
    legend = ([Line2D([], [], color=colour, label=label) for _, colour, label in lines]
              + [Line2D([], [], color="black", ls=_SEED_STYLES[s % 4], label=f"seed {s}") for s in seeds])
    return _task_figure(runs, title, path, "return / value", draw, legend)


def main():
    _results.stop_on_sigterm()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--size", default="XS")
    p.add_argument("--train-ratio", type=float, default=256.0)
    p.add_argument("--runs", default="runs/dreamer_generality")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of each budget (quick checks)")
    p.add_argument("--out", help="result file (default benchmarks/results/dreamer_generality.json, or "
                                 "dreamer_generality_<variant>.json with --set)")
    p.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE", dest="variant",
                   help="a diagnostic variant beside the fixed configuration: Config fields set after the preset; "
                        "its rows go to a result file and runs directory of its own")
    p.add_argument("--stop-at", type=int, metavar="ENV_STEPS",
                   help="stop each run at this many env steps where its budget is longer, and land its row "
                        "marked as stopped there (evaluation schedule and memory stay the full run's); the "
                        "command with a later stop, or without one, continues it from its checkpoint")
    p.add_argument("--progress", action="store_true",
                   help="write the evaluations so far of the unfinished runs (from their histories) to "
                        "benchmarks/results/dreamer_generality[_<variant>]_progress.json and print them; "
                        "trains nothing")
    p.add_argument("--gif-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "images"),
                   help="where each pixel run's prediction GIF (real | reconstruction | open loop) is also written")
    args = p.parse_args()
    if args.stop_at is not None and args.stop_at <= 0:
        p.error(f"--stop-at: env steps must be > 0, got {args.stop_at}")
    variant = parse_variant(args.variant)
    settings = {"size": args.size, "train_ratio": args.train_ratio, "preset": "set_dreamer_v3", "scale": args.scale}
    name = "dreamer_generality"
    if variant:
        settings["variant"] = variant
        name += "_" + variant_name(variant)
        args.runs = args.runs.rstrip("/") + "_" + variant_name(variant)
    args.out = args.out or _results.path(name)
    if args.progress:
        result = progress(args.runs, args.tasks, args.seeds, _results.rows_with_settings(args.out, settings), settings)
        _results.write(name + "_progress", result)
        print(progress_table(result))
        return
    before = _results.machine()
    for seed in args.seeds:  # one seed of every task first: the table covers every domain early
        for task in args.tasks:
            until = int(TASKS[task][2] * args.scale)
            until = min(until, args.stop_at) if args.stop_at else until
            if landed(_results.rows_with_settings(args.out, settings), task, seed, until):
                continue
            row = run(task, seed, args.size, args.train_ratio, args.runs, args.scale, args.gif_dir, variant,
                      args.stop_at)
            if row is None:
                return
            print(f"{task} seed {seed}: final {row['final_eval']}, best {row['best_eval']}", flush=True)
            _results.add_row(args.out, row, ("task", "seed"), settings, before, args.runs)
    if os.path.exists(args.out):
        print(table(_results.read(args.out)))


def progress(runs: str, tasks: list[str], seeds: list[int], finished: list[dict], settings: dict) -> dict:
    """The evaluations so far of the runs that have started and not finished, from their histories."""
    import srl_tf

    rows = []
    for seed in seeds:
        for task in tasks:
            directory = os.path.join(runs, f"{task}_s{seed}")
            if landed(finished, task, seed) or not os.path.isdir(directory):
                continue
            history = srl_tf.Runner.load_histories(directory).runs[0][1]
            curve = [[int(r["step"]), round(float(r["eval_reward0"]), 1)] for r in history
                     if r.get("eval_reward0") is not None]
            rows.append({"task": task, "seed": seed, "env_steps_so_far": max((int(r["step"]) for r in history), default=0),
                         "env_steps": int(TASKS[task][2] * settings["scale"]), "eval_curve": curve})
    return _results.record(rows, settings=settings)


def progress_table(result: dict) -> str:
    lines = ["| task | seed | env steps so far | latest eval | best eval so far | target | first eval at or above it |",
             "|---|---|---|---|---|---|---|"]
    for r in result["runs"]:
        target = TASKS[r["task"]][3]
        curve = r["eval_curve"]
        first = next((step for step, ret in curve if ret >= target), None)
        latest = f"{curve[-1][1]:.1f} (at {curve[-1][0]:,})" if curve else "-"
        best = f"{max(ret for _, ret in curve):.1f}" if curve else "-"
        lines.append(f"| {r['task']} | {r['seed']} | {r['env_steps_so_far']:,} of {r['env_steps']:,} | {latest} | {best} | "
                     f"≥ {target:g} | {'-' if first is None else f'{first:,}'} |")
    if not result["runs"]:
        lines.append("| (none running) | | | | | | |")
    lines.append(f"\nRuns started and not finished, from their histories; they continue with the same command. "
                 f"`{result['command']}`, {_results.machine_line(result)}.")
    return "\n".join(lines)


def landed(rows: list[dict], task: str, seed: int, until: int | None = None) -> bool:
    """Whether ``rows`` hold (task, seed) run to ``until`` env steps (default: its whole budget); a
    row stopped short of that (``--stop-at``) is a run still to continue."""
    for r in rows:
        if r["task"] == task and r["seed"] == seed:
            return r["env_steps"] >= (r.get("budget", r["env_steps"]) if until is None else until)
    return False


def table(result: dict) -> str:
    s = result["settings"]
    variant = ", ".join(f"{k} = {v!r}" for k, v in s.get("variant", {}).items())
    head = (f"DreamerV3 preset, model size {s['size']}, train ratio {s['train_ratio']:g}"
            + (f", and the variant {variant}" if variant else "") + ", the same for every task.")
    lines = [head, "",
             "| task | env steps | seed | final eval | best eval | target | first eval at or above it | "
             "train steps/s (wall) | peak memory (MiB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(result["runs"], key=lambda r: (list(TASKS).index(r["task"]), r["seed"])):
        target = TASKS[r["task"]][3]
        verdict, first = _results.verdict(r["final_eval"], r["eval_curve"], target)
        budget = r.get("budget", r["env_steps"])
        steps = f"{r['env_steps']:,}" if r["env_steps"] >= budget else f"{r['env_steps']:,} of {budget:,} (**stopped**)"
        lines.append(f"| {r['task']} | {steps} | {r['seed']} | {r['final_eval']:.1f} | {r['best_eval']:.1f} | "
                     f"≥ {target:g}: {verdict} | {'-' if first is None else f'{first:,}'} | {r['train_steps_per_s']} | "
                     f"{r['peak_rss_mib']:,} |")
    stopped = ("Stopped: the run was ended at that many env steps, short of its budget (`--stop-at`); its verdict "
               "is on the steps it ran. " if any(r["env_steps"] < r.get("budget", 0) for r in result["runs"]) else "")
    lines.append(f"\nTrain steps/s: train steps over the wall time of the run's last continuation, which includes acting, "
                 f"evaluation, time paused and time the cores were shared, so it is not a speed figure (the step's own "
                 f"time is in the `dreamer_flops` table). {stopped}Peak memory: the process's peak resident set. "
                 f"Last written by `{result['command']}`, {_results.machine_line(result)}; rows that landed "
                 f"earlier ran at the commits the text below gives.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
