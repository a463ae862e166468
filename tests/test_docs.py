"""The documentation site: it builds with ``mkdocs build --strict``, and the code it shows runs.

Two kinds of code appear on the site, and both are run here so that the pages cannot drift from
the API:

* ``examples/*.py`` files that a page includes with ``--8<-- "examples/NAME.py"`` are run as
  scripts (``__main__``), with their default arguments (and those in ``EXAMPLE_ARGS``);
* every fenced ``python`` block of a page is executed, the blocks of one page in order in one
  namespace (a later block may use what an earlier one defined). A block preceded by the line
  ``<!-- docs-test: skip (reason) -->`` is not run.

Both run at a tiny budget: :func:`tiny_budgets` wraps the Runner so that ``train`` stops after
40 env steps (or its first training call), ``evaluate`` plays at most two episodes, episodes are
cut at 64 steps, GIFs and the replay window at 10 frames and history intervals at 20 steps,
whatever the code asks for, and nothing is compiled with XLA.
Most agents are still warming up after 40 steps, so their train steps do not run here (the
algorithm tests cover them); what is checked is that the code on the site still matches the API:
every config field and preset, constructor keyword, Runner call and helper it uses. A wrong field
name raises ``ConfigError``, a wrong keyword ``TypeError``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

TRAIN_STEPS = 40  # env steps per train() call at most, summed over the parallel envs
EPISODES = 2  # train(max_episodes=) and evaluate(max_episodes=)
EPISODE_STEPS = 64  # every episode is truncated here
GIF_STEPS = 10
TRIALS = 2  # evaluate_trials(trials=) for the RL² examples

# Arguments an example needs besides its defaults to stay small (a smaller model, no MuJoCo GIF
# rendered in a second process).
EXAMPLE_ARGS = {
    "carracing_dreamer.py": ["--size", "tiny"],
    "halfcheetah_sac.py": ["--no-gif"],
    "lunarlander_dqn_ray.py": ["--tiny"],
}

SKIP_MARK = re.compile(r"<!--\s*docs-test:\s*skip\b.*-->")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
INCLUDE = re.compile(r"""--8<--\s+["'](?P<path>examples/[\w./-]+\.py)["']""")


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """(first line number, code, skipped) of every fenced python block in a Markdown text."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group("indent"), m.group("fence"), m.group("lang").lower()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line)
            i += 1
        i += 1
        # a block that includes a file (``--8<-- "examples/..."``) is run as that file instead
        if lang in ("python", "py") and not any(line.lstrip().startswith("--8<--") for line in body):
            prev = next((lines[j] for j in range(start - 2, -1, -1) if lines[j].strip()), "")
            blocks.append((start + 1, "\n".join(body) + "\n", bool(SKIP_MARK.search(prev))))
    return blocks


def included_examples() -> list[str]:
    """``examples/...`` files that the pages include with the snippets extension."""
    found = set()
    for page in _pages():
        found.update(m.group("path") for m in INCLUDE.finditer(page.read_text(encoding="utf-8")))
    return sorted(found)


def pages_with_code() -> list[str]:
    return [str(p.relative_to(DOCS)) for p in _pages() if python_blocks(p.read_text(encoding="utf-8"))]


@pytest.fixture
def tiny_budgets(monkeypatch, tmp_path):
    """Runs the code under test in ``tmp_path`` with every Runner budget made tiny."""
    import srl_tf
    import srl_tf.envs.meta as meta
    from srl_tf.runner import Runner

    init, train, evaluate = Runner.__init__, Runner.train, Runner.evaluate
    gif, window = Runner.animation_save_gif, Runner.replay_window

    def small_init(self, env_config, rl_config):
        init(self, env_config, rl_config)
        limit = self.env_config.max_episode_steps
        self.env_config.max_episode_steps = min(limit or EPISODE_STEPS, EPISODE_STEPS)
        # tracing without XLA is several times faster than an XLA compile (other tests run XLA)
        self.rl_config.jit_compile = False

    def small_train(self, max_steps=0, max_train_count=0, max_episodes=0, timeout=0, callbacks=(), progress=True):
        if not (max_steps or max_train_count or max_episodes or timeout):  # let train() raise its own error
            return train(self, callbacks=callbacks, progress=False)
        # whatever the limits asked for, the run also stops after TRAIN_STEPS env steps or its
        # first training call, whichever comes first
        steps = min(max_steps or TRAIN_STEPS, TRAIN_STEPS)
        return train(
            self,
            max_steps=steps,
            max_train_count=1,
            max_episodes=min(max_episodes, EPISODES),
            timeout=timeout,
            callbacks=callbacks,
            progress=False,
        )

    def small_evaluate(self, max_episodes=10, explore=False, **kwargs):
        return evaluate(self, max_episodes=min(max_episodes, EPISODES), explore=explore, **kwargs)

    def small_gif(self, path, max_steps=1000, fps=30, explore=False, **kwargs):
        return gif(self, path, max_steps=min(max_steps, GIF_STEPS), fps=fps, explore=explore, **kwargs)

    def small_intervals(method):
        # evaluation and log intervals meant for long runs would never come round in a short one
        def wrapped(self, *args, **kwargs):
            for key in ("interval", "eval_interval"):
                if kwargs.get(key):
                    kwargs[key] = min(kwargs[key], TRAIN_STEPS // 2)
            return method(self, *args, **kwargs)

        return wrapped

    def small_window(self, max_steps=1000, fps=30, scale=1.0, max_ticks=None, **kwargs):
        return window(self, max_steps=min(max_steps, GIF_STEPS), fps=fps, scale=scale, max_ticks=1, **kwargs)

    evaluate_trials = meta.evaluate_trials

    def small_trials(runner, trials=100, *args, **kwargs):
        return evaluate_trials(runner, min(trials, TRIALS), *args, **kwargs)

    monkeypatch.setattr(Runner, "__init__", small_init)
    monkeypatch.setattr(Runner, "train", small_train)
    monkeypatch.setattr(Runner, "evaluate", small_evaluate)
    monkeypatch.setattr(Runner, "animation_save_gif", small_gif)
    monkeypatch.setattr(Runner, "replay_window", small_window)
    monkeypatch.setattr(Runner, "set_history_on_file", small_intervals(Runner.set_history_on_file))
    monkeypatch.setattr(Runner, "set_history_on_memory", small_intervals(Runner.set_history_on_memory))
    monkeypatch.setattr(meta, "evaluate_trials", small_trials)
    monkeypatch.chdir(tmp_path)
    assert srl_tf.Runner is Runner
    return tmp_path


def test_python_blocks_are_found_skipped_and_includes_left_out():
    text = """
```python
a = 1
```

<!-- docs-test: skip (needs a display) -->
```python
b = 2
```

```python title="examples/x.py"
--8<-- "examples/x.py"
```

!!! note
    ```py
    c = 3
    ```

```bash
python x.py
```
"""
    assert python_blocks(text) == [(3, "a = 1\n", False), (8, "b = 2\n", True), (17, "c = 3\n", False)]


def test_pages_include_examples_and_code():
    """The parsers below find what the tests run (a guard against testing nothing)."""
    assert len(included_examples()) >= 5
    assert len(pages_with_code()) >= 3


def on_ray(names, read):
    """Params for the docs that start Ray actors, kept on one test worker with the distributed tests
    (whose "no actor process left" check would see the actors of a run on another worker)."""
    return [pytest.param(n, marks=pytest.mark.xdist_group("ray")) if "train_mp(" in read(n) else n for n in names]


@pytest.mark.parametrize("example", on_ray(included_examples(), lambda e: (ROOT / e).read_text(encoding="utf-8")))
def test_included_example_runs(example, tiny_budgets, monkeypatch):
    path = ROOT / example
    assert path.is_file(), f"a page includes {example}, which does not exist"
    monkeypatch.setattr(sys, "argv", [str(path), *EXAMPLE_ARGS.get(path.name, [])])
    runpy.run_path(str(path), run_name="__main__")


@pytest.mark.parametrize("page", on_ray(pages_with_code(), lambda p: (DOCS / p).read_text(encoding="utf-8")))
def test_page_code_blocks_run(page, tiny_budgets):
    text = (DOCS / page).read_text(encoding="utf-8")
    namespace = {"__name__": "__main__"}
    for line, code, skipped in python_blocks(text):
        if skipped:
            continue
        try:
            exec(compile(code, f"docs/{page}:{line}", "exec"), namespace)
        except Exception as e:
            raise AssertionError(f"the python block at docs/{page}, line {line}, failed: {e!r}") from e


def test_site_builds_strict(tmp_path):
    """Broken links, missing pages, images or included files, and docstrings that mkdocstrings
    cannot resolve all fail the strict build."""
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(module.split(".")[0]) is None or (
            "." in module and importlib.util.find_spec(module) is None
        ):
            pytest.skip(f"{module} is not installed (pip install -e '.[docs]')")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, f"mkdocs build --strict failed:\n{out.stdout}\n{out.stderr}"
    assert (tmp_path / "site" / "index.html").is_file()
