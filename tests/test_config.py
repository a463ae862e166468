"""Configuration objects: schedules, blocks, typo guards and validation messages."""

import math

import pytest

from srl_tf.algorithms import dqn
from srl_tf.config import BlockConfig, EnvConfig, MemoryConfig, Schedule
from srl_tf.errors import ConfigError

# ------------------------------------------------------------------------------------------
# Schedule
# ------------------------------------------------------------------------------------------


def test_constant_schedule_is_the_same_at_every_step():
    s = Schedule(0.25)
    assert s.kind == "constant"
    assert [s.value(t) for t in (0, 10, 10**9)] == [0.25, 0.25, 0.25]
    assert Schedule().set_constant(3).value(123) == 3.0


def test_linear_schedule_start_middle_end_and_past_the_end():
    s = Schedule().set_linear(1.0, 0.1, steps=100)
    assert s.value(0) == pytest.approx(1.0)
    assert s.value(50) == pytest.approx(0.55)
    assert s.value(100) == pytest.approx(0.1)
    assert s.value(10_000) == pytest.approx(0.1)
    assert s.value(-5) == pytest.approx(1.0)  # negative steps clamp to the start


def test_cosine_schedule_start_middle_end_and_past_the_end():
    s = Schedule().set_cosine(1.0, steps=200, end=0.2)
    assert s.value(0) == pytest.approx(1.0)
    assert s.value(100) == pytest.approx(0.6)  # halfway: mean of start and end
    assert s.value(50) == pytest.approx(0.2 + 0.4 * (1 + math.cos(math.pi / 4)))
    assert s.value(200) == pytest.approx(0.2)
    assert s.value(5_000) == pytest.approx(0.2)


def test_constant_schedule_to_keras_is_a_plain_float():
    assert Schedule(3e-4).to_keras() == pytest.approx(3e-4)
    assert isinstance(Schedule(3e-4).to_keras(), float)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Schedule().set_linear(1e-3, 1e-4, steps=1000),
        lambda: Schedule().set_cosine(1e-3, steps=1000, end=1e-4),
    ],
    ids=["linear", "cosine"],
)
def test_decaying_schedule_to_keras_matches_value(make):
    import keras

    s = make()
    ks = s.to_keras()
    assert isinstance(ks, keras.optimizers.schedules.LearningRateSchedule)
    for step in (0, 250, 500, 1000, 5000):
        assert float(ks(step)) == pytest.approx(s.value(step), rel=1e-4), step


# ------------------------------------------------------------------------------------------
# BlockConfig
# ------------------------------------------------------------------------------------------


def test_block_set_mlp_sets_sizes_activation_and_layer_norm():
    b = BlockConfig().set_mlp([32, 16.0], activation="tanh", layer_norm=True)
    assert (b.kind, b.layer_sizes, b.activation, b.layer_norm) == ("mlp", (32, 16), "tanh", True)
    b.check("hidden_block")


def test_block_set_cnn_sets_preset_and_activation():
    b = BlockConfig().set_cnn("small", activation="elu")
    assert (b.kind, b.cnn_preset, b.activation) == ("cnn", "small", "elu")
    b.check("image_block")


def test_block_check_rejects_unknown_preset_activation_and_bad_sizes():
    with pytest.raises(ConfigError, match="image_block.*'huge'"):
        BlockConfig().set_cnn("huge").check("image_block")
    with pytest.raises(ConfigError, match="activation='swish2'"):
        BlockConfig().set_mlp((8,), activation="swish2").check("hidden_block")
    with pytest.raises(ConfigError, match=r"hidden_block.*\(8, 0\)"):
        BlockConfig().set_mlp((8, 0)).check("hidden_block")


# ------------------------------------------------------------------------------------------
# Typo guards
# ------------------------------------------------------------------------------------------


def test_unknown_constructor_keyword_suggests_closest_field():
    with pytest.raises(ConfigError, match="batch_sise") as e:
        dqn.Config(batch_sise=3)
    assert "batch_size" in str(e.value)


def test_unknown_attribute_assignment_suggests_closest_field():
    cfg = dqn.Config()
    with pytest.raises(ConfigError, match="'lrr'") as e:
        cfg.lrr = 3
    assert "'lr'" in str(e.value)
    with pytest.raises(ConfigError, match="capacity"):
        cfg.memory.capasity = 10
    with pytest.raises(ConfigError, match="layer_sizes"):
        cfg.hidden_block.layer_size = (3,)
    with pytest.raises(ConfigError, match="'name'"):
        EnvConfig(nam="CartPole-v1")


def test_number_for_a_schedule_field_becomes_a_constant_schedule():
    cfg = dqn.Config(lr=1e-2)
    assert isinstance(cfg.lr, Schedule)
    assert cfg.lr.kind == "constant"
    assert cfg.lr.value(0) == pytest.approx(1e-2) and cfg.lr.value(10**6) == pytest.approx(1e-2)
    cfg.epsilon = 0.3
    assert isinstance(cfg.epsilon, Schedule) and cfg.epsilon.value(5000) == pytest.approx(0.3)
    cfg.validate()


def test_config_instances_do_not_share_mutable_defaults():
    a, b = dqn.Config(), dqn.Config()
    a.memory.capacity = 7
    a.lr.set_constant(0.5)
    a.hidden_block.set_mlp((3,))
    assert b.memory.capacity != 7
    assert b.lr.value(0) != 0.5
    assert b.hidden_block.layer_sizes != (3,)


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------


def test_default_dqn_config_validates():
    dqn.Config().validate()


@pytest.mark.parametrize("value", [0, -1])
def test_batch_size_below_one_names_field_and_value(value):
    cfg = dqn.Config(batch_size=value)
    with pytest.raises(ConfigError, match=rf"batch_size={value}\b"):
        cfg.validate()


def test_warmup_larger_than_capacity_names_both():
    cfg = dqn.Config()
    cfg.memory.capacity = 100
    cfg.memory.warmup_size = 500
    with pytest.raises(ConfigError) as e:
        cfg.validate()
    msg = str(e.value)
    assert "memory.warmup_size=500" in msg and "memory.capacity=100" in msg


def test_warmup_smaller_than_batch_size_is_rejected():
    with pytest.raises(ConfigError, match="batch_size=64"):
        MemoryConfig(capacity=1000, warmup_size=10).check(batch_size=64)


def test_discount_above_one_names_field_and_value():
    with pytest.raises(ConfigError, match=r"discount=1\.5"):
        dqn.Config(discount=1.5).validate()


@pytest.mark.parametrize(
    "setup, pattern",
    [
        (lambda c: c.epsilon.set_linear(1.5, 0.1, 100), r"epsilon.*1\.5"),
        (lambda c: c.epsilon.set_linear(1.0, 1.2, 100), r"epsilon.*1\.2"),
        (lambda c: setattr(c, "epsilon", -0.1), r"epsilon.*-0\.1"),
        (lambda c: setattr(c, "test_epsilon", 2.0), r"test_epsilon=2\.0"),
    ],
    ids=["start-high", "end-high", "negative", "test-epsilon"],
)
def test_epsilon_outside_unit_interval_names_field_and_value(setup, pattern):
    cfg = dqn.Config()
    setup(cfg)
    with pytest.raises(ConfigError, match=pattern):
        cfg.validate()


def test_non_positive_learning_rate_is_rejected():
    with pytest.raises(ConfigError, match=r"lr.*0\.0"):
        dqn.Config(lr=0.0).validate()


# ------------------------------------------------------------------------------------------
# EnvConfig
# ------------------------------------------------------------------------------------------


def test_env_config_defaults_validate():
    EnvConfig().validate()
    EnvConfig("CarRacing-v3", image_resize=(64, 64), frame_stack=4, num_envs=2, vectorization="async").validate()


def test_env_config_zero_envs_is_rejected():
    with pytest.raises(ConfigError, match="num_envs=0"):
        EnvConfig(num_envs=0).validate()


def test_env_config_unknown_vectorization_is_rejected():
    with pytest.raises(ConfigError, match="vectorization='threads'") as e:
        EnvConfig(vectorization="threads").validate()
    assert "sync" in str(e.value) and "async" in str(e.value)


@pytest.mark.parametrize("bad", [64, (64,), (64, 64, 3), (0, 64), (64, -1), ("a", "b"), (32.5, 32)])
def test_env_config_bad_image_resize_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="image_resize"):
        EnvConfig(image_resize=bad).validate()


def test_env_config_rejects_non_positive_repeat_and_stack():
    with pytest.raises(ConfigError, match="action_repeat=0"):
        EnvConfig(action_repeat=0).validate()
    with pytest.raises(ConfigError, match="frame_stack=-2"):
        EnvConfig(frame_stack=-2).validate()
    with pytest.raises(ConfigError, match="max_episode_steps=0"):
        EnvConfig(max_episode_steps=0).validate()


def test_env_config_to_dict_names_a_callable_env():
    def my_env():  # pragma: no cover - never called
        raise AssertionError

    assert EnvConfig(my_env).to_dict()["name"] == "my_env"
