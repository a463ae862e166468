"""Every docs table and plot of the benchmarks, made from the committed result files.

    python benchmarks/report.py                  # print every table
    python benchmarks/report.py cartpole ppo     # print these tables
    python benchmarks/report.py --write          # rewrite the marked tables in docs/ and the plots in docs/images/
    python benchmarks/report.py --list           # the tables and plots, and the result files each is made from

A table in a docs page sits between ``<!-- table: python benchmarks/report.py NAME -->`` and
``<!-- end table -->``; ``--write`` replaces what is between them, and tests/test_result_tables.py
fails when a marked table differs from what this script makes of the committed result files.
A table or plot whose result files are not all there is skipped (and named) rather than made from
part of them. The result files are written by the benchmark scripts (``benchmarks/run.py FAMILY``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOCS = os.path.join(ROOT, "docs")
IMAGES = os.path.join(DOCS, "images")
sys.path.insert(0, HERE)

import _results  # noqa: E402

MARKER = re.compile(r"<!-- table: python benchmarks/report\.py (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- end table -->", re.S)


def _script(name: str):
    """A benchmark script as a module, for its ``table`` function (loaded once)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _single(script: str) -> Callable[[list[dict]], str]:
    return lambda results: _script(script).table(results[0])


def _many(script: str) -> Callable[[list[dict]], str]:
    return lambda results: _script(script).table(results)


# ---------------------------------------------------------------------------------------------
# summary of the learning results: one row per result file, against the target in TARGETS.md
# ---------------------------------------------------------------------------------------------
def _mean(xs) -> float:
    return sum(xs) / len(xs)


def _summary_row(name: str, result: dict) -> str:
    groups = _results.mean_rows(result)
    if len(groups) > 1:  # seeds the settings were tuned on, and fresh seeds: a row each
        rows = []
        for label, runs in groups:
            part = dict(result, runs=runs, settings=dict(result["settings"], tuned_on_seeds=[]))
            row = _summary_row(name, part)
            rows.append(row.replace(f", {len(runs)} seeds", f", {label.removeprefix('mean of ')}", 1))
        return "\n".join(rows)
    runs = result["runs"]
    seeds = len(runs)
    if name == "rl2_bandits":
        per_trial = [r["held_out_return_per_trial"] for r in runs]
        verdict = "met" if _mean(per_trial) >= 6.5 else "missed"
        return (f"| RL² bandits, 5 arms × 10 pulls, 1M env steps, {seeds} seeds | held-out return per trial "
                f"{' / '.join(f'{x:.2f}' for x in per_trial)} (mean {_mean(per_trial):.2f}; random 5.0, UCB1 ≈ 6.7) "
                f"| ≥ 6.5: **{verdict}** | [PPO](benchmarks/ppo.md) |")
    if name == "rl2_navigation":
        per_trial = [r["held_out_return_per_trial"] for r in runs]
        curve = [_mean(ep) for ep in zip(*(r["held_out_return_per_episode"] for r in runs))]
        rising = curve[1] > curve[0]  # the second episode gains on the first once the goal has been found
        return (f"| RL² point navigation, 3 × 20 steps, 1M env steps, {seeds} seeds | held-out return per trial "
                f"{' / '.join(f'{x:.2f}' for x in per_trial)} (mean {_mean(per_trial):.2f}); per episode of a trial "
                f"{' → '.join(f'{c:.2f}' for c in curve)} | a rising curve: **{'met' if rising else 'missed'}** "
                "| [PPO](benchmarks/ppo.md) |")
    finals = [r["final_eval"] for r in runs]
    per_seed = " / ".join(f"{x:.1f}" for x in finals)
    if name == "dqn_cartpole":
        reached = sum(r["best_eval"] >= 500 for r in runs)
        verdict = "met" if _mean(finals) >= 500 else "missed"
        return (f"| DQN CartPole-v1, 50k env steps, {seeds} seeds | final eval {per_seed} (mean {_mean(finals):.1f}); "
                f"an evaluation of 500 during training on {reached} of {seeds} seeds | 500: **{verdict}** "
                "| [CartPole](benchmarks/cartpole.md) |")
    if name in ("reinforce_cartpole", "reinforce_baseline_cartpole", "actor_critic_cartpole"):
        label = {"reinforce_cartpole": "REINFORCE", "reinforce_baseline_cartpole": "REINFORCE with baseline",
                 "actor_critic_cartpole": "One-step actor-critic"}[name]
        last20 = [r["last20_train_return"] for r in runs]
        if name == "actor_critic_cartpole":
            target = f"≥ 400: **{'met' if _mean(last20) >= 400 else 'missed'}**"
        else:
            target = "(comparison for actor-critic)"
        return (f"| {label} CartPole-v1, 300 episodes, {seeds} seeds | last-20 training mean "
                f"{' / '.join(f'{x:.1f}' for x in last20)} (mean {_mean(last20):.1f}); final eval {per_seed} | {target} "
                "| [CartPole](benchmarks/cartpole.md) |")
    if name in ("sac_pendulum", "td3_pendulum", "ddpg_pendulum"):
        label = name.split("_")[0].upper()
        extra = f", {runs[0]['warmup']} random steps first" if name == "td3_pendulum" else ""
        verdict = "met" if _mean(finals) >= -170 else "missed"
        return (f"| {label} Pendulum-v1, 20k env steps, {seeds} seeds{extra} | {per_seed} (mean {_mean(finals):.1f}) "
                f"| ≥ −170: **{verdict}** | [SAC, TD3, DDPG](benchmarks/continuous.md) |")
    if name == "sac_halfcheetah":
        verdict = "met" if _mean(finals) >= 4500 else "missed"
        return (f"| SAC HalfCheetah-v5, 200k env steps, {seeds} seeds | {per_seed} (mean {_mean(finals):.1f}) "
                f"| ≥ 4500: **{verdict}** | [SAC, TD3, DDPG](benchmarks/continuous.md) |")
    if name in ("ppo_cartpole", "ppo_pendulum", "gru_ppo_masked_cartpole"):
        label, target = {"ppo_cartpole": ("PPO CartPole-v1, 100k env steps", 500.0),
                         "ppo_pendulum": ("PPO Pendulum-v1, 200k env steps", -250.0),
                         "gru_ppo_masked_cartpole": ("GRU PPO CartPole-v1 without velocities, 200k env steps", 450.0)}[name]
        verdict = "met" if _mean(finals) >= target else "missed"
        return (f"| {label}, {seeds} seeds | {per_seed} (mean {_mean(finals):.1f}) | ≥ {target:g}: **{verdict}** "
                "| [PPO](benchmarks/ppo.md) |")
    if name in ("dreamer_v3_pendulum", "dreamer_v2_pendulum", "dreamer_v1_pendulum"):
        preset = result["settings"]["preset"]
        budget, target = _script("dreamer_pendulum").TARGETS[preset]
        steps = " / ".join(f"{n:,}" for n in sorted({r["env_steps"] for r in runs}))
        reached = sum(r["best_eval"] >= target for r in runs)
        verdict = "met" if _mean(finals) >= target and max(r["env_steps"] for r in runs) <= budget else "missed"
        n_seeds = f"{seeds} seed{'s' if seeds != 1 else ''}"
        return (f"| Dreamer {preset.upper()} preset Pendulum-v1, {steps} env steps, {n_seeds} | {per_seed} "
                f"(mean {_mean(finals):.1f}); an evaluation at or above the target during training on {reached} of "
                f"{n_seeds} | ≥ {target:g} within {budget:,}: **{verdict}** | [Dreamer](benchmarks/dreamer.md) |")
    raise KeyError(name)


SUMMARY_FILES = ("dqn_cartpole", "reinforce_cartpole", "reinforce_baseline_cartpole", "actor_critic_cartpole",
                 "ppo_cartpole", "ppo_pendulum", "gru_ppo_masked_cartpole", "sac_pendulum", "td3_pendulum",
                 "ddpg_pendulum", "sac_halfcheetah", "rl2_bandits", "rl2_navigation", "dreamer_v3_pendulum",
                 "dreamer_v2_pendulum", "dreamer_v1_pendulum")


def summary() -> str:
    """The learning results of every result file there is (the summary on docs/benchmarks.md)."""
    lines = ["| task | result (final evaluation, 10 deterministic episodes, unless the row says otherwise) | target | page |",
             "|---|---|---|---|"]
    dates = []
    for name in SUMMARY_FILES:
        if os.path.exists(_results.path(name)):
            result = _results.read(name)
            lines.append(_summary_row(name, result))
            dates.append(result["date"])
    when = min(dates) if min(dates) == max(dates) else f"{min(dates)} to {max(dates)}"
    lines.append(f"\nMade from {len(dates)} result files in benchmarks/results/, measured {when}; the machine and "
                 "load of each are on its page.")
    return "\n".join(lines)


def mutation_table(result: dict) -> str:
    """The mutation-testing table of docs/guides/testing.md (``python scripts/mutation.py --write``)."""
    lines = ["| module | mutants | killed | timed out | survived | not run (or no result) | equivalent | score |",
             "|---|---|---|---|---|---|---|---|"]
    total = result["settings"]["total"]
    for m in [*result["runs"], {"module": "all", **total}]:
        score = "-" if m["score"] is None else f"{m['score']:.1f} %"
        lines.append(f"| {m['module']} | {m['total']} | {m['killed']} | {m['timeout']} | {m['survived']} | {m['other']} "
                     f"| {m['equivalent']} | {score} |")
    lines.append(f"\nScore: (killed + timed out) / (mutants − equivalent), a mutant not run counting as not killed; "
                 f"{result['settings']['tool']}; "
                 f"`{result['command']}`; {_results.machine_line(result)}.")
    return "\n".join(lines)


SPEED_PAGES = {"dqn_speed": ("DQN CartPole-v1", "≥ 1.5×", 1.5, "benchmarks/cartpole.md"),
               "ppo_speed": ("PPO CartPole-v1", "≥ 1.5×", 1.5, "benchmarks/ppo.md"),
               "continuous_speed": ("{algo} Pendulum-v1", "≥ 2×", 2.0, "benchmarks/continuous.md"),
               "dreamer_speed": ("Dreamer V3 train step, Pendulum configuration", "≥ 3×", 3.0, "benchmarks/dreamer.md")}


def speed_summary() -> str:
    """One row per framework comparison that has a result file (the speed table on docs/benchmarks.md)."""
    import statistics

    lines = ["| comparison | srl_tf | other | ratio | target | measured | page |", "|---|---|---|---|---|---|---|"]
    for name, (label, target, need, page) in SPEED_PAGES.items():
        if not os.path.exists(_results.path(name)):
            continue
        result = _results.read(name)
        runs = _results.runs_of(result)
        when = result["date"]
        link = f"[page]({page})"
        if name == "dreamer_speed":
            sizes_label = _script("dreamer_pendulum").SIZES_LABEL
            for sizes in dict.fromkeys(r.get("sizes", "docs") for r in runs):
                mine = [r for r in runs if r.get("sizes", "docs") == sizes]
                ours = next(r["ms_per_train_step"] for r in mine if r["case"].startswith("srl_tf") and "bare" not in r["case"])
                theirs = next((r["ms_per_train_step"] for r in mine if r["case"].startswith("srl-framework")), None)
                if theirs is None:
                    continue
                ratio = theirs / ours
                # the target is set on SRL's usual sizes; the every-MLP-512 configuration is shown beside it
                verdict = f"{target}: **{'met' if ratio >= need else 'missed'}**" if sizes == "srl" else "- (no target)"
                lines.append(f"| {label} ({sizes_label[sizes]}), against srl-framework 1.4.6 (both through "
                             f"`Runner.train`) | {ours} ms | {theirs} ms | {ratio:.2f}× | {verdict} | {when} | {link} |")
            continue
        sb3 = result["packages"].get("stable-baselines3")
        for algo in dict.fromkeys(r.get("algorithm", "") for r in runs):
            mine = [r for r in runs if r.get("algorithm", "") == algo]
            ours = statistics.mean(r["env_steps_per_s"] for r in mine if r["framework"] == "srl_tf")
            theirs = statistics.mean(r["env_steps_per_s"] for r in mine if r["framework"] == "sb3")
            ratio = ours / theirs
            lines.append(f"| {label.format(algo=algo.upper())}, against Stable-Baselines3 {sb3} | {ours:.0f} env steps/s "
                         f"| {theirs:.0f} env steps/s | {ratio:.2f}× | {target}: **{'met' if ratio >= need else 'missed'}** "
                         f"| {when} | {link} |")
    lines.append("\nEnv steps/s count the env steps each framework took over the whole run, start-up and compilation "
                 "included; Dreamer's figures are ms per train step after compilation. The machine and its load are on "
                 "each page.")
    return "\n".join(lines)


# name: (result files, function of their records) -- the tables the docs mark
TABLES: dict[str, tuple[tuple[str, ...], Callable[[list[dict]], str]]] = {
    "main_job": (("main_job",), _single("main_job")),
    "checkpoint_cost": (("checkpoint_cost",), _single("checkpoint_cost")),
    "ray_scaling": (("ray_scaling",), _single("ray_scaling")),
    "ray_scaling_cartpole": (("ray_scaling_cartpole",), _single("ray_scaling")),
    "dreamer_first_step": (("dreamer_first_step",), _single("dreamer_first_step")),
    "dreamer_precision": (("dreamer_precision",), _single("dreamer_precision")),
    "dqn_speed": (("dqn_speed",), _single("side_by_side")),
    "ppo_speed": (("ppo_speed",), _single("side_by_side")),
    "dreamer_speed": (("dreamer_speed",), lambda results: _script("dreamer_pendulum").speed_table(results[0])),
    "dreamer_v3_pendulum": (("dreamer_v3_pendulum",), lambda results: _script("dreamer_pendulum").learning_table(results[0])),
    "dreamer_v2_pendulum": (("dreamer_v2_pendulum",), lambda results: _script("dreamer_pendulum").learning_table(results[0])),
    "dreamer_v1_pendulum": (("dreamer_v1_pendulum",), lambda results: _script("dreamer_pendulum").learning_table(results[0])),
    "ray_learning": (("ray_learning",), _single("ray_learning")),
    "ray_ppo_lunarlander": (("ray_ppo_lunarlander",), _single("ray_learning")),
    "export_speed": (("export_speed",), _single("export_speed")),
    "cartpole": (("dqn_cartpole", "reinforce_cartpole", "reinforce_baseline_cartpole"), _many("cartpole")),
    "actor_critic": (("actor_critic_cartpole",), _many("cartpole")),
    "pendulum": (("sac_pendulum", "td3_pendulum", "ddpg_pendulum"), _many("continuous")),
    "halfcheetah": (("sac_halfcheetah",), _many("continuous")),
    "ppo": (("ppo_cartpole", "ppo_pendulum"), _many("ppo")),
    "gru_ppo": (("gru_ppo_masked_cartpole",), _many("ppo")),
    "rl2_bandits": (("rl2_bandits",), _many("rl2")),
    "rl2_navigation": (("rl2_navigation",), _many("rl2")),
    "summary": ((), lambda _: summary()),
    "speed_summary": ((), lambda _: speed_summary()),
    "mutation": (("mutation",), lambda results: mutation_table(results[0])),
    "continuous_speed": (("continuous_speed",), _single("continuous_speed")),
    "sac_profile": (("sac_profile",), _single("sac_profile")),
    "dreamer_flops": (("dreamer_flops",), _single("dreamer_flops")),
    "dreamer_generality": (("dreamer_generality",), _single("dreamer_generality")),
    "dreamer_generality_cont_mode": (("dreamer_generality_imagination_cont-mode",), _single("dreamer_generality")),
    "dreamer_generality_progress": (("dreamer_generality_progress",),
                                    lambda results: _script("dreamer_generality").progress_table(results[0])),
    "dreamer_diagnose": (("dreamer_diagnose",), _single("dreamer_diagnose")),
    "dreamer_critic_speed": (("dreamer_critic_speed",), _single("dreamer_critic_speed")),
    "dreamer_profile": (("dreamer_profile",), _single("dreamer_profile")),
    "dreamer_pixels_step": (("dreamer_pixels_step",), _single("dreamer_pixels_step")),
    "dreamer_carracing": (("dreamer_carracing",), _single("dreamer_carracing")),
}

# file in docs/images: (result files, title, what to plot) -- "eval": evaluation return against env
# steps, "train": training-episode return against episode (moving mean over 5), "adaptation": RL²'s
# held-out return of each episode of a trial, "script": the plot() of the script named as the file
PLOTS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "cartpole_eval.png": (("dqn_cartpole", "reinforce_cartpole", "reinforce_baseline_cartpole", "actor_critic_cartpole"),
                          "CartPole-v1: evaluation return (10 deterministic episodes)", "eval"),
    "cartpole_train.png": (("dqn_cartpole", "reinforce_cartpole", "reinforce_baseline_cartpole", "actor_critic_cartpole"),
                           "CartPole-v1: training return (moving mean of 5 episodes)", "train"),
    "pendulum_eval.png": (("sac_pendulum", "td3_pendulum", "ddpg_pendulum"),
                          "Pendulum-v1: evaluation return (10 deterministic episodes)", "eval"),
    "ppo_eval.png": (("ppo_cartpole", "ppo_pendulum"), "PPO: evaluation return (10 deterministic episodes)", "eval"),
    "gru_ppo_eval.png": (("gru_ppo_masked_cartpole",), "GRU PPO, CartPole-v1 with the velocities hidden: evaluation return",
                         "eval"),
    "dreamer_generality_eval.png": (("dreamer_generality",), "DreamerV3, one configuration (size XS, train ratio 256): "
                                    "evaluation return", "tasks"),
    "dreamer_generality_value.png": (("dreamer_generality",), "DreamerV3, one configuration: the critic's value "
                                     "against the training episodes' return", "script"),
    "dreamer_critic_speed.png": (("dreamer_critic_speed",), "DreamerV3 critic alone on exact imagined episodes: "
                                 "its value of the first state", "script"),
    "dreamer_v3_pendulum_eval.png": (("dreamer_v3_pendulum",), "Dreamer V3 preset, Pendulum-v1: evaluation return "
                                     "(10 deterministic episodes)", "eval"),
    "dreamer_carracing.png": (("dreamer_carracing",), "DreamerV3 on CarRacing-v3 from 64 × 64 pixels", "script"),
    "halfcheetah_sac_train.png": (("sac_halfcheetah",), "SAC HalfCheetah-v5: training return", "train"),
    "rl2_bandits_adaptation.png": (("rl2_bandits",), "RL² bandits: held-out return per pull within a trial", "adaptation"),
    "rl2_navigation_adaptation.png": (("rl2_navigation",), "RL² point navigation: held-out return per episode within a trial",
                                      "adaptation"),
}


# the env of result files that do not name it (ppo.py names its task)
ENV_OF_TASK = {"cartpole": "CartPole-v1", "pendulum": "Pendulum-v1", "masked_cartpole": "CartPole-v1, velocities hidden",
               "bandits": "bandits", "navigation": "navigation"}


def _env(result: dict) -> str:
    settings = result["settings"]
    if "preset" in settings:  # dreamer_pendulum.py's files: a Dreamer preset, always on Pendulum-v1
        return "Pendulum-v1"
    return settings.get("env") or ENV_OF_TASK[settings.get("task") or settings["family"]]


def available(files: tuple[str, ...]) -> bool:
    return all(os.path.exists(_results.path(f)) for f in files)


def table(name: str) -> str:
    files, make = TABLES[name]
    missing = [f for f in files if not os.path.exists(_results.path(f))]
    if missing:
        raise FileNotFoundError(f"table {name!r} needs benchmarks/results/{{{', '.join(missing)}}}.json")
    return make([_results.read(f) for f in files]).strip()


def plot(image: str, path: str) -> str:
    """One colour per algorithm (result file), one line style per seed; one panel per environment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    files, title, kind = PLOTS[image]
    results = [(f, _results.read(f)) for f in files]
    if kind == "tasks":  # one result file whose runs are several tasks: a panel per task
        return _script(files[0]).plot_eval(results[0][1], title, path)
    if kind == "script":
        return _script(files[0]).plot(results[0][1], title, path)
    envs = list(dict.fromkeys(_env(r) for _, r in results))
    fig, axes = plt.subplots(1, len(envs), figsize=(7.5 * len(envs) if len(envs) > 1 else 8, 4.3), squeeze=False)
    styles = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3))]
    colours = plt.get_cmap("tab10").colors
    for i, (f, result) in enumerate(results):
        env = _env(result)
        ax = axes[0][envs.index(env)]
        for j, run in enumerate(result["runs"]):
            if kind == "eval":
                x, y = zip(*run["eval_curve"]) if run["eval_curve"] else ((), ())
            elif kind == "adaptation":
                y = run["held_out_return_per_episode"]
                x = np.arange(1, len(y) + 1)
            else:
                y = np.convolve(run["train_returns"], np.ones(5) / 5, mode="valid") if len(run["train_returns"]) >= 5 else run["train_returns"]
                x = np.arange(1, len(y) + 1)
            ax.plot(x, y, ls=styles[j % len(styles)], color=colours[i % len(colours)], lw=1.2,
                    label=f"{f.removesuffix('_' + env.split('-')[0].lower())} seed {run['seed']}")
    for env, ax in zip(envs, axes[0]):
        ax.set_xlabel({"eval": "env steps", "train": "training episode", "adaptation": "episode of the trial"}[kind])
        ax.set_ylabel("return")
        ax.set_title(env if len(envs) > 1 else title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    return _results.save_figure(fig, title if len(envs) > 1 else None, path)


def marked_tables(docs: str = DOCS) -> list[tuple[str, str, str]]:
    """(page, table name, body) of every marked table in the docs."""
    out = []
    for folder, _, files in os.walk(docs):
        for f in sorted(files):
            if f.endswith(".md"):
                page = os.path.join(folder, f)
                with open(page, encoding="utf-8") as fh:
                    text = fh.read()
                out += [(page, m["name"], m["body"].strip()) for m in MARKER.finditer(text)]
    return out


def write_docs(docs: str = DOCS) -> list[str]:
    changed = []
    for folder, _, files in os.walk(docs):
        for f in sorted(files):
            if not f.endswith(".md"):
                continue
            page = os.path.join(folder, f)
            with open(page, encoding="utf-8") as fh:
                text = fh.read()
            def fill(m: re.Match, page: str = page) -> str:
                try:
                    body = table(m["name"])
                except FileNotFoundError as e:
                    print(f"left {os.path.relpath(page, ROOT)}:{m['name']} as it was: {e}")
                    return m[0]
                return f"<!-- table: python benchmarks/report.py {m['name']} -->\n{body}\n<!-- end table -->"

            new = MARKER.sub(fill, text)
            if new != text:
                with open(page, "w", encoding="utf-8") as fh:
                    fh.write(new)
                changed.append(os.path.relpath(page, ROOT))
    return changed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tables", nargs="*", metavar="TABLE", help=f"tables to print (default: all): {', '.join(TABLES)}")
    p.add_argument("--write", action="store_true", help="rewrite the marked tables in docs/ and the plots in docs/images/")
    p.add_argument("--list", action="store_true")
    args = p.parse_args()
    unknown = [t for t in args.tables if t not in TABLES]
    if unknown:
        p.error(f"no table {', '.join(unknown)}; the tables are {', '.join(TABLES)}")
    if args.list:
        for name, (files, _) in TABLES.items():
            print(f"table {name}: {', '.join(files) or 'every result file'}")
        for image, (files, _, _) in PLOTS.items():
            print(f"plot docs/images/{image}: {', '.join(files)}")
        return
    if args.write:
        for page in write_docs():
            print(f"rewrote tables in {page}")
        for image, (files, _, _) in PLOTS.items():
            if available(files):
                print(f"wrote {os.path.relpath(plot(image, os.path.join(IMAGES, image)), ROOT)}")
            else:
                print(f"skipped docs/images/{image}: no result files {', '.join(f for f in files if not os.path.exists(_results.path(f)))}")
        return
    for name in args.tables or TABLES:
        try:
            print(f"## {name}\n\n{table(name)}\n")
        except FileNotFoundError as e:
            print(f"## {name}\n\nskipped: {e}\n")


if __name__ == "__main__":
    main()
