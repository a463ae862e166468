"""Continuous actions: networks act in [-1, 1]^d, the env receives [low, high]^d.

Checked on an env whose bounds are asymmetric and differ per dimension ([0, 2] and [-3, -1]), where
forgetting the rescale, or rescaling about the wrong centre, sends actions outside the bounds or
leaves part of the range unreachable. Pendulum's symmetric [-2, 2] hides such mistakes, since
clipping alone keeps any action inside it."""

import gymnasium as gym
import numpy as np
import pytest
from contract import act

import srl_tf
from srl_tf.algorithms import actor_critic, ddpg, dreamer_v3, ppo, reinforce, sac
from srl_tf.distributions import from_env_action, to_env_action

LOW = np.array([0.0, -3.0], np.float32)
HIGH = np.array([2.0, -1.0], np.float32)


class RecordingBoxEnv(gym.Env):
    """Two-dimensional Box actions with bounds LOW / HIGH; keeps every action it receives. (The env
    adapter clips actions to the bounds, so a wrong mapping shows as part of the range that is
    never reached.)"""

    def __init__(self, received: list):
        self.received = received
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(LOW, HIGH, dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.uniform(-1, 1, 2).astype(np.float32), {}

    def step(self, action):
        self.received.append(np.array(action, np.float32).copy())
        self.t += 1
        obs = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return obs, -float(np.sum(np.square(action - (LOW + HIGH) / 2))), False, self.t >= 10, {}


def test_to_env_action_maps_the_unit_box_onto_the_bounds():
    raw = np.array([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0], [0.5, -0.5]], np.float32)
    expected = np.array([[0.0, -3.0], [1.0, -2.0], [2.0, -1.0], [1.5, -2.5]], np.float32)
    np.testing.assert_allclose(to_env_action(raw, LOW, HIGH), expected, atol=1e-6)
    np.testing.assert_allclose(from_env_action(expected, LOW, HIGH), raw, atol=1e-6)
    np.testing.assert_allclose(to_env_action(np.array([[3.0, -7.0]]), LOW, HIGH), [[2.0, -3.0]])  # clipped


def _sac():
    cfg = sac.Config(seed=0, batch_size=16)
    cfg.memory.capacity, cfg.memory.warmup_size = 500, 40
    cfg.policy_hidden_block.set_mlp((16,))
    cfg.q_hidden_block.set_mlp((16,))
    return cfg


def _ddpg(td3=False):
    cfg = ddpg.Config(seed=0, batch_size=16, noise_std=0.5)
    if td3:
        cfg.set_td3()
    cfg.memory.capacity, cfg.memory.warmup_size = 500, 40
    cfg.policy_block.set_mlp((16,))
    cfg.q_block.set_mlp((16,))
    return cfg


def _pg(module):
    cfg = module.Config(seed=0)
    cfg.hidden_block.set_mlp((16,))
    if hasattr(cfg, "value_block"):
        cfg.value_block.set_mlp((16,))
    return cfg


def _ppo():
    cfg = ppo.Config(seed=0, batch_size=16)
    cfg.memory.capacity = 32
    cfg.policy_block.set_mlp((16,))
    cfg.value_block.set_mlp((16,))
    return cfg


def _dreamer():
    cfg = dreamer_v3.Config(seed=0, jit_compile=False).set_dreamer_v3()
    cfg.set_model_size("tiny")
    cfg.batch_size, cfg.batch_length, cfg.horizon = 4, 8, 3
    cfg.memory.warmup_size, cfg.memory.capacity = 20, 500
    return cfg


ALGORITHMS = [  # (name, config, whether its memory keeps the normalised actions)
    ("sac", _sac, True),
    ("ddpg", _ddpg, True),
    ("td3", lambda: _ddpg(td3=True), True),
    ("reinforce", lambda: _pg(reinforce), False),
    ("actor_critic", lambda: _pg(actor_critic), False),
    ("ppo", _ppo, False),
    ("dreamer", _dreamer, True),
]


def _stored_actions(agent):
    """The normalised actions an off-policy or world-model agent keeps in its memory, or None."""
    mem = getattr(agent, "memory", None)
    if mem is None or not hasattr(mem, "action") or mem.action.ndim < 3 or mem.action.dtype != np.float32:
        return None
    if hasattr(mem, "valid"):  # replay ring buffer
        return mem.action[mem.valid]
    if hasattr(mem, "is_first"):  # sequence memory: the action slot of an episode's first step is empty
        n = int(mem.written[0])
        return mem.action[0, :n][~mem.is_first[0, :n].astype(bool)]
    return None


@pytest.mark.parametrize("name,make_cfg,stores", ALGORITHMS, ids=[a[0] for a in ALGORITHMS])
def test_actions_reach_the_env_inside_asymmetric_bounds_and_span_them(name, make_cfg, stores):
    received: list = []
    runner = srl_tf.Runner(srl_tf.EnvConfig(lambda: RecordingBoxEnv(received)), make_cfg())
    runner.train(max_steps=80, progress=False)  # warm-up (uniform) and policy actions
    actions = np.array(received)
    assert actions.shape == (80, 2)
    assert np.all(actions >= LOW - 1e-6) and np.all(actions <= HIGH + 1e-6), (actions.min(0), actions.max(0))
    quarter = 0.25 * (HIGH - LOW)
    assert np.all(actions.min(0) <= LOW + quarter) and np.all(actions.max(0) >= HIGH - quarter), (
        actions.min(0),
        actions.max(0),
    )
    stored = _stored_actions(runner.agent)
    assert (stored is not None) == stores
    if stores:  # memory keeps them in [-1, 1], and they map back to what the env got
        assert len(stored) > 0 and np.all(np.abs(stored) <= 1.0)
        back = to_env_action(stored, LOW, HIGH)
        distance = np.abs(back[:, None, :] - actions[None, :, :]).max(-1).min(1)
        assert np.all(distance < 1e-4)
    # the deterministic policy maps into the bounds too
    greedy = act(runner.agent, np.zeros((3, 2), np.float32))
    assert np.all(greedy >= LOW - 1e-6) and np.all(greedy <= HIGH + 1e-6), greedy
