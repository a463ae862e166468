"""An actor process: its own envs and an acting copy of the agent, stepping through the episode
driver and sending chunks of ``(step, extras)`` to the learner.

The class is plain Python; :func:`remote_actor_class` wraps it with ``ray.remote`` where Ray is
imported, so this module imports without Ray.
"""

from __future__ import annotations

import copy

import numpy as np

from srl_tf.spec import Step

SEED_STRIDE = 1000  # actor i resets its envs with seed + SEED_STRIDE * i (env j of it: + j)
AGENT_SEED_OFFSET = SEED_STRIDE - 1  # its acting generators: seed + SEED_STRIDE * i + 999
RESTART_SEED_STRIDE = 1_000_000  # the g-th restart of an actor adds g * RESTART_SEED_STRIDE


def actor_seeds(seed: int, index: int, generation: int = 0) -> tuple[int, int]:
    """(env reset seed, acting generator seed) of actor ``index`` after ``generation`` restarts."""
    env_seed = seed + SEED_STRIDE * index + RESTART_SEED_STRIDE * generation
    return env_seed, env_seed + AGENT_SEED_OFFSET


def stack(items: list):
    """Stacks a list of equally structured arrays / dicts of arrays / None on a new leading axis."""
    first = items[0]
    if first is None:
        return None
    if isinstance(first, dict):
        return {k: stack([x[k] for x in items]) for k in first}
    return np.stack([np.asarray(x) for x in items])


def concat(items: list, axis: int):
    """Concatenates equally structured arrays / dicts of arrays along ``axis``."""
    first = items[0]
    if first is None:
        return None
    if isinstance(first, dict):
        return {k: concat([x[k] for x in items], axis) for k in first}
    return np.concatenate(items, axis=axis)


def take(tree, t: int):
    """Element ``t`` of the leading axis of an array or a dict of arrays."""
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: take(v, t) for k, v in tree.items()}
    return tree[t]


class Actor:
    """Steps ``num_envs`` envs (a :class:`~srl_tf.envs.VecEnvAdapter`) with an acting copy of the
    agent. ``seed``: the run's seed (see :func:`actor_seeds` for what this actor makes of it)."""

    def __init__(self, env_config, rl_config, index: int, num_envs: int, seed: int):
        self.env_config, self.rl_config = env_config, rl_config
        self.index, self.num_envs, self.seed = index, num_envs, seed
        self.env = None
        self.agent = None
        self.driver = None
        self.version = 0  # version of the weights acted with (0: none received yet)
        self.generation = 0

    def _build(self, generation: int) -> None:
        import keras
        import tensorflow as tf

        from srl_tf.driver import EpisodeDriver
        from srl_tf.envs import VecEnvAdapter

        if self.env is not None:
            try:
                self.env.close()
            except Exception:  # the env that failed may not close cleanly; a new one is made anyway
                pass
            self.env = None
        if self.agent is None:
            # one thread per op: an actor acts on small batches, and many of them share a machine
            try:
                tf.config.threading.set_intra_op_parallelism_threads(1)
                tf.config.threading.set_inter_op_parallelism_threads(1)
            except RuntimeError:  # already initialised in this process
                pass
        env_seed, agent_seed = actor_seeds(self.seed, self.index, generation)
        self.env = VecEnvAdapter(self.env_config, self.rl_config.action_split(), num_envs=self.num_envs)
        if self.agent is None:
            keras.utils.set_random_seed(agent_seed)
            config = copy.deepcopy(self.rl_config)
            config.seed = agent_seed
            self.agent = config.make_agent(self.env.spec, self.num_envs)
        else:  # a restart keeps the acting weights; the generators start again from the new seed
            self.agent.rng = np.random.default_rng(agent_seed)
            self.agent.tf_rng.reset_from_seed(agent_seed)
        self.driver = EpisodeDriver(self.agent, self.env, explore=True)
        self.driver.start(self.env.reset(seed=env_seed))
        self.generation = generation

    def restart(self, generation: int) -> str:
        """New envs (seeded for ``generation``) whose episodes all begin; returns where srl_tf was
        imported from in this process."""
        self._build(generation)
        return self.where()

    def where(self) -> str:
        import srl_tf

        return srl_tf.__file__

    def weights(self) -> dict:
        """The acting copy's weights (:meth:`Agent.get_weights`) and their version."""
        return {"version": self.version, "weights": self.agent.get_weights()}

    def collect(self, steps: int, version: int, weights_box: list) -> dict:
        """``steps`` vector steps of the envs. ``weights_box``: ``[ObjectRef]`` of the learner's
        weights of ``version``, loaded first if newer than the ones acted with so far (in a list, so
        that Ray hands over the reference and the weights travel only when they are new)."""
        if self.driver is None:
            self._build(self.generation)
        if version > self.version:
            import ray

            self.agent.set_weights(ray.get(weights_box[0]))
            self.version = version
        steps_, extras_, finished = [], [], []
        for _ in range(steps):
            _, step, extras = self.driver.step()
            steps_.append(step)
            extras_.append(extras)
            finished.append(self.env.pop_finished())
        return {
            "actor": self.index,
            "version": self.version,
            "step": Step(*(stack([s[k] for s in steps_]) for k in range(len(Step._fields)))),
            "extras": stack(extras_),
            "finished": finished,
        }

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None


def remote_actor_class(ray, max_restarts: int):
    """:class:`Actor` as a Ray actor class (one CPU each; restarted by Ray up to ``max_restarts``
    times when its process dies)."""
    return ray.remote(num_cpus=1, max_restarts=max_restarts, max_task_retries=0)(Actor)
