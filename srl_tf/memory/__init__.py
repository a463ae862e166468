"""Experience memories."""

from srl_tf.memory.replay import Batch, ReplayBuffer
from srl_tf.memory.rollout import RolloutBuffer
from srl_tf.memory.sequence import SequenceBatch, SequenceMemory

__all__ = ["Batch", "ReplayBuffer", "RolloutBuffer", "SequenceBatch", "SequenceMemory"]
