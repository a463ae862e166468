"""Size and speed of an exported policy: SavedModel, TFLite and dynamic-range quantised TFLite
against the training-time ``agent.act``, for DQN on CartPole-v1 and SAC on Pendulum-v1.

    python benchmarks/export_speed.py [--cases dqn sac] [--calls 2000]
    python benchmarks/export_speed.py --table     # the docs table, from the committed result file

Each case trains briefly (the weights' values do not change the time of a forward pass), exports
the greedy policy in each format, and times ``--calls`` single-observation calls (batch 1) of each
way of acting on observations the env produced; the median per call is reported, with the 90th
percentile beside it in the result file. ``agent.act`` is what training and evaluation call: for
DQN a numpy copy of the Q network, for SAC a compiled ``tf.function``, each with the numpy
conversions around it. Results go to ``benchmarks/results/export_speed.json`` with the command,
commit, date and machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import _results  # noqa: E402
from checkpoint_cost import dir_size  # noqa: E402


def dqn_runner():
    import srl_tf
    from srl_tf.algorithms import dqn

    cfg = dqn.Config(seed=0)  # the default Q network: 64-64 ReLU
    cfg.memory.warmup_size = 500
    return srl_tf.Runner("CartPole-v1", cfg), 3_000


def sac_runner():
    import srl_tf
    from srl_tf.algorithms import sac

    cfg = sac.Config(seed=0)  # the default actor: 256-256 ReLU, tanh-squashed Gaussian head
    cfg.memory.warmup_size = 500
    return srl_tf.Runner("Pendulum-v1", cfg), 1_000


CASES = {"dqn": dqn_runner, "sac": sac_runner}


def observations(runner, n: int) -> np.ndarray:
    """``n`` observations of the env under random actions (what the timed calls act on)."""
    from srl_tf.envs import make_env

    env = make_env(runner.env_config)
    obs, _ = env.reset(seed=1)
    out = []
    for _ in range(n):
        out.append(obs)
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return np.asarray(out, np.float32)


def time_calls(act, obs: np.ndarray) -> list[float]:
    for o in obs[:50]:  # warm-up: traces, allocations, caches
        act(o[None])
    times = []
    for o in obs:
        t0 = time.perf_counter()
        act(o[None])
        times.append(time.perf_counter() - t0)
    return times


def measure(name: str, calls: int) -> dict:
    import tensorflow as tf

    runner, steps = CASES[name]()
    runner.train(max_steps=steps, progress=False)
    agent = runner.agent
    obs = observations(runner, calls)
    root = tempfile.mkdtemp(prefix=f"export_{name}_")
    saved = runner.export_policy(os.path.join(root, "policy"))
    lite = runner.export_policy(os.path.join(root, "policy.tflite"), format="tflite")
    lite8 = runner.export_policy(os.path.join(root, "policy_int8.tflite"), format="tflite", quantize=True)

    carry = agent.initial_carry(1)
    policy = tf.saved_model.load(saved)
    empty = policy.initial_carry(batch_size=1)

    def tflite_act(path):
        interpreter = tf.lite.Interpreter(model_path=path)
        run = interpreter.get_signature_runner("act")
        return lambda o: run(obs=o)["action"]

    ways = {
        "agent.act": (lambda o: agent.act(o, carry, explore=False)[0], None),
        "SavedModel": (lambda o: policy.act(o, empty)[0].numpy(), dir_size(saved)),
        "TFLite": (tflite_act(lite), os.path.getsize(lite)),
        "TFLite int8 weights": (tflite_act(lite8), os.path.getsize(lite8)),
    }
    reference = np.stack([ways["agent.act"][0](o[None])[0] for o in obs])
    rows = []
    for way, (act, size) in ways.items():
        times = time_calls(act, obs)
        actions = np.stack([act(o[None])[0] for o in obs])
        diff = np.abs(np.asarray(actions, np.float64) - reference).reshape(len(obs), -1).max(axis=-1)
        same = diff == 0 if agent.spec.discrete else diff <= 1e-5
        rows.append({
            "way": way,
            "size_kb": None if size is None else round(size / 1024, 1),
            "median_us": round(1e6 * statistics.median(times), 1),
            "p90_us": round(1e6 * float(np.percentile(times, 90)), 1),
            "same_action_as_agent": round(float(np.mean(same)), 4),
            "max_abs_difference": float(f"{diff.max():.3g}"),
        })
        print(f"{name} {way}: {rows[-1]}", flush=True)
    parameters = int(sum(np.prod(w.shape) for m in agent.acting_models().values() for w in m.weights))
    return {"case": name, "env": runner.env_config.display_name, "train_steps": steps, "calls": calls,
            "acting_parameters": parameters, "rows": rows}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--calls", type=int, default=2_000)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "export_speed.json"))
    p.add_argument("--table", action="store_true", help="only print the table of the result file --out")
    args = p.parse_args()
    if args.table:
        print(table(_results.read(args.out)))
        return
    before = _results.machine()
    runs = [measure(name, args.calls) for name in args.cases]
    result = _results.record(runs, machine_before=before, seeds=[0], settings={"calls": args.calls})
    _results.write(args.out, result)
    print(table(result))


def table(result: dict) -> str:
    """The markdown table of a result file (docs/guides/deploying.md is made from it)."""
    lines = [
        "| case | acting with | size (KB) | time per action, batch 1 (µs, median) | action as agent.act's |",
        "|---|---|---|---|---|",
    ]
    for case in _results.runs_of(result):
        discrete = case["case"] == "dqn"
        for r in case["rows"]:
            size = "—" if r["size_kb"] is None else f"{r['size_kb']:,}"
            same = f"{100 * r['same_action_as_agent']:.1f} % {'equal' if discrete else 'within 1e-5'}"
            if not discrete:
                same += f", largest difference {r['max_abs_difference']:.2g}"
            lines.append(
                f"| {case['case']} {case['env']} ({case['acting_parameters']:,} weights) | {r['way']} | {size} | "
                f"{r['median_us']:,} | {same} |"
            )
    m = result["machine"]
    before, after = _results.loads(result)
    lines.append(f"\n{result['date']}, {m['cpu']}, {m['cores']} cores shared with other jobs, load "
                 f"{before:.1f} before and {after:.1f} after; {_results.runs_of(result)[0]['calls']:,} "
                 "calls per way, 90th percentiles in the result file.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
