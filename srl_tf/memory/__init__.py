"""Experience memories."""

from srl_tf.memory.replay import Batch, ReplayBuffer

__all__ = ["Batch", "ReplayBuffer"]
