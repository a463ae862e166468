"""Environment adapters: Gymnasium envs with srl_tf's processing behind one batched interface."""

from srl_tf.envs.adapter import EnvSpec, Step, VecEnvAdapter, make_env, spec_of

__all__ = ["EnvSpec", "Step", "VecEnvAdapter", "make_env", "spec_of"]
