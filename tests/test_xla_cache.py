"""srl_tf.xla_cache: XLA's compiled executables kept on disk and found by a later process."""

import logging
import os
import subprocess
import sys

import pytest

import srl_tf
from srl_tf import ConfigError, xla

FLAG = "--tf_xla_persistent_cache_directory"

# a fresh process: the cache flag is read at the process's first XLA compilation
CHILD = r"""
import sys
import srl_tf
from srl_tf.algorithms import dqn
srl_tf.xla_cache(sys.argv[1])
cfg = dqn.Config(jit_compile=True, batch_size=8)
cfg.hidden_block.set_mlp((16,))
cfg.memory.warmup_size = 16
runner = srl_tf.Runner("CartPole-v1", cfg)
runner.train(max_steps=40, progress=False)
print("TRAINED", runner.agent.train_count)
"""


@pytest.fixture
def flags(monkeypatch):
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_enable_lazy_compilation=true")
    monkeypatch.setattr(xla, "_compiled", False)


def test_xla_cache_sets_the_flag_and_keeps_the_others(tmp_path, flags):
    path = srl_tf.xla_cache(tmp_path / "a" / "b")
    assert path == str(tmp_path / "a" / "b") and os.path.isdir(path)
    assert os.environ["TF_XLA_FLAGS"].split() == ["--tf_xla_enable_lazy_compilation=true", f"{FLAG}={path}"]
    srl_tf.xla_cache(tmp_path / "c")  # a second directory replaces the first
    assert os.environ["TF_XLA_FLAGS"].split() == ["--tf_xla_enable_lazy_compilation=true", f"{FLAG}={tmp_path / 'c'}"]
    assert srl_tf.xla_cache(None) is None
    assert os.environ["TF_XLA_FLAGS"].split() == ["--tf_xla_enable_lazy_compilation=true"]


def test_xla_cache_on_a_file_is_a_named_error(tmp_path, flags):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match="xla_cache.*is a file"):
        srl_tf.xla_cache(f)


def test_xla_cache_after_a_compilation_warns(tmp_path, flags, caplog):
    xla.note_compiled()
    with caplog.at_level(logging.WARNING, logger="srl_tf"):
        srl_tf.xla_cache(tmp_path)
    assert any("already compiled" in r.getMessage() for r in caplog.records)


def test_a_training_process_writes_its_compiled_steps_to_the_cache(tmp_path):
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if k not in ("TF_XLA_FLAGS", "SRL_TF_XLA_CACHE")}
    out = subprocess.run([sys.executable, "-c", CHILD, str(cache)], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), timeout=600)
    assert "TRAINED" in out.stdout and int(out.stdout.split("TRAINED")[1]) > 0, out.stderr[-2000:]
    written = {e: os.stat(cache / e).st_mtime_ns for e in os.listdir(cache) if e.endswith(".pb")}
    assert written, "no compiled executable was written to the cache"
    # a second process with the same configuration loads them: nothing new, nothing written again
    out = subprocess.run([sys.executable, "-c", CHILD, str(cache)], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), timeout=600)
    assert "TRAINED" in out.stdout, out.stderr[-2000:]
    assert {e: os.stat(cache / e).st_mtime_ns for e in os.listdir(cache) if e.endswith(".pb")} == written
