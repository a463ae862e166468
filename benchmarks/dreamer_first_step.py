"""Time to Dreamer's first train step, in the configuration users start from on vector Pendulum:
deter 64, stoch 4×4, hidden 512, reward and continue heads (256,), actor and critic (128, 128),
encoder/decoder MLP (64, 64), batch 32 × 15, horizon 5 (V3 preset otherwise).

    python benchmarks/dreamer_first_step.py [--repeats 2] [--before DIR]

``--before DIR``: a checkout of an earlier commit (``git worktree add DIR COMMIT``); its code runs
the cases without the cache too, in the same invocation, for a before/after comparison.

Each case runs in a fresh Python process (so nothing is compiled or cached in memory) and times:
building the Runner's agent (``build_s``), the first train call (tracing and XLA compilation
included, ``first_call_s``), the first call of the full step after a world-model warm-up where
there is one (``switch_call_s``), and the mean of 20 calls after that (``step_ms``). Cases:

- ``one phase``: ``warmup_world_model = 0``, the full step from the first call;
- ``world-model warm-up``: ``warmup_world_model = 1``: one call of the world model alone, then the full step;
- ``XLA cache, cold`` / ``XLA cache, warm``: ``warmup_world_model = 0`` with
  ``srl_tf.xla_cache(DIR)`` on an empty directory, then again in a new process on the directory the
  first one filled.

Results go to ``benchmarks/results/dreamer_first_step.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

CHILD = r"""
import json, sys, time
args = json.loads(sys.argv[1])
import srl_tf
if args["cache"]:
    srl_tf.xla_cache(args["cache"])
from srl_tf.algorithms import dreamer_v3
cfg = dreamer_v3.Config(seed=0)
cfg.set_dreamer_v3()
cfg.rssm_deter_size, cfg.rssm_stoch_size, cfg.rssm_classes, cfg.rssm_hidden_units = 64, 4, 4, 512
cfg.reward_layer_sizes = cfg.cont_layer_sizes = (256,)
cfg.actor_layer_sizes = cfg.critic_layer_sizes = (128, 128)
cfg.encoder_decoder_mlp = (64, 64)
cfg.batch_size, cfg.batch_length, cfg.horizon = 32, 15, 5
cfg.memory.warmup_size, cfg.memory.capacity = 50, 10_000
cfg.warmup_world_model = args["warmup_world_model"]
t = time.perf_counter()
runner = srl_tf.Runner("Pendulum-v1", cfg)
runner.train(max_steps=49, progress=False)   # the warm-up steps: the agent is built, nothing trained yet
agent = runner.agent
out = {"build_and_warmup_s": time.perf_counter() - t}

def call():
    t = time.perf_counter()
    float(agent._train_once()[1]["model_loss"])
    agent.train_count += 1
    return time.perf_counter() - t

for _ in range(5):   # the memory needs a few more steps than one batch length
    runner.train(max_steps=runner.step + 10, progress=False) if not agent.memory.can_sample(cfg.batch_length) else None
out["first_call_s"] = call()
out["switch_call_s"] = call() if cfg.warmup_world_model else None
call()
out["step_ms"] = 1000 * sum(call() for _ in range(20)) / 20
print("RESULT", json.dumps(out))
"""


def case(warmup_world_model: int, cache: str | None, code: str | None = None) -> dict:
    """One case in a fresh process; ``code``: a checkout whose srl_tf it imports (default: this one)."""
    args = json.dumps({"warmup_world_model": warmup_world_model, "cache": cache})
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = os.path.abspath(code) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", CHILD, args], capture_output=True, text=True, check=False, env=env,
                          cwd=tempfile.gettempdir())  # not this folder: "-c" puts the cwd first on sys.path
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"the child process failed:\n{proc.stderr[-3000:]}")
    return {k: (None if v is None else round(v, 3)) for k, v in json.loads(line[7:]).items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--before", default=None, help="a checkout of an earlier commit to time as well")
    p.add_argument("--out", default="dreamer_first_step")
    p.add_argument("--table", action="store_true", help="only print the table of the committed result file")
    args = p.parse_args()
    if args.table:
        print(table(_results.read(args.out)))
        return
    before = _results.machine()
    old_commit = None
    if args.before:
        old_commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=args.before, capture_output=True, text=True,
                                    check=True).stdout.strip()
    runs = []
    for repeat in range(args.repeats):
        cache = tempfile.mkdtemp(prefix="xla_cache_")
        cases = [("one phase", 0, None, None), ("world-model warm-up", 1, None, None),
                 ("XLA cache, cold", 0, cache, None), ("XLA cache, warm", 0, cache, None)]
        if args.before:
            cases = [("one phase", 0, None, args.before), ("world-model warm-up", 1, None, args.before)] + cases
        for name, warmup, cache_dir, code in cases:
            row = {"case": name, "code": old_commit if code else "this", "repeat": repeat,
                   **case(warmup, cache_dir, code)}
            print(row, flush=True)
            runs.append(row)
    result = _results.record(runs, seeds=[0], machine_before=before, settings={"repeats": args.repeats})
    _results.write(args.out, result)
    print(table(result))


def table(result: dict) -> str:
    lines = ["| code | case | build + 49 env steps (s) | first train call (s) | first full step after the warm-up (s) | "
             "time to the first full step (s) | step after (ms) |", "|---|---|---|---|---|---|---|"]
    for r in _results.runs_of(result):
        switch = r.get("switch_call_s")
        first_full = r["first_call_s"] + (switch or 0.0)
        code = "this commit" if r.get("code", "this") == "this" else f"before ({r['code'][:7]})"
        lines.append(f"| {code} | {r['case']} (run {r['repeat'] + 1}) | {r['build_and_warmup_s']:.1f} | {r['first_call_s']:.1f} | "
                     f"{'-' if switch is None else f'{switch:.1f}'} | {first_full:.1f} | {r['step_ms']:.0f} |")
    lines.append(f"\nEach case a fresh process; {_results.machine_line(result)}.")
    return "\n".join(lines)


if __name__ == "__main__":
    start = time.time()
    main()
    print(f"{time.time() - start:.0f} s", file=sys.stderr)
