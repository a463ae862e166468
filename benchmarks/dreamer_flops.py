"""Dreamer's compiled train step against the machine: the step's FLOPs as XLA compiles it, its time,
and the FLOP rate this machine reaches on one large float32 matrix product.

    python benchmarks/dreamer_flops.py [--configs pendulum pendulum_srl xs xs_pendulum] [--repeats 30]
    python benchmarks/report.py dreamer_flops        # the docs table, from the result file

FLOPs are counted in XLA's optimized HLO of the train step (``experimental_get_compiler_ir``): every
``dot`` (2 × output elements × contracted size) and ``convolution`` (2 × output elements × kernel
elements / output features), multiplied by the trip counts of the ``while`` loops around it (the
``tf.scan`` loops), through fusions and calls; of the ``tf.cond`` that holds the actor-critic half,
the larger branch. Element-wise work, reductions and random numbers are not counted, so the FLOP rate
is a lower bound on the work done. Each piece (world model alone, and the whole step) is timed on one
stored batch after compilation (median of ``--repeats`` calls); the actor-critic half is their
difference.

Configurations:
- ``pendulum``: the Pendulum-v1 configuration of ``dreamer_pendulum.py`` (deter 64, stoch 4 × 4,
  hidden 512, batch 32 × 15, horizon 5) with every MLP 512 × 512;
- ``pendulum_srl``: the same with SRL's usual sizes (reward and continue heads (256,), actor and
  critic (128, 128), MLP encoder and decoder (64, 64)); both are timed against srl-framework;
- ``xs``: the generality benchmark's configuration (V3 preset, size XS, batch 16 × 64, horizon 15) on
  CartPole-v1 (discrete actions: the actor learns by REINFORCE, nothing is back-propagated through
  imagination);
- ``xs_pendulum``: the same on Pendulum-v1 (continuous actions: the actor's loss is back-propagated
  through the 15 imagined steps, which doubles the imagination's products).

Result: benchmarks/results/dreamer_flops.json.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

_COMPUTATION = re.compile(r"^(?:ENTRY )?%([\w.\-]+) .*\{\s*$")
_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%([\w.\-]+) = (\(.*?\)|\w+\[[^\]]*\](?:\{[^}]*\})?) (\w[\w\-]*)\(")
_SHAPE = re.compile(r"\w+\[([\d,]*)\]")


def _dims(shape: str) -> list[int]:
    m = _SHAPE.match(shape)
    return [int(d) for d in m.group(1).split(",") if d] if m else []


def _prod(xs) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def parse_hlo(text: str) -> dict[str, list[str]]:
    """Computation name → its instruction lines."""
    comps, current = {}, None
    for line in text.splitlines():
        m = _COMPUTATION.match(line)
        if m:
            current = m.group(1)
            comps[current] = []
        elif line.startswith("}"):
            current = None
        elif current is not None:
            comps[current].append(line)
    return comps


def _trip_count(line: str, comps: dict[str, list[str]]) -> int:
    """A while loop's trip count: XLA's annotation, else the constant its condition compares with,
    else the leading size shared by most of the stacked tensors it carries (a scan's outputs)."""
    m = re.search(r'known_trip_count":\{"n":"(\d+)"', line)
    if m:
        return int(m.group(1))
    cond = re.search(r"condition=%([\w.\-]+)", line).group(1)
    for cl in comps.get(cond, []):
        c = re.search(r"s32\[\] constant\((\d+)\)", cl)
        if c:
            return int(c.group(1))
    shapes = re.findall(r"f32\[(\d+),\d+[\d,]*\]", line.split(" while(")[0])
    return Counter(int(s) for s in shapes).most_common(1)[0][0] if shapes else 1


def count_flops(text: str) -> dict[str, float]:
    """FLOPs of the entry computation of an optimized HLO module: {"total": ..., part: ...}, the
    parts named by where each product sits (the world-model half at the top level, the actor-critic
    half inside the conditional, each half's ``while`` loops) and whether its TensorFlow op is part
    of a gradient."""
    comps = parse_hlo(text)
    entry = next(m.group(1) for m in re.finditer(r"^ENTRY %([\w.\-]+) ", text, re.M))
    memo: dict[tuple, Counter] = {}

    def flops(name: str, in_cond: bool, in_loop: bool) -> Counter:
        key = (name, in_cond, in_loop)
        if key in memo:
            return memo[key]
        memo[key] = Counter()  # guards against a cycle
        shapes, out = {}, Counter()
        for line in comps.get(name, []):
            m = _INSTRUCTION.match(line)
            if not m:
                continue
            inst, shape, op = m.groups()
            shapes[inst] = shape
            if op in ("dot", "convolution"):
                where = re.search(r'op_name="([^"]*)"', line)
                label = _label(where.group(1) if where else "", in_cond, in_loop)
                out[label] += _product_flops(line, op, shape, shapes)
            elif op == "while":
                body = re.search(r"body=%([\w.\-]+)", line).group(1)
                n = _trip_count(line, comps)
                for k, v in flops(body, in_cond, True).items():
                    out[k] += n * v
            elif op == "conditional":
                branches = re.findall(r"(?:true_computation|false_computation)=%([\w.\-]+)", line)
                m2 = re.search(r"branch_computations=\{([^}]*)\}", line)
                if m2:
                    branches += re.findall(r"%([\w.\-]+)", m2.group(1))
                costs = [flops(b, True, in_loop) for b in branches]
                if costs:
                    out.update(max(costs, key=lambda c: sum(c.values())))
            else:
                for callee in re.findall(r"(?:calls|to_apply)=%([\w.\-]+)", line):
                    out.update(flops(callee, in_cond, in_loop))
        memo[key] = out
        return out

    result = flops(entry, False, False)
    return {"total": float(sum(result.values())), **{k: float(v) for k, v in sorted(result.items())}}


def _product_flops(line: str, op: str, shape: str, shapes: dict[str, str]) -> int:
    """2 × output elements × the contracted size of one dot or convolution."""
    if op == "dot":
        lhs = re.search(r"dot\(%([\w.\-]+)", line).group(1)
        contract = re.search(r"lhs_contracting_dims=\{([\d,]*)\}", line).group(1)
        lhs_dims = _dims(shapes.get(lhs, ""))
        size = _prod(lhs_dims[int(i)] for i in contract.split(",") if i) if lhs_dims else 0
        return 2 * _prod(_dims(shape)) * size
    rhs = re.search(r"convolution\(%[\w.\-]+, %([\w.\-]+)", line).group(1)
    labels = re.search(r"dim_labels=\w+_(\w+)->", line).group(1)
    kernel = _dims(shapes.get(rhs, ""))
    return 2 * _prod(_dims(shape)) * _prod(kernel) // kernel[labels.index("o")] if kernel else 0


def _label(op_name: str, in_cond: bool, in_loop: bool) -> str:
    """The part of the train step a product belongs to."""
    kind = "backward" if "gradient" in op_name or "_grad/" in op_name else "forward"
    if in_cond:
        part = "imagination loop" if in_loop else "actor-critic"
    else:
        part = "observe loop" if in_loop else "world model"
    return f"{part}, {kind}"


CONFIGS = ("pendulum", "pendulum_srl", "xs", "xs_pendulum")


def machine_gflops(n: int = 2048, repeats: int = 20) -> float:
    """GFLOP/s of one n × n float32 matrix product under XLA (median of ``repeats``)."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    product = tf.function(lambda x, y: tf.matmul(x, y), jit_compile=True)
    product(a, b).numpy()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        product(a, b).numpy()
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times) / 1e9


def _agent(name: str):
    import srl_tf

    if name in ("pendulum", "pendulum_srl"):
        from dreamer_pendulum import pendulum_config

        sizes = "srl" if name == "pendulum_srl" else "docs"
        cfg = pendulum_config("v3", overrides={"warmup_world_model": 0, "train_interval": 1}, sizes=sizes)
        env = srl_tf.EnvConfig("Pendulum-v1")
    else:
        from dreamer_generality import config

        cfg = config(0, "XS", 256.0)
        env = srl_tf.EnvConfig("Pendulum-v1" if name == "xs_pendulum" else "CartPole-v1")
    runner = srl_tf.Runner(env, cfg)
    runner.train(max_train_count=2, progress=False)  # fills the memory past its warm-up, compiles the step
    return runner.agent


def _median_ms(fn, batch, repeats: int) -> float:
    float(fn(*batch)["model_loss"])
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        float(fn(*batch)["model_loss"])
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def measure(name: str, repeats: int) -> dict:
    import tensorflow as tf

    agent = _agent(name)
    cfg = agent.config
    batch = agent.memory.sample(cfg.batch_size, cfg.batch_length, agent.rng)
    hlo = agent._train.experimental_get_compiler_ir(tf.constant(True), *batch)(stage="optimized_hlo")
    parts = count_flops(hlo)
    world = {k: v for k, v in parts.items() if k.startswith(("observe", "world"))}
    wm_ms = _median_ms(agent._train_world_model, batch, repeats)
    full_ms = _median_ms(agent._train_all, batch, repeats)
    gflop, wm_gflop = parts["total"] / 1e9, sum(world.values()) / 1e9
    return {
        "config": name, "batch": [cfg.batch_size, cfg.batch_length], "horizon": cfg.horizon,
        "gflop": round(gflop, 3), "world_model_gflop": round(wm_gflop, 3),
        "gflop_by_part": {k: round(v / 1e9, 3) for k, v in parts.items() if k != "total"},
        "ms": round(full_ms, 1), "world_model_ms": round(wm_ms, 1),
        "gflops": round(gflop / full_ms * 1000, 1), "world_model_gflops": round(wm_gflop / wm_ms * 1000, 1),
        "actor_critic_gflops": round((gflop - wm_gflop) / max(full_ms - wm_ms, 1e-9) * 1000, 1),
    }


def table(result: dict) -> str:
    peak = result["settings"]["machine_gflops"]
    lines = ["| configuration | batch × length, horizon | GFLOP per step (world model / actor-critic) | ms per step "
             "(world model alone) | GFLOP/s (world model / actor-critic) | share of the machine's matmul rate |",
             "|---|---|---|---|---|---|"]
    for r in result["runs"]:
        ac = r["gflop"] - r["world_model_gflop"]
        lines.append(f"| {r['config']} | {r['batch'][0]} × {r['batch'][1]}, {r['horizon']} | {r['gflop']:.2f} "
                     f"({r['world_model_gflop']:.2f} / {ac:.2f}) | {r['ms']:.1f} ({r['world_model_ms']:.1f}) | "
                     f"{r['gflops']:.1f} ({r['world_model_gflops']:.1f} / {r['actor_critic_gflops']:.1f}) | "
                     f"{r['gflops'] / peak * 100:.0f} % |")
    lines.append("")
    lines.append("| configuration | " + " | ".join(sorted({k for r in result["runs"] for k in r["gflop_by_part"]})) + " |")
    keys = sorted({k for r in result["runs"] for k in r["gflop_by_part"]})
    lines.append("|---|" + "---|" * len(keys))
    for r in result["runs"]:
        lines.append(f"| {r['config']} (GFLOP) | " + " | ".join(f"{r['gflop_by_part'].get(k, 0.0):.2f}" for k in keys) + " |")
    lines.append(f"\nMachine: {peak:.0f} GFLOP/s on one 2048 × 2048 float32 product under XLA; "
                 f"`{result['command']}`, {_results.machine_line(result)}.")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    before = _results.machine()
    peak = machine_gflops()
    runs = []
    for name in args.configs:
        runs.append(measure(name, args.repeats))
        print(runs[-1], flush=True)
    result = _results.record(runs, machine_before=before, settings={"machine_gflops": round(peak, 1), "repeats": args.repeats})
    _results.write("dreamer_flops", result)
    print(table(result))


if __name__ == "__main__":
    main()
