"""The catalogue of mistakes a new user makes: each one is answered by a ConfigError or EnvError
(or, for arithmetic that diverged, a FloatingPointError) whose message names the field or argument,
the value and what is allowed. Never a raw traceback from numpy, Keras, h5py or Python itself."""

import gymnasium as gym
import numpy as np
import pytest

import srl_tf
from srl_tf.algorithms import ddpg, dqn, dreamer_v3, ppo, reinforce, sac
from srl_tf.errors import ConfigError, EnvError


def tiny_dqn(**kw):
    cfg = dqn.Config(**{"seed": 0, "batch_size": 16, **kw})
    cfg.memory.capacity, cfg.memory.warmup_size = 1_000, 50
    cfg.hidden_block.set((8,))
    return cfg


def runner(env="CartPole-v1", cfg=None):
    return srl_tf.Runner(env, cfg or tiny_dqn())


def setattr_(obj, name, value):
    setattr(obj, name, value)


class NoRender(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, False, True, {}


class TextObs(NoRender):
    observation_space = gym.spaces.Text(8)


class TupleActions(NoRender):
    action_space = gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Discrete(2)))


class RaisesInStep(NoRender):
    def step(self, action):
        raise RuntimeError("the simulator lost its connection")


def ppo_small(**kw):
    cfg = ppo.Config(**{"seed": 0, "batch_size": 32, **kw})
    cfg.memory.capacity = 64
    return cfg


def history_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("x")
    return str(path)


CASES = [
    # ---- config fields: names, types, ranges ----------------------------------------------------
    ("unknown attribute", lambda t: setattr_(dqn.Config(), "hiden_block", None), ConfigError, r"no field 'hiden_block'.*Did you mean 'hidden_block'"),
    ("unknown keyword", lambda t: dqn.Config(learning_rat=1e-3), ConfigError, r"unknown keyword 'learning_rat'"),
    ("another framework's name", lambda t: dqn.Config(gamma=0.9), ConfigError, r"'gamma'.*calls it discount"),
    ("SRL-only method", lambda t: dqn.Config().set_atari_config(), ConfigError, r"set_atari_config.*frame_stack"),
    ("lr as a string", lambda t: dqn.Config(lr="1e-3"), ConfigError, r"lr='1e-3' is not a schedule"),
    ("lr as None", lambda t: setattr_(dqn.Config(), "lr", None), ConfigError, r"lr=None is not a schedule"),
    ("block as a tuple", lambda t: setattr_(dqn.Config(), "hidden_block", (64, 64)), ConfigError, r"hidden_block=\(64, 64\) is not a block.*set_mlp"),
    ("memory as a number", lambda t: setattr_(dqn.Config(), "memory", 10_000), ConfigError, r"memory=10000 is not a memory config.*memory.capacity"),
    ("bool field as a string", lambda t: dqn.Config(enable_double_dqn="no"), ConfigError, r"enable_double_dqn='no' must be True or False"),
    ("int field as a float", lambda t: dqn.Config(batch_size=32.5), ConfigError, r"batch_size=32.5 has type float; expected int"),
    ("float field as a string", lambda t: dqn.Config(discount="0.99"), ConfigError, r"discount='0.99' has type str; expected float"),
    ("batch size zero", lambda t: runner(cfg=tiny_dqn(batch_size=0)), ConfigError, r"batch_size=0 is out of range; expected an integer >= 1"),
    ("discount above one", lambda t: runner(cfg=tiny_dqn(discount=1.5)), ConfigError, r"discount=1.5 is out of range"),
    ("negative learning rate", lambda t: runner(cfg=tiny_dqn(lr=-1e-3)), ConfigError, r"lr: start value -0.001 is out of range"),
    ("epsilon above one", lambda t: runner(cfg=tiny_dqn(epsilon=1.5)), ConfigError, r"epsilon start=1.5 is out of range"),
    ("seed out of range", lambda t: runner(cfg=tiny_dqn(seed=2**40)), ConfigError, r"seed=1099511627776 is out of range"),
    ("seed negative", lambda t: runner(cfg=tiny_dqn(seed=-3)), ConfigError, r"seed=-3 is out of range"),
    ("warm-up above capacity", lambda t: runner(cfg=_warm(5_000)), ConfigError, r"warmup_size=5000 is larger than memory.capacity=1000"),
    ("warm-up below batch", lambda t: runner(cfg=_warm(8)), ConfigError, r"warmup_size=8 is smaller than batch_size=16"),
    ("action division one", lambda t: runner("Pendulum-v1", tiny_dqn(action_division_num=1)), ConfigError, r"action_division_num=1 is out of range"),
    ("too many split actions", lambda t: runner("BipedalWalker-v3", tiny_dqn(action_division_num=10)).agent, ConfigError, r"action_division_num=10 over 4 action dimensions gives 10000"),
    ("observation mode", lambda t: runner(cfg=tiny_dqn(observation_mode="pixels")), ConfigError, r"observation_mode='pixels' is not allowed"),
    ("PPO warm-up above capacity", lambda t: runner(cfg=_ppo_warm(128)), ConfigError, r"warmup_size=128 .*larger than memory.capacity=64"),
    ("PPO batch above rollout", lambda t: runner(cfg=ppo_small(batch_size=128)), ConfigError, r"batch_size=128 is larger than the rollout of 64"),
    ("PPO rollout per env", lambda t: srl_tf.Runner(srl_tf.EnvConfig("CartPole-v1", num_envs=3), ppo_small()).agent, ConfigError, r"rollout of 64 .*num_envs=3"),
    ("SAC positive target entropy", lambda t: runner("Pendulum-v1", sac.Config(target_entropy=1.0)), ConfigError, r"target_entropy=1.0 is out of range"),
    ("SAC start steps negative", lambda t: runner("Pendulum-v1", sac.Config(start_steps=-1)), ConfigError, r"start_steps=-1 is out of range"),
    ("Dreamer warm-up below batch length", lambda t: runner("Pendulum-v1", _dreamer_warm(5)), ConfigError, r"warmup_size=5 is smaller than batch_length"),
    # ---- envs and spaces -------------------------------------------------------------------------
    ("unknown env id", lambda t: runner("CartPoel-v1").agent, EnvError, r"Unknown environment id 'CartPoel-v1'.*Did you mean 'CartPole-v1'"),
    ("env kwargs the env rejects", lambda t: runner(srl_tf.EnvConfig("CartPole-v1", kwargs={"colour": 1})).agent, EnvError, r"rejected EnvConfig.kwargs=\{'colour': 1\}"),
    ("zero envs", lambda t: runner(srl_tf.EnvConfig("CartPole-v1", num_envs=0)), ConfigError, r"EnvConfig.num_envs=0 must be an integer >= 1"),
    ("vectorization mode", lambda t: runner(srl_tf.EnvConfig("CartPole-v1", vectorization="threads")), ConfigError, r"vectorization='threads'; choose 'sync' or 'async'"),
    ("image resize one number", lambda t: runner(srl_tf.EnvConfig("CarRacing-v3", image_resize=64)), ConfigError, r"image_resize=64 has type int; expected tuple"),
    ("image options on a vector env", lambda t: runner(srl_tf.EnvConfig("CartPole-v1", image_resize=(64, 64))).agent, ConfigError, r"image_resize / image_grayscale were set but 'CartPole-v1' has no image"),
    ("text observations", lambda t: runner(srl_tf.EnvConfig(TextObs)).agent, EnvError, r"Observation space Text.* is not supported"),
    ("tuple actions", lambda t: runner(srl_tf.EnvConfig(TupleActions)).agent, EnvError, r"Action space Tuple.* is not supported"),
    ("callable returning no env", lambda t: runner(srl_tf.EnvConfig(lambda: 3)).agent, EnvError, r"returned int, not a gymnasium.Env"),
    ("render_image on an env that cannot render", lambda t: runner(srl_tf.EnvConfig(NoRender, render_image=True)).agent, EnvError, r"render_image=True needs an env that renders 'rgb_array'"),
    ("continuous algorithm on discrete actions", lambda t: runner("CartPole-v1", sac.Config()).agent, ConfigError, r"SAC needs continuous actions, but 'CartPole-v1' has a discrete action space"),
    ("discrete algorithm with the split off", lambda t: runner("Pendulum-v1", tiny_dqn(action_division_num=0)).agent, ConfigError, r"DQN needs discrete actions .*action_division_num=0"),
    ("Dict observations for DQN", lambda t: runner(srl_tf.EnvConfig(_dict_env)).agent, ConfigError, r"Dict observations with keys"),
    ("GIF of an env that cannot render", lambda t: _gif(t), EnvError, r"'NoRender' cannot render rgb_array frames"),
    ("env raising inside step", lambda t: runner(srl_tf.EnvConfig(RaisesInStep)).train(max_steps=10, progress=False), EnvError, r"NoRender|RaisesInStep.*raised RuntimeError.*at env step 0"),
    # ---- Runner calls ----------------------------------------------------------------------------
    ("train without a stop condition", lambda t: runner().train(), ConfigError, r"train\(\) needs a stop condition"),
    ("train with a negative limit", lambda t: runner().train(max_steps=-5), ConfigError, r"train\(max_steps=-5\): must be >= 0"),
    ("train timeout as a string", lambda t: runner().train(timeout="10"), ConfigError, r"train\(timeout='10'\): expected a number"),
    ("train steps as a float", lambda t: runner().train(max_steps=1.5), ConfigError, r"train\(max_steps=1.5\): expected an integer"),
    ("evaluate zero episodes", lambda t: runner().evaluate(max_episodes=0), ConfigError, r"evaluate\(max_episodes=0\) must be >= 1"),
    ("rl_config of the wrong type", lambda t: srl_tf.Runner("CartPole-v1", {"lr": 1e-3}), ConfigError, r"rl_config must be an algorithm Config"),
    ("history eval_episode zero", lambda t: runner().set_history_on_file(str(t / "h"), eval_episode=0), ConfigError, r"eval_episode=0 must be >= 1"),
    ("history directory is a file", lambda t: runner().set_history_on_file(history_file(t)), ConfigError, r"history directory '.*a_file' is a file"),
    ("plot a column that was never logged", lambda t: _plot_missing(t), ConfigError, r"plot\(y='eval_reward1'\): no such column; logged columns are"),
    ("plot an unknown x", lambda t: _plot_x(t), ConfigError, r"plot\(x='steps'\): x must be one of train, step, episode, time"),
    ("load weights from a missing folder", lambda t: runner().load_parameter(str(t / "nothing")), ConfigError, r"load_parameter: '.*nothing' is not a directory"),
    ("load weights of another size", lambda t: _load_other_size(t), ConfigError, r"load_parameter: .*q.weights.h5 does not fit model 'q'"),
    ("load a truncated weights file", lambda t: _load_truncated(t), ConfigError, r"load_parameter: .*q.weights.h5 cannot be read; the file is damaged"),
    ("load weights of another algorithm", lambda t: _load_other_algorithm(t), ConfigError, r"holds DQN weights, but this runner uses REINFORCE"),
    ("checkpoint directory is a file", lambda t: runner().set_checkpoint(history_file(t)), ConfigError, r"that path is a file"),
    ("load a missing checkpoint", lambda t: runner().load_checkpoint(str(t / "none")), ConfigError, r"load_checkpoint\('.*none'\): no such directory"),
    ("set_progress unknown keyword", lambda t: runner().set_progress(single_lines=True), ConfigError, r"unknown keyword 'single_lines'"),
    ("set_seed after the agent exists", lambda t: _seed_late(), ConfigError, r"set_seed\(\) was called after the agent was built"),
    ("SRL-only Runner method", lambda t: runner().set_device("GPU"), ConfigError, r"set_device.*CUDA_VISIBLE_DEVICES"),
    ("NaN rewards from a user env", lambda t: _nan_rewards(), FloatingPointError, r"became nan at env step \d+"),
    ("NaN rewards with no history kept", lambda t: _nan_rewards(history=False), FloatingPointError, r"DQN: loss became nan at env step 49 \(gradient step 1\)"),
]


def _warm(n):
    cfg = tiny_dqn()
    cfg.memory.warmup_size = n
    return cfg


def _ppo_warm(n):
    cfg = ppo_small()
    cfg.memory.warmup_size = n
    return cfg


def _dreamer_warm(n):
    cfg = dreamer_v3.Config().set_dreamer_v3()
    cfg.memory.warmup_size = n
    return cfg


def _dict_env():
    return gym.wrappers.TransformObservation(
        NoRender(), lambda o: {"a": o}, gym.spaces.Dict({"a": NoRender.observation_space})
    )


def _gif(tmp_path):
    r = runner(srl_tf.EnvConfig(NoRender))
    r.animation_save_gif(str(tmp_path / "x.gif"))


def _trained_dir(tmp_path):
    r = runner()
    r.set_history_on_file(str(tmp_path / "run"))
    r.train(max_steps=20, progress=False)
    return str(tmp_path / "run")


def _plot_missing(tmp_path):
    srl_tf.Runner.load_histories([_trained_dir(tmp_path)]).plot("step", "eval_reward1")


def _plot_x(tmp_path):
    srl_tf.Runner.load_histories([_trained_dir(tmp_path)]).plot("steps", "reward0")


def _load_other_size(tmp_path):
    r = runner()
    r.save_parameter(str(tmp_path / "w"))
    wide = tiny_dqn()
    wide.hidden_block.set((32,))
    runner(cfg=wide).load_parameter(str(tmp_path / "w"))


def _load_truncated(tmp_path):
    r = runner()
    r.save_parameter(str(tmp_path / "w"))
    path = tmp_path / "w" / "q.weights.h5"
    path.write_bytes(path.read_bytes()[:200])
    runner().load_parameter(str(tmp_path / "w"))


def _load_other_algorithm(tmp_path):
    runner().save_parameter(str(tmp_path / "w"))
    runner(cfg=reinforce.Config()).load_parameter(str(tmp_path / "w"))


def _seed_late():
    r = runner()
    _ = r.agent
    r.set_seed(3)


class _NaNRewards(NoRender):
    def step(self, action):
        return np.zeros(2, np.float32), float("nan"), False, False, {}


def _nan_rewards(history=True):
    r = runner(srl_tf.EnvConfig(_NaNRewards, max_episode_steps=20))
    if history:
        r.set_history_on_memory(interval=20)
    r.train(max_steps=400, progress=False)


@pytest.mark.parametrize("make, error, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_user_mistake_is_a_named_error(make, error, pattern, tmp_path):
    with pytest.raises(error, match=pattern):
        make(tmp_path)


def test_the_catalogue_has_at_least_forty_distinct_mistakes():
    assert len({c[0] for c in CASES}) == len(CASES) >= 40


def test_ddpg_is_in_the_continuous_family_of_errors():
    with pytest.raises(ConfigError, match="DDPG needs continuous actions"):
        _ = runner("CartPole-v1", ddpg.Config()).agent
