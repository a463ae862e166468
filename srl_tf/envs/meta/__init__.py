"""Meta-RL (RL², Duan et al. 2016) task families, the trial wrapper and meta-test evaluation.

>>> EnvConfig(lambda: bandit_trial_env(arms=5, pulls=10))   # 10 one-pull episodes per sampled bandit
>>> EnvConfig(lambda: navigation_trial_env(episodes_per_trial=3, steps=20))   # hidden 2-D goals
>>> returns = evaluate_trials(runner, trials=200)           # held-out tasks: (trials, episodes_per_trial)
>>> plot_adaptation_curve(returns, "adaptation.png")        # mean return of episode 1, 2, ... of a trial
"""

from srl_tf.envs.meta.bandits import BernoulliBandit, bandit_trial_env
from srl_tf.envs.meta.evaluation import HELD_OUT_TASK_SEED, evaluate_trials, find_meta_trial, plot_adaptation_curve
from srl_tf.envs.meta.navigation import PointNavigation, navigation_trial_env
from srl_tf.envs.meta.trial import MetaTrial

__all__ = [
    "HELD_OUT_TASK_SEED",
    "BernoulliBandit",
    "MetaTrial",
    "PointNavigation",
    "bandit_trial_env",
    "evaluate_trials",
    "find_meta_trial",
    "navigation_trial_env",
    "plot_adaptation_curve",
]
