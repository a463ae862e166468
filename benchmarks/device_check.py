"""One command for a machine with a GPU: the DreamerV3 train step at model sizes S and M on 64×64
pixels, in float32, mixed bfloat16 and mixed float16, with train steps/s and peak GPU memory.

    python benchmarks/device_check.py [--sizes S M] [--precisions float32 mixed_bfloat16 mixed_float16] [--steps 30]
    python benchmarks/device_check.py --cpu --sizes tiny --steps 2     # the same code on the CPU (a smoke run)

Without a visible GPU it says so and exits 0 (unless ``--cpu``). Each case runs in a fresh process
(so that peak memory is its own): the agent is built for a 64×64×3 image, continuous-action spec,
its sequence memory is filled with random frames (no env is needed), one train call compiles and the
next ``--steps`` calls are timed. The batch is the preset's (16 sequences × 64 steps). Results go to
``benchmarks/results/device_check.json`` (command, commit, machine, GPU name, per case: steps/s,
compile seconds, peak memory) unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def run_case(size: str, precision: str, steps: int) -> dict:
    """In this process: build, fill, compile, time. Returns the figures of one case."""
    import numpy as np
    import tensorflow as tf

    from srl_tf.algorithms import dreamer_v3
    from srl_tf.spec import EnvSpec

    cfg = dreamer_v3.Config(seed=0)
    cfg.set_dreamer_v3()
    cfg.set_model_size(size)
    cfg.precision = precision
    cfg.memory.capacity = 4 * cfg.batch_size * cfg.batch_length
    cfg.validate()
    shape = (64, 64, 3)
    spec = EnvSpec("pixels", shape, np.dtype(np.uint8), True, False, 0, (1,), np.array([-1.0], np.float32),
                   np.array([1.0], np.float32), 1000)
    agent = cfg.make_agent(spec, 1)
    rng = np.random.default_rng(0)
    mem = agent.memory
    for t in range(cfg.memory.capacity):
        obs = rng.integers(0, 255, (1,) + shape, np.uint8)
        mem.add(obs, rng.uniform(-1, 1, (1, 1)).astype(np.float32), np.zeros(1, np.float32), obs,
                np.zeros(1, bool), np.array([t % 500 == 499]))
    gpu = bool(tf.config.list_physical_devices("GPU"))
    if gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    batch = mem.sample(cfg.batch_size, cfg.batch_length, agent.rng)
    t0 = time.perf_counter()
    float(agent._train_all(*batch)["model_loss"])  # compiles
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        metrics = agent._train_all(*batch)
    losses = {k: float(v) for k, v in metrics.items()}
    seconds = time.perf_counter() - t0
    peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20 if gpu else None
    return {"size": size, "precision": precision, "steps": steps, "train_steps_per_s": round(steps / seconds, 2),
            "compile_s": round(compile_s, 1), "peak_gpu_mib": None if peak is None else round(peak, 1),
            "losses_finite": all(np.isfinite(v) for v in losses.values()), "device": "GPU" if gpu else "CPU"}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["S", "M"])
    p.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--cpu", action="store_true", help="run even without a GPU (a smoke run of the same code)")
    p.add_argument("--out", default=_results.path("device_check"))
    p.add_argument("--case", nargs=2, metavar=("SIZE", "PRECISION"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.case:  # the child process of one case
        print("CASE " + json.dumps(run_case(*args.case, args.steps)), flush=True)
        return
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and not args.cpu:
        print("device_check: no GPU is visible to TensorFlow (tf.config.list_physical_devices('GPU') is empty); "
              "nothing to measure. Install the gpu extra on a GPU machine, or pass --cpu for a smoke run.")
        return
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else "CPU"
    before = _results.machine()
    rows = []
    for size in args.sizes:
        for precision in args.precisions:
            cmd = [sys.executable, os.path.abspath(__file__), "--case", size, precision, "--steps", str(args.steps)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            found = [line[5:] for line in out.stdout.splitlines() if line.startswith("CASE ")]
            row = json.loads(found[0]) if found else {"size": size, "precision": precision,
                                                     "error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
            print(row, flush=True)
            rows.append(row)
    result = _results.record(rows, seeds=[0], machine_before=before, settings={"device": name, "steps": args.steps})
    _results.write(args.out, result)
    print(table(result))


def table(result: dict) -> str:
    lines = [f"Device: {result['settings']['device']}", "",
             "| size | precision | train steps/s | compile s | peak GPU memory (MiB) | losses finite |",
             "|---|---|---|---|---|---|"]
    for r in result["runs"]:
        if "error" in r:
            lines.append(f"| {r['size']} | {r['precision']} | failed: {r['error']} | | | |")
            continue
        peak = "-" if r["peak_gpu_mib"] is None else f"{r['peak_gpu_mib']:,}"
        lines.append(f"| {r['size']} | {r['precision']} | {r['train_steps_per_s']} | {r['compile_s']} | {peak} | "
                     f"{r['losses_finite']} |")
    lines.append(f"\n{_results.machine_line(result)}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
