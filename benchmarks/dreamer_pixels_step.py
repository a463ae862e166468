"""Dreamer's train step on 64 × 64 pixels on a CPU, compiled three ways: XLA for the whole step, the
default on a CPU (the world model's half, with the image encoder and decoder, in TensorFlow's
runtime and the actor-critic half compiled with XLA), and no XLA for the step (``jit_compile=False``;
the fused LayerNorm + activation of the image layers, :func:`srl_tf.nn.dreamer.norm_act`, is XLA in
every way).

    python benchmarks/dreamer_pixels_step.py [--repeats 3]
    python benchmarks/report.py dreamer_pixels_step     # the docs table, from the result file

The configuration is the generality benchmark's pixel task (V3 preset, size XS, batch 16 × 64,
horizon 15, Pendulum-v1 from its rendered frames). Each way is timed on one stored batch after
compilation: the whole step and the world model's half alone (medians of ``--repeats`` calls), each
way in a process of its own. Result: benchmarks/results/dreamer_pixels_step.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

WAYS = {
    "xla": "XLA for the whole step",
    "split": "world model in TensorFlow's runtime, actor-critic half with XLA (the default on a CPU)",
    "none": "no XLA for the step (jit_compile=False; the image LayerNorm + SiLU stay one XLA kernel)",
}


def measure(way: str, repeats: int) -> dict:
    from dreamer_flops import _median_ms
    from dreamer_generality import config

    import srl_tf

    cfg = config(0, "XS", 256.0)
    cfg.jit_compile = way != "none"
    runner = srl_tf.Runner(srl_tf.EnvConfig("Pendulum-v1", render_image=True, image_resize=(64, 64)), cfg)
    runner.train(max_train_count=2, progress=False)  # fills the memory past its warm-up
    agent = runner.agent
    if way == "xla":  # the whole step under XLA, as it runs on a GPU
        agent._behavior_step = agent._behavior
        signature = agent._train.input_signature
        agent._train = agent.compile(agent._train_fn, "train", signature, jit=True)
    expected_split = way == "split"
    if agent.split_compile != expected_split and way != "xla":
        raise RuntimeError(f"{way}: the agent's split_compile is {agent.split_compile}")
    batch = agent.memory.sample(cfg.batch_size, cfg.batch_length, agent.rng)
    return {"way": way, "ms": round(_median_ms(agent._train_all, batch, repeats), 1),
            "world_model_ms": round(_median_ms(agent._train_world_model, batch, repeats), 1)}


def table(result: dict) -> str:
    lines = ["| how the step is compiled | ms per step | world model's half alone (ms) |", "|---|---|---|"]
    for r in result["runs"]:
        lines.append(f"| {WAYS[r['way']]} | {r['ms']:.0f} | {r['world_model_ms']:.0f} |")
    lines.append(f"\nXS pixel configuration (batch 16 × 64, horizon 15), medians of {result['settings']['repeats']} calls, "
                 f"each way in its own process. `{result['command']}`, {_results.machine_line(result)}.")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--way", choices=list(WAYS), help=argparse.SUPPRESS)  # one way, in a child process
    args = p.parse_args()
    if args.repeats < 1:
        p.error(f"--repeats={args.repeats}: give at least 1")
    if args.way:
        print("RESULT " + json.dumps(measure(args.way, args.repeats)), flush=True)
        return
    before = _results.machine()
    runs = []
    for way in WAYS:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--way", way, "--repeats", str(args.repeats)],
                             capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:]))
        print(runs[-1], flush=True)
    result = _results.record(runs, machine_before=before, settings={"repeats": args.repeats})
    _results.write("dreamer_pixels_step", result)
    print(table(result))


if __name__ == "__main__":
    main()
