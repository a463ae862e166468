"""Frame annotation, GIF writing and the pygame replay viewer (headless, SDL dummy driver)."""

import os

import numpy as np
import pytest

from srl_tf.render import ReplayViewer, annotate, format_action, save_gif


def _frames(n, h=40, w=64):
    """Distinct frames: a white vertical bar that moves right."""
    frames = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[:, 4 * i : 4 * i + 4] = 255
        frames.append(f)
    return frames


def test_annotate_keeps_shape_and_draws_on_the_top_band():
    frame = np.full((60, 80, 3), 200, np.uint8)
    out = annotate(frame, "step 3  reward +1.00")
    assert out.shape == frame.shape and out.dtype == np.uint8
    band, rest = out[:16], out[30:]
    assert (band == 0).any() and (band > 230).any()  # dark band with (antialiased) white text
    np.testing.assert_array_equal(rest, frame[30:])  # below the band nothing changes
    np.testing.assert_array_equal(frame, 200)  # the input is not modified


def test_annotate_band_grows_with_lines_and_drops_alpha():
    frame = np.full((60, 80, 4), 200, np.uint8)
    out = annotate(frame, "a\nb\nc")
    assert out.shape == (60, 80, 3)
    assert (out[30:40] != 200).any()  # three lines reach further down than one


def test_format_action():
    assert format_action(np.int32(3)) == "3"
    assert format_action(np.array([0.5, -1.25])) == "[+0.50, -1.25]"


def _gif_timeline(path):
    """The frames of a GIF as shown over time: each one repeated for its duration in ms / 50."""
    from PIL import Image

    shown = []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            frame = np.asarray(im.convert("RGB"))
            shown += [frame] * round(im.info["duration"] / 50)
    return shown


def test_save_gif_writes_every_frame(tmp_path):
    """Equal consecutive frames are merged into one that is shown for longer: played back, every
    input frame is on screen for 1/fps (here 50 ms) in its place."""
    distinct = _frames(4)
    frames = [distinct[0], distinct[1], distinct[1], distinct[1], distinct[2], distinct[0], distinct[3], distinct[3]]
    path = save_gif(str(tmp_path / "sub" / "anim.gif"), frames, fps=20)
    assert os.path.exists(path)
    shown = _gif_timeline(path)
    assert len(shown) == len(frames)
    for got, want in zip(shown, frames):
        np.testing.assert_array_equal(got, want)
    from PIL import Image

    with Image.open(path) as im:
        assert im.n_frames == 5  # runs of equal frames became one each
        assert im.info["loop"] == 0  # loops forever


def test_save_gif_without_frames_raises(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        save_gif(str(tmp_path / "x.gif"), [])


def test_viewer_without_frames_raises():
    with pytest.raises(ValueError, match="no frames"):
        ReplayViewer([], [])


def test_viewer_keys_move_the_index_and_quit():
    import pygame

    v = ReplayViewer(_frames(5), [f"step {i}" for i in range(5)])
    assert (v.index, v.running, v.playing) == (0, True, False)
    v.handle_key(pygame.K_LEFT)
    assert v.index == 0  # stays at the first frame
    v.handle_key(pygame.K_RIGHT)
    v.handle_key(pygame.K_RIGHT)
    assert v.index == 2
    v.handle_key(pygame.K_LEFT)
    assert v.index == 1
    v.handle_key(pygame.K_END)
    assert v.index == 4
    v.handle_key(pygame.K_RIGHT)
    assert v.index == 4  # stays at the last frame
    v.handle_key(pygame.K_HOME)
    assert v.index == 0
    v.handle_key(pygame.K_SPACE)
    assert v.playing
    assert v.running
    v.handle_key(pygame.K_q)
    assert not v.running


def test_viewer_escape_quits():
    import pygame

    v = ReplayViewer(_frames(2), ["a", "b"])
    v.handle_key(pygame.K_ESCAPE)
    assert not v.running


def test_viewer_run_returns_after_max_ticks_headless(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    v = ReplayViewer(_frames(5), [f"step {i}" for i in range(5)], fps=1000, scale=2.0)
    v.run(max_ticks=3)
    assert v.index == 0 and v.running  # nothing pressed, still open when it returned


def test_viewer_run_plays_when_playing():
    v = ReplayViewer(_frames(5), [f"step {i}" for i in range(5)], fps=1000)
    v.playing = True
    v.run(max_ticks=3)
    assert v.index == 3
    v.run(max_ticks=5)  # reaches the end and pauses there
    assert v.index == 4 and not v.playing


def test_viewer_run_stops_at_quit_key():
    import pygame

    v = ReplayViewer(_frames(3), ["a", "b", "c"], fps=1000)
    pygame.init()
    pygame.display.set_mode((64, 40))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q))
    # the tick limit (about 2 s at 1000 fps) stands in for a timeout: if the posted q were lost the
    # window would stay open until then, and the test fails instead of hanging
    v.run(max_ticks=2_000)
    assert not v.running
