"""Checkpoints of a whole run, written atomically and verified on load.

One checkpoint is a directory ``<root>/ckpt-<env step>/`` holding

- ``tf/``: a ``tf.train.Checkpoint`` of every trackable object (Keras models, optimizers with their
  slots and iteration counts, ``tf.Variable`` counters and EMAs, ``tf.random.Generator`` states);
- ``arrays.npz``: plain numpy arrays (replay memories as stored, uint8 images staying uint8, ring
  positions, per-env carries), written uncompressed and read with ``allow_pickle=False``;
- ``meta.json``: counters, numpy generator states, the algorithm and the shapes it was built for,
  and a manifest of every file with its size, written last.

A checkpoint is written into ``<root>/.tmp-...``, every file is flushed to disk, and the directory
is renamed into place, so a process killed at any moment leaves either the complete checkpoint or
none. On load, directories are tried newest first; one that fails its manifest check is skipped with
a warning naming it. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time

import numpy as np

from srl_tf.errors import ConfigError
from srl_tf.logs import logger

FORMAT = 1
_NAME = re.compile(r"^ckpt-(\d+)$")


def _fsync_tree(path: str) -> None:
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(root)


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _manifest(path: str) -> dict[str, int]:
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, path)
            if rel != "meta.json":
                out[rel] = os.path.getsize(full)
    return out


def checkpoints(root: str) -> list[tuple[int, str]]:
    """(step, path) of the checkpoint directories under ``root``, newest first."""
    if not os.path.isdir(root):
        return []
    found = []
    for name in os.listdir(root):
        m = _NAME.match(name)
        if m and os.path.isdir(os.path.join(root, name)):
            found.append((int(m.group(1)), os.path.join(root, name)))
    return sorted(found, reverse=True)


def verify(path: str) -> str | None:
    """None if the checkpoint at ``path`` is complete, else what is wrong with it."""
    meta_path = os.path.join(path, "meta.json")
    if not os.path.exists(meta_path):
        return "meta.json is missing (the write did not finish)"
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        return f"meta.json cannot be read ({e})"
    if meta.get("format") != FORMAT:
        return f"format {meta.get('format')!r} is not {FORMAT}"
    for rel, size in meta.get("files", {}).items():
        full = os.path.join(path, rel)
        if not os.path.exists(full):
            return f"{rel} is missing"
        if os.path.getsize(full) != size:
            return f"{rel} has {os.path.getsize(full)} bytes, the manifest says {size}"
    return None


def latest(root: str) -> str | None:
    """The newest complete checkpoint under ``root``; incomplete ones are skipped with a warning."""
    for _, path in checkpoints(root):
        problem = verify(path)
        if problem is None:
            return path
        logger.warning(f"checkpoint {path} is skipped: {problem}")
    return None


def save(root: str, step: int, trackables: dict, arrays: dict[str, np.ndarray], meta: dict, keep: int = 3) -> str:
    """Writes one checkpoint atomically and keeps the newest ``keep`` ones; returns its path."""
    import tensorflow as tf

    if os.path.exists(root) and not os.path.isdir(root):
        raise ConfigError(f"checkpoint directory '{root}' is a file; pass a directory path.")
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, f"ckpt-{step:012d}")
    if os.path.isdir(final) and verify(final) is None:
        return final  # this step is saved already (nothing changes the state between saves at one step)
    tmp = os.path.join(root, f".tmp-ckpt-{step:012d}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    tf.train.Checkpoint(**trackables).write(os.path.join(tmp, "tf", "state"))
    with open(os.path.join(tmp, "arrays.npz"), "wb") as f:
        np.savez(f, **arrays)
    meta = {
        **meta,
        "format": FORMAT,
        "step": int(step),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "arrays": {k: [list(v.shape), str(v.dtype)] for k, v in arrays.items()},
        "files": _manifest(tmp),
    }
    with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    _fsync_tree(tmp)
    if os.path.isdir(final):  # an incomplete directory of the same step (left by an old writer)
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(root)
    _prune(root, keep)
    return final


def _prune(root: str, keep: int) -> None:
    for _, path in checkpoints(root)[keep:]:
        shutil.rmtree(path, ignore_errors=True)
    for name in os.listdir(root):  # temporary directories of writers that were killed
        if name.startswith(".tmp-ckpt-") and not name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def read_meta(path: str) -> dict:
    with open(os.path.join(path, "meta.json"), encoding="utf-8") as f:
        return json.load(f)


def load(path: str, trackables: dict) -> tuple[dict[str, np.ndarray], dict]:
    """Restores ``trackables`` from the checkpoint at ``path``; returns its arrays and meta."""
    import tensorflow as tf

    meta = read_meta(path)
    status = tf.train.Checkpoint(**trackables).read(os.path.join(path, "tf", "state"))
    status.assert_existing_objects_matched()
    with np.load(os.path.join(path, "arrays.npz"), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return arrays, meta


# ---- plain-array state of host objects (memories, per-env carries) ------------------------------


def pack_fields(obj, names: tuple[str, ...], prefix: str, out: dict[str, np.ndarray], rows: int | None = None) -> None:
    """Adds ``obj``'s attributes ``names`` to ``out`` as arrays named ``prefix.name`` (dicts of
    arrays as ``prefix.name.key``; None is left out). With ``rows``, arrays shaped (envs, slots,
    ...) keep only their first ``rows`` slots: a ring buffer that is not full yet costs only what
    it holds."""
    for name in names:
        value = getattr(obj, name)
        if value is None:
            continue
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for key, arr in items:
            arr = np.asarray(arr)
            if rows is not None:
                arr = arr[:, :rows]
            out[f"{prefix}.{name}" if key is None else f"{prefix}.{name}.{key}"] = arr


def unpack_fields(obj, names: tuple[str, ...], prefix: str, arrays: dict[str, np.ndarray], rows: bool = False) -> None:
    """Sets ``obj``'s attributes ``names`` from :func:`pack_fields` output, refusing arrays whose
    shape or dtype differ from what ``obj`` was built with (with ``rows``, the saved slots fill the
    front of the preallocated arrays)."""
    for name in names:
        current = getattr(obj, name)
        key = f"{prefix}.{name}"
        if isinstance(current, dict):
            setattr(obj, name, {k: _checked(f"{key}.{k}", v, arrays, rows) for k, v in current.items()})
        elif isinstance(current, np.ndarray):
            setattr(obj, name, _checked(key, current, arrays, rows))
        elif key not in arrays:
            setattr(obj, name, None)
        elif current is None:
            setattr(obj, name, np.array(arrays[key]))
        else:  # a Python scalar
            setattr(obj, name, type(current)(arrays[key].item()))


def _checked(key: str, current: np.ndarray, arrays: dict[str, np.ndarray], rows: bool = False) -> np.ndarray:
    if key not in arrays:
        raise ConfigError(f"checkpoint has no array '{key}'; it was written by another configuration.")
    saved = arrays[key]
    if rows and saved.dtype == current.dtype and saved.ndim == current.ndim and saved.ndim >= 2:
        if saved.shape[0] == current.shape[0] and saved.shape[2:] == current.shape[2:] and saved.shape[1] <= current.shape[1]:
            out = np.zeros_like(current)
            out[:, : saved.shape[1]] = saved
            return out
    if saved.shape != current.shape or saved.dtype != current.dtype:
        raise ConfigError(
            f"checkpoint array '{key}' is {saved.dtype}{list(saved.shape)} but this run needs "
            f"{current.dtype}{list(current.shape)}: the checkpoint was written with another env or configuration."
        )
    return np.array(saved)
