"""Mutation testing of the code where a silent bug costs most: the memories, the distributions and
action mapping, the return / target arithmetic (n-step, GAE, λ-returns, percentile scaling,
twohot, symlog) and the DQN / SAC / DDPG targets with the Polyak update.

    pip install "mutmut>=3.8,<4"             # the tool (3.8.1 when the score below was taken)
    python scripts/mutation.py               # mutate, run the tests that reach each mutant, summarise
    python scripts/mutation.py --write       # ... and write benchmarks/results/mutation.json
    python scripts/mutation.py --report      # summarise the last run (the mutants/ folder) again
    python scripts/mutation.py 'srl_tf.memory.rollout.*'   # run again only the mutants matching a pattern
    mutmut show <mutant name>                # the diff of one mutant

It runs from the repository root; mutmut writes its mutated copy of the package and its results
to ``mutants/`` (git-ignored; delete it when done). Which files mutmut mutates and which tests it
runs are set in ``[tool.mutmut]`` of ``pyproject.toml``; which mutants count is ``SCOPE`` below
(of the algorithm files, only the target computations). A full run takes hours on two
cores. The run is not part of ``pytest``: it re-runs the tests hundreds of times.

Mutants that cannot change behaviour are listed in ``EQUIVALENT`` with the reason; the score is
killed / (total − equivalent). mutmut numbers the mutants of a function in order, so the names in
``EQUIVALENT`` hold for the code they were written against; after an edit of such a function,
check them again with ``mutmut show``.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import sys
from collections import Counter
from fnmatch import fnmatch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# mutant-name patterns (module.function__mutmut_N) that count, grouped under a module label
SCOPE = {
    "srl_tf/memory/replay.py": ["srl_tf.memory.replay.*"],
    "srl_tf/memory/rollout.py": ["srl_tf.memory.rollout.*"],
    "srl_tf/memory/sequence.py": ["srl_tf.memory.sequence.*"],
    "srl_tf/functions.py": ["srl_tf.functions.*"],
    "srl_tf/distributions.py": ["srl_tf.distributions.*"],
    "srl_tf/algorithms/dqn.py (train step: target, loss)": [
        "srl_tf.algorithms.dqn.xǁAgentǁ_train_fn__mutmut_*", "srl_tf.algorithms.dqn.x__huber__mutmut_*"],
    "srl_tf/algorithms/sac.py (critic_target)": ["srl_tf.algorithms.sac.xǁAgentǁcritic_target__mutmut_*"],
    "srl_tf/algorithms/ddpg.py (critic_target)": ["srl_tf.algorithms.ddpg.xǁAgentǁcritic_target__mutmut_*"],
    "srl_tf/algorithms/base.py (polyak_update)": ["srl_tf.algorithms.base.x_polyak_update__mutmut_*"],
}

# mutants that cannot change behaviour: name -> why
_ROLLOUT = "srl_tf.memory.rollout.xǁRolloutBufferǁ"
EQUIVALENT: dict[str, str] = {
    _ROLLOUT + "sequences__mutmut_15": "reshape((-2, length) ...): numpy reads any negative size as 'the rest'",
    _ROLLOUT + "sequences__mutmut_44": "reshape(-2, state_size): numpy reads any negative size as 'the rest'",
    _ROLLOUT + "interrupt_episodes__mutmut_16": "np.asarray(streams, None): a list of stream indices is int64 anyway",
    _ROLLOUT + "interrupt_episodes__mutmut_18": "np.asarray(streams): a list of stream indices is int64 anyway",
    _ROLLOUT + "state_arrays__mutmut_11": "np.array(ints, None): a list of Python ints is int64 anyway",
    _ROLLOUT + "state_arrays__mutmut_13": "np.array(ints): a list of Python ints is int64 anyway",
    _ROLLOUT + "state_arrays__mutmut_16": "np.array(ints, None): a list of Python ints is int64 anyway",
    _ROLLOUT + "state_arrays__mutmut_18": "np.array(ints): a list of Python ints is int64 anyway",
    **{f"srl_tf.algorithms.dqn.xǁAgentǁ_train_fn__mutmut_{i}": "argmax with an int64 result, or over axis 1 of "
       "a (batch, actions) tensor: the same indices for the gather that follows" for i in (18, 21, 23, 28, 31, 32)},
    "srl_tf.algorithms.dqn.xǁAgentǁ_train_fn__mutmut_37": "gather(axis=None, batch_dims=1): axis defaults to "
                                                           "batch_dims, i.e. 1, the axis given",
    "srl_tf.functions.x_twohot_encode__mutmut_42": "bins < x for bins <= x: for x on a bin b_k the weight goes "
                                                   "wholly to b_k either way (w_hi = 1 from b_{k-1}, or 0 at b_0)",
    "srl_tf.functions.x_twohot_encode__mutmut_79": "clip of w_hi to [0, 2]: x is clipped to [b_0, b_K-1] first, "
                                                   "so (x - lo) / (hi - lo) is already in [0, 1]",
    "srl_tf.functions.xǁPercentileNormalizerǁcall__mutmut_3": "convert_to_tensor(x, None) in call(): a Keras layer "
                                                               "casts float inputs to its float32 compute dtype first",
    "srl_tf.functions.xǁPercentileNormalizerǁcall__mutmut_5": "convert_to_tensor(x) in call(): a Keras layer casts "
                                                               "float inputs to its float32 compute dtype first",
}

# mutmut's exit codes of a mutant's test run
_KILLED = {1, 3}
_TIMEOUT = {24, -24, 36, 152, 255}


def _patch_trampoline_signature() -> None:
    """mutmut wraps each mutated function in a trampoline ``(*args, **kwargs)`` and points
    ``__wrapped__`` at the original. Keras reads the argument names of a layer's ``__init__``
    with ``inspect.getfullargspec``, which ignores ``__wrapped__`` but honours ``__signature__``:
    give each ``__init__`` trampoline the signature of the function it stands for. (Only
    ``__init__``: ``functools.wraps`` of a bound method, as Keras does around ``build``, would copy
    a signature that still has ``self``.)"""
    from mutmut.mutation import trampoline

    original = trampoline.wrap_in_trampoline

    @functools.wraps(original)
    def wrap_in_trampoline(mutants_dict, is_classmethod: bool = False):
        decorate = original(mutants_dict, is_classmethod)

        def with_signature(func):
            wrapper = decorate(func)
            if func.__name__ == "__init__":
                wrapper.__signature__ = inspect.signature(func)
            return wrapper

        return with_signature

    trampoline.wrap_in_trampoline = wrap_in_trampoline


def _patterns() -> list[str]:
    return [p for group in SCOPE.values() for p in group]


def run_mutmut(max_children: int, only: list[str]) -> None:
    _patch_trampoline_signature()
    from mutmut.__main__ import cli

    patterns = only or _patterns()
    try:
        cli.main(args=["run", "--max-children", str(max_children), *patterns], standalone_mode=False)
    except SystemExit as e:  # mutmut ends some paths with exit(); a failed clean run is one of them
        if e.code not in (0, None):
            raise


def exit_codes() -> dict[str, int | None]:
    """mutant name -> exit code of its test run, from mutmut's meta files in mutants/."""
    out: dict[str, int | None] = {}
    for dirpath, _, files in os.walk(os.path.join(ROOT, "mutants", "srl_tf")):
        for name in files:
            if name.endswith(".py.meta"):
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    out.update(json.load(f)["exit_code_by_key"])
    return out


def summarise(codes: dict[str, int | None]) -> dict:
    modules, survivors, unknown_equivalent = {}, [], sorted(set(EQUIVALENT) - set(codes))
    for label, patterns in SCOPE.items():
        names = sorted(n for n in codes if any(fnmatch(n, p) for p in patterns))
        c = Counter()
        for n in names:
            code = codes[n]
            if n in EQUIVALENT:
                c["equivalent"] += 1
            elif code in _KILLED:
                c["killed"] += 1
            elif code in _TIMEOUT:
                c["timeout"] += 1
            elif code == 0:
                c["survived"] += 1
                survivors.append(n)
            else:  # not run, no tests, segfault, suspicious
                c["other"] += 1
                survivors.append(n)
        live = len(names) - c["equivalent"]
        detected = c["killed"] + c["timeout"]
        modules[label] = {"total": len(names), "killed": c["killed"], "timeout": c["timeout"],
                          "survived": c["survived"], "other": c["other"], "equivalent": c["equivalent"],
                          "score": round(100.0 * detected / live, 1) if live else None}
    total = {k: sum(m[k] for m in modules.values()) for k in ("total", "killed", "timeout", "survived", "other",
                                                              "equivalent")}
    live = total["total"] - total["equivalent"]
    total["score"] = round(100.0 * (total["killed"] + total["timeout"]) / live, 1) if live else None
    return {"modules": modules, "total": total, "survivors": survivors,
            "equivalent": {n: EQUIVALENT[n] for n in sorted(EQUIVALENT) if n in codes},
            "equivalent_not_found": unknown_equivalent}


def print_summary(s: dict) -> None:
    head = f"{'module':52} {'total':>6} {'killed':>7} {'timeout':>8} {'survived':>9} {'equiv.':>7} {'score':>6}"
    print(head)
    for label, m in [*s["modules"].items(), ("all", s["total"])]:
        score = "-" if m["score"] is None else f"{m['score']:.1f}%"
        print(f"{label:52} {m['total']:6} {m['killed']:7} {m['timeout']:8} {m['survived'] + m['other']:9} "
              f"{m['equivalent']:7} {score:>6}")
    for n in s["survivors"]:
        print("survived:", n)
    for n in s["equivalent_not_found"]:
        print("listed as equivalent but not generated (renumbered?):", n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="summarise the last run without running")
    parser.add_argument("--write", action="store_true", help="write benchmarks/results/mutation.json")
    parser.add_argument("only", nargs="*", help="run only the mutants matching these patterns (after a fix)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested in parallel (default 2)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if not args.report:
        run_mutmut(args.max_children, args.only)
    s = summarise(exit_codes())
    print_summary(s)
    if args.write:
        sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
        import importlib.metadata

        import _results

        settings = {"tool": f"mutmut {importlib.metadata.version('mutmut')}", "scope": SCOPE,
                    "equivalent": s["equivalent"], "survivors": s["survivors"]}
        runs = [{"module": label, **m} for label, m in s["modules"].items()]
        _results.write("mutation", _results.record(runs, seeds=[], settings={**settings, "total": s["total"]},
                                                   argv=sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
