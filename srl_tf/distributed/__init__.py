"""Training with many actor processes on Ray and one learner: :meth:`srl_tf.Runner.train_mp`.

Algorithms know nothing of Ray: actors use the agent contract (``act`` with weights from
``set_weights``), the learner ``observe`` / ``update``. Ray is an optional dependency
(``pip install -e ".[distributed]"``) imported only when ``train_mp`` runs.
"""

from srl_tf.distributed.actor import Actor, actor_seeds
from srl_tf.distributed.learner import train_on_ray

__all__ = ["Actor", "actor_seeds", "train_on_ray"]
