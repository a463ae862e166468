"""Dreamer with V1 / V2 / V3 presets (Hafner et al. 2020, 2021, 2023): a world model (encoder,
RSSM, decoder, reward and continue heads) learned from replayed sequences, and an actor and a
critic learned from trajectories imagined by it.

>>> from srl_tf.algorithms import dreamer_v3
>>> rl_config = dreamer_v3.Config(lr_model=1e-4, lr_critic=1e-4, lr_actor=2e-5)
>>> rl_config.set_dreamer_v3()                 # or set_dreamer_v1() / set_dreamer_v2()
>>> rl_config.set_model_size("S")              # 'tiny', 'XS', 'S', 'M', 'L', 'XL'
>>> srl_tf.Runner(srl_tf.EnvConfig("Pendulum-v1"), rl_config).train(max_steps=30_000)
"""

from srl_tf.algorithms.dreamer_v3.agent import Agent
from srl_tf.algorithms.dreamer_v3.config import MODEL_SIZES, Config

__all__ = ["Agent", "Config", "MODEL_SIZES"]
