"""The TD targets' arithmetic: DQN's double-DQN target, discount and terminal masking from the replay
batch (n-step), its Huber loss and the ε schedule applied inside ``act``; the critic targets of
DDPG, TD3 (target-policy smoothing) and SAC (entropy term), computed by hand from the agents' own
target networks."""

import numpy as np
import pytest
import tensorflow as tf
from contract import act

import srl_tf
from srl_tf.algorithms import ddpg, dqn, sac
from srl_tf.algorithms.dqn import _huber
from srl_tf.distributions import tanh_normal_sample
from srl_tf.envs.adapter import Step


def _agent(double: bool, multisteps: int = 1, **kw):
    cfg = dqn.Config(seed=0, batch_size=32, enable_double_dqn=double, multisteps=multisteps, huber_delta=1e6, **kw)
    cfg.memory.capacity, cfg.memory.warmup_size = 500, 32
    cfg.hidden_block.set_mlp((16,))
    agent = srl_tf.Runner("CartPole-v1", cfg).agent
    # a target network that differs from the online one, so that double DQN's choice matters
    rng = np.random.default_rng(1)
    agent.q_target.set_weights([w + rng.normal(0.0, 1.5, w.shape).astype(w.dtype) for w in agent.q.get_weights()])
    return agent


def _expected_loss(agent, obs, action, reward, next_obs, discount, double):
    q = agent.q(obs).numpy()[np.arange(len(action)), action]
    q_next_target = agent.q_target(next_obs).numpy()
    chooser = agent.q(next_obs).numpy() if double else q_next_target
    next_v = q_next_target[np.arange(len(action)), chooser.argmax(-1)]
    target = reward + discount * next_v
    return float(np.mean(0.5 * (target - q) ** 2))  # Huber with a huge delta: half the squared error


@pytest.mark.parametrize("double", [True, False], ids=["double", "plain"])
def test_dqn_loss_uses_the_double_dqn_target_with_the_batch_discount(double):
    agent = _agent(double)
    rng = np.random.default_rng(0)
    b = agent.config.batch_size
    obs = rng.normal(size=(b, 4)).astype(np.float32)
    next_obs = rng.normal(size=(b, 4)).astype(np.float32)
    action = rng.integers(0, 2, b).astype(np.int32)
    reward = 0.1 * rng.normal(size=b).astype(np.float32)
    gamma = agent.config.discount
    discount = np.tile(np.array([gamma, 0.0, gamma**3, gamma], np.float32), b // 4)  # 0: terminated
    expected = _expected_loss(agent, obs, action, reward, next_obs, discount, double)
    # the alternatives a broken target would compute are far from it
    other = _expected_loss(agent, obs, action, reward, next_obs, discount, not double)
    no_mask = _expected_loss(agent, obs, action, reward, next_obs, np.full(b, gamma, np.float32), double)
    assert abs(other - expected) > 0.05 * expected and abs(no_mask - expected) > 0.05 * expected
    metrics = agent._train(*(tf.constant(x[None]) for x in (obs, action, reward, next_obs, discount)))
    assert float(metrics["loss"]) == pytest.approx(expected, rel=1e-4)


def test_dqn_trains_on_n_step_returns_with_terminal_masking():
    """multisteps=3 through the agent's memory: rewards summed over three steps with γ^i, the
    bootstrap discounted by γ³, or cut where the episode terminated within the three steps."""
    agent = _agent(True, multisteps=3)
    gamma = agent.config.discount
    obs = [np.full((1, 4), 0.1 * i, np.float32) for i in range(7)]
    for t in range(6):  # one episode of 6 steps, rewards 1, 2, ..., 6, terminated at the end
        end = t == 5
        step = Step(obs[t + 1], np.array([t + 1.0], np.float32), np.array([end]), np.array([False]), obs[t + 1])
        agent.observe(step, {"obs": obs[t], "action": np.array([t % 2], np.int32)})
    batch = agent.memory.sample(agent.config.batch_size, agent.rng)
    starts = np.round(batch.obs[:, 0] * 10).astype(int)
    assert len(set(starts)) > 2
    for t, reward, discount, next_obs in zip(starts, batch.reward, batch.discount, batch.next_obs[:, 0]):
        n = min(3, 6 - t)
        assert reward == pytest.approx(sum(gamma**i * (t + 1 + i) for i in range(n)), rel=1e-5)
        assert discount == pytest.approx(gamma**3 if t + 3 < 6 else 0.0, rel=1e-5)
        assert next_obs == pytest.approx(0.1 * (t + n))
    expected = _expected_loss(agent, *batch[:5], double=True)
    metrics = agent._train(*(tf.constant(x[None]) for x in batch[:5]))
    assert float(metrics["loss"]) == pytest.approx(expected, rel=1e-4)


def test_epsilon_decays_with_env_steps_inside_act():
    cfg = dqn.Config(seed=0, batch_size=8)
    cfg.memory.capacity, cfg.memory.warmup_size = 500, 8
    cfg.hidden_block.set_mlp((8,))
    cfg.epsilon.set_linear(1.0, 0.0, 1_000)
    runner = srl_tf.Runner("CartPole-v1", cfg)
    runner.train(max_steps=20, progress=False)  # warm-up is over: ε comes from the schedule
    agent = runner.agent
    obs = np.zeros((4000, 4), np.float32)  # one state: the greedy action is the same for every row
    greedy = act(agent, obs)
    assert len(set(greedy)) == 1

    def random_share(env_steps):
        agent.env_steps = env_steps
        # a random action disagrees with the greedy one half the time
        return 2.0 * np.mean(act(agent, obs, explore=True) != greedy)

    assert random_share(0) == pytest.approx(1.0, abs=0.06)
    assert random_share(500) == pytest.approx(0.5, abs=0.06)
    assert random_share(900) == pytest.approx(0.1, abs=0.04)
    assert random_share(2_000) == 0.0


def test_huber_is_half_the_square_inside_delta_and_linear_outside():
    x = tf.constant([-3.0, -1.0, 0.5, 1.0, 2.5])
    np.testing.assert_allclose(_huber(x, 1.0).numpy(), [2.5, 0.5, 0.125, 0.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(_huber(x, 2.0).numpy(), [4.0, 0.5, 0.125, 0.5, 3.0], rtol=1e-6)


def _critic_batch(agent, seed: int, n=64):
    """A batch (reward, next_obs, discount) and the agent's critic target on it, computed with its
    generator reset to ``seed``."""
    rng = np.random.default_rng(3)
    next_obs = rng.normal(0.0, 1.0, (n, 3)).astype(np.float32)
    reward = rng.normal(0.0, 1.0, n).astype(np.float32)
    discount = np.where(rng.random(n) < 0.3, 0.0, 0.9).astype(np.float32)  # terminated → 0
    # a second target critic that is minus the first (its output layer negated), so that the
    # minimum picks each of them on part of the batch
    for q in agent.q_target[1:]:
        weights = agent.q_target[0].get_weights()
        q.set_weights(weights[:-2] + [-weights[-2], -weights[-1]])
    agent.tf_rng.reset_from_seed(seed)
    y = agent.critic_target(tf.constant(reward), tf.constant(next_obs), tf.constant(discount)).numpy().reshape(-1)
    return reward, next_obs, discount, y


def _min_q(agent, next_obs, next_action):
    return np.min([q(next_obs, next_action).numpy().reshape(-1) for q in agent.q_target], axis=0)


@pytest.mark.parametrize("td3", [False, True], ids=["ddpg", "td3"])
def test_ddpg_and_td3_critic_target_by_hand(td3):
    cfg = ddpg.Config(seed=0, batch_size=16)
    if td3:
        cfg.set_td3()
        cfg.target_policy_noise, cfg.target_noise_clip = 0.8, 3.0  # wide enough to push actions past ±1
    cfg.policy_block.set_mlp((16,))
    cfg.q_block.set_mlp((16,))
    agent = srl_tf.Runner("Pendulum-v1", cfg).agent
    reward, next_obs, discount, y = _critic_batch(agent, seed=11)
    next_action = agent.actor_target(next_obs).numpy()
    if td3:
        agent.tf_rng.reset_from_seed(11)
        noise = cfg.target_policy_noise * agent.tf_rng.normal(next_action.shape).numpy()
        next_action = np.clip(next_action + np.clip(noise, -3.0, 3.0), -1.0, 1.0)
        assert np.any(np.abs(next_action) == 1.0)  # the clip to the action box was exercised
        q1, q2 = (q(next_obs, next_action.astype(np.float32)).numpy().reshape(-1) for q in agent.q_target)
        assert np.any(q1 < q2) and np.any(q2 < q1)  # the minimum matters
    expected = reward + discount * _min_q(agent, next_obs, next_action.astype(np.float32))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert len(agent.q_target) == (2 if td3 else 1)


def test_sac_critic_target_by_hand():
    cfg = sac.Config(seed=0, batch_size=16, initial_alpha=0.5)
    cfg.policy_hidden_block.set_mlp((16,))
    cfg.q_hidden_block.set_mlp((16,))
    agent = srl_tf.Runner("Pendulum-v1", cfg).agent
    reward, next_obs, discount, y = _critic_batch(agent, seed=5)
    agent.tf_rng.reset_from_seed(5)  # the same a' ~ π(·|s')
    next_action, log_prob = tanh_normal_sample(agent.actor.distribution(tf.constant(next_obs)), agent._seed())
    alpha = float(agent.temperature())
    assert alpha == pytest.approx(0.5)
    soft_v = _min_q(agent, next_obs, next_action) - alpha * log_prob.numpy().reshape(-1)
    np.testing.assert_allclose(y, reward + discount * soft_v, rtol=1e-5, atol=1e-6)
