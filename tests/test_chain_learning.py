"""Learning on a corridor whose only reward comes at its end (toy_envs.ChainEnv).

The values learned for the first cells exist only through bootstrapping, and their size is set by
the discount: from the start the best return is γ^(n − 2). A target that drops the bootstrap
leaves them near 0, one that drops the discount lifts them to 1, so the assertions below (values
within a few hundredths of γ^k) fail for either."""

import numpy as np
from toy_envs import ChainEnv, ContinuousChainEnv

import srl_tf
from srl_tf.algorithms import actor_critic, ddpg, dqn, ppo, reinforce

GAMMA = 0.9
CELLS = 5
CELL_OBS = np.eye(CELLS, dtype=np.float32)
# the best discounted return from each cell but the last (the reward comes on entering the last)
OPTIMAL_V = GAMMA ** np.arange(CELLS - 2, -1, -1)  # [γ³, γ², γ, 1]


def chain():
    return srl_tf.EnvConfig(lambda: ChainEnv(CELLS, 30))


def test_dqn_q_values_on_the_chain_are_discounted_bootstrapped_returns():
    cfg = dqn.Config(seed=0, batch_size=32, discount=GAMMA, lr=5e-3)
    cfg.memory.capacity, cfg.memory.warmup_size = 2_000, 100
    cfg.hidden_block.set_mlp((32,))
    cfg.epsilon.set_linear(1.0, 0.1, 600)
    cfg.target_model_update_interval = 50
    runner = srl_tf.Runner(chain(), cfg)
    runner.train(max_steps=1_500, progress=False)
    q = runner.agent.q(CELL_OBS[:-1]).numpy()
    np.testing.assert_allclose(q[:, 1], OPTIMAL_V, atol=0.05)  # right: the shortest way to the reward
    np.testing.assert_allclose(q[:, 0], GAMMA * OPTIMAL_V[[0, 0, 1, 2]], atol=0.05)  # left, then the best
    assert runner.evaluate(max_episodes=1) == [1.0]


def test_reinforce_baseline_learns_the_discounted_monte_carlo_returns():
    cfg = reinforce.Config(seed=0, discount=GAMMA, lr=1e-2, lr_value=1e-2, enable_baseline=True)
    cfg.hidden_block.set_mlp((16,))
    cfg.value_block.set_mlp((16,))
    runner = srl_tf.Runner(chain(), cfg)
    runner.train(max_episodes=150, progress=False)
    np.testing.assert_allclose(runner.agent.value(CELL_OBS[:-1]).numpy().ravel(), OPTIMAL_V, atol=0.05)
    assert runner.evaluate(max_episodes=1) == [1.0]


def test_actor_critic_state_values_on_the_chain():
    cfg = actor_critic.Config(seed=0, discount=GAMMA, lr=1e-2)
    cfg.lr_value.set_linear(1e-2, 1e-3, 1_500)  # single-transition TD updates settle as it decays
    cfg.hidden_block.set_mlp((16,))
    cfg.value_block.set_mlp((16,))
    runner = srl_tf.Runner(chain(), cfg)
    runner.train(max_steps=1_500, progress=False)
    agent = runner.agent
    p_right = agent.policy.distribution(CELL_OBS[:-1]).probs_parameter().numpy()[:, 1]
    assert np.all(p_right > 0.95), p_right
    np.testing.assert_allclose(agent.value(CELL_OBS[:-1]).numpy().ravel(), OPTIMAL_V, atol=0.05)


def test_ppo_state_values_on_the_chain():
    cfg = ppo.Config(seed=0, discount=GAMMA, gae_lambda=0.95, batch_size=32, lr=3e-3, epochs=4)
    cfg.memory.capacity = 128
    cfg.policy_block.set_mlp((16,))
    cfg.value_block.set_mlp((16,))
    runner = srl_tf.Runner(chain(), cfg)
    runner.train(max_steps=2_000, progress=False)
    _, value = runner.agent.net(CELL_OBS[:-1])
    np.testing.assert_allclose(value.numpy(), OPTIMAL_V, atol=0.06)
    assert runner.evaluate(max_episodes=1) == [1.0]


def test_ddpg_q_value_on_the_continuous_chain():
    """From 0, a goal at 2.5 and steps of at most 1 take three steps: Q(0, π(0)) = γ²."""
    cfg = ddpg.Config(seed=0, batch_size=32, discount=GAMMA, lr=3e-3, tau=0.05, noise_std=0.3)
    cfg.memory.capacity, cfg.memory.warmup_size = 3_000, 100
    cfg.policy_block.set_mlp((32,))
    cfg.q_block.set_mlp((32,))
    runner = srl_tf.Runner(srl_tf.EnvConfig(lambda: ContinuousChainEnv(2.5, 20)), cfg)
    runner.train(max_steps=1_500, progress=False)
    agent = runner.agent
    obs = np.array([[0.0], [0.4], [0.8]], np.float32)  # positions 0, 1 and 2
    action = agent.actor(obs)
    assert np.all(action.numpy() > 0.85)  # full steps right
    np.testing.assert_allclose(agent.q[0](obs, action).numpy().ravel(), [GAMMA**2, GAMMA, 1.0], atol=0.06)
    assert runner.evaluate(max_episodes=1) == [1.0]
