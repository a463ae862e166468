"""What a checkpoint of the whole run costs: write time, load time and size on disk, for DQN with a
100k-transition replay, SAC with 1M capacity and Dreamer V3 on 64x64 rendered pixels.

    python benchmarks/checkpoint_cost.py [--cases dqn sac dreamer] [--sac-steps 200000] [--repeats 3]
    python benchmarks/checkpoint_cost.py --table     # the docs table, from the committed result file

Each case first collects experience, then writes and loads a checkpoint ``--repeats`` times (the
median is reported). Training is sparse while collecting (every 256 or 1000 env steps): the size and
the time of a checkpoint depend on the networks and on how full the memory is, not on how much was
trained. The overhead of a 10-minute interval is the write time divided by 600 s. Results go to
``benchmarks/results/checkpoint_cost.json`` with the command, commit, date, machine and package versions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402


def dqn_runner():
    import srl_tf
    from srl_tf.algorithms import dqn

    cfg = dqn.Config(seed=0, batch_size=64, train_interval=256, gradient_steps=128)
    cfg.memory.capacity, cfg.memory.warmup_size = 100_000, 1_000
    cfg.hidden_block.set((256, 256))
    return srl_tf.Runner("CartPole-v1", cfg)


def sac_runner():
    import srl_tf
    from srl_tf.algorithms import sac

    cfg = sac.Config(seed=0, train_interval=1000, gradient_steps=1)
    cfg.memory.capacity, cfg.memory.warmup_size = 1_000_000, 1_000
    return srl_tf.Runner("Pendulum-v1", cfg)


def dreamer_runner():
    import srl_tf
    from srl_tf.algorithms import dreamer_v3

    cfg = dreamer_v3.Config(seed=0)
    cfg.set_dreamer_v3()
    cfg.set_model_size("S")
    cfg.memory.capacity, cfg.memory.warmup_size = 100_000, 100_000  # collect only: no train step in 20k steps
    env = srl_tf.EnvConfig("Pendulum-v1", render_image=True, image_resize=(64, 64))
    return srl_tf.Runner(env, cfg)


CASES = {"dqn": (dqn_runner, 100_000), "sac": (sac_runner, 200_000), "dreamer": (dreamer_runner, 20_000)}


def dir_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, files in os.walk(path) for f in files)


def measure(name: str, steps: int, repeats: int) -> dict:
    make, _ = CASES[name]
    runner = make()
    t0 = time.time()
    runner.train(max_steps=steps, progress=False)
    collect = time.time() - t0
    memory = runner.agent._memory()
    root = tempfile.mkdtemp(prefix=f"ckpt_{name}_")
    writes, loads, size, tf_size, arrays_size = [], [], 0, 0, 0
    try:
        for r in range(repeats):
            shutil.rmtree(root, ignore_errors=True)
            t0 = time.time()
            path = runner.save_checkpoint(root)
            writes.append(time.time() - t0)
            size = dir_size(path)
            tf_size, arrays_size = dir_size(os.path.join(path, "tf")), os.path.getsize(os.path.join(path, "arrays.npz"))
            other = make()
            _ = other.agent  # built before the clock starts: loading is what is timed
            t0 = time.time()
            other.load_checkpoint(path)
            loads.append(time.time() - t0)
            print(f"{name} repeat {r}: write {writes[-1]:.2f}s, load {loads[-1]:.2f}s, {size / 1e6:.1f} MB", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    write = statistics.median(writes)
    return {
        "case": name,
        "env_steps": steps,
        "collect_seconds": round(collect, 1),
        "memory_stored": len(memory) if memory is not None else 0,
        "size_mb": round(size / 1e6, 2),
        "tf_state_mb": round(tf_size / 1e6, 2),
        "arrays_mb": round(arrays_size / 1e6, 2),
        "parameters": int(sum(np.prod(w.shape) for m in runner.agent.models().values() for w in m.weights)),
        "write_s": [round(w, 3) for w in writes],
        "load_s": [round(x, 3) for x in loads],
        "write_median_s": round(write, 3),
        "load_median_s": round(statistics.median(loads), 3),
        "overhead_at_10_min": round(write / 600.0, 5),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--sac-steps", type=int, default=CASES["sac"][1])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "checkpoint_cost.json"))
    p.add_argument("--table", action="store_true", help="only print the table of the result file --out")
    args = p.parse_args()
    if args.table:
        print(table(_results.read(args.out)))
        return
    before = _results.machine()
    rows = []
    for name in args.cases:
        steps = args.sac_steps if name == "sac" else CASES[name][1]
        rows.append(measure(name, steps, args.repeats))
    result = _results.record(rows, machine_before=before, seeds=[0], settings={"repeats": args.repeats})
    _results.write(args.out, result)
    print(table(result))


def table(result: dict) -> str:
    """The markdown table of a result file (docs/guides/checkpoints.md is made from it)."""
    lines = [
        "| case | env steps | transitions stored | model weights | size: TF state + arrays (MB) | write (s) | load (s) | overhead at a 10-min interval |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in _results.runs_of(result):
        lines.append(
            f"| {r['case']} | {r['env_steps']:,} | {r['memory_stored']:,} | {r['parameters']:,} | "
            f"{r['size_mb']}: {r['tf_state_mb']} + {r['arrays_mb']} | {r['write_median_s']} | {r['load_median_s']} | "
            f"{100 * r['overhead_at_10_min']:.3f} % |"
        )
    lines.append(f"\n{_results.machine_line(result)}; medians of the repeats in the result file.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
