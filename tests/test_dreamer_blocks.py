"""Dreamer building blocks: symlog/twohot, λ-returns, return normaliser, heads, encoders, RSSM."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from srl_tf.distributions import (
    PolicyHead,
    TwoHotSymlog,
    bernoulli_dist,
    from_env_action,
    onehot_categorical_sample,
    split_seed,
    straight_through_sample,
    tanh_normal,
    tanh_normal_mode,
    to_env_action,
    unimix_logits,
)
from srl_tf.errors import ConfigError
from srl_tf.functions import (
    PercentileNormalizer,
    gae,
    lambda_returns,
    symexp,
    symlog,
    twohot_decode,
    twohot_encode,
)
from srl_tf.nn.dreamer import (
    RSSM,
    ConvDecoderV2,
    ConvEncoderV2,
    DenseNormAct,
    DenseStack,
    ResidualDecoderV3,
    ResidualEncoderV3,
    norm_act,
)

tfd = tfp.distributions


def test_symlog_symexp_round_trip():
    x = tf.constant([-1e4, -20.0, -1.0, -1e-3, 0.0, 1e-3, 0.5, 3.0, 1e4])
    np.testing.assert_allclose(symexp(symlog(x)).numpy(), x.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(symlog(tf.constant([np.e - 1.0, 0.0])).numpy(), [1.0, 0.0], atol=1e-6)
    assert symlog(tf.constant(-5.0)).numpy() == pytest.approx(-np.log(6.0))


def test_twohot_round_trip_on_two_neighbouring_bins():
    bins = tf.linspace(-20.0, 20.0, 255)
    x = tf.constant([-19.9, -3.3, 0.0, 0.07, 7.77, 20.0])
    w = twohot_encode(x, bins).numpy()
    assert w.shape == (6, 255)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-6)
    for row in w:
        nz = np.flatnonzero(row > 0)
        assert len(nz) <= 2 and (len(nz) == 1 or nz[1] == nz[0] + 1)
    np.testing.assert_allclose(twohot_decode(w, bins).numpy(), x.numpy(), atol=1e-5)
    # outside the range: clipped to the end bins
    out = twohot_encode(tf.constant([-100.0, 100.0]), bins).numpy()
    assert out[0, 0] == pytest.approx(1.0) and out[1, -1] == pytest.approx(1.0)
    # exact split between neighbours
    w = twohot_encode(tf.constant(0.25), tf.constant([0.0, 1.0, 2.0])).numpy()
    np.testing.assert_allclose(w, [0.75, 0.25, 0.0], atol=1e-6)


def test_lambda_returns_hand_computed_three_steps():
    r, v, c = [1.0, 2.0, 3.0], [0.5, 1.0, 1.5], [1.0, 1.0, 0.0]
    boot, g, lam = 4.0, 0.9, 0.8
    # R_t = r_t + γ c_t ((1 − λ) v_{t+1} + λ R_{t+1}), R_3 = bootstrap
    r2 = 3.0 + 0.9 * 0.0 * (0.2 * 4.0 + 0.8 * 4.0)  # terminal: 3
    r1 = 2.0 + 0.9 * 1.0 * (0.2 * 1.5 + 0.8 * r2)  # 2 + 0.9·(0.3 + 2.4) = 4.43
    r0 = 1.0 + 0.9 * 1.0 * (0.2 * 1.0 + 0.8 * r1)
    out = lambda_returns(tf.constant(r), tf.constant(v), tf.constant(c), tf.constant(boot), g, lam)
    np.testing.assert_allclose(out.numpy(), [r0, r1, r2], rtol=1e-6)
    # time-major with a batch axis, compiled with XLA
    f = tf.function(lambda *a: lambda_returns(*a, g, lam), jit_compile=True)
    batched = f(*(tf.constant(np.array([a, a], np.float32).T) for a in (r, v, c)), tf.constant([boot, boot]))
    np.testing.assert_allclose(batched.numpy()[:, 1], [r0, r1, r2], rtol=1e-6)


def test_percentile_normalizer_ema_and_scale_floor():
    norm = PercentileNormalizer()
    assert norm.scale().numpy() == pytest.approx(1.0)  # EMAs start at 0 → S = max(1, 0)
    returns = tf.linspace(0.0, 100.0, 101)  # P5 = 5, P95 = 95 (linear interpolation)
    low, scale = tf.function(norm.update, jit_compile=True)(returns)
    assert norm.low_ema.numpy() == pytest.approx(0.01 * 5.0, rel=1e-4)
    assert norm.high_ema.numpy() == pytest.approx(0.01 * 95.0, rel=1e-4)
    assert low.numpy() == pytest.approx(0.05, rel=1e-4)
    assert scale.numpy() == pytest.approx(1.0)  # 0.9 < 1 → floored at 1
    for _ in range(400):
        norm.update(returns)
    assert norm.low_ema.numpy() == pytest.approx(5.0, rel=0.05)
    assert norm.high_ema.numpy() == pytest.approx(95.0, rel=0.05)
    assert norm.scale().numpy() == pytest.approx(90.0, rel=0.05)
    prev = norm.high_ema.numpy()
    norm.update(tf.fill([50], 1000.0))  # one step moves 1% of the way
    assert norm.high_ema.numpy() == pytest.approx(0.99 * prev + 0.01 * 1000.0, rel=1e-4)
    small = PercentileNormalizer()
    for _ in range(50):
        small.update(tf.linspace(0.0, 0.1, 11))
    assert small.scale().numpy() >= 1.0


def test_unimix_floor_and_categorical_builder():
    logits = tf.constant([[50.0, -50.0, -50.0, -50.0], [0.0, 0.0, 0.0, 0.0]])
    probs = tf.exp(unimix_logits(logits, 0.01)).numpy()
    assert (probs >= 0.01 / 4 - 1e-7).all()
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    dist = tfd.OneHotCategorical(logits=unimix_logits(logits, 0.01), dtype=tf.float32)
    assert (dist.probs_parameter().numpy() >= 0.01 / 4 - 1e-7).all()


def test_straight_through_sample_gradient_and_one_hot_value():
    logits = tf.Variable(tf.random.normal((6, 5), seed=1))
    weights = tf.random.normal((6, 5), seed=2)
    with tf.GradientTape() as tape:
        dist = tfd.OneHotCategorical(logits=unimix_logits(logits, 0.01), dtype=tf.float32)
        sample = straight_through_sample(dist, seed=3)
        loss = tf.reduce_sum(sample * weights)
    s = sample.numpy()
    assert set(np.unique(s)) <= {0.0, 1.0} and (s.sum(-1) == 1.0).all()
    grad = tape.gradient(loss, logits)
    assert grad is not None and np.abs(grad.numpy()).max() > 0
    # probabilities as input
    s2 = straight_through_sample(tf.nn.softmax(logits)).numpy()
    assert (s2.sum(-1) == 1.0).all()


def test_onehot_categorical_sample_draws_each_class_with_its_probability():
    probs = tf.constant([[0.5, 0.0, 0.2, 0.3], [0.05, 0.05, 0.0, 0.9], [0.0, 0.0, 1.0, 0.0]])
    n = 40_000
    draws = onehot_categorical_sample(tf.tile(probs[None], [n, 1, 1]), tf.constant([7, 1])).numpy()
    assert draws.shape == (n, 3, 4) and set(np.unique(draws)) <= {0.0, 1.0} and (draws.sum(-1) == 1.0).all()
    freq = draws.mean(0)
    # within 5 standard errors of each probability; classes of probability 0 are never drawn
    tol = 5 * np.sqrt(probs.numpy() * (1 - probs.numpy()) / n) + 1e-9
    assert (np.abs(freq - probs.numpy()) <= tol).all(), freq
    assert (freq[probs.numpy() == 0.0] == 0.0).all()
    # the same stateless seed gives the same draws, another seed others
    again = onehot_categorical_sample(tf.tile(probs[None], [n, 1, 1]), tf.constant([7, 1])).numpy()
    other = onehot_categorical_sample(tf.tile(probs[None], [n, 1, 1]), tf.constant([8, 1])).numpy()
    assert (again == draws).all() and (other != draws).any()
    # under XLA, with TensorFlow's global generator
    fn = tf.function(lambda p: onehot_categorical_sample(p), jit_compile=True)
    assert np.abs(fn(tf.tile(probs[None], [n, 1, 1])).numpy().mean(0) - probs.numpy()).max() < 0.02


def test_twohot_symlog_head_zero_init_and_loss():
    head = keras.layers.Dense(255, kernel_initializer="zeros", bias_initializer="zeros")
    dist = TwoHotSymlog(head(tf.random.normal((4, 8))))
    np.testing.assert_allclose(dist.mean().numpy(), 0.0, atol=1e-6)
    # log_prob is the twohot cross-entropy: logits peaked on symlog(target) score better
    target = tf.constant([10.0, -3.0])
    bins = tf.linspace(-20.0, 20.0, 255)
    good = TwoHotSymlog(10.0 * twohot_encode(symlog(target), bins))
    flat = TwoHotSymlog(tf.zeros((2, 255)))
    assert (good.log_prob(target).numpy() > flat.log_prob(target).numpy()).all()
    np.testing.assert_allclose(flat.log_prob(target).numpy(), -np.log(255.0), rtol=1e-5)
    with pytest.raises(ValueError, match="num_bins"):
        TwoHotSymlog(tf.zeros((2, 10)))


def test_symexp_values_and_sign():
    e1 = np.e - 1.0
    np.testing.assert_allclose(symexp(tf.constant([1.0, -1.0, 0.0, 2.0])).numpy(),
                               [e1, -e1, 0.0, np.e**2 - 1.0], rtol=1e-6)
    np.testing.assert_allclose(symlog(tf.constant([-e1, 99.0])).numpy(), [-1.0, np.log(100.0)], rtol=1e-6)


def test_twohot_weights_on_bins_at_the_top_and_for_any_input_shape():
    bins = tf.constant([0.0, 1.0, 2.0, 4.0])
    w = twohot_encode(tf.constant([[1.0, 2.0], [3.0, 4.0]]), bins).numpy()
    assert w.shape == (2, 2, 4)
    np.testing.assert_allclose(w[0, 0], [0, 1, 0, 0], atol=1e-7)  # on a bin: all its weight there
    np.testing.assert_allclose(w[0, 1], [0, 0, 1, 0], atol=1e-7)
    np.testing.assert_allclose(w[1, 0], [0, 0, 0.5, 0.5], atol=1e-7)  # uneven spacing: halfway 2 … 4
    np.testing.assert_allclose(w[1, 1], [0, 0, 0, 1], atol=1e-7)  # the top bin
    np.testing.assert_allclose(twohot_decode(tf.constant([0.2, 0.3, 0.4, 0.1]), bins).numpy(), 1.5, rtol=1e-6)
    with pytest.raises(ValueError, match="at least 2 bins, got 1"):
        twohot_encode(tf.constant(0.5), tf.constant([0.0]))


def test_lambda_returns_limits_are_monte_carlo_and_one_step_td():
    r, v, c = [1.0, 2.0, 3.0], [0.5, 1.0, 1.5], [1.0, 0.5, 1.0]
    boot, g = 4.0, 0.9
    args = (tf.constant(r), tf.constant(v), tf.constant(c), tf.constant(boot))
    mc2 = 3.0 + 0.9 * 4.0
    mc1 = 2.0 + 0.9 * 0.5 * mc2
    np.testing.assert_allclose(lambda_returns(*args, g, 1.0).numpy(), [1.0 + 0.9 * mc1, mc1, mc2], rtol=1e-6)
    td = [1.0 + 0.9 * 1.0, 2.0 + 0.9 * 0.5 * 1.5, 3.0 + 0.9 * 4.0]
    np.testing.assert_allclose(lambda_returns(*args, g, 0.0).numpy(), td, rtol=1e-6)


def test_percentile_normalizer_divides_by_the_scale_and_checks_its_arguments():
    norm = PercentileNormalizer(decay=0.5, low=10.0, high=90.0, min_scale=0.5)
    low, scale = norm.update(tf.linspace(0.0, 10.0, 101))  # P10 = 1, P90 = 9 → EMAs 0.5, 4.5
    assert low.numpy() == pytest.approx(0.5) and scale.numpy() == pytest.approx(4.0)
    np.testing.assert_allclose(norm(tf.constant([8.0, -2.0])).numpy(), [2.0, -0.5], rtol=1e-6)
    tiny = PercentileNormalizer(min_scale=0.5)
    assert tiny.scale().numpy() == pytest.approx(0.5)  # the floor applies while P_high − P_low is below it
    config = norm.get_config()
    assert (config["decay"], config["low"], config["high"], config["min_scale"]) == (0.5, 10.0, 90.0, 0.5)
    assert PercentileNormalizer.from_config(config).decay == 0.5
    for kwargs, match in [({"decay": 1.0}, "decay=1.0"), ({"decay": -0.1}, "decay=-0.1"),
                          ({"low": 50.0, "high": 50.0}, "low=50.0, high=50.0"), ({"high": 101.0}, "high=101.0"),
                          ({"low": -1.0}, "low=-1.0"), ({"min_scale": 0.0}, "min_scale=0.0")]:
        with pytest.raises(ValueError, match=match):
            PercentileNormalizer(**kwargs)
    PercentileNormalizer(decay=0.0, low=0.0, high=100.0)  # the ends of the ranges are allowed


def test_policy_head_categorical_logits_and_gaussian_with_clipped_log_std():
    h = tf.random.normal((3, 4), seed=0)
    head = PolicyHead(True, 5)
    logits = head(h)
    np.testing.assert_allclose(head.distribution(logits).logits_parameter().numpy(), logits.numpy())
    gauss = PolicyHead(False, 2, init_log_std=-0.5)
    mean = gauss(h)
    dist = gauss.distribution(mean)
    np.testing.assert_allclose(dist.mean().numpy(), mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(dist.stddev().numpy(), np.full((3, 2), np.exp(-0.5)), rtol=1e-6)
    assert dist.event_shape == (2,)
    gauss.log_std.assign([-9.0, 9.0])  # clipped to [-5, 2]
    np.testing.assert_allclose(gauss.distribution(mean).stddev().numpy()[0], np.exp([-5.0, 2.0]), rtol=1e-6)
    config = gauss.get_config()
    assert (config["discrete"], config["action_dim"], config["init_log_std"]) == (False, 2, -0.5)


def test_split_seed_tanh_mode_and_bernoulli_event_dims():
    assert split_seed(None, 3) == [None, None, None]
    seeds = split_seed(tf.constant([1, 2], tf.int32), 3)
    assert len(seeds) == 3 and all(s.shape == (2,) for s in seeds)
    assert len({tuple(s.numpy()) for s in seeds}) == 3
    np.testing.assert_array_equal(seeds[1].numpy(), split_seed(tf.constant([1, 2], tf.int32), 3)[1].numpy())
    mean = tf.constant([[0.3, -2.0]])
    np.testing.assert_allclose(tanh_normal_mode(tanh_normal(mean, tf.zeros((1, 2)))).numpy(), np.tanh([[0.3, -2.0]]),
                               rtol=1e-6)
    np.testing.assert_allclose(tanh_normal(mean, tf.fill((1, 2), -1.0)).distribution.stddev().numpy(),
                               np.full((1, 2), np.exp(-1.0)), rtol=1e-6)
    logits = tf.constant([[0.0, 2.0]])
    assert bernoulli_dist(logits).batch_shape == (1, 2) and bernoulli_dist(logits).event_shape == ()
    summed = bernoulli_dist(logits, event_ndims=1)
    assert summed.event_shape == (2,) and summed.sample(seed=1).dtype == tf.float32
    np.testing.assert_allclose(summed.log_prob(tf.constant([[1.0, 1.0]])).numpy(),
                               [np.log(0.5) + np.log(1 / (1 + np.exp(-2.0)))], rtol=1e-5)


def test_unimix_mixes_exactly_and_checks_its_argument():
    logits = tf.constant([[2.0, 0.0, -1.0]])
    soft = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(tf.exp(unimix_logits(logits, 0.3)).numpy(), 0.7 * soft + 0.1, rtol=1e-6)
    np.testing.assert_allclose(unimix_logits(logits, 0.0).numpy(), np.log(soft), rtol=1e-6)
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=f"unimix={bad}"):
            unimix_logits(logits, bad)


def test_straight_through_sample_accepts_independent_and_rejects_other_distributions():
    probs = tf.constant([[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]])
    dist = tfd.Independent(tfd.OneHotCategorical(probs=probs, dtype=tf.float32), reinterpreted_batch_ndims=1)
    np.testing.assert_array_equal(straight_through_sample(dist, seed=0).numpy(), probs.numpy())
    np.testing.assert_array_equal(straight_through_sample(probs).numpy(), probs.numpy())
    with pytest.raises(TypeError, match="OneHotCategorical or probabilities, got Normal"):
        straight_through_sample(tfd.Normal(0.0, 1.0))


def test_twohot_symlog_mean_of_a_peaked_head_and_its_arguments():
    target = tf.constant([5.0, -0.5])
    bins = tf.linspace(-2.0, 2.0, 5)
    # logits peaked on the bins at ±1 (in symlog space): the mean is symexp(±1)
    dist = TwoHotSymlog(100.0 * tf.one_hot([3, 1], 5), low=-2.0, high=2.0, num_bins=5)
    np.testing.assert_allclose(dist.mean().numpy(), [np.e - 1.0, 1.0 - np.e], rtol=1e-4)
    np.testing.assert_allclose(dist.mode().numpy(), dist.mean().numpy())
    np.testing.assert_allclose(dist.probs.numpy().sum(-1), 1.0, rtol=1e-6)
    w = twohot_encode(symlog(target), bins)
    expected = tf.reduce_sum(w * tf.nn.log_softmax(dist.logits), -1)
    np.testing.assert_allclose(dist.log_prob(target).numpy(), expected.numpy(), rtol=1e-6)
    for kwargs in ({"num_bins": 1}, {"low": 1.0, "high": 1.0}):
        with pytest.raises(ValueError, match="num_bins >= 2 and low < high"):
            TwoHotSymlog(tf.zeros((1, kwargs.get("num_bins", 5))), **{"num_bins": 5, **kwargs})
    with pytest.raises(ValueError, match="logits have 10 entries on the last axis, expected num_bins=255"):
        TwoHotSymlog(tf.zeros((2, 10)))


def test_small_heads():
    cont = bernoulli_dist(tf.constant([100.0, -100.0]))
    np.testing.assert_allclose(cont.mean().numpy(), [1.0, 0.0], atol=1e-6)


def test_dense_norm_act_and_mlp():
    layer = DenseNormAct(8)
    y = layer(tf.random.normal((3, 5)))
    assert y.shape == (3, 8) and not layer.dense.use_bias
    assert DenseNormAct.from_config(layer.get_config()).units == 8
    net = DenseStack((16, 4))
    assert net(tf.zeros((2, 3))).shape == (2, 4)
    with pytest.raises(ConfigError, match="sizes"):
        DenseStack((16, 0))


def _rssm(classes=8, **kw):
    return RSSM(action_dim=2, embed_dim=6, deter=16, stoch=4, classes=classes, hidden=16, **kw)


def test_kl_free_bits_apply_to_the_summed_kl():
    rssm = _rssm(classes=4, unimix=0.0)
    stoch, classes = 4, 4
    # each variable: KL([0.7, 0.1, 0.1, 0.1] ‖ uniform) ≈ 0.446 < 1; the sum over 4 ≈ 1.78 > 1
    post_logits = tf.Variable(tf.math.log(tf.tile(tf.constant([[[0.7, 0.1, 0.1, 0.1]]]), [2, stoch, 1])))
    prior_logits = tf.Variable(tf.zeros((2, stoch, classes)))
    with tf.GradientTape() as tape:
        post = {"deter": tf.zeros((2, 16)), "stoch": tf.zeros((2, stoch, classes)), "logits": post_logits}
        prior = {"deter": tf.zeros((2, 16)), "stoch": tf.zeros((2, stoch, classes)), "logits": prior_logits}
        loss, kl = rssm.kl_loss(post, prior, free=1.0, dyn_scale=0.5, rep_scale=0.1)
        total = tf.reduce_mean(loss)
    per_var = 0.7 * np.log(2.8) + 0.3 * np.log(0.4)
    assert per_var < 1.0
    np.testing.assert_allclose(kl.numpy(), stoch * per_var, rtol=1e-5)
    np.testing.assert_allclose(loss.numpy(), 0.6 * stoch * per_var, rtol=1e-5)
    assert loss.numpy().min() > 1.0 * 0.6  # unclamped: above the free-bits floor
    grads = tape.gradient(total, [post_logits, prior_logits])
    assert all(g is not None and np.abs(g.numpy()).max() > 0 for g in grads)
    full, _ = rssm.kl_loss(post, prior, free=1.0, dyn_scale=1.0, rep_scale=0.0)
    assert full.numpy().min() > 1.0
    # the V2 preset's balance (0.8 / 0.2) and the V1 preset's free nats (3, one KL) also clamp the summed KL
    bal, _ = rssm.kl_loss(post, prior, free=1.0, dyn_scale=0.8, rep_scale=0.2)
    np.testing.assert_allclose(bal.numpy(), stoch * per_var, rtol=1e-5)
    nats, _ = rssm.kl_loss(post, prior, free=3.0, dyn_scale=0.5, rep_scale=0.5)
    np.testing.assert_allclose(nats.numpy(), 3.0)
    # below the floor: constant loss, no gradient
    with tf.GradientTape() as tape:
        small = {**post, "logits": 0.01 * post_logits}
        low, _ = rssm.kl_loss(small, prior)
    np.testing.assert_allclose(low.numpy(), 0.6)
    g = tape.gradient(tf.reduce_sum(low), post_logits)
    assert g is None or np.abs(g.numpy()).max() == 0


@pytest.mark.parametrize("classes", [8, 0])
def test_rssm_reset_at_is_first(classes):
    rssm = _rssm(classes)
    batch = 3
    action, embed = tf.random.normal((batch, 2)), tf.random.normal((batch, 6))
    fresh, _ = rssm.obs_step(rssm.initial(batch), tf.zeros((batch, 2)), embed, tf.zeros(batch), sample=False)
    # some arbitrary carried state
    carried, _ = rssm.obs_step(rssm.initial(batch), action, tf.random.normal((batch, 6)), tf.zeros(batch))
    carried, _ = rssm.obs_step(carried, action, tf.random.normal((batch, 6)), tf.zeros(batch))
    first = tf.constant([1.0, 0.0, 1.0])
    post, prior = rssm.obs_step(carried, action, embed, first, sample=False)
    for key in fresh:
        np.testing.assert_allclose(post[key].numpy()[[0, 2]], fresh[key].numpy()[[0, 2]], atol=1e-6)
    assert np.abs(post["deter"].numpy()[1] - fresh["deter"].numpy()[1]).max() > 1e-4
    assert set(post) == set(prior) == set(rssm.initial(1))


@pytest.mark.parametrize("classes", [8, 0])
def test_rssm_observe_matches_a_loop_of_obs_steps(classes):
    # observe runs only h and the posterior in its loop and computes the priors' statistics after it:
    # the result must be what stepping obs_step through the sequence gives (deterministic latents)
    rssm = _rssm(classes)
    b, t = 3, 6
    embeds, actions = tf.random.normal((b, t, 6)), tf.random.normal((b, t, 2))
    is_first = tf.constant([[1.0, 0, 0, 1, 0, 0], [1.0, 0, 0, 0, 0, 0], [0.0, 0, 1, 0, 0, 1]])
    start, _ = rssm.obs_step(rssm.initial(b), actions[:, 0], embeds[:, 0], tf.zeros(b))
    posts, priors, last = rssm.observe(embeds, actions, is_first, start, sample=False)
    state = start
    for i in range(t):
        post, prior = rssm.obs_step(state, actions[:, i], embeds[:, i], is_first[:, i], sample=False)
        for key in post:
            np.testing.assert_allclose(posts[key].numpy()[:, i], post[key].numpy(), atol=1e-5, err_msg=f"post {key} at {i}")
        for key in set(prior) - {"stoch"}:
            np.testing.assert_allclose(priors[key].numpy()[:, i], prior[key].numpy(), atol=1e-5, err_msg=f"prior {key} at {i}")
        # acting's posterior_step is obs_step's posterior, for sampled latents too (same seed)
        seed = tf.constant([i, 7])
        sampled, _ = rssm.obs_step(state, actions[:, i], embeds[:, i], is_first[:, i], seed=seed)
        alone = rssm.posterior_step(state, actions[:, i], embeds[:, i], is_first[:, i], seed=seed)
        for key in sampled:
            np.testing.assert_allclose(alone[key].numpy(), sampled[key].numpy(), atol=1e-5)
        state = post
    for key in last:
        np.testing.assert_allclose(last[key].numpy(), state[key].numpy(), atol=1e-5)


def test_rssm_observe_compiles_with_xla_and_carries_state():
    rssm = _rssm()

    @tf.function(jit_compile=True)
    def step(embeds, actions, is_first, state):
        with tf.GradientTape() as tape:
            posts, priors, last = rssm.observe(embeds, actions, is_first, state)
            # free=0: with free bits a freshly initialised model's KL may sit under the floor,
            # where the gradient is zero by design (pinned in the free-bits test)
            loss = tf.reduce_mean(rssm.kl_loss(posts, priors, free=0.0)[0])
        return posts, priors, last, loss, tape.gradient(loss, rssm.trainable_variables)

    b, t = 2, 5
    embeds, actions = tf.random.normal((b, t, 6)), tf.random.normal((b, t, 2))
    is_first = tf.constant([[1.0, 0, 0, 1, 0], [1.0, 0, 0, 0, 0]])
    posts, priors, last, loss, grads = step(embeds, actions, is_first, rssm.initial(b))
    assert posts["deter"].shape == (b, t, 16) and posts["stoch"].shape == (b, t, 4, 8)
    assert priors["logits"].shape == (b, t, 4, 8)
    np.testing.assert_allclose(last["deter"].numpy(), posts["deter"].numpy()[:, -1])
    assert np.isfinite(loss.numpy())
    assert sum(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads) > len(grads) // 2
    # the last state carries into the next batch (same compiled function, no re-trace)
    posts2, _, _, _, _ = step(embeds, actions, tf.zeros((b, t)), last)
    assert step.experimental_get_tracing_count() == 1
    assert rssm.get_feat(posts2).shape == (b, t, rssm.feat_size)


def test_rssm_imagine_shapes_and_actor_gradient():
    rssm = _rssm()
    start = rssm.initial(3)
    actor = keras.layers.Dense(2)
    actor.build((None, rssm.feat_size))
    with tf.GradientTape() as tape:
        states, acts = rssm.imagine(lambda feat: tf.tanh(actor(feat)), start, 4)
        out = tf.reduce_sum(rssm.get_feat(states)[-1])
    assert states["deter"].shape == (5, 3, 16) and states["stoch"].shape == (5, 3, 4, 8) and acts.shape == (4, 3, 2)
    np.testing.assert_allclose(states["deter"].numpy()[0], start["deter"].numpy())
    grad = tape.gradient(out, actor.kernel)
    assert grad is not None and np.abs(grad.numpy()).max() > 0  # back-prop through the dynamics


def test_rssm_invalid_latent_names_fields():
    for stoch, classes in ((0, 32), (32, 1), (32, -2)):
        with pytest.raises(ConfigError, match=r"stoch=.*rssm_stoch_size.*classes=.*rssm_classes"):
            RSSM(action_dim=2, embed_dim=4, stoch=stoch, classes=classes)


@pytest.mark.parametrize("activation", ["silu", "elu"])
@pytest.mark.parametrize("compile_as", ["eager", "function", "xla"])
def test_fused_norm_act_matches_keras_layer_norm_and_activation_with_gradients(activation, compile_as):
    norm = keras.layers.LayerNormalization(epsilon=1e-3)
    norm.build((None, 8))
    norm.gamma.assign(tf.random.stateless_normal((8,), (1, 2)) + 1.0)
    norm.beta.assign(tf.random.stateless_normal((8,), (3, 4)))
    # rows from tiny to large spread, so that epsilon and the per-row statistics both matter
    x = tf.random.stateless_normal((3, 5, 5, 8), (5, 6)) * tf.reshape(tf.linspace(0.02, 3.0, 75), (3, 5, 5, 1)) + 1.0
    weights = tf.random.stateless_normal((3, 5, 5, 8), (7, 8))  # a loss with a gradient that is not uniform

    def grads(f):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
            loss = tf.reduce_sum(y * weights)
        return [y, *tape.gradient(loss, [x, norm.gamma, norm.beta])]

    act = keras.activations.get(activation)
    fused = lambda v: norm_act(norm, activation, v)  # noqa: E731
    if compile_as != "eager":
        run = tf.function(grads, jit_compile=compile_as == "xla")
    else:
        run = grads
    for got, want in zip(run(fused), grads(lambda v: act(norm(v)))):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)
    x_low = tf.cast(x, tf.bfloat16)  # mixed precision: statistics in float32, the output in bfloat16
    low = norm_act(norm, activation, x_low)
    assert low.dtype == tf.bfloat16
    want = act(norm(tf.cast(x_low, tf.float32))).numpy()
    np.testing.assert_allclose(tf.cast(low, tf.float32).numpy(), want, rtol=1e-2, atol=1e-2)


def test_v3_encoder_decoder_shapes_and_size_errors():
    enc = ResidualEncoderV3(depth=4)
    x = tf.random.uniform((2, 64, 64, 3)) - 0.5
    feat = enc(x)
    assert feat.shape == (2, 4 * 4 * 4 * 2**3)  # 4 stages: 64 → 4, depth 4 → 32
    dec = ResidualDecoderV3((64, 64, 3), depth=4)
    assert dec(feat).shape == x.shape
    assert dec(tf.zeros((2, 3, feat.shape[-1]))).shape == (2, 3, 64, 64, 3)
    with pytest.raises(ConfigError, match="too small"):
        ResidualEncoderV3(depth=4)(tf.zeros((1, 4, 4, 3)))
    with pytest.raises(ConfigError, match="power of two"):
        ResidualEncoderV3(depth=4)(tf.zeros((1, 48, 48, 3)))
    with pytest.raises(ConfigError, match="too small"):
        ResidualDecoderV3((2, 2, 3))


def test_v2_encoder_decoder_shapes():
    enc = ConvEncoderV2(depth=4)
    feat = enc(tf.zeros((2, 3, 64, 64, 3)))
    assert feat.shape == (2, 3, 2 * 2 * 32)
    assert ConvDecoderV2((64, 64, 3), depth=4)(feat).shape == (2, 3, 64, 64, 3)
    with pytest.raises(ConfigError, match="smaller than the minimum"):
        ConvEncoderV2(depth=4)(tf.zeros((1, 32, 32, 3)))


def test_gae_returns_float32_for_float64_inputs_and_handles_a_one_step_rollout():
    # inputs in numpy's default float64: the advantages and returns are float32 all the same
    r = np.array([[1.0, 0.0], [2.0, 1.0]])
    v = np.array([[0.5, 0.25], [0.75, 0.5]])
    next_v = np.array([[0.75, 0.5], [1.0, 2.0]])
    done = np.array([[False, False], [False, True]])
    adv, ret = gae(r, v, next_v, done, done, 0.5, 0.5)
    assert adv.dtype == np.float32 and ret.dtype == np.float32
    # column 0: δ = (1 + 0.375 − 0.5, 2 + 0.5 − 0.75) = (0.875, 1.75), A0 = 0.875 + 0.25·1.75
    np.testing.assert_allclose(adv[:, 0], [1.3125, 1.75], rtol=1e-6)
    np.testing.assert_allclose(ret, adv + v, rtol=1e-6)
    # a rollout of one step: A = δ
    adv1, ret1 = gae(r[:1], v[:1], next_v[:1], done[:1], done[:1], 0.5, 0.5)
    np.testing.assert_allclose(adv1, [[0.875, 0.0]], rtol=1e-6)
    assert adv1.shape == (1, 2) and ret1.dtype == np.float32


def test_return_helpers_take_numpy_float64_and_interpolate_between_points():
    # numpy float64 inputs (numpy's default) give float32 results, as the compiled steps' tensors do
    r, v, c = (np.array(x) for x in ([1.0, 2.0], [0.5, 1.0], [1.0, 1.0]))
    out = lambda_returns(r, v, c, np.float64(3.0), 0.5, 1.0)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), [1.0 + 0.5 * 3.5, 3.5], rtol=1e-6)
    bins = np.array([0.0, 1.0, 2.0])  # exactly two intervals; two bins are enough
    w = twohot_encode(np.array([0.25, 9.0]), bins)
    assert w.dtype == tf.float32
    np.testing.assert_allclose(w.numpy(), [[0.75, 0.25, 0.0], [0.0, 0.0, 1.0]], atol=1e-7)  # above the top: all on it
    np.testing.assert_allclose(twohot_encode(np.array([0.5]), np.array([0.0, 1.0])).numpy(), [[0.5, 0.5]], atol=1e-7)
    assert twohot_decode(np.array([0.5, 0.5, 0.0]), bins).dtype == tf.float32
    np.testing.assert_allclose(twohot_decode(np.array([0.5, 0.5, 0.0]), bins).numpy(), 0.5, rtol=1e-6)
    norm = PercentileNormalizer(decay=0.0, low=10.0, high=90.0, min_scale=0.1)
    low, scale = norm.update(np.array([0.0, 10.0]))  # linear interpolation: P10 = 1, P90 = 9
    assert low.numpy() == pytest.approx(1.0) and scale.numpy() == pytest.approx(8.0)
    assert norm(np.array([4.0])).dtype == tf.float32
    np.testing.assert_allclose(norm(np.array([4.0])).numpy(), [0.5], rtol=1e-6)


def test_action_mapping_clips_out_of_range_values_and_keeps_tensors_and_float32():
    low, high = np.array([-2.0, 0.0]), np.array([1.0, 4.0])  # float64 bounds, as Box spaces may give
    env = to_env_action(np.array([[-1.5, 0.5], [1.0, 3.0]]), low, high)
    assert env.dtype == np.float32
    np.testing.assert_allclose(env, [[-2.0, 3.0], [1.0, 4.0]], rtol=1e-6)
    tensor = to_env_action(tf.constant([[-1.5, 0.5]]), low.astype(np.float32), high.astype(np.float32))
    assert tf.is_tensor(tensor)  # inside an exported policy it stays a tensor
    np.testing.assert_allclose(tensor.numpy(), [[-2.0, 3.0]], rtol=1e-6)
    unit = from_env_action(np.array([[-3.0, 5.0], [-0.5, 1.0]]), low, high)  # outside the box: clipped
    assert unit.dtype == np.float32
    np.testing.assert_allclose(unit, [[-1.0, 1.0], [0.0, -0.5]], rtol=1e-6)


def test_distribution_helpers_on_batched_latents():
    # (batch, stoch, classes): the mix and the softmax run over the classes only
    logits = tf.constant(np.random.default_rng(0).normal(size=(2, 3, 4)), tf.float32)
    mixed = tf.exp(unimix_logits(logits, 0.2)).numpy()
    np.testing.assert_allclose(mixed, 0.8 * tf.nn.softmax(logits).numpy() + 0.05, rtol=1e-5)
    np.testing.assert_allclose(unimix_logits(logits, 0.0).numpy(), tf.nn.log_softmax(logits).numpy(), rtol=1e-5)
    assert bernoulli_dist(logits, event_ndims=1).event_shape == (4,)
    dist = tanh_normal(tf.zeros((3, 5, 2)), tf.zeros((3, 5, 2)))  # (time, batch, action)
    assert dist.log_prob(tf.zeros((3, 5, 2))).shape == (3, 5)  # one log-probability per action vector
    # straight-through: the value is the seeded sample, the gradient that of the probabilities
    probs = tf.Variable(np.tile([[0.1, 0.6, 0.3]], (200, 1)).astype(np.float32))
    first = straight_through_sample(probs, seed=(3, 4)).numpy()
    assert len({row.argmax() for row in first}) == 3  # 200 draws: every class appears
    np.testing.assert_array_equal(straight_through_sample(probs, seed=(3, 4)).numpy(), first)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(straight_through_sample(probs, seed=(3, 4)) * tf.constant([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(tape.gradient(value, probs).numpy(), np.tile([[1.0, 2.0, 3.0]], (200, 1)))
    # a policy head starts near zero (a small orthogonal initialisation of its output layer)
    out = PolicyHead(True, 3)(tf.ones((4, 8)))
    assert np.abs(out.numpy()).max() < 0.1


def test_percentile_normalizer_state_is_two_untrained_named_scalars_with_the_paper_defaults():
    norm = PercentileNormalizer()
    config = norm.get_config()
    assert (config["decay"], config["low"], config["high"], config["min_scale"]) == (0.99, 5.0, 95.0, 1.0)
    assert norm.trainable_weights == []  # the actor's optimizer must not move the EMAs
    assert sorted(w.path.split("/")[-1] for w in norm.non_trainable_weights) == ["high_ema", "low_ema"]
    assert all(w.shape == () for w in norm.non_trainable_weights)
