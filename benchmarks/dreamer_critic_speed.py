"""How fast the critic of the DreamerV3 generality configuration can learn the values of an episode
when everything it learns from is exact.

    python benchmarks/dreamer_critic_speed.py [--lrs 3e-5 1e-4] [--lengths 100 500] [--train-steps 5000]
    python benchmarks/report.py dreamer_critic_speed      # the docs table, from the result file

The generality runs' CartPole critics value the first state at a quarter to a third of the return
the episode then gives (``dreamer_diagnose.py``). This asks whether the critic could have done better
with what it was given, by taking everything else away. The agent is the one of
``dreamer_generality.py`` for CartPole-v1 (the V3 preset at the result file's size and train ratio),
with ``lr_critic`` set to each of ``--lrs``. Only its critic trains, with the agent's own
``critic_loss`` (twohot regression to λ-returns from the critic itself, the regulariser towards the
EMA copy), optimiser, gradient clipping and EMA update, on imagined trajectories from an exact model
of an episode of L steps with a reward of 1 per step that ends at step L, as CartPole's do when the
cart leaves the track:

- each train step starts ``--batch`` imagined trajectories (the generality batch, 16 × 64) at steps t
  drawn uniformly from 0 … L − 1 and follows them for the preset's horizon (15): the rewards are
  exactly 1, the continue flag exactly 0 on the transition into step L, as a perfect world model
  and a fixed policy would give;
- the critic's input for step t is a fixed stand-in for the world model's features of that state,
  of the same size: for the deterministic part, smooth functions of t / L in (-1, 1); for each
  categorical latent, a one-hot class that changes with t / L.

The true value of step t is (1 − γ^(L − t)) / (1 − γ) with the preset's γ. The critic's value of the
first state is recorded every 1 % of ``--train-steps``; a row per (learning rate, L) goes into
``benchmarks/results/dreamer_critic_speed.json``. 5 000 train steps are what a generality run of 20k
env steps makes.

What this leaves out: the stand-in features are not the world model's, and they do not drift as a
world model's do while it learns; the real critic's targets also carry the world model's errors.
So it bounds how fast the critic can follow, it does not reproduce a run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402
import dreamer_generality  # noqa: E402

CHECKPOINTS = (1000, 2500, 5000)  # train steps at which the table shows V(s0)


def true_values(length: int, gamma: float) -> np.ndarray:
    t = np.arange(length)
    return (1.0 - gamma ** (length - t)) / (1.0 - gamma)


def stand_in_features(length: int, deter: int, groups: int, classes: int, seed: int = 0):
    """(length + 1, deter + groups·classes) float32: a fixed smooth deterministic part in (-1, 1) and
    one one-hot per categorical group, as functions of t / length (row ``length``: the terminal state)."""
    rng = np.random.default_rng(seed)
    x = np.arange(length + 1, dtype=np.float64)[:, None] / length
    det = np.sin(x * rng.normal(0.0, 3.0, (1, deter)) + rng.uniform(0.0, 2 * np.pi, (1, deter)))
    turns = rng.uniform(0.5, 2.0, (1, groups)) * x + rng.uniform(0.0, 1.0, (1, groups))
    cls = np.floor(np.mod(turns, 1.0) * classes).astype(int)  # (length + 1, groups)
    stoch = np.eye(classes)[cls].reshape(length + 1, groups * classes)
    return np.concatenate([det, stoch], axis=1).astype(np.float32)


def train(lr: float, length: int, train_steps: int, batch: int, settings: dict, seed: int = 0) -> dict:
    import tensorflow as tf

    from srl_tf.functions import lambda_returns

    runner, _ = dreamer_generality.build("cartpole", seed, settings["size"], settings["train_ratio"],
                                         variant={"lr_critic": lr})
    agent = runner.agent
    cfg, rssm = agent.config, agent.rssm
    groups, classes = rssm.stoch, rssm.classes
    feats = tf.constant(stand_in_features(length, rssm.feat_size - groups * classes, groups, classes, seed))
    horizon, gamma, lam = cfg.horizon, cfg.discount, cfg.return_lambda
    gen = tf.random.Generator.from_seed(seed)

    @tf.function(jit_compile=True)
    def step():
        t0 = gen.uniform([batch], 0, length, tf.int32)
        t = t0[None] + tf.range(horizon + 1)[:, None]  # (H + 1, N)
        feat = tf.gather(feats, tf.minimum(t, length))
        reward = tf.ones([horizon, batch])
        cont = tf.cast(t[1:] < length, tf.float32)  # 0 on the transition into step L
        reach = tf.math.cumprod(tf.concat([tf.ones_like(cont[:1]), cont[:-1]], axis=0), axis=0)
        with tf.GradientTape() as tape:
            value_out = agent.critic(feat)
            value = agent.critic.mean_of(value_out)
            ret = lambda_returns(reward, value[:-1], cont, value[-1], gamma, lam)
            loss = agent.critic_loss(value_out, feat, ret, reach)
        agent.apply_gradients(tape, loss, agent.critic.trainable_variables, agent.critic_opt, cfg.actor_critic_grad_norm)
        agent.update_slow_critic()
        return loss

    every = max(1, train_steps // 100)
    truth = true_values(length, gamma)
    curve, start = [], time.perf_counter()
    for i in range(1, train_steps + 1):
        step()
        if i % every == 0 or i == train_steps:
            v = agent.critic.mean(feats[:length]).numpy()
            curve.append([i, float(v[0]), float(np.mean(np.abs(v - truth)))])
            if i % (every * 10) == 0:
                print(f"lr {lr:g}  L {length}  train step {i}/{train_steps}: V(s0) {v[0]:.1f} of {truth[0]:.1f}  "
                      f"mean |V - V*| {curve[-1][2]:.1f}  {time.perf_counter() - start:.0f} s", flush=True)
    return {"lr_critic": lr, "length": length, "true_v0": float(truth[0]), "curve": curve,
            "seconds": time.perf_counter() - start}


def steps_to(run: dict, fraction: float) -> int | None:
    return next((s for s, v0, _ in run["curve"] if v0 >= fraction * run["true_v0"]), None)


def value_at(run: dict, step: int) -> float | None:
    return next((v0 for s, v0, _ in run["curve"] if s == step), None)


def table(result: dict) -> str:
    s = result["settings"]
    shown = sorted({c for c in CHECKPOINTS if c < s["train_steps"]} | {s["train_steps"]})
    lines = [f"The critic of the generality configuration (V3 preset, size {s['size']}, γ {s['gamma']}, horizon "
             f"{s['horizon']}) alone, on exact imagined trajectories of an episode of L steps with reward 1, "
             f"batch {s['batch']}.", "",
             "| critic lr | L | true V(s0) | " + " | ".join(f"V(s0) after {c:,} train steps" for c in shown)
             + " | train steps to 50 % of true | to 90 % | mean abs. error over the episode at the end |",
             "|---|---|---|" + "---|" * len(shown) + "---|---|---|"]
    for r in sorted(result["runs"], key=lambda r: (r["length"], r["lr_critic"])):
        vals = " | ".join("-" if value_at(r, c) is None else f"{value_at(r, c):.1f}" for c in shown)
        half, most = steps_to(r, 0.5), steps_to(r, 0.9)
        lines.append(f"| {r['lr_critic']:g} | {r['length']} | {r['true_v0']:.1f} | {vals} | "
                     f"{'-' if half is None else f'{half:,}'} | {'-' if most is None else f'{most:,}'} | "
                     f"{r['curve'][-1][2]:.1f} |")
    lines += ["", f"-: not reached in {s['train_steps']:,} train steps. {_results.machine_line(result)}"]
    return "\n".join(lines)


def plot(result: dict, title: str, path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.3))
    styles = {L: st for L, st in zip(sorted({r["length"] for r in result["runs"]}), ["-", "--", ":", "-."])}
    lrs = sorted({r["lr_critic"] for r in result["runs"]})
    colours = plt.get_cmap("tab10").colors
    for r in result["runs"]:
        steps, v0, _ = zip(*r["curve"])
        ax.plot(steps, np.asarray(v0) / r["true_v0"], ls=styles[r["length"]], color=colours[lrs.index(r["lr_critic"])],
                label=f"lr {r['lr_critic']:g}, L {r['length']} (true V(s0) {r['true_v0']:.0f})")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xlabel("critic train steps")
    ax.set_ylabel("V(s0) / true V(s0)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _results.save_figure(fig, title, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lrs", type=float, nargs="+", default=[3e-5, 1e-4])
    p.add_argument("--lengths", type=int, nargs="+", default=[100, 500])
    p.add_argument("--train-steps", type=int, default=5000)
    p.add_argument("--batch", type=int, default=16 * 64)
    p.add_argument("--out", default=_results.path("dreamer_critic_speed"))
    args = p.parse_args()
    for name in ("lrs", "lengths"):
        bad = [v for v in getattr(args, name) if v <= 0]
        if bad:
            p.error(f"--{name}: every value must be > 0, got {bad}")
    if args.train_steps < 100 or args.batch < 1:
        p.error(f"--train-steps must be >= 100 and --batch >= 1, got {args.train_steps} and {args.batch}")
    generality = _results.read("dreamer_generality")["settings"]
    settings = {"size": generality["size"], "train_ratio": generality["train_ratio"], "train_steps": args.train_steps,
                "batch": args.batch}
    before = _results.machine()
    runs = []
    for length in args.lengths:
        for lr in args.lrs:
            runs.append(train(lr, length, args.train_steps, args.batch, settings))
    cfg = dreamer_generality.config(0, settings["size"], settings["train_ratio"])
    settings.update(gamma=cfg.discount, horizon=cfg.horizon)
    result = _results.record(runs, machine_before=before, settings=settings)
    _results.write(args.out, result)
    print(table(result))


if __name__ == "__main__":
    main()
