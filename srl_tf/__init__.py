"""srl_tf: reinforcement learning on TensorFlow 2, Keras 3 and TensorFlow Probability."""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from srl_tf import envs  # noqa: E402
from srl_tf.callbacks import Callback  # noqa: E402
from srl_tf.config import EnvConfig  # noqa: E402
from srl_tf.errors import ConfigError, EnvError  # noqa: E402
from srl_tf.runner import Runner  # noqa: E402
from srl_tf.xla import xla_cache  # noqa: E402

load_histories = Runner.load_histories
if _os.environ.get("SRL_TF_XLA_CACHE"):
    xla_cache(_os.environ["SRL_TF_XLA_CACHE"])

__all__ = ["Runner", "EnvConfig", "Callback", "ConfigError", "EnvError", "load_histories", "envs", "xla_cache", "__version__"]
