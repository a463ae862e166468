"""Every benchmark script loads: a name one script imports from another, renamed or moved, fails
here rather than hours into a run (the scripts themselves run in benchmarks/, not in this suite)."""

import glob
import importlib.util
import os
import sys

import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
SCRIPTS = sorted(glob.glob(os.path.join(BENCHMARKS, "*.py")))


def test_the_scripts_are_found():
    assert len(SCRIPTS) > 20 and any(s.endswith("dreamer_generality.py") for s in SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS, ids=[os.path.basename(s) for s in SCRIPTS])
def test_benchmark_script_loads(script, monkeypatch):
    monkeypatch.setattr(sys, "path", [BENCHMARKS, *sys.path])
    name = "bench_" + os.path.basename(script)[:-3]
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    environ = os.environ.copy()  # a script may set MUJOCO_GL or XLA_FLAGS for its own process
    try:
        spec.loader.exec_module(module)  # module-level code only: what runs under __main__ is not called
    finally:
        os.environ.clear()
        os.environ.update(environ)
    assert module.__doc__, f"{os.path.basename(script)}: no docstring saying what it measures and how to run it"
