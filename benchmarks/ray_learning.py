"""Does learning survive ``train_mp``? DQN on CartPole-v1 with the tuned preset
(``srl_tf.presets.cartpole_dqn_config``, 50k env steps) trained by ``train_mp(actor_num=N)``, with
its evaluation curve, beside the overhead of one actor against ``train()`` in one process.

    python benchmarks/ray_learning.py [--seeds 0 1 2] [--actors 4] [--steps 50000] [--overhead-steps 20000]
    python benchmarks/ray_learning.py --ppo-lunarlander [--seeds 0] [--actors 4] [--steps 1000000]
    python benchmarks/report.py ray_learning     # the docs table, from the committed result file

``--ppo-lunarlander``: PPO on LunarLander-v3 with RL-Zoo's settings for it (16 env streams = 4 actors
× 4 envs, 1024 steps of each per update, minibatch 64, 4 epochs, γ 0.999, λ 0.98, entropy 0.01,
64×64 tanh networks), evaluated as above; result file ``ray_ppo_lunarlander.json``.

Evaluation: 10 deterministic episodes every 5 % of the run and at the end (as ``train()`` does).
Overhead: env steps per second of ``train_mp(actor_num=1)`` and of ``train()`` over the same budget,
seed 0, measured from the first env step the learner books (Ray's and the actors' start-up are left
out; start-up is reported on its own). Results: ``benchmarks/results/ray_learning.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402


def _runner(seed: int, directory: str, task: str = "dqn-cartpole", actors: int = 4):
    import srl_tf
    from srl_tf.presets import cartpole_dqn_config

    if task == "dqn-cartpole":
        runner = srl_tf.Runner("CartPole-v1", cartpole_dqn_config(seed))
    else:
        runner = srl_tf.Runner(srl_tf.EnvConfig("LunarLander-v3", num_envs=16 // actors), lunarlander_ppo_config(seed))
    runner.set_history_on_file(directory, enable_eval=True, eval_episode=10)
    return runner


def lunarlander_ppo_config(seed: int):
    from srl_tf.algorithms import ppo

    cfg = ppo.Config(seed=seed, batch_size=64, epochs=4, discount=0.999, gae_lambda=0.98, entropy_coef=0.01)
    cfg.memory.capacity = 16 * 1024  # env steps per update, summed over the 16 streams
    cfg.policy_block.set_mlp((64, 64), activation="tanh")
    cfg.value_block.set_mlp((64, 64), activation="tanh")
    return cfg


class _Clock:
    """A callback that notes the wall time of the first and last env step the learner books."""

    def __new__(cls):
        from srl_tf import Callback

        class Clock(Callback):
            start = first = last = None

            def on_train_begin(self, runner):
                self.start = time.perf_counter()

            def on_step(self, runner, info):
                now = (time.perf_counter(), info["step"])
                self.first = self.first or now
                self.last = now

        return Clock()


def learning(seed: int, actors: int, steps: int, task: str = "dqn-cartpole") -> dict:
    with tempfile.TemporaryDirectory() as d:
        runner = _runner(seed, d, task, actors)
        t0 = time.time()
        runner.train_mp(actor_num=actors, max_steps=steps, progress=False)
        wall = time.time() - t0
        curve = _results.eval_curve(runner)
        final = float(sum(runner.evaluate(10)) / 10)
        busy = [r["learner_busy"] for r in runner.get_history().runs[0][1] if "learner_busy" in r]
    return {"seed": seed, "actors": actors, "env_steps": runner.step, "best_eval": max(r for _, r in curve),
            "final_eval": final, "wall_s": round(wall, 1), "learner_busy": busy[-1] if busy else None,
            "eval_curve": curve}


def rate(actors: int, steps: int, chunk: int | None = None) -> dict:
    """Env steps/s of ``train()`` (``actors`` 0) or ``train_mp`` with ``chunk`` steps per chunk."""
    clock = _Clock()
    with tempfile.TemporaryDirectory() as d:
        runner = _runner(0, d)
        runner.enable_eval = False  # the rate of acting and learning, without evaluations
        if actors:
            runner.train_mp(actor_num=actors, max_steps=steps, callbacks=[clock], progress=False, steps_per_chunk=chunk)
        else:
            runner.train(max_steps=steps, callbacks=[clock], progress=False)
        busy = [r["learner_busy"] for r in runner.get_history().runs[0][1] if "learner_busy" in r]
    (t0, s0), (t1, s1) = clock.first, clock.last
    return {"actors": actors, "steps_per_chunk": chunk, "env_steps_per_s": round((s1 - s0) / (t1 - t0), 1),
            "start_up_s": round(t0 - clock.start, 1), "learner_busy": busy[-1] if busy else None}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--actors", type=int, default=4)
    p.add_argument("--steps", type=int, default=50_000)
    p.add_argument("--overhead-steps", type=int, default=20_000)
    p.add_argument("--overhead-chunks", type=int, nargs="+", default=[16, 64, 256],
                   help="steps_per_chunk values of the one-actor overhead runs (the default is 64)")
    p.add_argument("--ppo-lunarlander", action="store_true", help="PPO on LunarLander-v3 instead (no overhead part)")
    p.add_argument("--out", default=None, help="result file (default: ray_learning or ray_ppo_lunarlander)")
    args = p.parse_args()
    before = _results.machine()
    if args.ppo_lunarlander:
        runs = [learning(seed, args.actors, args.steps, "ppo-lunarlander") for seed in args.seeds]
        settings = {"task": "ppo-lunarlander", "actors": args.actors, "steps": args.steps}
        result = _results.record(runs, seeds=args.seeds, machine_before=before, settings=settings, extra_packages=("ray",))
        _results.write(args.out or _results.path("ray_ppo_lunarlander"), result)
        print(table(result))
        return
    runs = [learning(seed, args.actors, args.steps) for seed in args.seeds]
    for r in runs:
        print(f"seed {r['seed']}: best {r['best_eval']}, final {r['final_eval']}, {r['wall_s']} s", flush=True)
    overhead = [rate(0, args.overhead_steps)] + [rate(1, args.overhead_steps, c) for c in args.overhead_chunks]
    settings = {"actors": args.actors, "steps": args.steps, "overhead_steps": args.overhead_steps, "overhead": overhead}
    result = _results.record(runs, seeds=args.seeds, machine_before=before, settings=settings, extra_packages=("ray",))
    _results.write(args.out or _results.path("ray_learning"), result)
    print(table(result))


def table(result: dict) -> str:
    """The markdown table of the result file (docs/guides/scaling_out.md is made from it)."""
    s = result["settings"]
    lines = [
        "| seed | actors | env steps | best eval (10 ep) | final eval (10 ep) | wall s | learner busy |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        busy = "-" if r.get("learner_busy") is None else f"{100 * r['learner_busy']:.0f} %"
        lines.append(f"| {r['seed']} | {r['actors']} | {r['env_steps']:,} | {r['best_eval']:.1f} | "
                     f"{r['final_eval']:.1f} | {r['wall_s']} | {busy} |")
    if "overhead" not in s:
        return "\n".join(lines + ["", _results.machine_line(result)])
    one, *mps = s["overhead"]
    lines.append("")
    lines.append(f"Overhead, seed 0, {s['overhead_steps']:,} env steps without evaluations: `train()` "
                 f"{one['env_steps_per_s']} env steps/s (first env step booked {one['start_up_s']} s after the call).")
    lines.append("")
    lines.append("| `train_mp(actor_num=1)`, steps per chunk | env steps/s | against `train()` (target >= 0.7x) "
                 "| learner busy | first env step after |")
    lines.append("|---|---|---|---|---|")
    from srl_tf.distributed.learner import DEFAULT_STEPS_PER_CHUNK

    for mp in mps:
        chunk = mp.get("steps_per_chunk")
        label = f"{chunk or 16}{' (the default)' if (chunk or 16) == DEFAULT_STEPS_PER_CHUNK else ''}"
        ratio = mp["env_steps_per_s"] / one["env_steps_per_s"]
        busy = "-" if mp.get("learner_busy") is None else f"{100 * mp['learner_busy']:.0f} %"
        lines.append(f"| {label} | {mp['env_steps_per_s']} | {ratio:.2f}x: {'met' if ratio >= 0.7 else 'missed'} "
                     f"| {busy} | {mp['start_up_s']} s |")
    lines.append(f"\n{_results.machine_line(result)}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
