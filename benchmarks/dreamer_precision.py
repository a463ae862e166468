"""bfloat16 against float32 for the Dreamer train step on a CPU: does the cheaper number format pay?

    python benchmarks/dreamer_precision.py --repeats 3

Prints, on the machine it runs on:
1. one 2880 x 512 by 512 x 512 matrix product (the shape of a 512-wide head over the 2 880 imagined
   states of the Pendulum configuration) in float32 and bfloat16, in a plain ``tf.function`` and under XLA;
2. the whole V3 train step of ``dreamer_pendulum.py`` (60 steps after compilation, a stored batch) in
   float32 with and without XLA, and with every Dense layer of at least 256 x 256 computing its
   product in bfloat16 (inputs and kernel cast, result cast back to float32), without XLA.
Each whole-step case runs in a process of its own, so the bfloat16 layer patch touches nothing else;
the cases take turns ``--repeats`` times and the median and range are printed, since one process's
figure moves by 10 % or more from one run to the next on a shared machine.
Result: benchmarks/results/dreamer_precision.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CASES = {"float32, XLA": "f32_xla", "float32, no XLA": "f32", "bfloat16 Dense products, no XLA": "bf16"}


def matmul_ms(dtype, jit: bool, repeats: int = 20, chain: int = 10) -> float:
    import tensorflow as tf

    x0 = tf.cast(tf.random.normal((2880, 512)), dtype)
    w = tf.cast(tf.random.normal((512, 512)) * 0.04, dtype)

    @tf.function(jit_compile=jit)
    def f(x):
        for _ in range(chain):
            x = tf.matmul(x, w)
        return x

    f(x0).numpy()
    t = time.perf_counter()
    for _ in range(repeats):
        f(x0).numpy()
    return (time.perf_counter() - t) / repeats / chain * 1000


def patch_dense_to_bfloat16(min_size: int = 256) -> None:
    """Make wide keras Dense layers multiply in bfloat16 and hand float32 on (a trial, not a feature)."""
    import keras
    import tensorflow as tf

    plain = keras.layers.Dense.call

    def call(self, inputs, training=None):
        if self.kernel.shape[0] < min_size or self.kernel.shape[1] < min_size:
            return plain(self, inputs)
        y = tf.cast(tf.matmul(tf.cast(inputs, tf.bfloat16), tf.cast(self.kernel, tf.bfloat16)), inputs.dtype)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y) if self.activation is not None else y

    keras.layers.Dense.call = call


def step_ms(case: str) -> float:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from dreamer_pendulum import speed

    if case == "bf16":
        patch_dense_to_bfloat16()
    return speed("v3", overrides={"jit_compile": case == "f32_xla"})[1]  # the bare compiled step


def run_case(case: str) -> float | None:
    out = subprocess.run([sys.executable, __file__, "--case", case], capture_output=True, text=True)
    ms = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("STEP_MS")]
    if not ms:
        print(out.stderr[-2000:], file=sys.stderr)
        return None
    return float(ms[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES.values()), help="time one whole-step case (internal)")
    parser.add_argument("--repeats", type=int, default=3, help="processes per whole-step case")
    args = parser.parse_args()
    if args.case:
        print("STEP_MS", step_ms(args.case), flush=True)
        return
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    import tensorflow as tf

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _results

    before = _results.machine()
    products = []
    print("| one 2880x512 @ 512x512 product | ms, tf.function | ms, XLA |\n|---|---|---|")
    for name, dtype in (("float32", tf.float32), ("bfloat16", tf.bfloat16)):
        plain, xla = matmul_ms(dtype, False), matmul_ms(dtype, True)
        products.append({"dtype": name, "ms_tf_function": round(plain, 3), "ms_xla": round(xla, 3)})
        print(f"| {name} | {plain:.2f} | {xla:.2f} |", flush=True)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeats):
        for name, case in CASES.items():
            ms = run_case(case)
            if ms is not None:
                times[name].append(ms)
    print(f"\n| V3 train step, Pendulum configuration | median ms per step | range, {args.repeats} processes |")
    print("|---|---|---|")
    for name, ms in times.items():
        if ms:
            print(f"| {name} | {statistics.median(ms):.1f} | {min(ms):.1f} to {max(ms):.1f} |", flush=True)
        else:
            print(f"| {name} | failed | |", flush=True)
    runs = [{"case": name, "ms_per_step": [round(x, 1) for x in ms]} for name, ms in times.items()]
    _results.write("dreamer_precision", _results.record(runs, seeds=[0], machine_before=before,
                                                        settings={"repeats": args.repeats, "products": products}))


def table(result: dict) -> str:
    """The docs tables of the result file: the lone product, then the whole step per case."""
    import statistics

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _results

    lines = ["| one 2880 × 512 by 512 × 512 product | ms, plain `tf.function` | ms, XLA |", "|---|---|---|"]
    for p in result["settings"]["products"]:
        lines.append(f"| {p['dtype']} | {p['ms_tf_function']:.2f} | {p['ms_xla']:.2f} |")
    n = result["settings"]["repeats"]
    lines += ["", f"| V3 train step, Pendulum configuration | median ms | range, {n} processes |", "|---|---|---|"]
    for r in _results.runs_of(result):
        ms = r["ms_per_step"]
        lines.append(f"| {r['case']} | {statistics.median(ms):.1f} | {min(ms):.1f} to {max(ms):.1f} |" if ms
                     else f"| {r['case']} | failed | |")
    lines.append(f"\n{_results.machine_line(result)}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
