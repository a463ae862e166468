"""Tuned settings for algorithm × environment pairs: what the examples, the benchmarks and
``srl-tf train`` start from.

>>> from srl_tf import presets
>>> rl_config, env_kwargs = presets.tuned("dqn", "CartPole-v1", seed=0)
>>> srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", **env_kwargs), rl_config)

The values come from RL-Zoo where it has them (and say where they differ); each function is what
the benchmark figures in the docs were measured with.
"""

from __future__ import annotations

from srl_tf.algorithms import dqn, ppo, sac

NUM_ENVS = 4
"""Parallel envs of the PPO Pendulum-v1 preset."""


# --8<-- [start:cartpole_dqn]
def cartpole_dqn_config(seed: int = 0) -> dqn.Config:
    """DQN settings for CartPole-v1: the RL-Zoo tuned ones (train every 256 env steps with 128
    gradient steps, 256x256 network, ε from 1 to 0.04 over the first 8k steps), with the learning
    rate decaying linearly to 0 over the ~25k gradient steps of a 50k-step run, which keeps a
    policy that reached 500 from drifting away as often as a constant rate lets it."""
    cfg = dqn.Config(seed=seed, batch_size=64, discount=0.99)
    cfg.lr.set_linear(2.3e-3, 0.0, 25_000)
    cfg.hidden_block.set_mlp((256, 256))
    cfg.memory.capacity = 100_000
    cfg.memory.warmup_size = 1_000
    cfg.epsilon.set_linear(1.0, 0.04, 8_000)
    cfg.train_interval = 256
    cfg.gradient_steps = 128
    cfg.target_model_update_interval = 128  # a fresh target copy before every training burst
    return cfg
# --8<-- [end:cartpole_dqn]


# --8<-- [start:cartpole_ppo]
def cartpole_ppo_config(seed: int = 0) -> ppo.Config:
    rl_config = ppo.Config(seed=seed, batch_size=64, epochs=10, gae_lambda=0.95, discount=0.99)
    rl_config.memory.capacity = 2048  # env steps per update, summed over the envs
    rl_config.lr.set_constant(3e-4)
    rl_config.clip_range.set_constant(0.2)
    rl_config.policy_block.set_mlp((64, 64), activation="tanh")
    rl_config.value_block.set_mlp((64, 64), activation="tanh")
    return rl_config
# --8<-- [end:cartpole_ppo]


# --8<-- [start:pendulum_ppo]
def pendulum_ppo_config(seed: int = 0, total_steps: int = 200_000) -> ppo.Config:
    rl_config = ppo.Config(
        seed=seed,
        batch_size=128,
        epochs=10,
        discount=0.9,
        gae_lambda=0.95,
        enable_obs_normalization=True,
        enable_reward_normalization=True,
        init_log_std=0.0,
        entropy_coef=0.0,
    )
    rl_config.memory.capacity = 4096
    # schedules count gradient steps: updates × epochs × minibatches per rollout
    gradient_steps = (total_steps // rl_config.memory.capacity) * rl_config.epochs * (4096 // 128)
    rl_config.lr.set_linear(1e-3, 1e-4, max(gradient_steps, 1))
    rl_config.clip_range.set_constant(0.2)
    rl_config.policy_block.set_mlp((64, 64), activation="tanh")
    rl_config.value_block.set_mlp((64, 64), activation="tanh")
    return rl_config
# --8<-- [end:pendulum_ppo]


# --8<-- [start:pendulum_sac]
def pendulum_sac_config(seed: int = 0) -> sac.Config:
    """SAC settings for Pendulum-v1 (RL-Zoo: learning rate 1e-3, otherwise the defaults: batch 256,
    256x256 networks, τ 0.005, automatic temperature, one gradient step per env step)."""
    cfg = sac.Config(seed=seed, lr_policy=1e-3, lr_q=1e-3, lr_alpha=1e-3)
    cfg.memory.capacity = 100_000
    cfg.memory.warmup_size = 1_000
    return cfg
# --8<-- [end:pendulum_sac]


PRESETS = {
    ("dqn", "CartPole-v1"): (cartpole_dqn_config, {}),
    ("ppo", "CartPole-v1"): (cartpole_ppo_config, {}),
    ("ppo", "Pendulum-v1"): (pendulum_ppo_config, {"num_envs": NUM_ENVS}),
    ("sac", "Pendulum-v1"): (pendulum_sac_config, {}),
}
"""(algorithm module name, env id) → (config function of ``seed``, EnvConfig keywords)."""


def tuned(algorithm: str, env_id: str, seed: int = 0):
    """(Config, EnvConfig keywords) of the preset for this pair, or None where there is none."""
    entry = PRESETS.get((algorithm, env_id))
    if entry is None:
        return None
    make, env_kwargs = entry
    return make(seed), dict(env_kwargs)
