"""What a generality run's agent does and what its world model and critic believe, read from the
run's checkpoint: why a policy that reached its target lost it, or why one never reached it.

    python benchmarks/dreamer_diagnose.py --task cartpole --seed 0 [--checkpoint PATH] [--set FIELD=VALUE ...]
    python benchmarks/report.py dreamer_diagnose        # the docs table, from the result file

For the (task, seed) of ``benchmarks/dreamer_generality.py`` (same configuration, same run
directory) and its newest checkpoint, or ``--checkpoint``; with ``--set``, of the diagnostic variant
that ``dreamer_generality.py --set`` ran (its configuration and runs directory):

- **episodes**: ``--episodes`` deterministic episodes (env seeds 100, 101, ...) with the
  checkpoint's weights: their length and return and, for CartPole-v1, why each ended (the cart left
  the track, |x| > 2.4, or the pole fell, |theta| > 12 degrees, or the time limit); the critic's
  value of the first state against the discounted return (the preset's gamma) the episode then
  actually gave, and the correlation of value and discounted return-to-go over all steps;
- **continue head**: over the replay memory the run had stored, the world model's P(continue) at
  every terminal step and 5 steps before it, from the posterior of the 64 steps leading up to it,
  with the latents' modes (as the deterministic policy acts) and with samples (as imagination
  sees them). A world model that predicts its episodes' ends gives P(continue) near 0 at the
  terminal steps.

Each diagnosis is added to ``benchmarks/results/dreamer_diagnose.json`` (one row per task, seed and
checkpoint step, replaced when the same one is diagnosed again).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402
import dreamer_generality  # noqa: E402

CONTEXT = 64  # steps of posterior leading up to a terminal step
BEFORE = 5


def cartpole_end(obs: np.ndarray, truncated: bool) -> str:
    """Why a CartPole-v1 episode ended, from its last observation."""
    if abs(obs[0]) > 2.4:
        return "cart left the track"
    if abs(obs[2]) > 12 * 2 * np.pi / 360:
        return "pole fell"
    return "time limit" if truncated else "other"


def play(runner, episodes: int) -> dict:
    """Deterministic episodes with the critic's value of every state along the way."""
    import tensorflow as tf

    from srl_tf.driver import EpisodeDriver, OneEnv
    from srl_tf.envs import make_env

    agent, cfg = runner.agent, runner.rl_config
    env = make_env(runner.env_config, None, cfg.action_split())
    one = OneEnv(env)
    driver = EpisodeDriver(agent, one, explore=False)
    rows, values, returns = [], [], []
    try:
        for ep in range(episodes):
            driver.start(one.reset(seed=100 + ep))
            ep_values, rewards = [], []
            while True:
                _, st, _ = driver.step()
                # the value of the posterior state the action was chosen in
                state = {k: tf.constant(driver.carry[k]) for k in agent._rssm_keys}
                ep_values.append(float(agent.critic.mean(agent.rssm.get_feat(state))[0]))
                rewards.append(float(st.reward[0]))
                if st.terminated[0] or st.truncated[0]:
                    break
            togo = np.zeros(len(rewards))
            acc = 0.0
            for t in range(len(rewards) - 1, -1, -1):
                acc = rewards[t] + cfg.discount * acc
                togo[t] = acc
            row = {"length": len(rewards), "return": round(sum(rewards), 1), "value_start": round(ep_values[0], 2),
                   "discounted_return_start": round(float(togo[0]), 2)}
            if runner.env_config.name == "CartPole-v1":
                row["end"] = cartpole_end(np.asarray(st.obs[0]), bool(st.truncated[0]))
            rows.append(row)
            values.extend(ep_values)
            returns.extend(togo)
    finally:
        env.close()
    corr = float(np.corrcoef(values, returns)[0, 1]) if np.std(values) > 0 and np.std(returns) > 0 else None
    return {"episodes": rows, "value_return_corr": None if corr is None else round(corr, 3)}


def continue_head(agent, batch: int = 64) -> dict | None:
    """P(continue) of the world model at the stored terminal steps and ``BEFORE`` steps earlier."""
    import tensorflow as tf

    mem = agent.memory
    ends = []
    for env in range(mem.num_envs):
        oldest, written = int(mem._oldest()[env]), int(mem.written[env])
        for t in range(oldest + CONTEXT, written):
            if mem.is_terminal[env, t % mem.slots]:
                ends.append((env, t))
    if not ends:
        return None

    def p_continue(offset: int, sample: bool) -> np.ndarray:
        out = []
        for i in range(0, len(ends), batch):
            env = np.array([e for e, _ in ends[i:i + batch]])
            start = np.array([t - offset - CONTEXT + 1 for _, t in ends[i:i + batch]])
            b = mem._gather(env, start, CONTEXT)
            embed = agent.wm.coder.encode(b.obs)
            posts, _, _ = agent.rssm.observe(embed, tf.constant(b.action), tf.constant(b.is_first), sample=sample)
            feat = agent.rssm.get_feat({k: v[:, -1:] for k, v in posts.items()})
            out.append(tf.sigmoid(agent.wm.cont(feat)[:, 0, 0]).numpy())
        return np.concatenate(out)

    r = lambda x: round(float(x), 3)  # noqa: E731
    figures = {"terminal_steps": len(ends)}
    for sample in (False, True):
        kind = "sampled" if sample else "mode"
        at, before = p_continue(0, sample), p_continue(BEFORE, sample)
        figures[kind] = {"at_terminal_mean": r(at.mean()), "at_terminal_median": r(np.median(at)),
                         "at_terminal_below_half": r(np.mean(at < 0.5)), f"{BEFORE}_before_mean": r(before.mean())}
    return figures


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=list(dreamer_generality.TASKS))
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--runs", default="runs/dreamer_generality")
    p.add_argument("--checkpoint", help="a checkpoint of the run (default: its newest)")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--out", default=_results.path("dreamer_diagnose"))
    p.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE", dest="variant",
                   help="the diagnostic variant of dreamer_generality.py --set")
    args = p.parse_args()
    variant = dreamer_generality.parse_variant(args.variant)
    if variant:
        args.runs = args.runs.rstrip("/") + "_" + dreamer_generality.variant_name(variant)
    if args.episodes < 1:
        p.error(f"--episodes={args.episodes}: give at least 1")
    from srl_tf import checkpoint

    generality = _results.read("dreamer_generality")["settings"]
    runner, _ = dreamer_generality.build(args.task, args.seed, generality["size"], generality["train_ratio"],
                                         generality["scale"], variant)
    path = args.checkpoint or checkpoint.latest(os.path.join(args.runs, f"{args.task}_s{args.seed}", "ckpt"))
    if path is None:
        p.error(f"no checkpoint of {args.task} seed {args.seed} under {args.runs}; run dreamer_generality.py first")
    runner.load_checkpoint(path)
    before = _results.machine()
    row = {"task": args.task, "seed": args.seed, "env_step": runner.step, "gamma": runner.rl_config.discount,
           **({"variant": variant} if variant else {}),
           **play(runner, args.episodes), "continue_head": continue_head(runner.agent)}
    done = _results.read(args.out)["runs"] if os.path.exists(args.out) else []
    def key(d):
        return d["task"], d["seed"], dreamer_generality.variant_name(d.get("variant", {})), d["env_step"]

    done = [d for d in done if key(d) != key(row)]
    result = _results.record(sorted(done + [row], key=key),
                             machine_before=before, settings=generality)
    _results.write(args.out, result)
    print(table(result))


def table(result: dict) -> str:
    lines = ["| task | seed | checkpoint (env step) | episodes: mean length, return | how they ended | "
             "critic's V(s0) / discounted return received (mean) | corr(V, return-to-go) | "
             "P(continue) at terminal steps, mode / sampled latents | 5 steps before (sampled) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["runs"]:
        eps = r["episodes"]
        ends = {}
        for e in eps:
            if "end" in e:
                ends[e["end"]] = ends.get(e["end"], 0) + 1
        how = ", ".join(f"{k} {v}" for k, v in ends.items()) or "-"
        ch = r["continue_head"]
        cont = "no terminal step stored" if ch is None else (
            f"{ch['mode']['at_terminal_mean']:.2f} / {ch['sampled']['at_terminal_mean']:.2f} "
            f"({ch['terminal_steps']} steps)")
        before = "-" if ch is None else f"{ch['sampled'][f'{BEFORE}_before_mean']:.2f}"
        corr = "-" if r["value_return_corr"] is None else f"{r['value_return_corr']:.2f}"
        task = r["task"] + "".join(f", {k} = {v!r}" for k, v in r.get("variant", {}).items())
        lines.append(f"| {task} | {r['seed']} | {r['env_step']:,} | {np.mean([e['length'] for e in eps]):.1f}, "
                     f"{np.mean([e['return'] for e in eps]):.1f} | {how} | "
                     f"{np.mean([e['value_start'] for e in eps]):.1f} / {np.mean([e['discounted_return_start'] for e in eps]):.1f} | "
                     f"{corr} | {cont} | {before} |")
    lines.append(f"\n{len(result['runs'][0]['episodes'])} deterministic episodes per row (env seeds from 100); discounted "
                 f"with the preset's γ = {result['runs'][0]['gamma']}. P(continue): the world model's continue head on "
                 f"the posterior of the 64 stored steps up to each terminal step of the run's replay memory. "
                 f"`python benchmarks/dreamer_diagnose.py --task TASK --seed SEED`, {_results.machine_line(result)}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
