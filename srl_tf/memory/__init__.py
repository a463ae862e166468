"""Experience memories."""

from srl_tf.memory.replay import Batch, ReplayBuffer
from srl_tf.memory.rollout import RolloutBuffer

__all__ = ["Batch", "ReplayBuffer", "RolloutBuffer"]
