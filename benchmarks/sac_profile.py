"""Where a SAC env step's time goes (Pendulum-v1, batch 256, 256x256, 1 gradient step per env step).

    python benchmarks/sac_profile.py [--steps 3000]

Times the compiled update call and the compiled policy call (each including the tf.function
dispatch from Python) against the wall time of the training loop; the rest is the env, the replay
buffer and the Runner in Python / numpy. Result: benchmarks/results/sac_profile.json.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402
from dreamer_flops import count_flops, machine_gflops  # noqa: E402

import srl_tf
from srl_tf.algorithms import sac


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=3000)
    args = p.parse_args()
    before = _results.machine()
    cfg = sac.Config(seed=0, lr_policy=1e-3, lr_q=1e-3, batch_size=256)
    cfg.policy_hidden_block.set_mlp((256, 256))
    cfg.q_hidden_block.set_mlp((256, 256))
    cfg.memory.capacity, cfg.memory.warmup_size = 100_000, 1000
    runner = srl_tf.Runner("Pendulum-v1", cfg)
    runner.train(max_steps=1500, progress=False)  # past the warm-up and the compilations
    agent = runner.agent
    spent = {"update": 0.0, "policy": 0.0}

    last_args = {}

    def timed(fn, key):
        def call(*a):
            last_args[key] = a
            t = time.perf_counter()
            out = fn(*a)
            for v in out.values() if isinstance(out, dict) else [out]:
                v.numpy()  # wait for the result, as the caller would
            spent[key] += time.perf_counter() - t
            return out

        return call

    update = agent._train
    agent._train = timed(agent._train, "update")
    agent._policy_step = timed(agent._policy_step, "policy")
    t = time.perf_counter()
    runner.train(max_steps=args.steps, progress=False)
    wall = time.perf_counter() - t
    rest = wall - spent["update"] - spent["policy"]
    print(f"{wall / args.steps * 1e3:.2f} ms per env step: update call {spent['update'] / args.steps * 1e3:.2f} ms, "
          f"policy call {spent['policy'] / args.steps * 1e3:.2f} ms, outside both {rest / wall * 100:.0f}% of wall time")
    # the update's matrix products as XLA compiles them, against the machine's large-product rate
    gflop = count_flops(update.experimental_get_compiler_ir(*last_args["update"])(stage="optimized_hlo"))["total"] / 1e9
    update_ms = spent["update"] / args.steps * 1e3
    run = {"seed": 0, "env_steps": args.steps, "ms_per_env_step": round(wall / args.steps * 1e3, 3),
           "update_ms": round(update_ms, 3), "policy_ms": round(spent["policy"] / args.steps * 1e3, 3),
           "outside_share": round(rest / wall, 4), "update_gflop": round(gflop, 4),
           "update_gflops": round(gflop / update_ms * 1e3, 1)}
    print(f"update: {gflop:.3f} GFLOP, {run['update_gflops']} GFLOP/s")
    _results.write("sac_profile", _results.record([run], seeds=[0], machine_before=before,
                                                  settings={"steps": args.steps, "machine_gflops": round(machine_gflops(), 1)}))


def table(result: dict) -> str:
    """The docs table of the result file: where one env step's time goes."""
    r = result["runs"][0]
    rate = ""
    if "update_gflops" in r:
        peak = result["settings"]["machine_gflops"]
        rate = (f" The update's matrix products come to {r['update_gflop'] * 1e3:.0f} MFLOP (XLA's optimized HLO), run at "
                f"{r['update_gflops']:.0f} GFLOP/s, {r['update_gflops'] / peak * 100:.0f} % of the {peak:.0f} GFLOP/s this "
                f"machine reaches on one 2048 × 2048 float32 product.")
    return "\n".join([
        "| per env step | update call | policy call | outside both (env, replay, Runner) |",
        "|---|---|---|---|",
        f"| {r['ms_per_env_step']:.2f} ms | {r['update_ms']:.2f} ms | {r['policy_ms']:.2f} ms | "
        f"{r['outside_share'] * 100:.0f} % of wall time |",
        "",
        f"{r['env_steps']} env steps after warm-up and compilation.{rate} `{result['command']}`, "
        f"{_results.machine_line(result)}.",
    ])


if __name__ == "__main__":
    main()
