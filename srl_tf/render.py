"""Rendering: annotated frames, GIFs (imageio) and a pygame step-through replay window."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw


def annotate(frame: np.ndarray, text: str) -> np.ndarray:
    """Draws ``text`` on a dark band at the top of an RGB frame."""
    img = Image.fromarray(np.ascontiguousarray(frame[..., :3]).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    band = 12 * (text.count("\n") + 1) + 4
    draw.rectangle([0, 0, img.width, band], fill=(0, 0, 0))
    draw.multiline_text((3, 2), text, fill=(255, 255, 255), spacing=2)
    return np.asarray(img)


def format_action(action) -> str:
    a = np.asarray(action)
    if a.ndim == 0:
        return str(a.item())
    return "[" + ", ".join(f"{v:+.2f}" for v in a.reshape(-1)) + "]"


# Renders recorded MuJoCo states; runs in a child process that imports gymnasium and MuJoCo only.
_MUJOCO_RENDER_SCRIPT = r"""
import json, os, sys
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")
import numpy as np
import gymnasium as gym
data = np.load(sys.argv[1], allow_pickle=False)
spec = json.loads(str(data["spec"]))
env = gym.make(spec["id"], render_mode="rgb_array", **spec["kwargs"])
env.reset(seed=0)
frames = []
for qpos, qvel in zip(data["qpos"], data["qvel"]):
    env.unwrapped.set_state(qpos, qvel)
    frames.append(env.render())
env.close()
np.save(sys.argv[2], np.stack(frames))
"""


def is_mujoco_id(env_id: str) -> bool:
    """Whether a registered Gymnasium id builds a MuJoCo env (its entry point is a MujocoEnv
    subclass), found from the registry without building the env."""
    import gymnasium as gym

    try:
        from gymnasium.envs.mujoco import MujocoEnv
        from gymnasium.envs.registration import load_env_creator

        creator = gym.spec(env_id).entry_point
        creator = load_env_creator(creator) if isinstance(creator, str) else creator
    except Exception:  # mujoco not installed, unknown id, or an entry point that does not import
        return False
    return isinstance(creator, type) and issubclass(creator, MujocoEnv)


def mujoco_state(env) -> tuple[np.ndarray, np.ndarray]:
    data = env.unwrapped.data
    return data.qpos.copy(), data.qvel.copy()


def render_mujoco_states(env_id: str, kwargs: dict, states: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Frames of a MuJoCo env set to each recorded (qpos, qvel), rendered in a child process that
    never loads TensorFlow. Without a GPU, MuJoCo's headless EGL rendering in a process that has
    loaded TensorFlow crashes with a segmentation fault; the child process avoids that."""
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "states.npz"), os.path.join(tmp, "frames.npy")
        np.savez(src, qpos=np.stack([q for q, _ in states]), qvel=np.stack([v for _, v in states]),
                 spec=np.array(json.dumps({"id": env_id, "kwargs": kwargs})))
        out = subprocess.run([sys.executable, "-c", _MUJOCO_RENDER_SCRIPT, src, dst], capture_output=True, text=True)
        if out.returncode != 0 or not os.path.exists(dst):
            raise RuntimeError(
                f"Rendering MuJoCo env '{env_id}' failed in its render process (exit {out.returncode}). Headless "
                f"MuJoCo needs MUJOCO_GL=egl (or osmesa) and a working libEGL / OSMesa:\n{out.stderr[-2000:]}"
            )
        return list(np.load(dst))


def save_gif(path: str, frames: Sequence[np.ndarray], fps: int = 30) -> str:
    import imageio.v2 as imageio

    if not frames:
        raise ValueError("save_gif: no frames to write.")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    imageio.mimsave(path, [np.asarray(f) for f in frames], duration=1000.0 / fps, loop=0)
    return path


class ReplayViewer:
    """Steps through recorded frames in a pygame window.

    Keys: → / ← next / previous frame, space play / pause, Home / End first / last, Esc or q quits.
    """

    def __init__(self, frames: Sequence[np.ndarray], captions: Sequence[str], fps: int = 30, scale: float = 1.0):
        if not frames:
            raise ValueError("ReplayViewer: no frames to show.")
        self.frames = frames
        self.captions = captions
        self.fps = fps
        self.scale = scale
        self.index = 0
        self.playing = False
        self.running = True

    def handle_key(self, key: int) -> None:
        import pygame

        last = len(self.frames) - 1
        if key in (pygame.K_ESCAPE, pygame.K_q):
            self.running = False
        elif key == pygame.K_RIGHT:
            self.index = min(self.index + 1, last)
        elif key == pygame.K_LEFT:
            self.index = max(self.index - 1, 0)
        elif key == pygame.K_SPACE:
            self.playing = not self.playing
        elif key == pygame.K_HOME:
            self.index = 0
        elif key == pygame.K_END:
            self.index = last

    def draw(self, screen) -> None:
        import pygame

        frame = annotate(self.frames[self.index], self.captions[self.index] + f"   [{self.index + 1}/{len(self.frames)}]")
        surf = pygame.surfarray.make_surface(np.transpose(frame, (1, 0, 2)))
        if self.scale != 1.0:
            surf = pygame.transform.scale(surf, screen.get_size())
        screen.blit(surf, (0, 0))
        pygame.display.flip()

    def run(self, max_ticks: int | None = None) -> None:
        """Opens the window and runs until closed (or for ``max_ticks`` frames, for scripted use)."""
        import pygame

        pygame.init()
        h, w = self.frames[0].shape[:2]
        screen = pygame.display.set_mode((int(w * self.scale), int(h * self.scale)))
        pygame.display.set_caption("srl_tf replay  (←/→ step, space play, q quit)")
        clock = pygame.time.Clock()
        ticks = 0
        try:
            while self.running:
                for event in pygame.event.get():
                    if event.type == pygame.QUIT:
                        self.running = False
                    elif event.type == pygame.KEYDOWN:
                        self.handle_key(event.key)
                if self.playing:
                    if self.index < len(self.frames) - 1:
                        self.index += 1
                    else:
                        self.playing = False
                self.draw(screen)
                clock.tick(self.fps)
                ticks += 1
                if max_ticks is not None and ticks >= max_ticks:
                    break
        finally:
            pygame.quit()


def save_prediction_gif(agent, path: str, length: int = 50, context: int = 5, fps: int = 10) -> str:
    """A Dreamer agent's world model at work: a GIF of real frames | reconstruction | open-loop
    prediction from ``context`` frames, on the newest ``length`` steps of the first env stream in
    its memory (see ``open_loop_prediction``)."""
    if agent.wm.coder.image_key is None:
        raise ValueError("save_prediction_gif needs image observations; this env has vector observations.")
    seq = agent.memory.latest(0, length)
    real, recon, pred = agent.open_loop_prediction(seq.obs, seq.action, seq.is_first, context)
    scale = max(1, 128 // real.shape[1])  # small images are enlarged (nearest) to be seen
    frames = []
    for t in range(len(real)):
        row = np.concatenate([real[t], recon[t], pred[t]], axis=1)
        if row.shape[-1] == 1:
            row = np.repeat(row, 3, axis=-1)
        row = np.repeat(np.repeat(row[..., :3], scale, axis=0), scale, axis=1)
        label = "real | recon | " + ("context" if t < context else f"open loop +{t - context + 1}")
        band = annotate(np.zeros((16, row.shape[1], 3), np.uint8), label)
        frames.append(np.concatenate([band, row], axis=0))
    return save_gif(path, frames, fps=fps)
