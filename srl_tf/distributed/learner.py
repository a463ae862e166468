"""The learner's loop of ``Runner.train_mp``: actors on Ray step the envs, this process learns.

Every actor steps ``E = env_config.num_envs`` envs; the learner's agent is built for
``actor_num · E`` env streams, stream ``i · E + j`` being env ``j`` of actor ``i``. A round takes one
chunk of ``T`` vector steps from every actor and hands the agent ``T`` steps of all streams side by
side (``observe`` then ``update`` after each), so every memory stream is one remote env and n-step
returns, sequences and rollouts never mix envs. The rest (history, evaluation, checkpoints,
progress, stop conditions) is the Runner's :class:`~srl_tf.runner._TrainSchedules`, as in ``train``.

Off-policy agents: an actor is asked for its next chunk as soon as one arrives, with the newest
weights broadcast so far, so actors step while the learner trains; the weights an actor acted with
are at most a few broadcasts old (``weight_staleness`` in the history). On-policy agents
(``agent.steps_per_update`` set, PPO): a chunk is one rollout, asked for after the update with the
new weights, so every rollout is acted with the weights of the update before it.
"""

from __future__ import annotations

import os
import time

import numpy as np

from srl_tf.distributed.actor import concat, remote_actor_class, take
from srl_tf.errors import ConfigError, EnvError
from srl_tf.logs import logger
from srl_tf.spec import Step

# a chunk's round trip through Ray costs about as much as tens of CartPole steps: with small chunks
# the learner waits for it, with large ones the data ages; benchmarks/ray_learning.py measures one
# actor's rate for 16, 64 and 256 (docs/guides/scaling_out.md)
DEFAULT_STEPS_PER_CHUNK = 64
MAX_FAILURES_IN_A_ROW = 3  # an actor that fails this often without delivering a chunk stops the run
RAY_MAX_RESTARTS = 3  # restarts Ray itself makes of a dead actor process before it is replaced


def import_ray():
    try:
        import ray
    except ImportError as e:
        raise ConfigError(
            'train_mp() runs its actors on Ray, which is not installed: pip install -e ".[distributed]" '
            '(or pip install "ray>=2.40,<3").'
        ) from e
    return ray


class ActorSet:
    """The actor processes, their pending chunk requests and their restarts."""

    def __init__(self, ray, runner, actor_num: int, envs_per_actor: int, seed: int):
        self.ray = ray
        self.runner = runner
        self.actor_num, self.envs_per_actor, self.seed = actor_num, envs_per_actor, seed
        self.cls = remote_actor_class(ray, RAY_MAX_RESTARTS)
        self.actors = [self._make(i) for i in range(actor_num)]
        self.generation = [0] * actor_num
        self.failures_in_a_row = [0] * actor_num
        self.restarts = 0
        self.pending: dict[int, object] = {}  # actor index -> ObjectRef of the chunk asked for
        self.version = 0
        self.weights_ref = None

    def _make(self, i: int):
        return self.cls.remote(self.runner.env_config, self.runner.rl_config, i, self.envs_per_actor, self.seed)

    def streams(self, i: int) -> np.ndarray:
        """The learner's stream indices of actor ``i``'s envs."""
        return np.arange(i * self.envs_per_actor, (i + 1) * self.envs_per_actor)

    def broadcast(self, agent) -> None:
        """One ``ray.put`` of the learner's acting weights, read by every actor on its next chunk."""
        self.weights_ref = self.ray.put(agent.get_weights())
        self.version += 1

    def ask(self, i: int, steps: int) -> None:
        self.pending[i] = self.actors[i].collect.remote(steps, self.version, [self.weights_ref])

    def restart(self, i: int, error: BaseException, agent) -> None:
        """Actor ``i`` died or raised: its envs start again (in a new process where the old one is
        gone) and the learner cuts the episodes its streams were in."""
        ray = self.ray
        agent.interrupt_episodes(self.streams(i))
        while True:
            self.failures_in_a_row[i] += 1
            if self.failures_in_a_row[i] > MAX_FAILURES_IN_A_ROW:
                raise EnvError(
                    f"train_mp: actor {i} failed {MAX_FAILURES_IN_A_ROW + 1} times in a row without delivering any "
                    f"steps; the last error: {type(error).__name__}: {error}"
                ) from error
            self.restarts += 1
            self.generation[i] += 1
            logger.warning(f"train_mp: actor {i} failed ({type(error).__name__}); restarting it (restart {self.restarts})")
            try:  # the same actor (Ray starts a dead process again by itself up to RAY_MAX_RESTARTS times)
                ray.get(self.actors[i].restart.remote(self.generation[i]))
                return
            except ray.exceptions.RayActorError:  # gone for good: a new one
                try:
                    ray.kill(self.actors[i], no_restart=True)
                except Exception:  # already gone
                    pass
                self.actors[i] = self._make(i)
                try:
                    ray.get(self.actors[i].restart.remote(self.generation[i]))
                    return
                except ray.exceptions.RayError as e:
                    error = e
            except ray.exceptions.RayTaskError as e:  # its new envs failed to start
                error = e

    def receive(self, agent, steps: int, ask_again: bool) -> list[dict]:
        """One chunk from every actor (restarting those that fail); with ``ask_again`` each actor is
        asked for its next chunk as soon as one arrives."""
        ray = self.ray
        chunks: list[dict | None] = [None] * self.actor_num
        for i in range(self.actor_num):
            if i not in self.pending:
                self.ask(i, steps)
        while any(c is None for c in chunks):
            waiting = {self.pending[i]: i for i in range(self.actor_num) if chunks[i] is None}
            ready, _ = ray.wait(list(waiting), num_returns=1)
            i = waiting[ready[0]]
            del self.pending[i]
            try:
                chunks[i] = ray.get(ready[0])
            except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as e:
                self.restart(i, e, agent)
                self.ask(i, steps)
                continue
            self.failures_in_a_row[i] = 0
            if ask_again:
                self.ask(i, steps)
        return chunks

    def stop(self) -> None:
        """Ends every actor process (no restart) and drops the pending requests."""
        ray = self.ray
        for actor in self.actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # already gone
                pass
        self.pending.clear()


def _start_ray(ray, ray_address, num_cpus, actor_num) -> bool:
    """Starts (or joins) Ray; True if this call started a local Ray that it must stop."""
    if ray.is_initialized():
        return False
    import srl_tf

    if ray_address is None:
        # the actors import srl_tf from where this process did
        source = os.path.dirname(os.path.dirname(os.path.abspath(srl_tf.__file__)))
        ray.init(
            address="local",  # a new Ray of its own, even where another one runs on the machine
            num_cpus=num_cpus or max(os.cpu_count() or 1, actor_num),
            include_dashboard=False,
            runtime_env={"env_vars": {"PYTHONPATH": f"{source}{os.pathsep}${{PYTHONPATH}}"}},
        )
        return True
    ray.init(address=ray_address)
    return False


def _wait_for_cpus(ray, actor_num: int, patience: float = 30.0) -> None:
    """Every actor takes one CPU of the cluster: waits up to ``patience`` seconds for that many to
    be free (actors of an earlier run may still be ending) instead of waiting for ever on actors
    that cannot be placed."""
    deadline = time.time() + patience
    while True:
        free, total = ray.available_resources().get("CPU", 0), ray.cluster_resources().get("CPU", 0)
        if free >= actor_num:
            return
        if total < actor_num or time.time() > deadline:
            raise ConfigError(
                f"train_mp(actor_num={actor_num}): the Ray cluster has {total:g} CPUs, {free:g} of them free, and "
                "every actor takes one; lower actor_num or give Ray more CPUs (num_cpus= for a local Ray)."
            )
        time.sleep(0.5)


def train_on_ray(
    runner,
    actor_num: int,
    limits: dict,
    callbacks,
    progress: bool,
    ray_address=None,
    num_cpus=None,
    weight_sync_interval: int = 1,
    steps_per_chunk: int | None = None,
) -> None:
    """The body of :meth:`srl_tf.Runner.train_mp` (arguments checked there)."""
    from srl_tf.runner import _TrainSchedules

    ray = import_ray()
    envs_per_actor = runner.env_config.num_envs
    n_streams = actor_num * envs_per_actor
    runner._setup(num_envs=n_streams)
    agent = runner._agent
    if agent.num_envs != n_streams:
        raise ConfigError(
            f"train_mp(actor_num={actor_num}): this runner's agent was built for {agent.num_envs} env streams, "
            f"but {actor_num} actors x env_config.num_envs={envs_per_actor} make {n_streams}. Use the same "
            "actor_num as before, or make a new Runner."
        )
    runner._resume_if_asked()
    if agent.env_steps:  # the envs of an earlier run (or of a checkpoint) are gone: new actors start new episodes
        agent.interrupt_episodes()
    runner._driver = None
    on_policy = agent.steps_per_update is not None
    steps = agent.steps_per_update if on_policy else (steps_per_chunk or DEFAULT_STEPS_PER_CHUNK)
    if on_policy and steps_per_chunk not in (None, steps):
        logger.info(f"train_mp: {runner.rl_config.name} learns on-policy; each chunk is one rollout of {steps} steps per env")

    started = _start_ray(ray, ray_address, num_cpus, actor_num)
    actors = None
    schedules = None
    finished = False
    try:
        _wait_for_cpus(ray, actor_num)
        actors = ActorSet(ray, runner, actor_num, envs_per_actor, runner.rl_config.seed + runner.step)
        runner._actors = actors  # for tests and callbacks: the actor handles of the running call
        actors.broadcast(agent)
        synced_at = agent.train_count
        schedules = _TrainSchedules(runner, limits, callbacks, progress)
        staleness: list[int] = []
        schedules.row_extra = {"actor_restarts": 0}
        stop = False
        flowing_since, waited = None, 0.0  # learner_busy: the share of time not spent waiting for actors
        while not stop:
            wait_start = time.perf_counter()
            chunks = actors.receive(agent, steps, ask_again=not on_policy)
            if flowing_since is None:  # counted once data flows (after the actors' start)
                flowing_since = time.perf_counter()
            else:
                waited += time.perf_counter() - wait_start
            flowing = time.perf_counter() - flowing_since
            step = Step(*(concat([c["step"][k] for c in chunks], axis=1) for k in range(len(Step._fields))))
            extras = concat([c["extras"] for c in chunks], axis=1)
            for c in chunks:
                staleness.append(actors.version - c["version"])
            schedules.row_extra = {
                "actor_restarts": actors.restarts,
                "weight_staleness": float(np.mean(staleness[-4 * actor_num :])),
            }
            if flowing > 0:
                schedules.row_extra["learner_busy"] = round(1.0 - waited / flowing, 4)
            for t in range(steps):
                agent.observe(Step(*(take(x, t) for x in step)), take(extras, t))
                n_train, metrics = agent.update()
                ended = [ep for c in chunks for ep in c["finished"][t]]
                if schedules.after_step(n_streams, ended, n_train, metrics):
                    stop = True
                    break
            trained = agent.train_count - synced_at
            if trained and (on_policy or trained >= weight_sync_interval):
                actors.broadcast(agent)
                synced_at = agent.train_count
        finished = True
    except KeyboardInterrupt:
        print("\nTraining interrupted: history and weights are kept.")
        finished = None
    finally:
        try:
            if actors is not None:
                actors.stop()
            if schedules is not None:
                schedules.close(finished)
        finally:
            runner._actors = None
            if started:
                ray.shutdown()
