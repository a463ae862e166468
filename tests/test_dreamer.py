"""Dreamer agent: presets × action kinds × observation kinds, sequence memory, compiled steps,
carried RSSM state, prediction GIF and bad input. Building blocks are in test_dreamer_blocks.py."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from contract import act
from PIL import Image

import srl_tf
from srl_tf import ConfigError, EnvConfig, Runner
from srl_tf.algorithms import dreamer_v3
from srl_tf.memory.sequence import SequenceMemory
from srl_tf.render import save_prediction_gif
from tests.toy_envs import DictPointEnv, IdentityEnv, ImageIdentityEnv, PixelPointEnv


def tiny(preset="v3", jit=False, **fields):
    cfg = dreamer_v3.Config(seed=0, jit_compile=jit)
    getattr(cfg, f"set_dreamer_{preset}")()
    cfg.set_model_size("tiny")
    cfg.batch_size, cfg.batch_length, cfg.horizon = 4, 8, 3
    cfg.memory.warmup_size, cfg.memory.capacity = 30, 2000
    for k, v in fields.items():
        setattr(cfg, k, v)
    return cfg


def _env(discrete: bool, image: bool, preset: str) -> EnvConfig:
    size = (16, 16) if preset == "v3" else (64, 64)  # the V1 / V2 CNN needs 64×64
    if image:
        return EnvConfig(ImageIdentityEnv if discrete else PixelPointEnv, image_resize=size)
    return EnvConfig(IdentityEnv if discrete else "Pendulum-v1", max_episode_steps=20)


# ------------------------------------------------------------------------------------------
# Presets × actions × observations
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["v1", "v2", "v3"])
@pytest.mark.parametrize("discrete", [True, False], ids=["discrete", "continuous"])
@pytest.mark.parametrize("image", [False, True], ids=["vector", "image"])
def test_each_preset_trains_and_acts(preset, discrete, image):
    runner = Runner(_env(discrete, image, preset), tiny(preset))
    runner.train(max_steps=45, progress=False)
    agent = runner.agent
    assert agent.train_count == 45 - 30 + 1  # one train step per env step once 30 steps are stored
    metrics = {k: float(v) for k, v in runner.last_metrics.items()}
    for key in ("model_loss", "obs_loss", "reward_loss", "kl", "actor_loss", "critic_loss"):
        assert np.isfinite(metrics[key]), (key, metrics)
    rssm_stoch = agent.rssm.initial(1)["stoch"].shape[1:]
    assert rssm_stoch == ((4,) if preset == "v1" else (4, 4))  # Gaussian z for V1, categorical otherwise
    ret = runner.evaluate(1)
    assert len(ret) == 1 and np.isfinite(ret[0])
    assert agent.trace_counts["train"] == 1


def test_with_images_on_a_cpu_only_the_actor_critic_half_is_compiled_with_xla():
    runner = Runner(_env(True, True, "v3"), tiny("v3", jit=True))
    runner.train(max_steps=32, progress=False)
    agent = runner.agent
    assert agent.split_compile and agent.train_count > 0
    assert not agent._train._jit_compile and agent._behavior_step._jit_compile
    assert np.isfinite(float(runner.last_metrics["actor_loss"]))
    off = Runner(_env(True, True, "v3"), tiny("v3", jit=False))  # no XLA at all when the user says so
    assert not off.agent.split_compile and not off.agent._train._jit_compile
    vectors = Runner(_env(True, False, "v3"), tiny("v3", jit=True))
    assert not vectors.agent.split_compile and vectors.agent._train._jit_compile


@pytest.mark.parametrize("image", [False, True], ids=["vector", "image"])
def test_compiled_training_is_reproducible_from_the_seed(image):
    """Every random draw of acting and training (latents, imagined actions) comes from the agent's
    generator, so under XLA too two runs with one seed end with the same weights."""

    def weights():
        runner = Runner(_env(False, image, "v3"), tiny("v3", jit=True))
        runner.train(max_steps=36, progress=False)
        agent = runner.agent
        return agent.wm.get_weights() + agent.actor.get_weights() + agent.critic.get_weights()

    first, second = weights(), weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_only_exploring_actions_draw_from_the_agent_generator():
    """Evaluation (deterministic actions) must not move the training run's random stream; exploring
    draws its seed inside the compiled policy, so acting twice from one generator state repeats."""
    runner = Runner(_env(False, False, "v3"), tiny("v3", jit=True))
    runner.train(max_steps=36, progress=False)  # past the random warm-up: the actor samples
    agent = runner.agent
    obs = np.zeros((1,) + agent.spec.obs_shape, np.float32)
    carry = agent.initial_carry(1)
    state = agent.tf_rng.state.numpy().copy()
    for _ in range(3):
        agent.act(obs, carry, explore=False)
    np.testing.assert_array_equal(agent.tf_rng.state.numpy(), state)
    first = agent.act(obs, carry, explore=True)[0]
    assert not np.array_equal(agent.tf_rng.state.numpy(), state)
    agent.tf_rng.reset(state)
    np.testing.assert_array_equal(agent.act(obs, carry, explore=True)[0], first)


def test_presets_set_what_their_papers_use():
    v1, v2, v3 = (getattr(dreamer_v3.Config(), f"set_dreamer_{p}")() for p in ("v1", "v2", "v3"))
    assert v1.rssm_classes == 0 and v1.free_nats == 3.0 and v1.actor_loss_type == "dreamer_v1"
    assert v1.kl_dyn_scale == v1.kl_rep_scale  # one KL with gradients into both
    assert v1.sequence_sampling == v2.sequence_sampling == "windows"
    assert v2.rssm_classes == 32 and v2.kl_dyn_scale == pytest.approx(0.8) and v2.kl_rep_scale == pytest.approx(0.2)
    assert v3.kl_dyn_scale == 0.5 and v3.kl_rep_scale == 0.1 and v3.free_nats == 1.0
    assert v3.horizon == 15 and v3.discount == 0.997 and v3.sequence_sampling == "stream"
    assert v3.reward_dist == "twohot" and v3.critic_loss_type == "dreamer_v3" and v3.rssm_unimix == 0.01


def test_presets_keep_learning_rates_given_to_the_constructor():
    cfg = dreamer_v3.Config(lr_model=1e-4, lr_critic=1e-4, lr_actor=2e-5).set_dreamer_v1()
    assert (cfg.lr_model.start, cfg.lr_critic.start, cfg.lr_actor.start) == (1e-4, 1e-4, 2e-5)


def test_model_sizes():
    cfg = dreamer_v3.Config().set_model_size("M")
    assert (cfg.rssm_deter_size, cfg.rssm_hidden_units, cfg.cnn_depth) == (1024, 640, 48)
    assert cfg.actor_layer_sizes == (640, 640, 640)
    assert dreamer_v3.Config().set_model_size("XL").rssm_deter_size == 4096
    with pytest.raises(ConfigError, match="'tiny'"):
        dreamer_v3.Config().set_model_size("huge")


# ------------------------------------------------------------------------------------------
# Compiled steps
# ------------------------------------------------------------------------------------------


def test_xla_world_model_warm_up_then_full_train_step():
    cfg = tiny("v3", jit=True, warmup_world_model=3)
    runner = Runner(_env(True, False, "v3"), cfg)
    runner.train(max_steps=40, progress=False)
    # one compiled step serves both phases (the world model alone first, then everything): traced once
    assert runner.agent.trace_counts == {"policy": 1, "train": 1}
    assert "actor_loss" in runner.last_metrics and np.isfinite(float(runner.last_metrics["actor_loss"]))
    assert len(runner.evaluate(2)) == 2


def test_warmup_world_model_trains_only_the_world_model():
    runner = Runner(_env(True, False, "v3"), tiny(warmup_world_model=1000))
    actor_before = [w.copy() for w in runner.agent.actor.get_weights()]
    wm_before = [w.copy() for w in runner.agent.wm.get_weights()]
    runner.train(max_steps=40, progress=False)
    assert runner.agent.train_count > 0 and "actor_loss" not in runner.last_metrics
    assert all(np.array_equal(a, b) for a, b in zip(actor_before, runner.agent.actor.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(wm_before, runner.agent.wm.get_weights()))


@pytest.mark.parametrize("imagination_cont", ["mean", "mode"])
def test_imagined_steps_are_cut_by_the_continue_probability_or_its_mode(imagination_cont):
    """With the continue head at P(continue) = 0.3 everywhere, 'mode' ends every imagined future
    after one step (each λ-return is its reward), while 'mean' carries 30 % of what follows."""
    runner = Runner(_env(True, False, "v3"), tiny(imagination_cont=imagination_cont))
    runner.train(max_steps=40, progress=False)
    agent, cfg = runner.agent, runner.agent.config
    kernel, bias = agent.wm.cont.weights[-2:]
    kernel.assign(np.zeros(kernel.shape, np.float32))
    bias.assign(np.full(bias.shape, np.log(0.3 / 0.7), np.float32))
    batch = agent.memory.sample(cfg.batch_size, cfg.batch_length, agent.rng)
    metrics = {k: float(v) for k, v in agent._train_all(*batch).items()}
    ret, reward = metrics["imag_return"], metrics["imag_reward"]
    assert reward != 0.0
    if imagination_cont == "mode":
        assert ret == pytest.approx(reward, rel=1e-6)
    else:
        assert abs(ret - reward) > 0.05 * abs(reward)


def test_stream_batches_carry_the_rssm_state_and_windows_do_not():
    def trained():
        runner = Runner(_env(True, False, "v3"), tiny(sequence_sampling="stream"))
        runner.train(max_steps=35, progress=False)
        return runner.agent

    carried, zeroed = trained(), trained()  # two identical runs (same seed, same random draws)
    carry = carried._train_carry["deter"].numpy()
    assert np.abs(carry).sum() > 0  # the last posterior state of the previous batch is kept
    np.testing.assert_array_equal(zeroed._train_carry["deter"].numpy(), carry)
    for v in zeroed._train_carry.values():
        v.assign(tf.zeros_like(v))
    losses = []
    for agent in (carried, zeroed):
        batch = agent.memory.sample(agent.config.batch_size, agent.config.batch_length, agent.rng)
        is_first = batch.is_first.copy()
        is_first[:, 0] = 0.0  # every row continues its episode from the previous batch
        losses.append(float(agent._train_world_model(*batch._replace(is_first=is_first))["model_loss"]))
    assert abs(losses[0] - losses[1]) > 1e-3, losses  # so the carried state enters the next step
    windows = Runner(_env(True, False, "v3"), tiny(sequence_sampling="windows"))
    windows.train(max_steps=35, progress=False)
    assert np.abs(windows.agent._train_carry["deter"].numpy()).sum() == 0


def test_acting_carries_state_and_resets_it_where_an_episode_begins():
    runner = Runner(_env(True, False, "v3"), tiny())
    runner.train(max_steps=31, progress=False)
    agent = runner.agent
    obs = np.eye(3, dtype=np.float32)[[0, 1]]
    _, state, _ = agent.act(obs, agent.initial_carry(2), explore=False)
    after_one = state["deter"].copy()
    rssm_one = {k: tf.constant(state[k]) for k in agent.rssm.initial(1)}
    action_one = state["action"].copy()
    _, state, _ = agent.act(obs, state, explore=False)  # is_first cleared by act: the streams continue
    assert not np.allclose(state["deter"], after_one)  # carried forward
    # the new deterministic state is the GRU step from the carried state and action, not from a fresh one
    expected = agent.rssm.img_step(rssm_one, action_one, sample=False)["deter"].numpy()
    np.testing.assert_allclose(state["deter"], expected, rtol=1e-4, atol=1e-5)
    _, state, _ = agent.act(obs, {**state, "is_first": np.ones(2, bool)}, explore=False)
    np.testing.assert_allclose(state["deter"], after_one, atol=1e-5)  # reset to the start


def test_continuous_actions_reach_the_env_within_bounds_and_the_memory_normalised():
    runner = Runner(EnvConfig("Pendulum-v1", max_episode_steps=20), tiny())
    runner.train(max_steps=40, progress=False)
    mem = runner.agent.memory
    stored = mem.action[0, : mem.written[0]]
    assert stored.min() >= -1.0 and stored.max() <= 1.0
    actions, state, _ = runner.agent.act(np.zeros((3, 3), np.float32), runner.agent.initial_carry(3), explore=True)
    # the carried action is the actor's, in [-1, 1]; Pendulum receives it scaled onto [-2, 2]
    assert actions.shape == (3, 1) and np.all(np.abs(state["action"]) <= 1.0)
    np.testing.assert_allclose(actions, 2.0 * state["action"], rtol=1e-6)


def test_save_and_load_reproduce_the_greedy_policy(tmp_path):
    runner = Runner(_env(True, False, "v3"), tiny())
    runner.train(max_steps=35, progress=False)
    runner.save_parameter(str(tmp_path / "p"))
    other = Runner(_env(True, False, "v3"), tiny())
    other.load_parameter(str(tmp_path / "p"))
    obs = np.eye(3, dtype=np.float32)
    a = act(runner.agent, obs)
    b = act(other.agent, obs)
    assert np.array_equal(a, b)
    for x, y in zip(runner.agent.critic_slow.get_weights(), other.agent.critic_slow.get_weights()):
        np.testing.assert_allclose(x, y)


def test_prediction_gif_shows_real_reconstruction_and_open_loop(tmp_path):
    runner = Runner(_env(False, True, "v3"), tiny())
    runner.train(max_steps=40, progress=False)
    agent = runner.agent
    seq = agent.memory.latest(0, 12)
    real, recon, pred = agent.open_loop_prediction(seq.obs, seq.action, seq.is_first, context=5)
    assert real.shape == recon.shape == pred.shape == (12, 16, 16, 3) and pred.dtype == np.uint8
    np.testing.assert_array_equal(pred[:5], recon[:5])
    path = save_prediction_gif(agent, str(tmp_path / "pred.gif"), length=12, context=5)
    from PIL import Image

    with Image.open(path) as gif:
        assert gif.size == (3 * 128, 16 + 128) and gif.n_frames == 12  # enlarged 8×, caption band


def test_prediction_gif_needs_images():
    runner = Runner(_env(True, False, "v3"), tiny())
    runner.train(max_steps=31, progress=False)
    with pytest.raises(ValueError, match="image observations"):
        save_prediction_gif(runner.agent, "x.gif")


def test_prediction_gif_callback_rewrites_the_gif_at_every_evaluation(tmp_path, monkeypatch):
    from srl_tf import render
    from srl_tf.callbacks import PredictionGif

    written = []
    real_save = render.save_prediction_gif

    def save(agent, path, **kwargs):
        written.append(runner.step)
        return real_save(agent, path, **kwargs)

    monkeypatch.setattr(render, "save_prediction_gif", save)
    runner = Runner(_env(True, True, "v3"), tiny())
    runner.set_history_on_file(str(tmp_path / "run"), enable_eval=True, eval_episode=1, interval=5, eval_interval=15)
    path = str(tmp_path / "prediction.gif")
    runner.train(max_steps=45, progress=False, callbacks=[PredictionGif(path, length=12, context=4)])
    assert written == [15, 30, 45]  # at each evaluation
    with Image.open(path) as gif:
        assert gif.n_frames == 12  # the newest 12 stored steps: 4 of context, 8 predicted
    vector = Runner(_env(True, False, "v3"), tiny())
    with pytest.raises(ConfigError, match="PredictionGif needs a Dreamer agent with image observations"):
        vector.train(max_steps=5, progress=False, callbacks=[PredictionGif(path)])


# ------------------------------------------------------------------------------------------
# Sequence memory
# ------------------------------------------------------------------------------------------


def _fill(mem, episode_lengths, env=0):
    """Writes episodes whose observations count up (obs = global step index)."""
    step = 0
    for length in episode_lengths:
        for t in range(length):
            obs = np.array([[float(step)]], np.float32)
            nxt = np.array([[float(step + 1)]], np.float32)
            last = t == length - 1
            mem.add(obs, np.zeros((1, 1), np.float32), np.ones(1), nxt, np.array([last]), np.array([False]))
            step += 1
        step += 1


def test_sequence_memory_stores_each_frame_once_with_episode_flags():
    mem = SequenceMemory(100, (1,), np.float32, 1, mode="windows")
    _fill(mem, [3, 2])
    assert len(mem) == 3 + 1 + 2 + 1  # each episode's steps plus its first observation
    np.testing.assert_array_equal(mem.is_first[0, :7], [1, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(mem.is_terminal[0, :7], [0, 0, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(mem.reward[0, :7], [0, 1, 1, 1, 0, 1, 1])


def test_episode_windows_never_cross_an_episode_end():
    mem = SequenceMemory(500, (1,), np.float32, 1, mode="windows")
    _fill(mem, [5, 9, 3, 12, 7, 8])
    rng = np.random.default_rng(0)
    for _ in range(50):
        batch = mem.sample(16, 6, rng)
        assert not batch.is_first[:, 1:].any()  # an episode may only start at the first step
        assert not batch.is_terminal[:, :-1].any()  # and end only at the last
        np.testing.assert_array_equal(np.diff(batch.obs[..., 0], axis=1), 1.0)  # consecutive steps


def test_episode_windows_report_episodes_shorter_than_the_window():
    mem = SequenceMemory(500, (1,), np.float32, 1, mode="windows")
    _fill(mem, [3, 3, 3])
    with pytest.raises(ValueError, match="batch_length=8"):
        mem.sample(4, 8, np.random.default_rng(0))


def test_stream_rows_continue_across_batches_and_flag_jumps():
    mem = SequenceMemory(1000, (1,), np.float32, 1, mode="stream")
    _fill(mem, [40, 40, 40, 40])  # slot i holds the value i; episodes start at multiples of 41
    rng = np.random.default_rng(1)
    prev = mem.sample(3, 5, rng)
    assert prev.is_first[:, 0].all()  # fresh rows start with a reset
    continued_rows = 0
    for _ in range(40):
        b = mem.sample(3, 5, rng)
        np.testing.assert_array_equal(np.diff(b.obs[..., 0], axis=1), 1.0)  # chunks are consecutive steps
        continued = b.obs[:, 0, 0] == prev.obs[:, -1, 0] + 1
        # a row either continues where it stopped or jumped, and then its state is reset
        assert np.all(continued | (b.is_first[:, 0] == 1.0))
        continued_rows += int(continued.sum())
        starts = b.obs[..., 0] % 41 == 0
        np.testing.assert_array_equal(b.is_first[:, 1:], starts[:, 1:].astype(np.float32))
        prev = b
    assert continued_rows > 60  # most rows keep streaming


def test_stream_rows_jump_when_they_reach_the_newest_data():
    mem = SequenceMemory(1000, (1,), np.float32, 1, mode="stream")
    _fill(mem, [12])
    rng = np.random.default_rng(0)
    for _ in range(10):
        b = mem.sample(2, 6, rng)
        assert b.obs.shape == (2, 6, 1) and b.obs.max() <= 12


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("batch_length", 1, "batch_length=1"),
        ("horizon", 0, "horizon=0"),
        ("actor_loss_type", "dreamer_v4", "actor_loss_type='dreamer_v4'.*'dreamer_v3'"),
        ("critic_loss_type", "mse", "critic_loss_type='mse'"),
        ("encoder_decoder_dist", "gauss", "encoder_decoder_dist='gauss'.*'linear', 'normal'"),
        ("rssm_classes", 1, "rssm_classes=1"),
        ("rssm_stoch_size", 0, "rssm_stoch_size=0"),
        ("free_nats", -1.0, "free_nats=-1.0"),
        ("sequence_sampling", "random", "sequence_sampling='random'"),
        ("imagination_cont", "sample", "imagination_cont='sample'.*mean.*mode"),
    ],
)
def test_bad_config_values_name_the_field(field, value, match):
    cfg = tiny(**{field: value})
    with pytest.raises(ConfigError, match=match):
        cfg.validate()


def test_warmup_shorter_than_a_sequence_is_an_error():
    cfg = tiny()
    cfg.memory.warmup_size = 5
    with pytest.raises(ConfigError, match="warmup_size=5.*batch_length=8"):
        cfg.validate()


def test_images_too_small_for_the_encoder_are_an_error():
    with pytest.raises(ConfigError, match="image_resize"):
        Runner(EnvConfig(ImageIdentityEnv, image_resize=(32, 32)), tiny("v1")).train(max_steps=1, progress=False)
    with pytest.raises(ConfigError, match="power of two"):
        Runner(EnvConfig(ImageIdentityEnv), tiny("v3")).train(max_steps=1, progress=False)  # 40×40


def test_unbounded_continuous_actions_are_an_error():
    with pytest.raises(ConfigError, match="bounded"):
        Runner(EnvConfig(lambda: PixelPointEnv(action_high=np.inf), image_resize=(16, 16)), tiny()).train(
            max_steps=1, progress=False)


def test_readme_style_pendulum_config_builds():
    cfg = dreamer_v3.Config(lr_model=1e-4, lr_critic=1e-4, lr_actor=2e-5)
    cfg.set_dreamer_v3()
    cfg.rssm_deter_size, cfg.rssm_stoch_size, cfg.rssm_classes = 64, 4, 4
    cfg.batch_size, cfg.batch_length, cfg.horizon = 32, 15, 5
    cfg.memory.warmup_size, cfg.memory.capacity = 50, 10_000
    cfg.encoder_decoder_dist, cfg.free_nats, cfg.warmup_world_model = "linear", 0.1, 1_000
    cfg.validate()
    runner = srl_tf.Runner(srl_tf.EnvConfig("Pendulum-v1"), cfg)
    agent = runner.agent
    assert agent.rssm.feat_size == 64 + 16
    feat = tf.random.normal([5, agent.rssm.feat_size])
    # zero-initialised twohot outputs predict exactly 0 before training
    np.testing.assert_allclose(agent.critic.mean(feat).numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(agent.wm.reward.mean(feat).numpy(), 0.0, atol=1e-6)


def test_pixel_world_model_learns_to_reconstruct():
    cfg = tiny(warmup_world_model=10_000, batch_size=8, batch_length=16)
    cfg.memory.warmup_size = 100
    cfg.lr_model.set_constant(1e-3)
    runner = Runner(EnvConfig(PixelPointEnv, image_resize=(16, 16)), cfg)
    runner.train(max_steps=101, progress=False)
    first = float(runner.last_metrics["obs_loss"])
    runner.train(max_steps=120, progress=False)
    assert float(runner.last_metrics["obs_loss"]) < 0.2 * first


# ------------------------------------------------------------------------------------------
# Dict (image + vector) observations
# ------------------------------------------------------------------------------------------


def test_dict_observations_image_and_vector(tmp_path):
    env = EnvConfig(DictPointEnv, image_resize=(16, 16), num_envs=2)
    runner = Runner(env, tiny())
    spec = runner.spec
    assert spec.obs_spaces["image"] == ((16, 16, 3), np.dtype(np.uint8), True)
    assert spec.obs_spaces["position"][:2] == ((1,), np.dtype(np.float32))
    runner.train(max_steps=50, progress=False)
    agent = runner.agent
    assert agent.train_count > 0 and np.isfinite(float(runner.last_metrics["obs_loss"]))
    coder = agent.wm.coder
    assert coder.embed_dim == coder.coders["image"].embed_dim + coder.coders["position"].embed_dim
    mem = agent.memory  # each key stored once, images as uint8
    assert mem.obs["image"].dtype == np.uint8 and mem.obs["position"].dtype == np.float32
    # the final observation of an episode (20 steps) is the one stored before the next first one
    ends = np.flatnonzero(mem.is_first[0, 1 : mem.written[0]]) + 1
    assert len(ends) and np.all(mem.is_terminal[0, ends - 1] == 0)  # truncated, not terminal
    assert len(runner.evaluate(1)) == 1
    path = save_prediction_gif(agent, str(tmp_path / "dict.gif"), length=10, context=3)
    from PIL import Image

    with Image.open(path) as gif:  # real | reconstruction | open-loop prediction of the image key
        assert gif.size == (3 * 128, 16 + 128) and gif.n_frames == 10


def test_other_algorithms_reject_dict_observations_by_name():
    from srl_tf.algorithms import sac

    with pytest.raises(ConfigError, match=r"Dict observations with keys \['image', 'position'\]"):
        Runner(EnvConfig(DictPointEnv), sac.Config()).train(max_steps=1, progress=False)


def test_frame_stack_with_dict_observations_is_an_error():
    with pytest.raises(ConfigError, match="frame_stack=2"):
        Runner(EnvConfig(DictPointEnv, frame_stack=2), tiny()).train(max_steps=1, progress=False)


def test_adapter_returns_the_final_dict_observation_where_an_episode_ends():
    from srl_tf.envs.adapter import VecEnvAdapter

    env = VecEnvAdapter(EnvConfig(lambda: DictPointEnv(length=3), image_resize=(16, 16), num_envs=2))
    obs = env.reset(seed=0)
    last = obs
    for _ in range(3):
        step = env.step(np.full((2, 1), 1.0, np.float32))  # always right: x grows until the end
        last, obs = obs, step.obs
    assert step.truncated.all()
    # next_obs holds the final observations (x moved right from the previous step), obs the new first ones
    assert np.all(step.next_obs["position"][:, 0] >= last["position"][:, 0])
    assert not np.allclose(step.next_obs["position"], step.obs["position"])
    assert step.next_obs["image"].shape == (2, 16, 16, 3) and step.next_obs["image"].dtype == np.uint8


def test_train_ratio_sets_replayed_steps_per_env_step():
    """train_ratio R with batches of B × L: R / (B·L) train steps per env step, counted from the step
    where training can start; the fraction left over carries on."""
    runner = Runner(_env(True, False, "v3"), tiny(train_ratio=12))  # 12 / (4 × 8) = 0.375 per env step
    runner.train(max_steps=70, progress=False)
    ready_from = runner.rl_config.memory.warmup_size  # the update after env step 30 is the first that trains
    assert runner.agent.train_count == (70 - ready_from + 1) * 12 // 32 == 15
    with pytest.raises(ConfigError, match="train_ratio=0"):
        tiny(train_ratio=0).validate()


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_computes_in_half_and_keeps_states_heads_and_losses_float32(precision):
    runner = Runner(_env(False, True, "v3"), tiny(precision=precision, jit=True))  # pixels, continuous
    runner.train(max_steps=40, progress=False)
    agent, half = runner.agent, precision.split("_")[1]
    assert keras.config.dtype_policy().name == "float32"  # the policy is the networks' own, not left global
    assert agent.wm.coder.coders["obs"].encoder.compute_dtype == half
    assert agent.rssm.cell.compute_dtype == half and agent.rssm.post_stats.compute_dtype == "float32"
    assert all(w.dtype == "float32" for w in agent.wm.weights + agent.actor.weights)
    assert agent.train_count > 0 and all(np.isfinite(float(v)) for v in runner.last_metrics.values())
    _, carry, _ = agent.act(np.zeros((2, 16, 16, 3), np.uint8), agent.initial_carry(2), explore=False)
    assert all(v.dtype in (np.float32, bool) for v in carry.values())  # RSSM state and action
    feat = agent.rssm.get_feat({k: tf.constant(carry[k]) for k in agent.rssm.initial(1)})
    assert agent.critic(feat).dtype == agent.actor.net(feat).dtype == tf.float32
    assert ("loss_scales" in agent.trackables()) == (half == "float16")


def test_loss_scale_skips_a_step_whose_scaled_gradient_overflows_and_halves_the_scale():
    from srl_tf.algorithms.base import Agent, LossScale

    w = tf.Variable([1.0])
    opt = keras.optimizers.SGD(0.1, momentum=0.9)  # a step with a zero gradient would still move w
    opt.build([w])
    scale = LossScale(initial=2.0**15, period=2)
    for loss_factor, moves in ((1.0, True), (1e38, False)):  # 1e38 × 2^15 is inf in float32
        before = w.numpy().copy()
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(w) * loss_factor
        norm = Agent.apply_gradients(tape, loss, [w], opt, 0.0, scale)
        assert np.isfinite(float(norm))
        assert (not np.allclose(w.numpy(), before)) == moves
    assert float(scale.scale) == 2.0**14  # one good step (of the two that double it), then halved
    np.testing.assert_allclose(w.numpy(), [0.9])  # the good step is the unscaled gradient 1 × lr 0.1


def test_unknown_precision_is_a_named_error():
    with pytest.raises(ConfigError, match="precision='float64'"):
        tiny(precision="float64").validate()
