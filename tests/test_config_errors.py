"""Configuration mistakes that coverage showed untested: each is an error naming the value."""

import pytest

from srl_tf import ConfigError, EnvConfig, Runner
from srl_tf.algorithms import dqn


def _dqn(**fields):
    cfg = dqn.Config()
    for name, value in fields.items():
        obj = cfg
        *path, last = name.split(".")
        for part in path:
            obj = getattr(obj, part)
        object.__setattr__(obj, last, value)
    return cfg


@pytest.mark.parametrize(
    "fields,match",
    [
        ({"lr.kind": "step"}, r"lr: unknown schedule kind 'step'"),
        ({"epsilon.steps": 0}, r"epsilon: steps=0 must be >= 1"),
        ({"hidden_block.kind": "rnn"}, r"hidden_block.kind='rnn' is not one of 'mlp', 'cnn'"),
        ({"memory.capacity": 0}, r"memory.capacity=0 must be a positive integer"),
        ({"memory.warmup_size": -1}, r"memory.warmup_size=-1 must be an integer >= 0"),
        ({"seed": 1.5}, r"seed=1.5 .*(an integer|int or None)"),
    ],
)
def test_config_errors_name_the_field_and_value(fields, match):
    with pytest.raises(ConfigError, match=match):
        _dqn(**fields).validate()


def test_env_config_name_of_another_type_is_an_error():
    with pytest.raises(ConfigError, match=r"EnvConfig.name=3 must be a Gymnasium id string or a callable"):
        EnvConfig(3).validate()
    with pytest.raises(ConfigError, match="Expected an EnvConfig, a Gymnasium id or a callable, got int"):
        Runner(3, dqn.Config())
