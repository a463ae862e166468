"""ReplayBuffer: storage layout, transition consistency across episode ends, n-step returns,
checkpoint arrays; SequenceMemory: checkpoint arrays, interrupted episodes, the newest steps.
(SequenceMemory's sampling is tested beside Dreamer in test_dreamer.py.)"""

import numpy as np
import pytest

from srl_tf.memory import ReplayBuffer, SequenceMemory

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


# ------------------------------------------------------------------------------------------
# Checkpoint arrays and interrupted episodes
# ------------------------------------------------------------------------------------------


def test_state_arrays_round_trip_keeps_what_sampling_returns():
    streams = Streams([[3, 5], [4]])
    rb = make_buffer(capacity=40, num_envs=2, n_step=2)
    fill(rb, streams, 13)
    arrays = {}
    rb.state_arrays("m", arrays)
    assert arrays["m.obs"].shape == (2, rb.filled, 3)  # slots never written are left out
    copy = make_buffer(capacity=40, num_envs=2, n_step=2)
    copy.load_state_arrays("m", arrays)
    assert len(copy) == len(rb) and copy.filled == rb.filled
    for name in ReplayBuffer._SLOTS + ReplayBuffer._COUNTERS:
        np.testing.assert_array_equal(getattr(copy, name), getattr(rb, name), err_msg=name)
    a, b = rb.sample(64, np.random.default_rng(3)), copy.sample(64, np.random.default_rng(3))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    # both go on storing the same way
    step = streams.step()
    rb.add(*step)
    copy.add(*step)
    np.testing.assert_array_equal(copy.obs, rb.obs)
    np.testing.assert_array_equal(copy.head, rb.head)


def test_interrupting_some_streams_truncates_only_their_last_transition():
    rb = make_buffer(capacity=40, num_envs=3)
    f = np.zeros(3, bool)
    obs = np.zeros((3, 3), np.float32)
    rb.add(obs, np.zeros(3, np.int32), np.ones(3, np.float32), obs + 1, f, f)
    rb.interrupt_episodes(streams=[1])
    last = rb.head - 1
    assert rb.episode_end[np.arange(3), last].tolist() == [False, True, False]
    assert rb.pending.tolist() == [True, False, True]
    rb.interrupt_episodes()  # the others too
    assert rb.episode_end[np.arange(3), last].tolist() == [True, True, True] and not rb.pending.any()
    assert not rb.terminated.any()  # a truncation: the transition still bootstraps
    batch = rb.sample(30, np.random.default_rng(0))
    np.testing.assert_allclose(batch.discount, GAMMA)


def test_nbytes_counts_every_stored_array():
    rb = ReplayBuffer(10, (4,), np.float32, (2,), np.float32, num_envs=2)
    arrays = (rb.obs, rb.action, rb.reward, rb.terminated, rb.episode_end, rb.valid)
    assert rb.nbytes == sum(a.nbytes for a in arrays) == 2 * 5 * (16 + 8 + 4 + 3)


def test_capacity_is_split_between_streams_rounding_up():
    assert make_buffer(capacity=10, num_envs=3).slots == 4
    assert make_buffer(capacity=9, num_envs=3).slots == 3
    assert make_buffer(capacity=1, num_envs=1).slots == 2  # room for an obs and its successor


# ------------------------------------------------------------------------------------------
# SequenceMemory
# ------------------------------------------------------------------------------------------


def sequence_steps(mem, steps, num_envs=2, end_every=4):
    """``steps`` env steps: obs 100·e + step, action (step, −step), reward step; episodes end every
    ``end_every`` steps, by termination on env 0 and truncation on env 1."""
    for k in range(steps):
        e = np.arange(num_envs)
        end = np.full(num_envs, (k + 1) % end_every == 0)
        mem.add((100 * e + k)[:, None].astype(np.float32), np.tile([[k, -k]], (num_envs, 1)).astype(np.float32),
                np.full(num_envs, float(k)), (100 * e + k + 1)[:, None].astype(np.float32), end & (e == 0),
                end & (e == 1))


def test_sequence_memory_capacity_is_split_between_streams_and_len_counts_stored_steps():
    mem = SequenceMemory(9, (1,), np.float32, 2, num_envs=2)
    assert mem.slots == 5 and len(mem) == 0 and not mem.can_sample(1)
    sequence_steps(mem, 2)
    assert len(mem) == 2 * 3 and mem.can_sample(3) and not mem.can_sample(4)
    sequence_steps(mem, 5)  # wraps: a stream holds at most its slots
    assert len(mem) == 2 * 5
    assert SequenceMemory(1, (1,), np.float32, 1).slots == 2
    with pytest.raises(ValueError, match="mode='episodes'; allowed: 'windows', 'stream'"):
        SequenceMemory(10, (1,), np.float32, 1, mode="episodes")


def test_sequence_memory_stores_terminal_flags_and_actions_per_stream():
    mem = SequenceMemory(40, (1,), np.float32, 2, num_envs=2)
    sequence_steps(mem, 4)
    # step t holds o_t, the action that led to it (zeros at an episode start) and the reward on arrival
    np.testing.assert_array_equal(mem.obs[:, :5, 0], [[0, 1, 2, 3, 4], [100, 101, 102, 103, 104]])
    np.testing.assert_array_equal(mem.action[0, :5], [[0, 0], [0, 0], [1, -1], [2, -2], [3, -3]])
    np.testing.assert_array_equal(mem.reward[1, :5], [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(mem.is_first[:, :5], [[1, 0, 0, 0, 0]] * 2)
    np.testing.assert_array_equal(mem.is_terminal[:, :5], [[0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])  # env 1 truncated
    sequence_steps(mem, 1)
    np.testing.assert_array_equal(mem.is_first[:, 5], [1, 1])  # both begin a new episode after the end


def test_sequence_memory_latest_returns_the_newest_steps_of_one_stream():
    mem = SequenceMemory(12, (1,), np.float32, 2, num_envs=2)
    sequence_steps(mem, 3)
    b = mem.latest(1, 3)
    np.testing.assert_array_equal(b.obs[0, :, 0], [101, 102, 103])
    np.testing.assert_array_equal(b.action[0, :, 0], [0, 1, 2])
    assert mem.latest(0, 50).obs.shape == (1, 4, 1)  # no more than is stored
    # 6 more steps counting from 0 again: 1 2 3 4 (terminal), then a new episode 4 5 6. The ring
    # (6 slots a stream) has wrapped and holds the newest 6 of the 11 steps written
    sequence_steps(mem, 6)
    np.testing.assert_array_equal(mem.latest(0, 50).obs[0, :, 0], [2, 3, 4, 4, 5, 6])


def test_sequence_memory_interrupt_starts_new_episodes_only_in_the_given_streams():
    mem = SequenceMemory(40, (1,), np.float32, 2, num_envs=3)
    sequence_steps(mem, 1, num_envs=3)
    mem.interrupt_episodes(streams=[2])
    sequence_steps(mem, 1, num_envs=3)
    assert mem.written.tolist() == [3, 3, 4]
    np.testing.assert_array_equal(mem.is_first[2, :4], [1, 0, 1, 0])
    np.testing.assert_array_equal(mem.is_first[:2, :3], [[1, 0, 0]] * 2)


def test_sequence_memory_state_arrays_round_trip_keeps_stream_cursors():
    def make():
        return SequenceMemory(40, {"image": ((2, 2), np.uint8), "vec": ((1,), np.float32)}, None, 2, num_envs=2)

    mem = make()
    for k in range(9):
        obs = {"image": np.full((2, 2, 2), k, np.uint8), "vec": np.full((2, 1), k, np.float32)}
        nxt = {"image": obs["image"] + 1, "vec": obs["vec"] + 1}
        end = np.full(2, k % 5 == 4)
        mem.add(obs, np.ones((2, 2), np.float32), np.ones(2), nxt, end, np.zeros(2, bool))
    mem.sample(3, 4, np.random.default_rng(0))  # sets the cursors
    arrays = {}
    mem.state_arrays("s", arrays)
    assert arrays["s.obs.image"].shape == (2, 11, 2, 2)  # slots never written are left out
    copy = make()
    copy.load_state_arrays("s", arrays)
    for name in ("action", "reward", "is_first", "is_terminal", "written", "_episode_open", "_cursors"):
        np.testing.assert_array_equal(getattr(copy, name), getattr(mem, name), err_msg=name)
    for key in mem.obs:
        np.testing.assert_array_equal(copy.obs[key], mem.obs[key])
    a, b = mem.sample(3, 4, np.random.default_rng(1)), copy.sample(3, 4, np.random.default_rng(1))
    np.testing.assert_array_equal(a.obs["image"], b.obs["image"])
    np.testing.assert_array_equal(a.is_first, b.is_first)


def _one_episode_per_stream(steps: tuple, capacity: int) -> SequenceMemory:
    """A SequenceMemory whose stream s holds ``steps[s]`` steps of one episode, observation
    ``100·s + k`` at the stream's k-th step ever written (so a window tells where it starts)."""
    mem = SequenceMemory(capacity, (1,), np.float32, 1, num_envs=len(steps))
    for s, n in enumerate(steps):
        for k in range(n):
            mem._put(s, [100.0 * s + k], [0.0], 0.0, k == 0, False)
    return mem


def test_sequence_windows_cover_every_valid_start_in_proportion_to_each_stream():
    # 13 slots a stream; stream 0 wrote 21 steps (steps 8-20 kept), stream 1 wrote 8
    mem = _one_episode_per_stream((21, 8), capacity=26)
    assert mem.slots == 13
    batch = mem.sample_windows(3000, 4, np.random.default_rng(0))
    first = batch.obs[:, 0, 0]
    np.testing.assert_array_equal(batch.obs[:, :, 0] - first[:, None], np.tile(np.arange(4), (3000, 1)))
    s0, s1 = first[first < 100], first[first >= 100] - 100
    # every window of 4 inside what each stream still holds, and only those: 8-17 and 0-4
    assert set(s0.astype(int)) == set(range(8, 18)) and set(s1.astype(int)) == set(range(0, 5))
    # a stream is drawn in proportion to its windows: 10 against 5
    assert abs(len(s0) / 3000 - 2 / 3) < 0.04
    # the newest steps of a stream whose ring has wrapped
    np.testing.assert_array_equal(mem.latest(0, 4).obs[0, :, 0], [17.0, 18.0, 19.0, 20.0])


def test_sequence_memory_with_exactly_one_window_samples_it():
    mem = _one_episode_per_stream((4,), capacity=10)
    batch = mem.sample_windows(3, 4, np.random.default_rng(1))
    np.testing.assert_array_equal(batch.obs[:, :, 0], np.tile(np.arange(4.0), (3, 1)))
    with pytest.raises(ValueError, match="no window of length 5"):
        mem.sample_windows(1, 5, np.random.default_rng(1))


def test_sequence_memory_keeps_each_field_in_its_dtype():
    # images stay uint8 (8x smaller than float64), flags bool, actions and rewards float32
    mem = SequenceMemory(8, (2, 2, 3), np.uint8, 2)
    assert (mem.obs.dtype, mem.action.dtype, mem.reward.dtype) == (np.uint8, np.float32, np.float32)
    assert mem.is_first.dtype == bool and mem.is_terminal.dtype == bool
    both = SequenceMemory(8, {"image": ((2, 2, 3), np.uint8), "vector": ((4,), np.float32)}, None, 1)
    assert both.obs["image"].dtype == np.uint8 and both.obs["vector"].dtype == np.float32
