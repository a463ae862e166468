"""DreamerV3 on CarRacing-v3 from 64 × 64 pixels: the heavier pixel example, run so that it leaves a
result file. A run of an hour or more: it checkpoints every few minutes and continues from there
when the command is given again.

    python benchmarks/dreamer_carracing.py [--steps 20000] [--size tiny] [--train-ratio 64] [--seed 0]
    python benchmarks/report.py dreamer_carracing       # the docs table, from the result file

The configuration of ``examples/carracing_dreamer.py``: the V3 preset at ``--size``, batch 16 × 64,
action repeat 2 (an env step is 2 frames), 1000 random steps first, then train steps at
``--train-ratio`` replayed env steps per env step (64: one train step every 16 env steps, what a
CPU affords; the paper trains far more). Evaluation: 3 deterministic episodes every 10 % of the run
and at the end.

Result: ``benchmarks/results/dreamer_carracing.json`` (evaluation curve, the image-reconstruction
loss along the run, train steps, train steps per second over the last continuation, peak memory),
the open-loop prediction GIF (real | reconstruction | imagination) in
``docs/images/dreamer_carracing_prediction.gif``, and ``docs/images/dreamer_carracing.png`` from
``report.py --write``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
import _results  # noqa: E402

IMAGES = os.path.join(HERE, "..", "docs", "images")


def run(steps: int, size: str, train_ratio: float, seed: int, runs: str, gif: str | None) -> dict | None:
    """Trains (or continues) the run; returns its figures once it reached ``steps``."""
    from carracing_dreamer import carracing_config

    import srl_tf
    from srl_tf.render import save_prediction_gif

    cfg = carracing_config(size, seed, train_ratio)
    cfg.memory.capacity = max(steps, cfg.memory.warmup_size)  # the whole run fits
    env = srl_tf.EnvConfig("CarRacing-v3", image_resize=(64, 64), action_repeat=2)
    runner = srl_tf.Runner(env, cfg)
    directory = os.path.join(runs, f"s{seed}")
    runner.set_history_on_file(directory, enable_eval=True, eval_episode=3, interval=max(steps // 100, 1),
                               eval_interval=max(steps // 10, 1))
    done = _results.train_resumably(runner, directory, steps)
    if done is None:  # interrupted: the checkpoint holds it
        return None
    wall, train_steps = done
    rows = runner.get_history().runs[0][1]
    save_prediction_gif(runner.agent, os.path.join(directory, "prediction.gif"), length=50, context=5)
    if gif:
        save_prediction_gif(runner.agent, gif, length=50, context=5)
    curve = _results.eval_curve(runner)
    return {
        "env": "CarRacing-v3", "seed": seed, "env_steps": runner.step, "train_steps": runner.agent.train_count,
        "final_eval": curve[-1][1], "best_eval": max(r for _, r in curve), "eval_curve": curve,
        "obs_loss_curve": [[int(r["step"]), round(float(r["obs_loss"]), 2)] for r in rows if r.get("obs_loss") is not None],
        "train_steps_per_s": round(train_steps / max(wall, 1e-9), 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def table(result: dict) -> str:
    s = result["settings"]
    lines = ["| env steps (frames) | train steps | image loss, first → last row | final eval | best eval | "
             "train steps/s (wall) | peak memory (MiB) |", "|---|---|---|---|---|---|---|"]
    for r in result["runs"]:
        loss = r["obs_loss_curve"]
        lines.append(f"| {r['env_steps']:,} ({2 * r['env_steps']:,}) | {r['train_steps']:,} | "
                     f"{loss[0][1]:g} → {loss[-1][1]:g} | {r['final_eval']:.1f} | {r['best_eval']:.1f} | "
                     f"{r['train_steps_per_s']} | {r['peak_rss_mib']:,} |")
    lines.append(f"\nDreamerV3 preset, model size {s['size']}, train ratio {s['train_ratio']:g}, batch 16 × 64, "
                 f"action repeat 2, seed {', '.join(str(r['seed']) for r in result['runs'])}; evaluations of 3 "
                 "deterministic episodes. Train steps/s: over the wall time of the run's last continuation (acting, "
                 f"evaluation and shared cores included). `{result['command']}`, {_results.machine_line(result)}.")
    return "\n".join(lines)


def plot(result: dict, title: str, path: str) -> str:
    """The image loss and the evaluation return against env steps, side by side."""
    import matplotlib.pyplot as plt

    fig, (loss_ax, eval_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for r in result["runs"]:
        loss_ax.plot(*zip(*r["obs_loss_curve"]), lw=1.2, label=f"seed {r['seed']}")
        eval_ax.plot(*zip(*r["eval_curve"]), marker="o", ms=3, lw=1.2, label=f"seed {r['seed']}")
    loss_ax.set_title("image reconstruction loss (training rows)", fontsize=9)
    eval_ax.set_title("evaluation return (3 deterministic episodes)", fontsize=9)
    for ax in (loss_ax, eval_ax):
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _results.save_figure(fig, title, path)


def main():
    _results.stop_on_sigterm()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20_000, help="env steps (frames = 2 × that)")
    p.add_argument("--size", default="tiny")
    p.add_argument("--train-ratio", type=float, default=64.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default="runs/dreamer_carracing")
    args = p.parse_args()
    if args.steps <= 1000:
        p.error(f"--steps={args.steps}: give more than the 1000 random warm-up steps")
    before = _results.machine()
    gif = os.path.join(IMAGES, "dreamer_carracing_prediction.gif") if args.steps == 20_000 else None
    row = run(args.steps, args.size, args.train_ratio, args.seed, args.runs, gif)
    if row is None:
        print("interrupted: the same command continues from the checkpoint", flush=True)
        return
    result = _results.record([row], machine_before=before, seeds=[args.seed],
                             settings={"size": args.size, "train_ratio": args.train_ratio, "steps": args.steps})
    _results.write("dreamer_carracing", result)
    print(table(result))


if __name__ == "__main__":
    main()
