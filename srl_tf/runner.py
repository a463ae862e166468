"""The public :class:`Runner`: training loop, evaluation, history, checkpoints and rendering.

The Runner knows nothing algorithm-specific: it asks ``rl_config.make_agent(spec, num_envs)`` for an
agent and drives it through :class:`srl_tf.algorithms.base.Agent`'s methods.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import numbers
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from srl_tf.callbacks import Callback
from srl_tf.config import EnvConfig, RLConfig, _suggest, as_env_config
from srl_tf.errors import ConfigError, EnvError, MissingPathError, UnknownAttributeError
from srl_tf.history import Histories, HistoryWriter
from srl_tf.logs import logger
from srl_tf.srl_names import srl_hint


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
        if rl_config.observation_mode == "render_image" and not self.env_config.render_image:
            # SRL's way of asking for pixels; the runner's own copy, the caller's EnvConfig is left as it was
            self.env_config = EnvConfig(**{**vars(self.env_config), "render_image": True})
        if self.rl_config.seed is None:
            self.rl_config.seed = int(np.random.SeedSequence().entropy % (2**31))
        self._agent = None
        self._env = None
        self._driver = None  # the training envs' episode driver (observations and carry)
        self._actors = None  # train_mp's actor processes while it runs (srl_tf.distributed.learner.ActorSet)
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
        self.progress_options = ProgressOptions()
        self.checkpoint: CheckpointOptions | None = None
        self._resume_checked = False
        self._last_ckpt_time = time.time()
        self._last_ckpt_step = 0
        self._best_eval: float | None = None
        self._weights_loaded = False  # load_parameter() replaced the initial weights

    # ------------------------------------------------------------------------------------------
    # set-up
    # ------------------------------------------------------------------------------------------
    def _setup(self, num_envs: int | None = None):
        """Builds the training envs and the agent. ``num_envs``: the agent learns from that many env
        streams stepped elsewhere (by :meth:`train_mp`'s actors); the runner keeps one env of its own
        for the spaces."""
        if self._agent is not None:
            return
        import keras

        from srl_tf.envs import VecEnvAdapter

        keras.utils.set_random_seed(self.rl_config.seed)
        self._env = VecEnvAdapter(self.env_config, self.rl_config.action_split(), num_envs=1 if num_envs else None)
        if self._env.split is not None:
            division, dims = self._env.split
            logger.info(
                f"{self.rl_config.name} on a continuous action space: each of the {dims} action dimensions "
                f"split into {division} actions; set rl_config.action_division_num to change"
            )
        self._agent = self.rl_config.make_agent(self._env.spec, num_envs or self._env.num_envs)

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
        between evaluations of ``eval_episode`` episodes (default: 5% of the run). Both fall on
        multiples of their interval, so a resumed run keeps its schedule.
        ``checkpoint_interval``: env steps between weight checkpoints (0: only at the end).
        """
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise ConfigError(f"set_history_on_file: history directory '{directory}' is a file; pass a directory path.")
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
        limits = _check_limits("train", max_steps, max_train_count, max_episodes, timeout)
        self._setup()
        if self._agent.num_envs != self._env.num_envs:
            raise ConfigError(
                f"train(): this runner's agent learns from the {self._agent.num_envs} env streams of train_mp()'s "
                "actors; continue with train_mp(), or make a new Runner for train()."
            )
        self._resume_if_asked()
        from srl_tf.driver import EpisodeDriver

        agent, env = self._agent, self._env
        if self._driver is None or self._driver.obs is None:
            self._driver = EpisodeDriver(agent, env, explore=True)
            self._driver.start(env.reset(seed=self.rl_config.seed + self.step))
        driver = self._driver
        schedules = _TrainSchedules(self, limits, callbacks, progress)
        finished = False
        try:
            while True:
                try:
                    _, step, extras = driver.step()
                except Exception as e:
                    if not driver.env_failed:
                        raise
                    finished = None  # the agent has not seen the failed step: its state is whole and is saved
                    raise EnvError(
                        f"env '{self.env_config.display_name}' raised {type(e).__name__} at env step {self.step}: {e}. "
                        "History and checkpoint are written up to this step."
                    ) from e
                agent.observe(step, extras)
                n_train, metrics = agent.update()
                if schedules.after_step(env.num_envs, env.pop_finished(), n_train, metrics):
                    break
            finished = True
        except KeyboardInterrupt:
            print("\nTraining interrupted: history and weights are kept.")
            finished = None  # stopped by the user: the state is whole and is checkpointed
        finally:
            schedules.close(finished)

    def train_mp(
        self,
        actor_num: int = 2,
        max_steps: int = 0,
        max_train_count: int = 0,
        max_episodes: int = 0,
        timeout: float = 0,
        callbacks: Sequence[Callback] = (),
        progress: bool = True,
        ray_address: str | None = None,
        num_cpus: int | None = None,
        weight_sync_interval: int = 1,
        steps_per_chunk: int | None = None,
    ) -> None:
        """Trains as :meth:`train` does (same stop conditions, history, evaluation, checkpoints and
        progress), with ``actor_num`` actor processes on Ray stepping the envs: each runs
        ``env_config.num_envs`` envs and an acting copy of the agent; this process learns. Needs
        ``pip install -e ".[distributed]"``.

        ``ray_address``: None starts a local Ray (with ``num_cpus`` CPUs, default: the machine's)
        and stops it afterwards; ``"auto"`` or ``"host:port"`` joins a running cluster, left running.
        ``weight_sync_interval``: gradient steps between weight broadcasts to the actors (on-policy
        agents such as PPO get the new weights after every update). ``steps_per_chunk``: env steps
        per env an actor collects before sending them (default 64; on-policy: one rollout). See the
        guide "Scaling out"."""
        limits = _check_limits("train_mp", max_steps, max_train_count, max_episodes, timeout)
        for name, v, low in (("actor_num", actor_num, 1), ("weight_sync_interval", weight_sync_interval, 1)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
                raise ConfigError(f"train_mp({name}={v!r}): expected an integer >= {low}.")
        for name, v in (("num_cpus", num_cpus), ("steps_per_chunk", steps_per_chunk)):
            if v is not None and (not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1):
                raise ConfigError(f"train_mp({name}={v!r}): expected None or an integer >= 1.")
        if ray_address is not None and not isinstance(ray_address, str):
            raise ConfigError(f"train_mp(ray_address={ray_address!r}): expected None, 'auto' or 'host:port'.")
        from srl_tf.distributed import train_on_ray

        train_on_ray(
            self,
            int(actor_num),
            limits,
            callbacks,
            progress,
            ray_address=ray_address,
            num_cpus=num_cpus,
            weight_sync_interval=int(weight_sync_interval),
            steps_per_chunk=steps_per_chunk,
        )

    def _resume_if_asked(self) -> None:
        """With ``set_checkpoint(is_load=True)``, the first ``train`` continues from the newest
        complete checkpoint."""
        if self.checkpoint is not None and self.checkpoint.is_load and not self._resume_checked:
            from srl_tf import checkpoint

            self._resume_checked = True
            found = checkpoint.latest(self.checkpoint.directory)
            if found is not None:
                self.load_checkpoint(found)

    def _log(self, returns: list[float], eval_reward, callbacks, check: bool = True, extra: dict | None = None) -> None:
        row = {
            "train": self._agent.train_count,
            "step": self.step,
            "episode": self.episode,
            "time": round(self.elapsed, 3),
        }
        row.update(extra or {})
        if returns:
            row["reward0"] = float(np.mean(returns))
        if eval_reward is not None:
            row["eval_reward0"] = eval_reward
        row.update({k: float(v) for k, v in self.last_metrics.items()})  # the only host read of metrics
        self._writer.append(row)
        self._logged_step = self.step
        for cb in callbacks:
            cb.on_log(self, row)
        if check:
            self._raise_if_nonfinite(row)

    def _raise_if_nonfinite(self, values: dict) -> None:
        bad = [k for k, v in values.items() if isinstance(v, float) and not np.isfinite(v)]
        if bad:
            raise FloatingPointError(
                f"{self.rl_config.name}: {bad[0]} became {values[bad[0]]} at env step {self.step} (gradient step "
                f"{self._agent.train_count}); training stops and the last checkpoint written before it is kept. Lower "
                "the learning rates, clip gradients (max_grad_norm) or check the env's observations and rewards for NaN."
            )

    def _nonfinite_weight(self) -> str | None:
        """The first model weight holding NaN or Inf ('model/weight'), or None."""
        for name, model in self._agent.models().items():
            for w in model.weights:
                if not np.all(np.isfinite(np.asarray(w))):
                    return f"{name}/{w.path}"
        return None

    def best_parameter_path(self) -> str | None:
        """Where the best-evaluated weights of this run are (``<history dir>/checkpoint/best``),
        or None before a history evaluation has run."""
        if not self.history_dir:
            return None
        path = os.path.join(self.history_dir, "checkpoint", "best")
        return path if os.path.exists(os.path.join(path, "srl_tf.json")) else None

    def _record_eval(self, value: float) -> None:
        """Keeps the weights of the best evaluation so far beside the last ones (as SB3's
        evaluation callback does)."""
        if self._best_eval is not None and value < self._best_eval:
            return
        self._best_eval = value
        if self.history_dir and self._nonfinite_weight() is None:
            path = os.path.join(self.history_dir, "checkpoint", "best")
            self.save_parameter(path)
            with open(os.path.join(path, "best.json"), "w", encoding="utf-8") as f:
                json.dump({"eval_reward0": value, "step": self.step, "train": self._agent.train_count}, f)

    @contextlib.contextmanager
    def _using(self, weights: str):
        if weights == "current":
            yield
            return
        if weights != "best":
            raise ConfigError(f"weights={weights!r}: choose 'current' or 'best'.")
        path = self.best_parameter_path()
        if path is None:
            raise ConfigError(
                "weights='best': this run has no best weights yet; they are kept when set_history_on_file(dir, "
                "enable_eval=True) evaluates during train()."
            )
        models = self._agent.models()
        kept = {name: model.get_weights() for name, model in models.items()}
        self._agent.load_weights(path)
        try:
            yield
        finally:
            for name, model in models.items():
                model.set_weights(kept[name])
            self._agent.weights_changed()

    def _checkpoint(self) -> None:
        if self.history_dir:
            bad = self._nonfinite_weight()
            if bad:
                logger.warning(f"weights not saved to {self.history_dir}/checkpoint: {bad} holds NaN or Inf")
                return
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
    def evaluate(self, max_episodes: int = 10, explore: bool = False, weights: str = "current") -> list[float]:
        """Returns of ``max_episodes`` episodes with the deterministic (or ``explore``) policy, run
        side by side in up to 16 envs. ``weights="best"``: with the best-evaluated weights of the
        run (see :meth:`best_parameter_path`); the current ones are put back afterwards."""
        if not isinstance(max_episodes, numbers.Integral) or max_episodes < 1:
            raise ConfigError(f"evaluate(max_episodes={max_episodes}) must be >= 1.")
        self._setup()
        with self._using(weights):
            return self._evaluate(max_episodes, explore)

    def _evaluate(self, max_episodes: int, explore: bool) -> list[float]:
        from srl_tf.envs import VecEnvAdapter

        n = min(max_episodes, 16)
        if self._eval_env is None or self._eval_env.num_envs != n:
            if self._eval_env is not None:
                self._eval_env.close()
            cfg = EnvConfig(**{**vars(self.env_config), "vectorization": "sync"})
            self._eval_env = VecEnvAdapter(cfg, self.rl_config.action_split(), num_envs=n)
        from srl_tf.driver import EpisodeDriver

        env = self._eval_env
        driver = EpisodeDriver(self._agent, env, explore)
        returns: list[float] = []
        round_ = 0
        while len(returns) < max_episodes:
            driver.start(env.reset(seed=self.rl_config.seed + 10_000 + 97 * round_ + self.step))
            env.pop_finished()
            collected = np.zeros(n, bool)
            while not collected.all():
                _, st, _ = driver.step()
                ended = st.terminated | st.truncated
                for i in np.flatnonzero(ended & ~collected):
                    collected[i] = True
                    returns.append(float(env.final_return[i]))
            round_ += 1
        return returns[:max_episodes]

    def rollout(
        self, max_episodes: int = 1, explore: bool = False, render: bool = False, max_steps: int = 0, weights: str = "current"
    ) -> list[Episode]:
        """Plays episodes in one env; with ``render`` the frames are kept (``rgb_array``);
        ``weights="best"`` plays the best-evaluated weights of the run."""
        self._setup()
        with self._using(weights):
            return self._rollout(max_episodes, explore, render, max_steps)

    def _rollout(self, max_episodes: int, explore: bool, render: bool, max_steps: int) -> list[Episode]:
        from srl_tf.driver import EpisodeDriver, OneEnv
        from srl_tf.envs import make_env
        from srl_tf.envs.adapter import applied_action
        from srl_tf.render import is_mujoco_id, mujoco_state, render_mujoco_states

        cfg, division = self.env_config, self.rl_config.action_split()
        # MuJoCo frames are rendered from the recorded states in a separate process (see
        # render_mujoco_states); other envs render here.
        states_only = render and isinstance(cfg.name, str) and _json_safe(cfg.kwargs) and is_mujoco_id(cfg.name)
        env = make_env(cfg, "rgb_array" if render and not states_only else None, division)
        if render and not states_only and env.render_mode != "rgb_array":
            env.close()
            raise EnvError(
                f"'{cfg.display_name}' cannot render rgb_array frames (render modes {env.metadata.get('render_modes', [])}), "
                "so animation_save_gif() and replay_window() have nothing to draw; give the env a render_mode="
                "'rgb_array' argument and render()."
            )

        def record(episode):
            if states_only:
                episode.frames.append(mujoco_state(env))
            elif render:
                episode.frames.append(env.render())

        one = OneEnv(env)
        driver = EpisodeDriver(self._agent, one, explore)
        episodes = []
        try:
            for ep in range(max_episodes):
                driver.start(one.reset(seed=self.rl_config.seed + 20_000 + ep))
                episode = Episode()
                record(episode)
                while True:
                    action, st, _ = driver.step()
                    episode.actions.append(applied_action(env, action[0]))  # the continuous value behind a split action
                    episode.rewards.append(float(st.reward[0]))
                    record(episode)
                    if st.terminated[0] or st.truncated[0] or (max_steps and len(episode) >= max_steps):
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

    def animation_save_gif(
        self, path: str, max_steps: int = 1000, fps: int = 30, explore: bool = False, weights: str = "current"
    ) -> str:
        """Plays one episode and writes it as a GIF with step / action / reward on every frame
        (``weights="best"``: with the best-evaluated weights)."""
        from srl_tf.render import annotate, save_gif

        episode = self.rollout(1, explore=explore, render=True, max_steps=max_steps, weights=weights)[0]
        frames = [annotate(f, c) for f, c in zip(episode.frames, self._captions(episode))]
        return save_gif(path, frames, fps=fps)

    def replay_window(
        self, max_steps: int = 1000, fps: int = 30, scale: float = 1.0, max_ticks: int | None = None, weights: str = "current"
    ) -> None:
        """Plays one episode, then opens a pygame window to step through it (←/→, space, q)."""
        from srl_tf.render import ReplayViewer

        episode = self.rollout(1, render=True, max_steps=max_steps, weights=weights)[0]
        ReplayViewer(episode.frames, self._captions(episode), fps=fps, scale=scale).run(max_ticks=max_ticks)

    # ------------------------------------------------------------------------------------------
    # checkpoints of the whole run
    # ------------------------------------------------------------------------------------------
    def set_checkpoint(
        self,
        directory: str,
        is_load: bool = True,
        interval: float = 600.0,
        interval_steps: int | None = None,
        keep: int = 3,
        save_memory: bool = True,
    ) -> None:
        """Saves the whole run to ``directory`` every ``interval`` seconds (and/or every
        ``interval_steps`` env steps) and when training stops; with ``is_load`` the next ``train``
        continues from the newest complete checkpoint there: weights, optimizer state, memory,
        random generators, counters and history. ``keep``: checkpoints kept. ``save_memory=False``
        leaves the replay / rollout memory out (smaller files; a resumed run collects its warm-up
        again)."""
        if not isinstance(directory, (str, os.PathLike)) or not str(directory):
            raise ConfigError(f"set_checkpoint(directory={directory!r}): expected a directory path.")
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise ConfigError(f"set_checkpoint(directory='{directory}'): that path is a file; pass a directory.")
        if not isinstance(interval, (int, float)) or isinstance(interval, bool) or interval < 0:
            raise ConfigError(f"set_checkpoint(interval={interval!r}): expected seconds >= 0 (0: only when training stops).")
        if interval_steps is not None and (not isinstance(interval_steps, int) or interval_steps < 1):
            raise ConfigError(f"set_checkpoint(interval_steps={interval_steps!r}): expected None or env steps >= 1.")
        if not isinstance(keep, int) or keep < 1:
            raise ConfigError(f"set_checkpoint(keep={keep!r}): expected an integer >= 1.")
        self.checkpoint = CheckpointOptions(str(directory), bool(is_load), float(interval), interval_steps, keep, bool(save_memory))
        self._resume_checked = False

    def save_checkpoint(self, directory: str | None = None) -> str:
        """Writes a checkpoint of the whole run now (into the ``set_checkpoint`` directory by
        default) and returns its path."""
        from srl_tf import checkpoint

        self._setup()
        opts = self.checkpoint or CheckpointOptions(directory or "")
        root = directory or opts.directory
        if not root:
            raise ConfigError("save_checkpoint(): pass a directory or call set_checkpoint(directory) first.")
        bad = self._nonfinite_weight()
        if bad:
            raise FloatingPointError(
                f"no checkpoint written at env step {self.step}: {bad} holds NaN or Inf; the checkpoints in "
                f"'{root}' keep the last good state."
            )
        arrays, agent_meta = self._agent.state(include_memory=opts.save_memory)
        meta = {
            "algorithm": self.rl_config.name,
            "env": self.env_config.display_name,
            "spec": _spec_signature(self._env.spec),
            "runner": {"step": self.step, "episode": self.episode, "elapsed": self.elapsed, "best_eval": self._best_eval},
            "agent": agent_meta,
            "history_dir": self.history_dir,
        }
        path = checkpoint.save(root, self.step, self._agent.trackables(), arrays, meta, keep=opts.keep)
        self._last_ckpt_time, self._last_ckpt_step = time.time(), self.step
        return path

    def load_checkpoint(self, path: str) -> None:
        """Continues from a checkpoint directory (one ``ckpt-*`` directory, or a ``set_checkpoint``
        directory, whose newest complete checkpoint is taken)."""
        from srl_tf import checkpoint

        if not os.path.isdir(path):
            raise ConfigError(f"load_checkpoint('{path}'): no such directory.")
        if not os.path.exists(os.path.join(path, "meta.json")):
            found = checkpoint.latest(path)
            if found is None:
                raise ConfigError(f"load_checkpoint('{path}'): no complete checkpoint in this directory.")
            path = found
        problem = checkpoint.verify(path)
        if problem:
            raise ConfigError(f"load_checkpoint('{path}'): the checkpoint is incomplete: {problem}.")
        self._setup()
        meta = checkpoint.read_meta(path)
        if meta.get("algorithm") != self.rl_config.name:
            raise ConfigError(
                f"load_checkpoint('{path}'): it holds a {meta.get('algorithm')} run, but this runner uses {self.rl_config.name}."
            )
        here = _spec_signature(self._env.spec)
        if meta.get("spec") != here:
            raise ConfigError(
                f"load_checkpoint('{path}'): it was written for {meta.get('env')} with spaces {meta.get('spec')}, "
                f"but this runner has {self.env_config.display_name} with {here}."
            )
        try:
            arrays, meta = checkpoint.load(path, self._agent.trackables())
        except (ValueError, AssertionError) as e:
            raise ConfigError(
                f"load_checkpoint('{path}'): its networks do not fit this configuration ({str(e).splitlines()[0]}); "
                "was it written with other layer sizes?"
            ) from e
        self._agent.load_state(arrays, meta["agent"])
        runner = meta["runner"]
        self.step, self.episode, self.elapsed = int(runner["step"]), int(runner["episode"]), float(runner["elapsed"])
        self._best_eval = runner.get("best_eval")
        self._last_ckpt_time, self._last_ckpt_step = time.time(), self.step
        if not meta["agent"].get("memory_saved") and self.checkpoint is not None:
            logger.warning(f"resumed from {path} without its memory (save_memory=False): the warm-up is collected again")
        # The envs cannot be restored: they start new episodes, and the agent cuts the ones it was in.
        self._agent.interrupt_episodes()
        self._driver = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.history_dir:
            from srl_tf.history import truncate_rows

            truncate_rows(self.history_dir, self.step)
        self._logged_step = self.step
        logger.info(f"resumed from {path}: step {self.step}, episode {self.episode}, train {self._agent.train_count}")

    def _checkpoint_due(self) -> bool:
        opts = self.checkpoint
        if opts is None:
            return False
        if opts.interval_steps and self.step - self._last_ckpt_step >= opts.interval_steps:
            return True
        return bool(opts.interval) and time.time() - self._last_ckpt_time >= opts.interval

    # ------------------------------------------------------------------------------------------
    # SRL-style settings and summary
    # ------------------------------------------------------------------------------------------
    def set_seed(self, seed: int | None = None) -> None:
        """Seeds numpy, TensorFlow and the envs (the same as ``rl_config.seed``); None draws one.
        Call it before the first ``train`` / ``evaluate``, while the agent is not built yet."""
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ConfigError(f"set_seed(seed={seed!r}): expected an int or None.")
        if self._agent is not None:
            raise ConfigError(
                "set_seed() was called after the agent was built (by train, evaluate or agent); call it "
                "right after Runner(...), or make a new Runner."
            )
        self.rl_config.seed = int(np.random.SeedSequence().entropy % (2**31)) if seed is None else seed

    def set_progress(self, enabled: bool = True, **options) -> None:
        """How ``train`` reports progress. Keywords (SRL's names): ``single_line`` (True: one bar
        updated in place; False: a printed line per report), ``start_time`` (seconds to the first
        report), ``interval_limit`` (the longest gap between reports: gaps double from start_time up
        to it), ``train_info`` (show the latest training metrics), ``env_info`` (show the last
        episode's length), ``enable_eval`` / ``eval_episode`` (evaluate that many episodes at each
        report and show the mean). ``worker_info``, ``worker`` and ``max_actor`` are accepted and
        change nothing: one process acts."""
        allowed = [f.name for f in dataclasses.fields(ProgressOptions)] + list(_IGNORED_PROGRESS_KEYS)
        for key in options:
            if key not in allowed:
                raise ConfigError(
                    f"set_progress() got an unknown keyword '{key}'.{_suggest(key, allowed)} "
                    f"Allowed: {', '.join(sorted(allowed))}."
                )
        kept = {k: v for k, v in options.items() if k not in _IGNORED_PROGRESS_KEYS}
        opts = ProgressOptions(enabled=enabled, **kept)
        opts.validate()
        self.progress_options = opts

    def disable_progress(self) -> None:
        """No progress output from ``train``."""
        self.progress_options = ProgressOptions(enabled=False)

    def summary(self, print_out: bool = True) -> str:
        """The algorithm, the configs, the env's spaces (as the agent sees them) and every model's
        parameter count; printed and returned."""
        self._setup()
        spec, env = self._env.spec, self._env
        rl = self.rl_config
        lines = [f"{rl.name} on {self.env_config.display_name} (seed {rl.seed}, {env.num_envs} env(s))"]
        if spec.obs_spaces is not None:
            obs = ", ".join(f"{k}: {shape} {dtype}" for k, (shape, dtype, _) in spec.obs_spaces.items())
            lines.append(f"  observation: Dict({obs})")
        else:
            kind = "image" if spec.is_image else "vector"
            lines.append(f"  observation: {kind} {spec.obs_shape} {spec.obs_dtype}")
        if spec.discrete:
            split = f" (continuous, split {env.split[0]} ways in each of {env.split[1]} dims)" if env.split else ""
            lines.append(f"  action: {spec.n_actions} discrete{split}")
        else:
            lines.append(f"  action: continuous {spec.action_shape} in [{spec.action_low}, {spec.action_high}]")
        lines.append(f"  max episode steps: {spec.max_episode_steps}")
        lines.append("  models:")
        total = 0
        for name, model in self._agent.models().items():
            count = int(sum(np.prod(v.shape) for v in model.trainable_weights))
            total += count
            lines.append(f"    {name}: {count:,} trainable parameters")
        lines.append(f"    total: {total:,}")
        lines.append("  rl_config (fields that differ from the defaults):")
        defaults = type(rl)().to_dict()
        for key, value in rl.to_dict().items():
            if defaults.get(key) != value:
                lines.append(f"    {key} = {value!r}")
        env_defaults = EnvConfig().to_dict()
        env_diff = {k: v for k, v in self.env_config.to_dict().items() if env_defaults.get(k) != v and k != "name"}
        lines.append(f"  env_config: {self.env_config.display_name} {env_diff if env_diff else ''}".rstrip())
        text = "\n".join(lines)
        if print_out:
            print(text)
        return text

    def __getattr__(self, name: str):
        # Only reached when normal lookup fails: answer SRL's Runner methods with the srl_tf way.
        if name.startswith("_"):
            raise AttributeError(name)
        public = [n for n in dir(type(self)) if not n.startswith("_")]
        raise UnknownAttributeError(f"Runner has no attribute '{name}'.{_suggest(name, public)}{srl_hint(name)}")

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
            raise MissingPathError(f"load_parameter: '{path}' is not a directory written by save_parameter().")
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
        self._weights_loaded = True
        if os.path.exists(meta_path):  # a resumed run continues the step count (and its history file)
            self.step = int(meta.get("step", 0))

    def export_policy(
        self,
        path: str,
        format: str = "saved_model",
        explore: bool = False,
        overwrite: bool = False,
        quantize: bool = False,
        weights: str = "current",
    ) -> str:
        """Writes the policy as a TensorFlow SavedModel directory (``format="saved_model"``) or a
        TFLite file (``"tflite"``; ``quantize=True``: int8 weights) that acts without srl_tf or
        Gymnasium, and returns ``path``. The greedy policy, or with ``explore`` the exploring one
        (which takes a seed). ``weights="best"``: the best-evaluated weights of the run. See
        :mod:`srl_tf.export` and the guide "Deploying a policy".

        >>> runner.export_policy("export/cartpole_dqn")
        >>> policy = tf.saved_model.load("export/cartpole_dqn")
        >>> carry = policy.initial_carry(batch_size=1)
        >>> action, carry = policy.act(obs[None], carry)
        """
        from srl_tf.export import check_request, export_policy

        self._setup()
        check_request(self._agent, path, format, explore, overwrite, quantize)
        if weights == "current" and self._agent.train_count == 0 and not self._weights_loaded:
            logger.warning(
                f"export_policy: {self.rl_config.name} has not been trained or loaded; the exported policy acts "
                "with its initial weights"
            )
        with self._using(weights):
            return export_policy(self._agent, path, format, explore, overwrite, quantize, self._env.action_table)

    def model_summary(self) -> None:
        for model in self.agent.models().values():
            model.summary()


def _check_limits(method: str, max_steps, max_train_count, max_episodes, timeout) -> dict:
    """The stop conditions of ``train`` / ``train_mp``, checked."""
    limits = {"max_steps": max_steps, "max_train_count": max_train_count, "max_episodes": max_episodes, "timeout": timeout}
    for k, v in limits.items():
        if k == "timeout":
            if not isinstance(v, numbers.Real) or isinstance(v, bool):
                raise ConfigError(f"{method}(timeout={v!r}): expected a number of seconds >= 0 (0 means no limit).")
        elif not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise ConfigError(f"{method}({k}={v!r}): expected an integer >= 0 (0 means no limit).")
        if v < 0:
            raise ConfigError(f"{method}({k}={v!r}): must be >= 0 (0 means no limit).")
    if not any(limits.values()):
        raise ConfigError(
            f"{method}() needs a stop condition: pass max_steps=, max_train_count=, max_episodes= or timeout=."
        )
    return limits


class _TrainSchedules:
    """Everything a training loop does around its env steps, apart from acting and learning:
    episode returns, history rows and evaluations every 1 % / 5 % of the run, the best weights,
    weight and run checkpoints, the non-finite guard, the progress display, callbacks and the stop
    conditions. ``Runner.train`` (and any other loop feeding the same Runner) calls
    :meth:`after_step` after each batch of env steps and :meth:`close` when it stops."""

    def __init__(self, runner: Runner, limits: dict, callbacks, progress: bool):
        self.runner, self.limits, self.callbacks = runner, limits, list(callbacks)
        agent = runner._agent
        runner._last_ckpt_time = time.time()
        if runner._history_on and runner._writer is None:
            runner._writer = HistoryWriter(runner.history_dir, append=runner.step > 0)  # resumed runs continue
            if runner.step == 0 and runner.history_dir:  # a new run: the best weights of an old one are not its own
                shutil.rmtree(os.path.join(runner.history_dir, "checkpoint", "best"), ignore_errors=True)
            runner._writer.write_config(runner._config_dict())
        self.start = {"step": runner.step, "train": agent.train_count, "episode": runner.episode}
        # Rows and evaluations every 1% / 5% of the run, counted in env steps; a run bounded only by
        # max_train_count (as SRL scripts write it) counts them in gradient steps instead.
        max_steps, max_train_count = limits["max_steps"], limits["max_train_count"]
        self.by_train = bool(max_train_count) and not max_steps and not (runner.log_interval or runner.eval_interval)
        budget = max_train_count if self.by_train else (max_steps or 100_000)
        self.log_every = runner.log_interval or max(1, budget // 100)
        self.eval_every = runner.eval_interval or max(self.log_every, budget // 20)
        # On the grid of multiples of the interval, so that a run continued from a checkpoint keeps its
        # schedule (every 2,500 steps means at 2,500, 5,000, ... however often it was interrupted).
        count = self.count()
        self.next_log = (count // self.log_every + 1) * self.log_every
        self.next_eval = (count // self.eval_every + 1) * self.eval_every
        self.next_weights = runner.step + runner.checkpoint_interval if runner.checkpoint_interval else None
        self.recent: list[float] = []
        self.interval_returns: list[float] = []
        self.row_extra: dict = {}  # columns another loop adds to every history row (actor restarts, ...)
        self.last_eval = None
        self.bar = _Progress(limits, runner.progress_options if progress else ProgressOptions(enabled=False))
        self.t0 = time.time() - runner.elapsed
        self.t_start = time.time()
        self.next_finite_check = time.time()
        for cb in self.callbacks:
            cb.on_train_begin(runner)

    def count(self) -> int:
        return self.runner._agent.train_count if self.by_train else self.runner.step

    def after_step(self, env_steps: int, finished_episodes, n_train: int, metrics: dict) -> bool:
        """Books ``env_steps`` env steps, the episodes that ended in them ((return, length) pairs)
        and an update's result; runs whatever is due. Returns True when training should stop."""
        runner, agent, callbacks = self.runner, self.runner._agent, self.callbacks
        if n_train:
            runner.last_metrics = metrics
            if time.time() >= self.next_finite_check:  # a host read of the metrics every few seconds
                runner._raise_if_nonfinite({k: float(v) for k, v in metrics.items()})
                self.next_finite_check = time.time() + 2.0
        runner.step += env_steps
        for ret, length in finished_episodes:
            runner.episode += 1
            self.recent.append(ret)
            self.interval_returns.append(ret)
            for cb in callbacks:
                cb.on_episode_end(runner, ret, length)
        self.recent = self.recent[-20:]
        runner.elapsed = time.time() - self.t0
        count = self.count()
        if runner._history_on and count >= self.next_log:
            do_eval = runner.enable_eval and count >= self.next_eval
            if do_eval:
                self.last_eval = float(np.mean(runner.evaluate(runner.eval_episode)))
                runner._record_eval(self.last_eval)
                # K train steps in one call can skip several evaluation points
                self.next_eval += self.eval_every * ((count - self.next_eval) // self.eval_every + 1)
            runner._log(self.interval_returns, self.last_eval if do_eval else None, callbacks, extra=self.row_extra)
            self.interval_returns = []
            self.next_log += self.log_every * ((count - self.next_log) // self.log_every + 1)
        if self.next_weights is not None and runner.step >= self.next_weights:
            runner._checkpoint()
            self.next_weights += runner.checkpoint_interval
        if runner._checkpoint_due():
            runner.save_checkpoint()
        done = {
            "max_steps": runner.step - self.start["step"],
            "max_train_count": agent.train_count - self.start["train"],
            "max_episodes": runner.episode - self.start["episode"],
            "timeout": time.time() - self.t_start,
        }
        stop = any(self.limits[k] and done[k] >= self.limits[k] for k in self.limits)
        if self.bar.eval_due():
            self.last_eval = float(np.mean(runner.evaluate(runner.progress_options.eval_episode)))
        self.bar.update(done, runner, self.recent, self.last_eval, force=stop)
        info = {"step": runner.step, "train": agent.train_count, "episode": runner.episode, "time": runner.elapsed}
        for cb in callbacks:
            if cb.on_step(runner, info):
                stop = True
        return stop

    def close(self, finished: bool | None) -> None:
        """Whatever stopped the run, the rows so far and the weights are written out. ``finished``:
        True (a stop condition), None (Ctrl-C, or an env error: the state is whole) or False (a crash:
        the newest run checkpoint stays the last good one)."""
        runner = self.runner
        try:
            self.bar.close()
            if runner._history_on:
                if runner.step != runner._logged_step:
                    final_eval = None
                    if finished and runner.enable_eval:
                        final_eval = float(np.mean(runner.evaluate(runner.eval_episode)))
                        runner._record_eval(final_eval)
                    runner._log(self.interval_returns, final_eval, self.callbacks, check=False, extra=self.row_extra)
                runner._checkpoint()
            if runner.checkpoint is not None and finished is not False:
                runner.save_checkpoint()
        finally:
            for cb in self.callbacks:
                cb.on_train_end(runner)


def _json_safe(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


@dataclass
class CheckpointOptions:
    """Settings of ``Runner.set_checkpoint``."""

    directory: str
    is_load: bool = True
    interval: float = 600.0
    interval_steps: int | None = None
    keep: int = 3
    save_memory: bool = True


def _spec_signature(spec) -> dict:
    """What a checkpoint must match: the spaces as the agent sees them."""
    return {
        "obs_shape": list(spec.obs_shape),
        "obs_dtype": str(spec.obs_dtype),
        "obs_spaces": sorted(spec.obs_spaces) if spec.obs_spaces else None,
        "discrete": spec.discrete,
        "n_actions": spec.n_actions,
        "action_shape": list(spec.action_shape),
    }


_IGNORED_PROGRESS_KEYS = ("worker_info", "worker", "max_actor")


@dataclass
class ProgressOptions:
    """Settings of ``Runner.set_progress`` (SRL's keyword names)."""

    enabled: bool = True
    single_line: bool = True
    start_time: float = 1.0
    interval_limit: float = 600.0
    train_info: bool = True
    env_info: bool = False
    enable_eval: bool = False
    eval_episode: int = 1

    def validate(self) -> None:
        for name in ("start_time", "interval_limit"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0:
                raise ConfigError(f"set_progress({name}={v!r}): expected seconds > 0.")
        if self.interval_limit < self.start_time:
            raise ConfigError(
                f"set_progress(interval_limit={self.interval_limit}) is below start_time={self.start_time}; "
                "the gaps between reports grow from start_time up to interval_limit."
            )
        if not isinstance(self.eval_episode, int) or self.eval_episode < 1:
            raise ConfigError(f"set_progress(eval_episode={self.eval_episode!r}): expected an integer >= 1.")


class _Progress:
    """Training progress over the tightest stop condition: a tqdm bar refreshed twice a second, or
    (``single_line=False``) a printed line per report. Reports (and progress evaluations) come
    ``start_time`` seconds after the start, then at gaps that double up to ``interval_limit``."""

    def __init__(self, limits: dict, options: ProgressOptions):
        self.key = next(k for k in ("max_steps", "max_train_count", "max_episodes", "timeout") if limits[k])
        self.total = limits[self.key]
        self.options = options
        self.bar = None
        self.last = 0.0
        self.t0 = time.time()
        self.gap = options.start_time
        self.next_report = self.t0 + options.start_time
        self._eval_claimed = False
        if options.enabled and options.single_line:
            from tqdm.auto import tqdm

            unit = {"max_steps": "step", "max_train_count": "train", "max_episodes": "ep", "timeout": "s"}[self.key]
            self.bar = tqdm(total=self.total, unit=unit, dynamic_ncols=True, mininterval=0.5)

    def eval_due(self) -> bool:
        """True once per report when progress evaluations are on and a report is due."""
        if not (self.options.enabled and self.options.enable_eval) or time.time() < self.next_report:
            return False
        self._eval_claimed = True
        return True

    def _fields(self, done: dict, runner: Runner, recent: list[float], last_eval, now: float) -> dict:
        post = {"steps/s": f"{done['max_steps'] / max(now - self.t0, 1e-9):.0f}", "episodes": runner.episode}
        if recent:
            post["return"] = f"{np.mean(recent):.1f}"
        if last_eval is not None:
            post["eval"] = f"{last_eval:.1f}"
        if self.options.env_info and runner._env is not None and runner._env.last_length is not None:
            post["ep_len"] = runner._env.last_length
        if self.options.train_info and runner.last_metrics:
            post["train"] = runner._agent.train_count
            # the bar keeps to the losses; a printed line has room for every metric
            shown = [k for k in runner.last_metrics if self.bar is None or "loss" in k][: None if self.bar is None else 3]
            for k in shown:
                post[k] = f"{float(runner.last_metrics[k]):.4g}"
        return post

    def update(self, done: dict, runner: Runner, recent: list[float], last_eval, force: bool = False) -> None:
        if not self.options.enabled:
            return
        now = time.time()
        report = now >= self.next_report or self._eval_claimed
        if report:
            self._eval_claimed = False
            self.gap = min(self.gap * 2, self.options.interval_limit)
            self.next_report = now + self.gap
        value = min(done[self.key], self.total)
        if self.bar is None:  # one line per report
            if report or force:
                post = self._fields(done, runner, recent, last_eval, now)
                text = "  ".join(f"{k} {v}" for k, v in post.items())
                shown = int(value) if self.key != "timeout" else round(value, 1)
                print(f"{now - self.t0:8.1f}s  {self.key[4:]} {shown}/{self.total}  {text}", flush=True)
            return
        if now - self.last < 0.5 and not force:
            return
        self.last = now
        self.bar.n = int(value) if self.key != "timeout" else round(value, 1)
        self.bar.set_postfix(self._fields(done, runner, recent, last_eval, now), refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
