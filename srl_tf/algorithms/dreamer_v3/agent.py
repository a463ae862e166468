"""The Dreamer agent: collects sequences, trains the world model, and trains actor and critic on
trajectories imagined from every posterior state of the batch. The whole train step (world model,
imagination, actor, critic, target / EMA updates) is one ``tf.function`` compiled with XLA; acting
is one compiled call that advances the RSSM state the caller carries.

Data layout (see :mod:`srl_tf.memory.sequence`): step t of a sequence holds o_t, the action that
led to it (one-hot, or the continuous action in [-1, 1] exactly as the env received it, so real
data and imagination feed the world model the same quantity), the reward on arrival, ``is_first``
and ``is_terminal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from srl_tf.algorithms import base
from srl_tf.algorithms.dreamer_v3.model import Actor, ActorOptions, CoderOptions, MLPKind, ScalarHead, WorldModel
from srl_tf.distributions import from_env_action, split_seed, to_env_action
from srl_tf.functions import PercentileNormalizer, lambda_returns
from srl_tf.memory.sequence import SequenceMemory

if TYPE_CHECKING:  # the config builds the agent; the agent only reads the config's fields
    from srl_tf.algorithms.dreamer_v3.config import Config


def _flatten_time(x: tf.Tensor) -> tf.Tensor:
    """(B, T, ...) → (B·T, ...)."""
    return tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], axis=0))


class Agent(base.OffPolicyAgent):
    """Dreamer V1 / V2 / V3, chosen by the config's loss types and network options."""

    config: Config
    accepts_dict_obs = True
    catch_up = True  # one train step per train_interval env steps, several after a wide vector step

    def obs_signature(self, leading=(None,)):
        if self.spec.obs_spaces is None:
            return super().obs_signature(leading)
        return {k: tf.TensorSpec(tuple(leading) + sh, tf.as_dtype(dt)) for k, (sh, dt, _) in self.spec.obs_spaces.items()}

    def __init__(self, config: Config, spec, num_envs: int = 1):
        obs_layout = {k: (sh, dt) for k, (sh, dt, _) in spec.obs_spaces.items()} if spec.obs_spaces else spec.obs_shape
        memory = SequenceMemory(
            config.memory.capacity, obs_layout, spec.obs_dtype, spec.action_dim, num_envs, config.sequence_sampling
        )
        super().__init__(config, spec, num_envs, memory)
        cfg = config
        if not spec.discrete:
            base.require_bounded(cfg, spec)
        # the networks compute in the config's precision (weights stay float32); everything else is
        # made under the policy that was in force
        outer_policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(cfg.precision)
        try:
            self._build_networks(cfg, spec)
        finally:
            keras.config.set_dtype_policy(outer_policy)
        self.actor.return_norm = PercentileNormalizer(cfg.return_norm_decay, name="return_norm")
        self.critic_slow.set_weights(self.critic.get_weights())
        self._critic_updates = tf.Variable(0, dtype=tf.int64, trainable=False)
        # float16 gradients need loss scaling (one scale per optimizer); bfloat16 and float32 do not
        f16 = cfg.precision == "mixed_float16"
        self._loss_scales = {k: base.LossScale() for k in ("model", "actor", "critic")} if f16 else {}

        self.model_opt = self.make_optimizer(cfg.lr_model, cfg.model_epsilon)
        self.actor_opt = self.make_optimizer(cfg.lr_actor, cfg.actor_critic_epsilon)
        self.critic_opt = self.make_optimizer(cfg.lr_critic, cfg.actor_critic_epsilon)
        self.model_opt.build(self.wm.trainable_variables)
        self.actor_opt.build(self.actor.trainable_variables)
        self.critic_opt.build(self.critic.trainable_variables)
        self._build_steps(cfg, spec)

    def _build_networks(self, cfg, spec) -> None:
        mlp = MLPKind(cfg.dense_activation, cfg.dense_norm)
        coder = CoderOptions(cfg.image_encoder, cfg.cnn_depth, cfg.cnn_blocks, tuple(cfg.encoder_decoder_mlp),
                             cfg.encoder_decoder_dist, cfg.symlog_inputs)
        rssm = dict(deter=cfg.rssm_deter_size, stoch=cfg.rssm_stoch_size, classes=cfg.rssm_classes,
                    hidden=cfg.rssm_hidden_units, unimix=cfg.rssm_unimix, min_std=cfg.rssm_min_std)
        self.wm = WorldModel(spec, mlp, coder, rssm, cfg.reward_layer_sizes, cfg.reward_dist == "twohot",
                             cfg.cont_layer_sizes, name="world_model")
        self.rssm = self.wm.rssm
        feat = self.rssm.feat_size
        actor = ActorOptions(tuple(cfg.actor_layer_sizes), cfg.actor_continuous_dist, cfg.actor_min_std,
                             cfg.actor_max_std, cfg.actor_init_std, cfg.actor_unimix)
        self.actor = Actor(actor, mlp, spec, feat, name="actor")
        twohot = cfg.critic_loss_type == "dreamer_v3"
        self.critic = ScalarHead(mlp, cfg.critic_layer_sizes, twohot, feat, name="critic")
        self.critic_slow = ScalarHead(mlp, cfg.critic_layer_sizes, twohot, feat, name="critic_slow")

    def _build_steps(self, cfg, spec) -> None:
        self.stream = cfg.sequence_sampling == "stream"
        # the RSSM state at the end of the last training batch, where each stream row continues
        self._train_carry = {k: tf.Variable(v, trainable=False) for k, v in self.rssm.initial(cfg.batch_size).items()}

        bl = (cfg.batch_size, cfg.batch_length)
        train_sig = [
            self.obs_signature(bl),
            tf.TensorSpec(bl + (spec.action_dim,), tf.float32),
            tf.TensorSpec(bl, tf.float32),
            tf.TensorSpec(bl, tf.float32),
            tf.TensorSpec(bl, tf.float32),
        ]
        # one compiled step for both phases: the actor and critic half runs under a tf.cond, so a
        # world-model warm-up costs no second trace and XLA compilation when the full step begins
        self._behavior_step, self.split_compile = self._behavior, False
        jit = cfg.jit_compile
        if jit and self.wm.coder.image_key is not None and not tf.config.list_logical_devices("GPU"):
            # on a CPU XLA's convolutions are slower than TensorFlow's own (oneDNN): with images the
            # world model's half of the step runs in TensorFlow's runtime and XLA compiles the
            # actor-critic half, which differentiates inside itself (a gradient through an XLA
            # function's tf.scan would have to pass its TensorLists out of XLA, which TF cannot)
            self._behavior_step = tf.function(self._behavior, jit_compile=True)
            jit, self.split_compile = False, True
        self._train = self.compile(self._train_fn, "train", [tf.TensorSpec((), tf.bool), *train_sig], jit=jit)
        state_sig = {k: tf.TensorSpec((None,) + tuple(v.shape[1:]), tf.float32) for k, v in self.rssm.initial(1).items()}
        policy_sig = [
            self.obs_signature(),
            state_sig,
            tf.TensorSpec((None, spec.action_dim), tf.float32),
            tf.TensorSpec((None,), tf.float32),
            tf.TensorSpec((), tf.bool),
        ]
        self._policy = self.compile(self._policy_fn, "policy", policy_sig)
        self._explore_flag = {flag: tf.constant(flag) for flag in (False, True)}
        self._rssm_keys = tuple(state_sig)

    # ---- acting ------------------------------------------------------------------------------

    def _initial_carry(self, batch_size: int):
        """The RSSM state of every stream and the action it took last (as the world model sees it)."""
        rssm = {k: v.numpy() for k, v in self.rssm.initial(batch_size).items()}
        return {**rssm, "action": np.zeros((batch_size, self.spec.action_dim), np.float32)}

    def _step(self, obs, state, prev_action, is_first, explore: bool, seed=None):
        """One acting step: (the actor's action as the world model receives it (one-hot or in
        [-1, 1]), the posterior RSSM state after ``obs``). Exploring, the latent and the action are
        samples (``seed``: stateless, or None for TensorFlow's global generator); otherwise both are
        modes, so that the deterministic policy draws no random numbers."""
        latent_seed, action_seed = split_seed(seed, 2)
        embed = self.wm.coder.encode(obs)
        post = self.rssm.posterior_step(state, prev_action, embed, is_first, sample=explore, seed=latent_seed)
        feat = self.rssm.get_feat(post)
        action = self.actor.sample(feat, action_seed)[0] if explore else self.actor.mode(feat)
        return action, post

    def _policy_fn(self, obs, state, prev_action, is_first, explore):
        """One step of acting. Only exploring draws from the agent's generator (inside the graph), so
        deterministic actions (evaluation) leave the training run's random stream as it was."""
        args = (obs, state, prev_action, is_first)
        return tf.cond(explore, lambda: self._step(*args, True, self._seed()), lambda: self._step(*args, False))

    def policy_graph(self, explore: bool = False) -> base.PolicyGraph:
        """:meth:`_step` with the carry of :meth:`act` (RSSM state, previous action, is_first) and,
        exploring, its random warm-up actions and action noise."""
        cfg, spec = self.config, self.spec
        random = explore and self.random_actions
        noise = cfg.action_noise if explore and not spec.discrete else 0.0

        def fn(obs, carry, seed):
            step_seed, draw_seed = split_seed(seed, 2)
            first = tf.cast(carry["is_first"], tf.float32)
            state = {k: carry[k] for k in self._rssm_keys}
            action, post = self._step(obs, state, carry["action"], first, explore, step_seed)
            n = tf.shape(first)[0]
            if random and spec.discrete:
                action = tf.one_hot(tf.random.stateless_uniform([n], draw_seed, 0, spec.n_actions, tf.int32), spec.n_actions)
            elif random:
                action = base.uniform_actions(n, (spec.action_dim,), draw_seed)
            elif noise > 0:
                action = tf.clip_by_value(action + noise * tf.random.stateless_normal(tf.shape(action), draw_seed), -1.0, 1.0)
            carry = {**carry, **post, "action": action}
            return (tf.argmax(action, -1, output_type=tf.int32) if spec.discrete else action), carry

        return base.PolicyGraph(fn, self._initial_carry(1))

    @property
    def warming_up(self) -> bool:
        return self.env_steps < self.config.memory.warmup_size

    @property
    def credit_per_env_step(self) -> float:
        ratio = self.config.train_ratio
        return 1 if ratio is None else ratio

    @property
    def credit_per_call(self) -> float:
        cfg = self.config
        return cfg.train_interval if cfg.train_ratio is None else cfg.batch_size * cfg.batch_length

    def ready_to_train(self) -> bool:
        return not self.warming_up and self.memory.can_sample(self.config.batch_length)

    def act(self, obs, carry, explore: bool = True):
        n = len(carry["is_first"])
        first = np.asarray(carry["is_first"], np.float32)
        state = {k: carry[k] for k in self._rssm_keys}
        action, post = self._policy(obs, state, carry["action"], first, self._explore_flag[bool(explore)])
        action = action.numpy()
        if explore and self.random_actions:  # seed data from random actions
            if self.spec.discrete:
                action = np.eye(self.spec.n_actions, dtype=np.float32)[self.rng.integers(self.spec.n_actions, size=n)]
            else:
                action = self.rng.uniform(-1.0, 1.0, action.shape).astype(np.float32)
        elif explore and self.config.action_noise > 0 and not self.spec.discrete:
            action = np.clip(action + self.config.action_noise * self.rng.standard_normal(action.shape), -1.0, 1.0)
        action = action.astype(np.float32)
        carry = self.next_carry(carry, action=action, **{k: v.numpy() for k, v in post.items()})
        if self.spec.discrete:
            env_action = action.argmax(axis=-1).astype(np.int64)
        else:
            env_action = to_env_action(action, self.spec.action_low, self.spec.action_high)
        return env_action, carry, {"obs": obs, "action": self._model_action(env_action)}

    def acting_models(self):
        return {"world_model": self.wm, "actor": self.actor}

    def _model_action(self, action: np.ndarray) -> np.ndarray:
        """Env action → what the world model receives (one-hot or [-1, 1])."""
        if self.spec.discrete:
            return np.eye(self.spec.n_actions, dtype=np.float32)[np.asarray(action, np.int64)]
        return from_env_action(action, self.spec.action_low, self.spec.action_high)

    def _train_once(self) -> tuple[int, dict]:
        cfg = self.config
        batch = self.memory.sample(cfg.batch_size, cfg.batch_length, self.rng)
        if self.train_count >= cfg.warmup_world_model:
            return 1, self._train_all(*batch)
        return 1, self._train_world_model(*batch)

    def _train_all(self, obs, action, reward, is_first, is_terminal) -> dict:
        """The full train step (world model, actor and critic) on one batch."""
        return self._train(tf.constant(True), obs, action, reward, is_first, is_terminal)

    def _train_world_model(self, obs, action, reward, is_first, is_terminal) -> dict:
        """The world model's half of the train step alone, on one batch (the actor and critic half
        did not run, so its figures are left out)."""
        metrics = self._train(tf.constant(False), obs, action, reward, is_first, is_terminal)
        return {k: v for k, v in metrics.items() if k not in self._behavior_metrics}

    # ---- training ----------------------------------------------------------------------------

    _behavior_metrics = ("actor_loss", "critic_loss", "actor_entropy", "imag_return", "imag_value", "imag_reward",
                         "return_scale", "actor_grad_norm", "critic_grad_norm")

    def _train_fn(self, with_behavior, obs, action, reward, is_first, is_terminal):
        cfg, wm, rssm = self.config, self.wm, self.rssm
        start = {k: tf.convert_to_tensor(v) for k, v in self._train_carry.items()} if self.stream else None
        # every random draw of the step comes from the agent's generator (saved in checkpoints), so a
        # run is reproducible from its seed and a resumed one continues as it would have
        observe_seed, behavior_seed = split_seed(self._seed(), 2)
        with tf.GradientTape() as tape:
            embed = wm.coder.encode(obs)
            posts, priors, last = rssm.observe(embed, action, is_first, start, seed=observe_seed)
            feat = rssm.get_feat(posts)
            obs_loss = tf.reduce_mean(wm.coder.nll(feat, obs))
            reward_loss = -tf.reduce_mean(wm.reward.log_prob(feat, reward))
            cont_loss = -tf.reduce_mean(wm.cont_dist(feat).log_prob(1.0 - is_terminal))
            kl_loss, kl = rssm.kl_loss(posts, priors, cfg.free_nats, cfg.kl_dyn_scale, cfg.kl_rep_scale)
            model_loss = obs_loss + reward_loss + cfg.cont_loss_scale * cont_loss + tf.reduce_mean(kl_loss)
        grad_norm = self.apply_gradients(tape, model_loss, wm.trainable_variables, self.model_opt, cfg.max_grad_norm,
                                         self._loss_scales.get("model"))
        if self.stream:
            for k, v in self._train_carry.items():
                v.assign(tf.stop_gradient(last[k]))
        metrics = {
            "model_loss": model_loss, "obs_loss": obs_loss, "reward_loss": reward_loss, "cont_loss": cont_loss,
            "kl": tf.reduce_mean(kl), "model_grad_norm": grad_norm,
        }

        def behavior():
            out = self._behavior_step(posts, is_terminal, behavior_seed)
            return {k: tf.cast(out[k], tf.float32) for k in self._behavior_metrics}

        metrics.update(tf.cond(with_behavior, behavior, lambda: {k: tf.constant(0.0) for k in self._behavior_metrics}))
        return metrics

    def _behavior(self, posts, is_terminal, seed) -> dict:
        """Actor and critic on trajectories imagined from every posterior state of the batch."""
        cfg, rssm, actor, critic, slow = self.config, self.rssm, self.actor, self.critic, self.critic_slow
        start = {k: tf.stop_gradient(_flatten_time(v)) for k, v in posts.items()}
        start_cont = tf.reshape(1.0 - is_terminal, [-1])
        v3, v2 = cfg.actor_loss_type == "dreamer_v3", cfg.actor_loss_type == "dreamer_v2"
        own_values = cfg.critic_loss_type == "dreamer_v3"  # returns from the critic itself (V3) or its target
        # one persistent tape: the critic's forward pass on the imagined states serves both the
        # returns (actor) and the critic's own loss, which differentiates only the critic weights
        with tf.GradientTape(persistent=True) as tape:
            states, actions = rssm.imagine(lambda f, s: actor.sample(tf.stop_gradient(f), s)[0], start, cfg.horizon,
                                           seed=seed)
            feat = rssm.get_feat(states)  # (H + 1, N, F)
            reward = self.wm.reward.mean(feat[1:])
            cont = tf.sigmoid(self.wm.cont(feat[1:])[..., 0])  # P(continue) of s_{t+1}
            if cfg.imagination_cont == "mode":
                cont = tf.cast(cont > 0.5, cont.dtype)
            value_out = (critic if own_values else slow)(feat)
            value = critic.mean_of(value_out)
            ret = lambda_returns(reward, value[:-1], cont, value[-1], cfg.discount, cfg.return_lambda)  # (H, N)
            # s_t is reached with probability Π_{k<t} cont_k (and never from a terminal start state)
            reach = tf.math.cumprod(tf.concat([tf.ones_like(cont[:1]), cont[:-1]], axis=0), axis=0)
            weight = tf.stop_gradient(start_cont[None] * reach)
            log_prob, entropy = actor.log_prob_entropy(tf.stop_gradient(feat[:-1]), tf.stop_gradient(actions))
            if v3:
                _, scale = actor.return_norm.update(ret)
                adv = (ret - tf.stop_gradient(value[:-1])) / scale
                objective = log_prob * tf.stop_gradient(adv) if self.spec.discrete else adv
            elif v2:
                rho = cfg.actor_reinforce_mix
                rho = (1.0 if self.spec.discrete else 0.0) if rho is None else rho
                baseline = tf.stop_gradient(value[:-1] if not own_values else slow.mean(feat[:-1]))
                objective = rho * log_prob * tf.stop_gradient(ret - baseline) + (1.0 - rho) * ret
            else:
                objective = ret
            actor_loss = -tf.reduce_mean(weight * (objective + cfg.actor_entropy * entropy))

            critic_loss = self.critic_loss(value_out, feat, ret, weight)
        actor_norm = self.apply_gradients(tape, actor_loss, actor.trainable_variables, self.actor_opt,
                                          cfg.actor_critic_grad_norm, self._loss_scales.get("actor"))
        critic_norm = self.apply_gradients(tape, critic_loss, critic.trainable_variables, self.critic_opt,
                                           cfg.actor_critic_grad_norm, self._loss_scales.get("critic"))
        del tape
        self.update_slow_critic()
        return {
            "actor_loss": actor_loss, "critic_loss": critic_loss, "actor_entropy": tf.reduce_mean(entropy),
            "imag_return": tf.reduce_mean(ret), "imag_value": tf.reduce_mean(value),
            "imag_reward": tf.reduce_mean(reward), "return_scale": actor.return_norm.scale(),
            "actor_grad_norm": actor_norm, "critic_grad_norm": critic_norm,
        }

    def critic_loss(self, value_out, feat, ret, weight) -> tf.Tensor:
        """The critic's loss on imagined states ``feat`` (H + 1, N, F), of which the first H have
        λ-returns ``ret`` (H, N) and loss weights ``weight`` (H, N). ``value_out``: the critic's output
        on ``feat`` (V3, whose returns come from the critic itself), unused otherwise. V3: twohot
        regression to the returns plus the regulariser towards the EMA copy's mean; V1 / V2: the
        critic's log-likelihood of the returns (computed from the target critic's values)."""
        cfg, critic = self.config, self.critic
        target = tf.stop_gradient(ret)
        if cfg.critic_loss_type == "dreamer_v3":
            critic_out = value_out[:-1]
            slow_mean = tf.stop_gradient(self.critic_slow.mean(tf.stop_gradient(feat[:-1])))
            nll = -critic.log_prob_of(critic_out, target)
            nll -= cfg.critic_ema_regularizer * critic.log_prob_of(critic_out, slow_mean)
        else:
            nll = -critic.log_prob(tf.stop_gradient(feat[:-1]), target)
        return tf.reduce_mean(weight * nll)

    def update_slow_critic(self) -> None:
        """EMA copy (V1 target, V3 regulariser) or a hard copy every N steps (V2 target)."""
        cfg = self.config
        pairs = zip(self.critic_slow.trainable_variables, self.critic.trainable_variables)
        if cfg.critic_loss_type == "dreamer_v2":
            copy = tf.equal(self._critic_updates % cfg.critic_target_update_interval, 0)
            for t, o in pairs:
                t.assign(tf.where(copy, o, t))
        else:
            base.polyak_update(self.critic_slow.trainable_variables, self.critic.trainable_variables,
                               1.0 - cfg.critic_ema_decay)
        self._critic_updates.assign_add(1)

    # ---- inspection --------------------------------------------------------------------------

    def open_loop_prediction(self, obs, action: np.ndarray, is_first: np.ndarray,
                             context: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reconstructions of a stored sequence (batch (1, T); for Dict observations a dict of such
        arrays) and an open-loop prediction: the posterior sees the first ``context`` observations,
        then the prior is rolled forward with the recorded actions alone. Returns the image part as
        (real, reconstruction, prediction), uint8 (T, H, W, C); the prediction repeats the
        reconstruction for the context steps."""
        rssm, coder = self.rssm, self.wm.coder
        length = action.shape[1]
        if not 1 <= context < length:
            raise ValueError(f"context={context} must be in [1, {length - 1}] for a sequence of {length} steps.")
        embed = coder.encode(obs)
        posts, _, _ = rssm.observe(embed, action, is_first, sample=False)
        feats = [rssm.get_feat(posts)[:, :context]]
        state = {k: v[:, context - 1] for k, v in posts.items()}
        for t in range(context, length):
            if is_first[0, t]:  # a new episode begins: the open-loop prediction cannot know its frame
                state = rssm.initial(1)
            state = rssm.img_step(state, action[:, t], sample=False)
            feats.append(rssm.get_feat(state)[:, None])
        recon = coder.decode_image(rssm.get_feat(posts))
        pred = coder.decode_image(tf.concat(feats, axis=1))
        return np.asarray(coder.image(obs))[0], recon[0], pred[0]

    def models(self):
        return {"world_model": self.wm, "actor": self.actor, "critic": self.critic, "critic_slow": self.critic_slow}
