"""The record every benchmark writes to ``benchmarks/results/<name>.json``, and the functions that read it.

A record says how its figures were obtained: the command line, the git commit (and whether the
working tree had uncommitted changes), the UTC date, the seeds, the machine (CPU model, cores,
memory, load average before and after the run), the versions of the packages that matter, and the
per-seed figures (``runs``). Learning runs keep their evaluation curve (env step → eval return) in
each run, not their checkpoints. ``report.py`` makes every docs table and plot from these files.

    before = machine()                     # at the start: the load before the run
    ...                                    # the runs
    write("dqn_cartpole", record(runs, seeds=[0, 1, 2], machine_before=before, settings={...}))
"""

from __future__ import annotations

import datetime
import fcntl
import importlib.metadata
import json
import os
import platform
import re
import signal
import subprocess
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("tensorflow", "keras", "gymnasium", "numpy")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
        return round(kb / 1024**2, 1)
    except (OSError, StopIteration, ValueError):
        return None


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages, or None where the system does not say."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine() -> dict:
    """The machine and its load now; call it before the runs and pass it to :func:`record`."""
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": _memory_gb(), "load_before": load_average()}


def packages(extra: tuple[str, ...] = ()) -> dict:
    """Versions of python and of the packages the figures depend on (``extra``: e.g. stable-baselines3)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES + tuple(extra):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False).stdout.strip()
    except OSError:
        return ""


# read when the benchmark starts (it imports this module first), not when it ends: files edited
# while a long run goes on do not change the code that run had loaded
_COMMIT_AT_START = _git("rev-parse", "HEAD")
# (result files themselves do not count: writing one does not change what the next run executes)
_DIRTY_AT_START = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results"))


def commit_at_start() -> str:
    """The commit the running benchmark started from, short, with "+" where files had uncommitted changes."""
    return _COMMIT_AT_START[:7] + ("+" if _DIRTY_AT_START else "")


def command_line(argv: list[str] | None = None) -> str:
    argv = sys.argv if argv is None else argv
    script = os.path.relpath(os.path.abspath(argv[0]), ROOT) if argv else ""
    return " ".join(["python", script, *argv[1:]])


def record(
    runs: list[dict],
    *,
    seeds: list[int] | None = None,
    machine_before: dict | None = None,
    settings: dict | None = None,
    extra_packages: tuple[str, ...] = (),
    argv: list[str] | None = None,
) -> dict:
    """The record of one benchmark invocation. ``runs``: one dict of figures per seed (or per case),
    a learning run with its ``eval_curve`` as ``[[env_step, eval_return], ...]``. ``machine_before``:
    :func:`machine` taken before the runs (taken now when not given); the load after is read here."""
    m = dict(machine_before or machine())
    m["load_after"] = load_average()
    return {
        "command": command_line(argv),
        "commit": _COMMIT_AT_START,
        "dirty": _DIRTY_AT_START,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "time_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seeds": list(seeds) if seeds is not None else sorted({r["seed"] for r in runs if "seed" in r}),
        "machine": m,
        "packages": packages(extra_packages),
        "settings": settings or {},
        "runs": runs,
    }


def path(name: str) -> str:
    return name if name.endswith(".json") else os.path.join(RESULTS, f"{name}.json")


def write(name: str, result: dict) -> str:
    """Writes ``result`` to ``benchmarks/results/<name>.json`` (or to ``name`` if it is a .json path)."""
    p = path(name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    # a list of plain numbers on one line, so that curves stay readable and the file small
    text = re.sub(r"\[\s*((?:-?[\d.eE+-]+|null)(?:,\s*(?:-?[\d.eE+-]+|null))*)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    with open(p, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {os.path.relpath(p)}", flush=True)
    return p


def read(name: str) -> dict:
    with open(path(name), encoding="utf-8") as f:
        return json.load(f)


def eval_curve(runner) -> list[list[float]]:
    """(env step, eval return) pairs from a runner's history, rounded to keep the file small."""
    rows = runner.get_history().runs[0][1]
    return [[int(r["step"]), round(float(r["eval_reward0"]), 1)] for r in rows if r.get("eval_reward0") is not None]


def mean_rows(result: dict) -> list[tuple[str, list[dict]]]:
    """(label, runs) of the mean rows of a result: all seeds, or tuned-on and fresh seeds apart."""
    runs, tuned = result["runs"], result["settings"].get("tuned_on_seeds") or []
    fresh = [r for r in runs if r["seed"] not in tuned]
    if not tuned or not fresh:
        return [(f"mean of {len(runs)}", runs)]
    on = [r for r in runs if r["seed"] in tuned]
    return [(f"mean of seeds {', '.join(str(r['seed']) for r in on)} (tuned on)", on),
            (f"mean of fresh seeds {', '.join(str(r['seed']) for r in fresh)}", fresh)]


def runs_of(result: dict) -> list[dict]:
    """The per-seed (or per-case) figures of a record, also of the older ones that called them ``results``."""
    return result["runs"] if "runs" in result else result["results"]


def loads(result: dict) -> tuple[float | None, float | None]:
    """1-minute load before and after the runs, from this module's records or from the older ones
    that kept ``machine.load_1min`` and ``load_after``."""
    m = result["machine"]
    if "load_before" in m:
        first = lambda x: x[0] if x else None  # noqa: E731
        return first(m["load_before"]), first(m.get("load_after"))
    return m.get("load_1min"), result.get("load_after")


def sb3_label(result: dict) -> str:
    """Stable-Baselines3 with its version and the torch build it ran on, from a speed record."""
    packages = result["packages"]
    torch = f" (torch {packages['torch']})" if packages.get("torch") else ""
    return f"Stable-Baselines3 {packages.get('stable-baselines3')}{torch}"


def machine_line(result: dict) -> str:
    """One line naming date, machine and load, for the caption under a table."""
    m = result["machine"]
    before, after = loads(result)
    load = f"load {before:.1f} before and {after:.1f} after" if before is not None and after is not None else "load not recorded"
    dirty = " (uncommitted changes)" if result.get("dirty") else ""
    commit = f", commit {result['commit'][:7]}{dirty}" if result.get("commit") else ""
    return f"{result['date']}, {m['cpu']}, {m['cores']} cores, {load}{commit}"


def save_figure(fig, title: str | None, path: str, dpi: int = 90, bottom: float = 0.0) -> str:
    """Titles (when ``title``), lays out (leaving the fraction ``bottom`` of the height free, e.g. for
    a figure legend), writes and closes a matplotlib figure; returns ``path``."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def train_resumably(runner, directory: str, steps: int, label: str = "", callbacks=()) -> tuple[float, int] | None:
    """Trains ``runner`` (its history already set) to ``steps`` env steps in all, checkpointing the
    whole run under ``<directory>/ckpt`` every 5 minutes and first continuing from the newest
    checkpoint there. Returns (wall seconds, train steps) of this continuation, or None when it was
    interrupted before ``steps`` (the checkpoint written on the way out holds it)."""
    import time

    from srl_tf import checkpoint

    runner.set_checkpoint(os.path.join(directory, "ckpt"), is_load=False, interval=300, keep=2)
    runner.set_progress(single_line=False, interval_limit=300)  # a line per report: runs go to log files
    found = checkpoint.latest(os.path.join(directory, "ckpt"))
    if found is not None:
        runner.load_checkpoint(found)
        print(f"{label}continuing from env step {runner.step}", flush=True)
    t0, train0 = time.time(), runner.agent.train_count
    if runner.step < steps:
        runner.train(max_steps=steps - runner.step, callbacks=list(callbacks))
    if runner.step < steps:
        return None
    return time.time() - t0, runner.agent.train_count - train0


def stop_on_sigterm() -> None:
    """A benchmark killed with SIGTERM (a session or a job ending) stops as on Ctrl-C: the Runner writes a
    checkpoint of where it is, and the next invocation continues from there (:func:`train_resumably`)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def rows_with_settings(name: str, settings: dict) -> list[dict]:
    """The runs already in result file ``name``, if it was written with the same settings (else none)."""
    if not os.path.exists(path(name)):
        return []
    old = read(name)
    return old["runs"] if old["settings"] == settings else []


def add_row(name: str, row: dict, key: tuple[str, ...], settings: dict, machine_before: dict, lock_dir: str) -> None:
    """Writes a run that has landed into result file ``name`` beside the rows already there with the
    same settings, replacing the one with the same ``key`` fields (e.g. ("task", "seed")). The file is
    re-read under a lock in ``lock_dir``, so that invocations running other seeds or tasks side by
    side keep each other's rows."""
    os.makedirs(lock_dir, exist_ok=True)
    with open(os.path.join(lock_dir, ".result.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = [r for r in rows_with_settings(name, settings) if any(r.get(k) != row[k] for k in key)]
        write(name, record(rows + [row], machine_before=machine_before, settings=settings))


def verdict(final: float, curve: list, target: float) -> tuple[str, int | None]:
    """A learning run against a "return >= target within its budget" target: the verdict in words
    and the first env step whose evaluation reached the target (None if none did)."""
    first = next((step for step, ret in curve if ret >= target), None)
    if final >= target:
        return "**met**", first
    return ("reached, **not held** at the end" if first is not None else "**missed**"), first
