"""A trained policy as a TensorFlow SavedModel or a TFLite flatbuffer that acts without srl_tf.

The agent gives its acting step as TensorFlow ops (:meth:`srl_tf.algorithms.base.Agent.policy_graph`);
this module adds the env side of :meth:`~srl_tf.algorithms.base.Agent.act` (continuous actions
clipped to [-1, 1] and mapped to the env's bounds, a split action's index looked up in its table of
continuous actions, discrete actions as int64) and the carry (recurrent state and ``is_first``),
and writes a ``tf.Module`` with two functions of fixed input signature:

``initial_carry(batch_size) -> carry``
    The carry of ``batch_size`` streams whose episodes begin: an empty dict for feed-forward
    policies, else the recurrent state and ``is_first`` (bool, True).
``act(obs, carry[, seed]) -> (action, carry)``
    Env-ready actions for a batch of observations (as the agent sees them: after the env
    wrappers of the run, such as frame stacking and image resizing), and the next carry with
    ``is_first`` cleared. Set ``carry["is_first"]`` to True where an episode ends (or start again
    from ``initial_carry``). An exploring policy (``explore=True``) also takes ``seed``, a
    stateless seed (int32 (2,)): its random ops are stateless, so the same seed gives the same
    action.

The SavedModel also holds both as signatures with flat, named tensors (``obs``, ``carry_<key>``,
``seed`` in; ``action``, ``carry_<key>`` out), which is what TFLite is converted from.

>>> runner.export_policy("export/cartpole_dqn")                                  # SavedModel
>>> runner.export_policy("export/cartpole_dqn.tflite", format="tflite")
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from srl_tf.distributions import to_env_action
from srl_tf.errors import ConfigError
from srl_tf.logs import logger

FORMATS = ("saved_model", "tflite")


class PolicyModule(tf.Module):
    """The exported policy: ``act`` and ``initial_carry`` (see the module doc) over the variables
    the agent's acting step reads, and nothing else of the agent."""

    def __init__(self, agent, explore: bool = False, action_table: np.ndarray | None = None):
        super().__init__(name="policy")
        spec = agent.spec
        graph = agent.policy_graph(explore)
        start = {k: np.asarray(v) for k, v in graph.initial_carry.items()}
        carry_spec = {k: tf.TensorSpec((None,) + v.shape[1:], tf.as_dtype(v.dtype), name=k) for k, v in start.items()}
        if carry_spec:
            carry_spec["is_first"] = tf.TensorSpec((None,), tf.bool, name="is_first")
        obs_spec = agent.obs_signature()
        table = None if action_table is None else tf.constant(action_table, tf.float32)
        low, high = spec.action_low, spec.action_high

        def env_action(action):
            if table is not None:  # the continuous action behind each index of a split action space
                return tf.gather(table, action)
            if spec.discrete:
                return tf.cast(action, tf.int64)
            return to_env_action(action, low, high)

        def act(obs, carry, seed=None):
            action, carry = graph.fn(obs, dict(carry), seed)
            carry = {k: carry[k] for k in carry_spec}
            if "is_first" in carry:
                carry["is_first"] = tf.zeros_like(carry["is_first"])
            return env_action(action), carry

        def initial_carry(batch_size):
            carry = {k: tf.tile(tf.constant(v), [batch_size] + [1] * (v.ndim - 1)) for k, v in start.items()}
            if carry:
                carry["is_first"] = tf.ones([batch_size], tf.bool)
            return carry

        seed_spec = [tf.TensorSpec((2,), tf.int32, name="seed")] if explore else []
        self.act = tf.function(act, input_signature=[obs_spec, carry_spec, *seed_spec])
        self.initial_carry = tf.function(initial_carry, input_signature=[tf.TensorSpec((), tf.int32, name="batch_size")])

        # the same as flat, named tensors (signatures of the SavedModel, the TFLite entry points)
        obs_names = sorted(obs_spec) if isinstance(obs_spec, dict) else None
        flat_obs = (
            [tf.TensorSpec(obs_spec[k].shape, obs_spec[k].dtype, name=f"obs_{k}") for k in obs_names]
            if obs_names else [tf.TensorSpec(obs_spec.shape, obs_spec.dtype, name="obs")]
        )
        keys = list(carry_spec)
        flat_carry = [tf.TensorSpec(s.shape, s.dtype, name=f"carry_{k}") for k, s in carry_spec.items()]

        def act_flat(*args):
            n_obs = len(flat_obs)
            obs = dict(zip(obs_names, args[:n_obs])) if obs_names else args[0]
            carry = dict(zip(keys, args[n_obs : n_obs + len(keys)]))
            action, carry = act(obs, carry, *args[n_obs + len(keys) :])
            return {"action": action, **{f"carry_{k}": v for k, v in carry.items()}}

        def initial_carry_flat(batch_size):
            return {f"carry_{k}": v for k, v in initial_carry(batch_size).items()}

        self.act_flat = tf.function(act_flat, input_signature=flat_obs + flat_carry + seed_spec)
        self.initial_carry_flat = tf.function(initial_carry_flat, input_signature=[tf.TensorSpec((), tf.int32, name="batch_size")])
        # only the variables the acting step reads are kept (not critics, decoders or optimizers)
        self.policy_variables = list(self.act.get_concrete_function().variables)
        self._carry_keys = tuple(keys)

    def signatures(self) -> dict:
        out = {"act": self.act_flat.get_concrete_function()}
        if self._carry_keys:  # a feed-forward policy's carry is empty: nothing to start
            out["initial_carry"] = self.initial_carry_flat.get_concrete_function()
        return out


def export_policy(
    agent,
    path: str,
    format: str = "saved_model",
    explore: bool = False,
    overwrite: bool = False,
    quantize: bool = False,
    action_table: np.ndarray | None = None,
) -> str:
    """Writes ``agent``'s policy to ``path`` as a SavedModel directory or a ``.tflite`` file and
    returns the path. ``quantize`` (TFLite only): dynamic-range quantisation of the weights to int8.
    ``action_table``: the continuous env action of each index where the env's action space was
    split (:attr:`srl_tf.envs.VecEnvAdapter.action_table`)."""
    check_request(agent, path, format, explore, overwrite, quantize)
    module = PolicyModule(agent, explore, action_table)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent, prefix=".export-") as tmp:
        saved = os.path.join(tmp, "saved_model")
        tf.saved_model.save(module, saved, signatures=module.signatures())
        if format == "tflite":
            result = os.path.join(tmp, "policy.tflite")
            with open(result, "wb") as f:
                f.write(_to_tflite(saved, list(module.signatures()), quantize, agent.config.name))
        else:
            result = saved
        if os.path.exists(path):  # overwrite=True was checked
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        os.replace(result, path)
    logger.info(f"policy of {agent.config.name} exported to {path} ({format}{', exploring' if explore else ''})")
    return path


def check_request(agent, path: str, format: str, explore: bool, overwrite: bool, quantize: bool) -> None:
    """Raises :class:`ConfigError` for what cannot be exported as asked (before anything is traced)."""
    if format == "tfjs":
        raise ConfigError(
            "export_policy(format='tfjs') is not supported: export a SavedModel (format='saved_model') and convert it "
            "with tensorflowjs_converter in an environment of its own (tensorflowjs 4.22 requires TensorFlow 2.19)."
        )
    if format not in FORMATS:
        raise ConfigError(f"export_policy(format={format!r}): choose one of {', '.join(map(repr, FORMATS))}.")
    if explore and format == "tflite":
        raise ConfigError(
            f"export_policy: the exploring policy of {agent.config.name} cannot be converted to 'tflite': it draws "
            "stateless random numbers (StatelessRandom* ops), which are no TFLite builtin ops. Export explore=False "
            "for TFLite, or format='saved_model' with explore=True."
        )
    if quantize and format != "tflite":
        raise ConfigError("export_policy(quantize=True) quantises a TFLite model; pass format='tflite' with it.")
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ConfigError(f"export_policy(path={path!r}): expected a file or directory path.")
    if os.path.exists(path) and not overwrite:
        raise ConfigError(f"export_policy: '{path}' exists; pass overwrite=True to replace it, or choose another path.")


def _to_tflite(saved_model: str, signatures: list[str], quantize: bool, algorithm: str) -> bytes:
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=signatures)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        return converter.convert()
    except Exception as e:  # the converter's error, said in terms of the policy
        text = str(e)
        ops = re.search(r"TF Select ops: ([^\n]+)", text)
        reason = f"these ops are not TFLite builtins: {ops.group(1)}" if ops else text.strip().splitlines()[-1][:300]
        raise ConfigError(
            f"export_policy: {algorithm} cannot be converted to 'tflite' with TFLite's builtin ops: {reason}. "
            "Export format='saved_model' instead."
        ) from None
