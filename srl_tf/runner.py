"""The public :class:`Runner`: training loop, evaluation, history, checkpoints and rendering.

The Runner knows nothing algorithm-specific: it asks ``rl_config.make_agent(spec, num_envs)`` for an
agent and drives it through :class:`srl_tf.algorithms.base.Agent`'s methods.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from srl_tf.callbacks import Callback
from srl_tf.config import EnvConfig, RLConfig, as_env_config
from srl_tf.errors import ConfigError
from srl_tf.history import Histories, HistoryWriter


@dataclass
class Episode:
    """One recorded episode (from :meth:`Runner.rollout`)."""

    rewards: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    frames: list = field(default_factory=list)

    @property
    def total_reward(self) -> float:
        return float(np.sum(self.rewards))

    def __len__(self) -> int:
        return len(self.rewards)


class Runner:
    """Trains, evaluates, records and plots an agent on an environment.

    >>> runner = srl_tf.Runner("CartPole-v1", dqn.Config())
    >>> runner.train(max_steps=50_000)
    >>> runner.evaluate(max_episodes=10)
    """

    def __init__(self, env_config: EnvConfig | str | Callable, rl_config: RLConfig):
        if not isinstance(rl_config, RLConfig):
            raise ConfigError(
                f"Runner(env_config, rl_config): rl_config must be an algorithm Config "
                f"(e.g. srl_tf.algorithms.dqn.Config()), got {type(rl_config).__name__}."
            )
        self.env_config = as_env_config(env_config)
        self.env_config.validate()
        self.rl_config = rl_config
        self.rl_config.validate()
        if self.rl_config.seed is None:
            self.rl_config.seed = int(np.random.SeedSequence().entropy % (2**31))
        self._agent = None
        self._env = None
        self._obs = None
        self._state = None
        self._is_first = None
        self._eval_env = None
        self.history_dir: str | None = None
        self._history_on = False
        self.enable_eval = False
        self.eval_episode = 1
        self.log_interval: int | None = None
        self.eval_interval: int | None = None
        self.checkpoint_interval = 0
        self._writer: HistoryWriter | None = None
        self.step = 0
        self.episode = 0
        self.elapsed = 0.0
        self.last_metrics: dict = {}
        self._logged_step = -1

    # ------------------------------------------------------------------------------------------
    # set-up
    # ------------------------------------------------------------------------------------------
    def _setup(self):
        if self._agent is not None:
            return
        import keras

        from srl_tf.envs import VecEnvAdapter

        keras.utils.set_random_seed(self.rl_config.seed)
        self._env = VecEnvAdapter(self.env_config, self.rl_config.action_division_num)
        self._agent = self.rl_config.make_agent(self._env.spec, self._env.num_envs)

    @property
    def agent(self):
        """The algorithm's agent (built on first use)."""
        self._setup()
        return self._agent

    @property
    def spec(self):
        self._setup()
        return self._env.spec

    # ------------------------------------------------------------------------------------------
    # history
    # ------------------------------------------------------------------------------------------
    def set_history_on_file(
        self,
        directory: str,
        enable_eval: bool = False,
        eval_episode: int = 10,
        interval: int | None = None,
        eval_interval: int | None = None,
        checkpoint_interval: int = 0,
    ) -> None:
        """Writes history rows to ``<directory>/history.jsonl`` (and TensorBoard events), the
        configs to ``config.json``, and the final weights to ``<directory>/checkpoint``.

        ``interval``: env steps between rows (default: 1% of the run). ``eval_interval``: env steps
        between evaluations of ``eval_episode`` episodes (default: 5% of the run).
        ``checkpoint_interval``: env steps between weight checkpoints (0: only at the end).
        """
        self.history_dir = directory
        self._set_history(enable_eval, eval_episode, interval, eval_interval)
        self.checkpoint_interval = checkpoint_interval

    def set_history_on_memory(
        self, enable_eval: bool = False, eval_episode: int = 1, interval: int | None = None, eval_interval: int | None = None
    ) -> None:
        """Keeps history rows in memory (read them with :meth:`get_history`)."""
        self.history_dir = None
        self._set_history(enable_eval, eval_episode, interval, eval_interval)

    def _set_history(self, enable_eval, eval_episode, interval, eval_interval):
        if eval_episode < 1:
            raise ConfigError(f"eval_episode={eval_episode} must be >= 1.")
        for name, v in (("interval", interval), ("eval_interval", eval_interval)):
            if v is not None and v < 1:
                raise ConfigError(f"{name}={v} must be >= 1 env steps (or None for automatic).")
        self._history_on = True
        self.enable_eval = enable_eval
        self.eval_episode = eval_episode
        self.log_interval = interval
        self.eval_interval = eval_interval
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_history(self) -> Histories:
        """The history of this runner (in memory or read back from file)."""
        if self.history_dir and os.path.exists(os.path.join(self.history_dir, "history.jsonl")):
            return Histories.load([self.history_dir])
        rows = self._writer.rows if self._writer else []
        return Histories([("run", rows)])

    @staticmethod
    def load_histories(directories: Sequence[str] | str) -> Histories:
        """Histories of finished (or interrupted) runs, for ``.plot(x, y, title=)``."""
        return Histories.load(directories)

    # ------------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------------
    def train(
        self,
        max_steps: int = 0,
        max_train_count: int = 0,
        max_episodes: int = 0,
        timeout: float = 0,
        callbacks: Sequence[Callback] = (),
        progress: bool = True,
    ) -> None:
        """Trains until the first stop condition is met: ``max_steps`` env steps (counted over all
        parallel envs), ``max_train_count`` gradient steps, ``max_episodes`` episodes, or
        ``timeout`` seconds. Ctrl-C stops cleanly, keeping history and weights."""
        limits = {"max_steps": max_steps, "max_train_count": max_train_count, "max_episodes": max_episodes, "timeout": timeout}
        for k, v in limits.items():
            if v is None or v < 0:
                raise ConfigError(f"train({k}={v!r}): must be >= 0 (0 means no limit).")
        if not any(limits.values()):
            raise ConfigError(
                "train() needs a stop condition: pass max_steps=, max_train_count=, max_episodes= or timeout=."
            )
        self._setup()
        agent, env = self._agent, self._env
        if self._obs is None:
            self._obs = env.reset(seed=self.rl_config.seed)
            self._state = agent.initial_state(env.num_envs)
            self._is_first = np.ones(env.num_envs, bool)
        if self._history_on and self._writer is None:
            self._writer = HistoryWriter(self.history_dir, append=self.step > 0)  # resumed runs continue
            self._writer.write_config(self._config_dict())
        start_step, start_train, start_ep = self.step, agent.train_count, self.episode
        log_every = self.log_interval or max(1, (max_steps or 100_000) // 100)
        eval_every = self.eval_interval or max(log_every, (max_steps or 100_000) // 20)
        next_log, next_eval = self.step + log_every, self.step + eval_every
        next_ckpt = self.step + self.checkpoint_interval if self.checkpoint_interval else None
        recent: list[float] = []
        interval_returns: list[float] = []
        last_eval = None
        bar = _Progress(limits, progress)
        t0 = time.time() - self.elapsed
        t_start = time.time()
        for cb in callbacks:
            cb.on_train_begin(self)
        finished = False
        try:
            while True:
                obs = self._obs
                action = agent.act(obs, explore=True, state=self._state, is_first=self._is_first)
                step = env.step(action)
                self._is_first = step.terminated | step.truncated
                agent.observe(obs, action, step)
                n_train, metrics = agent.update()
                if n_train:
                    self.last_metrics = metrics
                self._obs = step.obs
                self.step += env.num_envs
                for ret, length in env.pop_finished():
                    self.episode += 1
                    recent.append(ret)
                    interval_returns.append(ret)
                    for cb in callbacks:
                        cb.on_episode_end(self, ret, length)
                recent = recent[-20:]
                self.elapsed = time.time() - t0
                if self._history_on and self.step >= next_log:
                    do_eval = self.enable_eval and self.step >= next_eval
                    if do_eval:
                        last_eval = float(np.mean(self.evaluate(self.eval_episode)))
                        next_eval += eval_every
                    self._log(interval_returns, last_eval if do_eval else None, callbacks)
                    interval_returns = []
                    next_log += log_every
                if next_ckpt is not None and self.step >= next_ckpt:
                    self._checkpoint()
                    next_ckpt += self.checkpoint_interval
                done = {
                    "max_steps": self.step - start_step,
                    "max_train_count": agent.train_count - start_train,
                    "max_episodes": self.episode - start_ep,
                    "timeout": time.time() - t_start,
                }
                stop = any(limits[k] and done[k] >= limits[k] for k in limits)
                bar.update(done, self, recent, last_eval, force=stop)
                info = {"step": self.step, "train": agent.train_count, "episode": self.episode, "time": self.elapsed}
                for cb in callbacks:
                    if cb.on_step(self, info):
                        stop = True
                if stop:
                    break
            finished = True
        except KeyboardInterrupt:
            print("\nTraining interrupted: history and weights are kept.")
        finally:
            bar.close()
            # Whatever stopped the run, the rows so far and the weights are written out.
            if self._history_on:
                if self.step != self._logged_step:
                    final_eval = None
                    if finished and self.enable_eval:
                        final_eval = float(np.mean(self.evaluate(self.eval_episode)))
                    self._log(interval_returns, final_eval, callbacks)
                self._checkpoint()
            for cb in callbacks:
                cb.on_train_end(self)

    def _log(self, returns: list[float], eval_reward, callbacks) -> None:
        row = {
            "train": self._agent.train_count,
            "step": self.step,
            "episode": self.episode,
            "time": round(self.elapsed, 3),
        }
        if returns:
            row["reward0"] = float(np.mean(returns))
        if eval_reward is not None:
            row["eval_reward0"] = eval_reward
        row.update({k: float(v) for k, v in self.last_metrics.items()})  # the only host read of metrics
        self._writer.append(row)
        self._logged_step = self.step
        for cb in callbacks:
            cb.on_log(self, row)

    def _checkpoint(self) -> None:
        if self.history_dir:
            self.save_parameter(os.path.join(self.history_dir, "checkpoint"))

    def _config_dict(self) -> dict:
        import tensorflow as tf

        from srl_tf import __version__

        return {
            "algorithm": self.rl_config.name,
            "rl_config": self.rl_config.to_dict(),
            "env_config": self.env_config.to_dict(),
            "versions": {"srl_tf": __version__, "tensorflow": tf.__version__},
        }

    # ------------------------------------------------------------------------------------------
    # evaluation and rollouts
    # ------------------------------------------------------------------------------------------
    def evaluate(self, max_episodes: int = 10, explore: bool = False) -> list[float]:
        """Returns of ``max_episodes`` episodes with the deterministic (or ``explore``) policy, run
        side by side in up to 16 envs."""
        if max_episodes < 1:
            raise ConfigError(f"evaluate(max_episodes={max_episodes}) must be >= 1.")
        self._setup()
        from srl_tf.envs import VecEnvAdapter

        n = min(max_episodes, 16)
        if self._eval_env is None or self._eval_env.num_envs != n:
            if self._eval_env is not None:
                self._eval_env.close()
            cfg = EnvConfig(**{**vars(self.env_config), "vectorization": "sync"})
            self._eval_env = VecEnvAdapter(cfg, self.rl_config.action_division_num, num_envs=n)
        env = self._eval_env
        returns: list[float] = []
        round_ = 0
        while len(returns) < max_episodes:
            obs = env.reset(seed=self.rl_config.seed + 10_000 + 97 * round_ + self.step)
            env.pop_finished()
            collected = np.zeros(n, bool)
            state, is_first = self._agent.initial_state(n), np.ones(n, bool)
            while not collected.all():
                action = self._agent.act(obs, explore=explore, state=state, is_first=is_first)
                st = env.step(action)
                obs = st.obs
                ended = is_first = st.terminated | st.truncated
                for i in np.flatnonzero(ended & ~collected):
                    collected[i] = True
                    returns.append(float(env.final_return[i]))
            round_ += 1
        return returns[:max_episodes]

    def rollout(self, max_episodes: int = 1, explore: bool = False, render: bool = False, max_steps: int = 0) -> list[Episode]:
        """Plays episodes in one env; with ``render`` the frames are kept (``rgb_array``)."""
        self._setup()
        from srl_tf.envs import make_env

        if render and not os.environ.get("DISPLAY"):
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: pygame-based renderers need no screen
        from srl_tf.render import is_mujoco_id, mujoco_state, render_mujoco_states

        cfg, division = self.env_config, self.rl_config.action_division_num
        # MuJoCo frames are rendered from the recorded states in a separate process (see
        # render_mujoco_states); other envs render here.
        states_only = render and isinstance(cfg.name, str) and _json_safe(cfg.kwargs) and is_mujoco_id(cfg.name)
        env = make_env(cfg, "rgb_array" if render and not states_only else None, division)

        def record(episode):
            if states_only:
                episode.frames.append(mujoco_state(env))
            elif render:
                episode.frames.append(env.render())

        episodes = []
        try:
            for ep in range(max_episodes):
                obs, _ = env.reset(seed=self.rl_config.seed + 20_000 + ep)
                episode = Episode()
                state, is_first = self._agent.initial_state(1), np.ones(1, bool)
                record(episode)
                while True:
                    batch = {k: v[None] for k, v in obs.items()} if isinstance(obs, dict) else obs[None]
                    action = self._agent.act(batch, explore=explore, state=state, is_first=is_first)[0]
                    is_first = np.zeros(1, bool)
                    obs, reward, terminated, truncated, _ = env.step(action)
                    episode.actions.append(action)
                    episode.rewards.append(float(reward))
                    record(episode)
                    if terminated or truncated or (max_steps and len(episode) >= max_steps):
                        break
                episodes.append(episode)
        finally:
            env.close()
        if states_only:
            for episode in episodes:
                episode.frames = render_mujoco_states(cfg.name, dict(cfg.kwargs), episode.frames)
        return episodes

    def _captions(self, episode: Episode) -> list[str]:
        caps = ["step 0"]
        total = 0.0
        for i, (a, r) in enumerate(zip(episode.actions, episode.rewards)):
            from srl_tf.render import format_action

            total += r
            caps.append(f"step {i + 1}  action {format_action(a)}  reward {r:+.2f}  return {total:.1f}")
        return caps

    def animation_save_gif(self, path: str, max_steps: int = 1000, fps: int = 30, explore: bool = False) -> str:
        """Plays one episode and writes it as a GIF with step / action / reward on every frame."""
        from srl_tf.render import annotate, save_gif

        episode = self.rollout(1, explore=explore, render=True, max_steps=max_steps)[0]
        frames = [annotate(f, c) for f, c in zip(episode.frames, self._captions(episode))]
        return save_gif(path, frames, fps=fps)

    def replay_window(self, max_steps: int = 1000, fps: int = 30, scale: float = 1.0, max_ticks: int | None = None) -> None:
        """Plays one episode, then opens a pygame window to step through it (←/→, space, q)."""
        from srl_tf.render import ReplayViewer

        episode = self.rollout(1, render=True, max_steps=max_steps)[0]
        ReplayViewer(episode.frames, self._captions(episode), fps=fps, scale=scale).run(max_ticks=max_ticks)

    # ------------------------------------------------------------------------------------------
    # parameters
    # ------------------------------------------------------------------------------------------
    def save_parameter(self, path: str) -> None:
        """Saves every model's weights (Keras ``.weights.h5``) and a small JSON description."""
        self._setup()
        self._agent.save_weights(path)
        with open(os.path.join(path, "srl_tf.json"), "w", encoding="utf-8") as f:
            json.dump({"algorithm": self.rl_config.name, "step": self.step, "train": self._agent.train_count}, f)

    def load_parameter(self, path: str) -> None:
        if not os.path.isdir(path):
            raise FileNotFoundError(f"load_parameter: '{path}' is not a directory written by save_parameter().")
        meta_path = os.path.join(path, "srl_tf.json")
        if os.path.exists(meta_path):
            with open(meta_path, encoding="utf-8") as f:
                meta = json.load(f)
            if meta.get("algorithm") != self.rl_config.name:
                raise ConfigError(
                    f"load_parameter: '{path}' holds {meta.get('algorithm')} weights, but this runner uses "
                    f"{self.rl_config.name}."
                )
        self._setup()
        self._agent.load_weights(path)
        if os.path.exists(meta_path):  # a resumed run continues the step count (and its history file)
            self.step = int(meta.get("step", 0))

    def model_summary(self) -> None:
        for model in self.agent.models().values():
            model.summary()


def _json_safe(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class _Progress:
    """A tqdm bar over the tightest stop condition, with steps/s, returns and the eval return."""

    def __init__(self, limits: dict, enabled: bool):
        self.key = next(k for k in ("max_steps", "max_train_count", "max_episodes", "timeout") if limits[k])
        self.total = limits[self.key]
        self.bar = None
        self.last = 0.0
        self.t0 = time.time()
        self.step0 = None
        if enabled:
            from tqdm.auto import tqdm

            unit = {"max_steps": "step", "max_train_count": "train", "max_episodes": "ep", "timeout": "s"}[self.key]
            self.bar = tqdm(total=self.total, unit=unit, dynamic_ncols=True, mininterval=0.5)

    def update(self, done: dict, runner: Runner, recent: list[float], last_eval, force: bool = False) -> None:
        if self.bar is None:
            return
        now = time.time()
        if now - self.last < 0.5 and not force:
            return
        self.last = now
        value = min(done[self.key], self.total)
        self.bar.n = int(value) if self.key != "timeout" else round(value, 1)
        post = {"steps/s": f"{done['max_steps'] / max(now - self.t0, 1e-9):.0f}", "episodes": runner.episode}
        if recent:
            post["return"] = f"{np.mean(recent):.1f}"
        if last_eval is not None:
            post["eval"] = f"{last_eval:.1f}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
