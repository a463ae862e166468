"""Where Dreamer's compiled train step spends its time, operation by operation: XLA's per-operation
traces (``--xla_cpu_enable_xprof_traceme``) recorded by ``tf.profiler`` over a few steps, summed per
HLO instruction and named by the TensorFlow op each instruction came from.

    python benchmarks/dreamer_profile.py [--configs xs xs_pendulum] [--steps 3]
    python benchmarks/report.py dreamer_profile        # the docs table, from the result file

Configurations as in ``dreamer_flops.py``. For each: the traced time per step (the durations of
XLA's instructions on the threads that ran them, summed; a matrix product that Eigen splits over
both cores is traced once, on the thread that called it, so this stays close to the wall time),
the share of it in matrix products, and the instructions outside matrix products that took most. Result:
benchmarks/results/dreamer_profile.json.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import re
import sys
import tempfile

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true").strip()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402
import dreamer_flops  # noqa: E402

TOP = 8
# the executor's own events, which enclose the instructions' events
_ENCLOSING = ("ThunkExecutor::Execute", "SlinkyThreadPool::Await")


def _op_names(hlo: str) -> dict[str, str]:
    """HLO instruction name → the TensorFlow op name in its metadata."""
    return {m.group(1): m.group(2) for m in re.finditer(r"%([\w.\-]+) = [^\n]*?op_name=\"([^\"]+)\"", hlo)}


def _is_matmul(name: str, op: str) -> bool:
    return name.startswith(("MatMul", "dot", "convolution")) or "MatMul" in op.rsplit("/", 1)[-1]


def profile(name: str, steps: int) -> dict:
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    agent = dreamer_flops._agent(name)
    cfg = agent.config
    batch = agent.memory.sample(cfg.batch_size, cfg.batch_length, agent.rng)
    ops = _op_names(agent._train.experimental_get_compiler_ir(tf.constant(True), *batch)(stage="optimized_hlo"))
    for _ in range(2):
        float(agent._train_all(*batch)["model_loss"])
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            float(agent._train_all(*batch)["model_loss"])
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        with open(sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))[-1], "rb") as f:
            space.ParseFromString(f.read())
    per_instruction = collections.Counter()
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            if line.name == "python":
                continue
            for event in line.events:
                n = names.get(event.metadata_id, "?")
                if n not in _ENCLOSING:
                    per_instruction[n] += event.duration_ps / 1e9 / steps
    total = sum(per_instruction.values())
    by_kind = collections.Counter()
    for n, ms in per_instruction.items():
        by_kind[re.sub(r"\.\d+$", "", n)] += ms
    matmul = sum(ms for n, ms in per_instruction.items() if _is_matmul(n, ops.get(n, "")))
    others = [(n, ms) for n, ms in per_instruction.most_common() if not _is_matmul(n, ops.get(n, ""))][:TOP]
    return {
        "config": name, "steps": steps, "thread_ms_per_step": round(total, 1), "matmul_share": round(matmul / total, 3),
        "by_kind": {k: round(ms, 1) for k, ms in by_kind.most_common(12)},
        "top_other": [{"instruction": n, "op": ops.get(n, ""), "ms": round(ms, 1), "share": round(ms / total, 3)}
                      for n, ms in others],
    }


def table(result: dict) -> str:
    lines = ["| configuration | traced time per step (ms) | in matrix products | largest instructions outside them "
             "(share of the traced time: TensorFlow op) |", "|---|---|---|---|"]
    for r in result["runs"]:
        top = "<br>".join(f"{o['share'] * 100:.1f} %: `{_short(o['op']) or o['instruction']}`" for o in r["top_other"][:4])
        lines.append(f"| {r['config']} | {r['thread_ms_per_step']:.0f} | {r['matmul_share'] * 100:.0f} % | {top} |")
    lines.append(f"\nTraced time: the durations of XLA's instructions on the threads that ran them, per step, "
                 f"over {result['runs'][0]['steps']} steps (a product split over both cores is traced once). `{result['command']}`, {_results.machine_line(result)}.")
    return "\n".join(lines)


def _short(op: str) -> str:
    """The last three parts of a TensorFlow op name (enough to tell where in the step it is)."""
    return "/".join(op.split("/")[-3:])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=["xs", "xs_pendulum"], choices=list(dreamer_flops.CONFIGS))
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args()
    if args.steps < 1:
        p.error(f"--steps={args.steps}: give at least 1")
    before = _results.machine()
    runs = [profile(name, args.steps) for name in args.configs]
    result = _results.record(runs, machine_before=before, settings={"steps": args.steps})
    _results.write("dreamer_profile", result)
    print(table(result))


if __name__ == "__main__":
    main()
