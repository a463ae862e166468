"""Meta-RL (RL², Duan et al. 2016) task families and the trial wrapper.

>>> EnvConfig(lambda: bandit_trial_env(arms=5, pulls=10))   # 10 one-pull episodes per sampled bandit
"""

from srl_tf.envs.meta.bandits import BernoulliBandit, bandit_trial_env
from srl_tf.envs.meta.trial import MetaTrial

__all__ = ["BernoulliBandit", "MetaTrial", "bandit_trial_env"]
