"""ReplayBuffer: storage layout, transition consistency across episode ends, n-step returns."""

import numpy as np
import pytest

from srl_tf.memory import ReplayBuffer

GAMMA = 0.9


class Streams:
    """``num_envs`` synthetic env streams whose observations encode (env, episode, t).

    Episode ``k`` of env ``e`` lasts ``lengths[e][k % len(lengths[e])]`` steps and ends by termination
    when ``k`` is even, by truncation when odd. The reward of step t is ``t + 1`` and the action
    encodes (env, episode, t) as well, so every sampled field can be checked."""

    def __init__(self, lengths):
        self.lengths = lengths
        self.n = len(lengths)
        self.ep = [0] * self.n
        self.t = [0] * self.n

    def length(self, e):
        return self.lengths[e][self.ep[e] % len(self.lengths[e])]

    def step(self):
        obs, act, rew, nxt, term, trunc = [], [], [], [], [], []
        for e in range(self.n):
            ep, t = self.ep[e], self.t[e]
            end = t + 1 == self.length(e)
            obs.append([e, ep, t])
            nxt.append([e, ep, t + 1])
            act.append(e * 1_000_000 + ep * 1000 + t)
            rew.append(t + 1)
            term.append(end and ep % 2 == 0)
            trunc.append(end and ep % 2 == 1)
            if end:
                self.ep[e], self.t[e] = ep + 1, 0
            else:
                self.t[e] = t + 1
        f = np.float32
        return (
            np.array(obs, f),
            np.array(act, np.int32),
            np.array(rew, f),
            np.array(nxt, f),
            np.array(term),
            np.array(trunc),
        )


def make_buffer(capacity=1000, num_envs=1, n_step=1):
    return ReplayBuffer(capacity, (3,), np.float32, (), np.int32, num_envs=num_envs, discount=GAMMA, n_step=n_step)


def fill(rb, streams, steps):
    added = []
    for _ in range(steps):
        step = streams.step()
        rb.add(*step)
        added.append(step)
    return added


def decode_action(a):
    a = np.asarray(a, np.int64)
    return np.stack([a // 1_000_000, (a // 1000) % 1000, a % 1000], -1)


def assert_consistent(batch, streams, n_step=1):
    """Every sampled transition starts at obs, ends at the obs n steps later (fewer where the
    episode ended or the newest stored step was reached) in the same episode of the same env, and
    has the matching action, n-step reward and discount (0 only when the episode terminated)."""
    obs, nxt = batch.obs.reshape(-1, 3).astype(int), batch.next_obs.reshape(-1, 3).astype(int)
    np.testing.assert_array_equal(decode_action(batch.action.reshape(-1)), obs)
    np.testing.assert_array_equal(nxt[:, :2], obs[:, :2])  # same env, same episode
    k = nxt[:, 2] - obs[:, 2]
    assert np.all((k >= 1) & (k <= n_step))
    for o, n, r, d, steps in zip(obs, nxt, batch.reward.reshape(-1), batch.discount.reshape(-1), k):
        e, ep, t = o
        length = streams.lengths[e][ep % len(streams.lengths[e])]
        assert n[2] <= length
        if n[2] < length:
            assert steps == n_step or (ep, n[2]) == (streams.ep[e], streams.t[e])  # cut short only at the newest step
        expected = sum(GAMMA**i * (t + 1 + i) for i in range(int(steps)))
        assert r == pytest.approx(expected, rel=1e-5)
        terminated = n[2] == length and ep % 2 == 0
        assert d == pytest.approx(0.0 if terminated else GAMMA**steps, rel=1e-5)


# ------------------------------------------------------------------------------------------
# Layout
# ------------------------------------------------------------------------------------------


def test_images_are_stored_as_uint8_once_per_frame():
    rb = ReplayBuffer(1000, (64, 64, 3), np.uint8, (), np.int32)
    assert rb.obs.dtype == np.uint8
    assert rb.obs.nbytes == 1000 * 64 * 64 * 3
    assert rb.nbytes <= 1.05 * 1000 * 12288


def test_image_transitions_round_trip_as_uint8():
    rb = ReplayBuffer(100, (8, 8, 3), np.uint8, (), np.int32, discount=GAMMA)
    frames = [np.full((1, 8, 8, 3), 10 * i, np.uint8) for i in range(6)]
    for i in range(5):
        rb.add(frames[i], np.array([i]), np.array([1.0]), frames[i + 1], np.array([False]), np.array([False]))
    b = rb.sample(64, np.random.default_rng(0))
    assert b.obs.dtype == np.uint8 and b.next_obs.dtype == np.uint8
    assert b.obs.shape == (64, 8, 8, 3)
    np.testing.assert_array_equal(b.obs[:, 0, 0, 0], 10 * b.action)
    np.testing.assert_array_equal(b.next_obs[:, 0, 0, 0], 10 * (b.action + 1))


def test_len_counts_stored_transitions():
    rb = make_buffer()
    assert len(rb) == 0
    fill(rb, Streams([[4]]), 10)
    assert len(rb) == 10


def test_sampling_an_empty_buffer_raises():
    with pytest.raises(RuntimeError, match="empty"):
        make_buffer().sample(4, np.random.default_rng(0))


# ------------------------------------------------------------------------------------------
# Consistency across episode ends
# ------------------------------------------------------------------------------------------


def test_sampled_next_obs_is_the_real_next_observation():
    rb = make_buffer()
    streams = Streams([[5, 3, 7, 1, 4]])
    added = fill(rb, streams, 60)
    batch = rb.sample(2000, np.random.default_rng(0))
    assert_consistent(batch, streams)
    # every stored transition can be sampled, and nothing else
    sampled = {tuple(o) for o in batch.obs.astype(int)}
    assert sampled == {tuple(s[0][0].astype(int)) for s in added}


def test_transition_never_spans_an_episode_end():
    rb = make_buffer()
    fill(rb, Streams([[3]]), 9)  # episodes 0, 1, 2 of 3 steps
    batch = rb.sample(500, np.random.default_rng(1))
    last = batch.obs[:, 2] == 2
    assert last.any()
    # the last step's next obs is the final obs (t=3) of the same episode, not the next first obs
    np.testing.assert_array_equal(batch.next_obs[last, 2], 3)
    np.testing.assert_array_equal(batch.next_obs[last, 1], batch.obs[last, 1])
    # and no transition starts from a final observation
    assert not np.any(batch.obs[:, 2] == 3)


def test_discount_is_zero_after_termination_and_gamma_after_truncation():
    rb = make_buffer()
    fill(rb, Streams([[2]]), 8)  # even episodes terminate, odd ones truncate
    b = rb.sample(500, np.random.default_rng(2))
    end = b.obs[:, 2] == 1
    terminated = end & (b.obs[:, 1] % 2 == 0)
    truncated = end & (b.obs[:, 1] % 2 == 1)
    assert terminated.any() and truncated.any()
    np.testing.assert_allclose(b.discount[terminated], 0.0)
    np.testing.assert_allclose(b.discount[truncated], GAMMA)
    np.testing.assert_allclose(b.discount[~end], GAMMA)
    assert b.discount.dtype == np.float32 and b.reward.dtype == np.float32


def test_ring_wrap_around_stays_consistent():
    rb = make_buffer(capacity=50)
    streams = Streams([[5, 3, 7, 1, 4, 11]])
    added = fill(rb, streams, 1037)
    assert 0 < len(rb) <= 50
    assert len(rb) == int(rb.valid.sum())  # the O(1) counter agrees with the slots
    batch = rb.sample(3000, np.random.default_rng(3))
    assert_consistent(batch, streams)
    recent = {tuple(s[0][0].astype(int)) for s in added[-50:]}
    sampled = {tuple(o) for o in batch.obs.astype(int)}
    assert sampled <= recent  # only the newest transitions survive
    assert tuple(added[-1][0][0].astype(int)) in sampled  # including the latest one
    assert len(sampled) == len(rb)


# ------------------------------------------------------------------------------------------
# n-step returns
# ------------------------------------------------------------------------------------------


def _by_t(batch):
    out = {}
    for o, r, n, d in zip(batch.obs, batch.reward, batch.next_obs, batch.discount):
        out[(int(o[1]), int(o[2]))] = (float(r), int(n[1]), int(n[2]), float(d))
    return out


@pytest.mark.parametrize("truncate", [False, True], ids=["terminated", "truncated"])
def test_n_step_return_and_discount_by_hand(truncate):
    """Episode 0: rewards 1..5, ends after 5 steps; episode 1 has 2 steps stored so far."""
    rb = make_buffer(n_step=3)
    f = np.float32
    for t in range(5):
        end = t == 4
        rb.add(
            np.array([[0, 0, t]], f), np.array([t]), np.array([t + 1.0], f), np.array([[0, 0, t + 1]], f),
            np.array([end and not truncate]), np.array([end and truncate]),
        )  # fmt: skip
    for t in range(2):
        rb.add(
            np.array([[0, 1, t]], f), np.array([t]), np.array([10.0 * (t + 1)], f), np.array([[0, 1, t + 1]], f),
            np.array([False]), np.array([False]),
        )  # fmt: skip
    got = _by_t(rb.sample(2000, np.random.default_rng(4)))
    assert len(got) == 7
    g = GAMMA
    end_discount = (lambda k: g**k) if truncate else (lambda k: 0.0)
    expected = {
        (0, 0): (1 + g * 2 + g * g * 3, 0, 3, g**3),
        (0, 1): (2 + g * 3 + g * g * 4, 0, 4, g**3),
        (0, 2): (3 + g * 4 + g * g * 5, 0, 5, end_discount(3)),  # the episode ends inside the window
        (0, 3): (4 + g * 5, 0, 5, end_discount(2)),
        (0, 4): (5, 0, 5, end_discount(1)),
        (1, 0): (10 + g * 20, 1, 2, g**2),  # window cut short by the newest stored step
        (1, 1): (20, 1, 2, g),
    }
    for key, (r, n_ep, n_t, d) in expected.items():
        gr, gep, gt, gd = got[key]
        assert gr == pytest.approx(r, rel=1e-5), key
        assert (gep, gt) == (n_ep, n_t), key
        assert gd == pytest.approx(d, rel=1e-5, abs=1e-7), key


def test_n_step_sampling_stays_consistent_over_many_episodes_and_wraps():
    rb = make_buffer(capacity=40, n_step=3)
    streams = Streams([[1, 2, 5, 3, 8]])
    fill(rb, streams, 333)
    assert_consistent(rb.sample(2000, np.random.default_rng(5)), streams, n_step=3)


# ------------------------------------------------------------------------------------------
# Several env streams, stacked batches
# ------------------------------------------------------------------------------------------


def test_env_streams_stay_separate():
    rb = make_buffer(capacity=200, num_envs=2)
    streams = Streams([[4, 2], [6, 1, 3]])
    added = fill(rb, streams, 40)
    assert len(rb) == 80
    batch = rb.sample(3000, np.random.default_rng(6))
    assert_consistent(batch, streams)
    envs = batch.obs[:, 0]
    assert set(envs.astype(int)) == {0, 1}
    sampled = {tuple(o) for o in batch.obs.astype(int)}
    assert sampled == {tuple(o) for s in added for o in s[0].astype(int)}


def test_env_streams_stay_separate_when_wrapping():
    rb = make_buffer(capacity=30, num_envs=2, n_step=2)
    streams = Streams([[4, 2], [6, 1, 3]])
    fill(rb, streams, 400)
    assert len(rb) == int(rb.valid.sum())
    assert_consistent(rb.sample(2000, np.random.default_rng(7)), streams, n_step=2)


def test_sample_many_stacks_batches():
    rb = make_buffer(num_envs=2)
    streams = Streams([[5], [3]])
    fill(rb, streams, 30)
    b = rb.sample_many(4, 8, np.random.default_rng(8))
    assert b.obs.shape == (4, 8, 3) and b.next_obs.shape == (4, 8, 3)
    assert b.action.shape == (4, 8) and b.reward.shape == (4, 8) and b.discount.shape == (4, 8)
    assert_consistent(b, streams)
    assert not np.array_equal(b.obs[0], b.obs[1])  # independent batches
