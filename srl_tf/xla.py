"""A compilation cache on disk for srl_tf's XLA-compiled steps.

XLA compiles each ``jit_compile=True`` function of an agent the first time it runs, which for
Dreamer takes tens of seconds. With a cache directory, TensorFlow writes each compiled executable
there and a later process that compiles the same function (same configuration, shapes, TensorFlow
version and device) loads it instead of compiling again; the trace itself still runs.

    import srl_tf
    srl_tf.xla_cache("~/.cache/srl_tf/xla")   # before the first train step of the process

The setting is TensorFlow's ``--tf_xla_persistent_cache_directory`` XLA flag, which TensorFlow reads
once, at the first XLA compilation of the process: :func:`xla_cache` has no effect after that and
says so. Setting the environment variable ``SRL_TF_XLA_CACHE`` to a directory does the same at
import time.
"""

from __future__ import annotations

import os
import shlex

from srl_tf.errors import ConfigError
from srl_tf.logs import logger

FLAG = "--tf_xla_persistent_cache_directory"
_compiled = False  # set by the first XLA-compiled call of the process (see ``note_compiled``)


def note_compiled() -> None:
    global _compiled
    _compiled = True


def xla_cache(directory: str | os.PathLike | None) -> str | None:
    """Keeps XLA's compiled executables in ``directory`` (created if missing) so that later
    processes load them instead of compiling; None turns the cache off for a process that has not
    compiled yet. Returns the absolute directory."""
    flags = [f for f in shlex.split(os.environ.get("TF_XLA_FLAGS", "")) if not f.startswith(FLAG + "=")]
    path = None
    if directory is not None:
        path = os.path.abspath(os.path.expanduser(os.fspath(directory)))
        if os.path.exists(path) and not os.path.isdir(path):
            raise ConfigError(f"xla_cache(directory={str(directory)!r}): that path is a file, not a directory.")
        os.makedirs(path, exist_ok=True)
        flags.append(f"{FLAG}={path}")
    if _compiled:
        logger.warning("xla_cache(): this process has already compiled a step with XLA, and TensorFlow reads its "
                       "XLA flags only once; the cache applies to new processes only. Call it before training.")
    os.environ["TF_XLA_FLAGS"] = " ".join(shlex.quote(f) for f in flags)
    return path
