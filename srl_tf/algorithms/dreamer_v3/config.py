"""Dreamer configuration: one dataclass, three presets (V1 / V2 / V3) and model-size presets."""

from __future__ import annotations

from dataclasses import field

from srl_tf.config import MemoryConfig, RLConfig, Schedule, config_dataclass, schedule
from srl_tf.errors import ConfigError

LOSS_TYPES = ("dreamer_v1", "dreamer_v2", "dreamer_v3")
ENCODER_DECODER_DISTS = ("linear", "normal")
REWARD_DISTS = ("twohot", "normal")
IMAGE_ENCODERS = ("residual", "conv")
ACTOR_CONTINUOUS_DISTS = ("bounded_normal", "tanh_normal")
SEQUENCE_SAMPLING = ("stream", "windows")
IMAGINATION_CONTS = ("mean", "mode")

# Widths of DreamerV3's model sizes (Hafner et al. 2023, table of model sizes): GRU units, hidden
# units of every MLP, CNN depth, MLP layers. "tiny" is this library's own size for tests.
MODEL_SIZES = {
    "tiny": dict(deter=32, hidden=32, depth=4, layers=1, stoch=4, classes=4),
    "XS": dict(deter=256, hidden=256, depth=16, layers=1, stoch=32, classes=32),
    "S": dict(deter=512, hidden=512, depth=32, layers=2, stoch=32, classes=32),
    "M": dict(deter=1024, hidden=640, depth=48, layers=3, stoch=32, classes=32),
    "L": dict(deter=2048, hidden=768, depth=64, layers=4, stoch=32, classes=32),
    "XL": dict(deter=4096, hidden=1024, depth=96, layers=5, stoch=32, classes=32),
}


PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
"""Values of ``Config.precision``: Keras dtype policies."""

@config_dataclass
class Config(RLConfig):
    """Dreamer hyperparameters. The defaults are the V3 preset at model size S; call
    :meth:`set_dreamer_v1` / :meth:`set_dreamer_v2` / :meth:`set_dreamer_v3` for a preset and
    :meth:`set_model_size` for widths, then override single fields. Presets leave the learning
    rates alone (they are usually passed to the constructor); each preset's docstring gives its
    paper's rates.

    >>> rl_config = dreamer_v3.Config(lr_model=1e-4, lr_critic=1e-4, lr_actor=2e-5).set_dreamer_v3()
    """

    # ---- world model ----------------------------------------------------------------------
    rssm_deter_size: int = 512
    """Units of the RSSM's deterministic (GRU) state h."""
    rssm_stoch_size: int = 32
    """Stochastic state z: number of categorical variables (or Gaussian dimensions when
    ``rssm_classes`` is 0)."""
    rssm_classes: int = 32
    """Classes per categorical variable of z (>= 2); 0 makes z Gaussian (V1)."""
    rssm_hidden_units: int = 512
    """Width of the RSSM's dense layers (into the GRU and to the prior / posterior statistics)."""
    rssm_unimix: float = 0.01
    """Uniform mixture in the categorical prior and posterior (each class keeps >= unimix/classes)."""
    rssm_min_std: float = 0.1
    """Minimum standard deviation of a Gaussian z (std = softplus + min_std)."""
    dense_activation: str = "silu"
    """Activation of every dense layer ('silu' for V3, 'elu' for V1 / V2)."""
    dense_norm: bool = True
    """Dense (no bias) → LayerNorm → activation (V3); False: Dense (with bias) → activation."""
    encoder_decoder_mlp: tuple = (512, 512)
    """Hidden widths of the encoder and decoder MLPs for vector observations."""
    image_encoder: str = "residual"
    """'residual': V3 CNN (Conv k4 s2 → LayerNorm → SiLU with residual blocks, down to 4×4);
    'conv': V1 / V2 CNN (Conv k4 s2 valid, depth doubling; images need 64×64)."""
    cnn_depth: int = 32
    """Channels of the first CNN stage (doubling every stage)."""
    cnn_blocks: int = 1
    """Residual blocks per stage of the 'residual' encoder and decoder."""
    encoder_decoder_dist: str = "linear"
    """Observation likelihood: 'linear' (squared error summed over features / pixels) or 'normal'
    (unit-variance Normal log-likelihood)."""
    symlog_inputs: bool = True
    """Feed vector observations through symlog and reconstruct them in symlog space (V3)."""
    reward_layer_sizes: tuple = (512, 512)
    """Hidden widths of the reward head."""
    reward_dist: str = "twohot"
    """Reward head: 'twohot' (255 symlog bins, zero-initialised output; V3) or 'normal' (unit
    variance; V1 / V2)."""
    cont_layer_sizes: tuple = (512, 512)
    """Hidden widths of the continue head (Bernoulli on 1 − terminal)."""
    cont_loss_scale: float = 1.0
    """Weight of the continue head's loss."""
    imagination_cont: str = "mean"
    """How the continue head cuts imagined trajectories: 'mean' weighs each imagined step by the
    probability that the episode is still running (as DreamerV2); 'mode' by that probability
    rounded to 0 or 1 (as the DreamerV3 authors' code), so that a step the head judges terminal
    ends the imagined future outright."""
    free_nats: float = 1.0
    """Free bits: each KL term is clamped from below at this value, after summing over all latent
    variables of a time step."""
    kl_dyn_scale: float = 0.5
    """Weight of max(free, KL(sg(post) ‖ prior)), which trains the prior (V3 0.5; V2 α = 0.8;
    V1 0.5 with ``kl_rep_scale`` 0.5, i.e. one KL with gradients into both)."""
    kl_rep_scale: float = 0.1
    """Weight of max(free, KL(post ‖ sg(prior))), which trains the posterior (V3 0.1; V2 1 − α)."""
    lr_model: Schedule = schedule(1e-4)
    """World-model learning rate (Adam)."""
    model_epsilon: float = 1e-8
    """Adam ε of the world model."""
    max_grad_norm: float = 1000.0
    """Global-norm gradient clip of the world model (<= 0 disables it)."""
    warmup_world_model: int = 0
    """Train steps at the start that train only the world model (no actor / critic)."""

    # ---- actor and critic -----------------------------------------------------------------
    actor_layer_sizes: tuple = (512, 512)
    """Hidden widths of the actor."""
    critic_layer_sizes: tuple = (512, 512)
    """Hidden widths of the critic."""
    lr_actor: Schedule = schedule(3e-5)
    """Actor learning rate (Adam)."""
    lr_critic: Schedule = schedule(3e-5)
    """Critic learning rate (Adam)."""
    actor_critic_epsilon: float = 1e-5
    """Adam ε of actor and critic."""
    actor_critic_grad_norm: float = 100.0
    """Global-norm gradient clip of actor and critic (<= 0 disables it)."""
    horizon: int = 15
    """Imagination length in steps (not the return horizon 1 / (1 − discount))."""
    discount: float = 0.997
    """Discount γ of the imagined returns."""
    return_lambda: float = 0.95
    """λ of the λ-returns."""
    actor_loss_type: str = "dreamer_v3"
    """'dreamer_v1': maximise λ-returns by back-propagation through the dynamics;
    'dreamer_v2': ρ·REINFORCE(return − target value) + (1 − ρ)·back-propagation − η·entropy;
    'dreamer_v3': (return − value) / max(1, P95 − P5), REINFORCE for discrete and
    back-propagation for continuous actions, − η·entropy."""
    actor_entropy: float = 3e-4
    """Entropy bonus η of the actor."""
    actor_reinforce_mix: float | None = None
    """ρ of the 'dreamer_v2' actor loss; None: 1 for discrete and 0 for continuous actions."""
    actor_continuous_dist: str = "bounded_normal"
    """'bounded_normal': Normal(tanh(mean), std in [actor_min_std, actor_max_std]) clipped to
    [-1, 1] (V3); 'tanh_normal': tanh-squashed Normal with mean 5·tanh(m / 5) (V1 / V2)."""
    actor_min_std: float = 0.1
    """Minimum standard deviation of the continuous actor."""
    actor_max_std: float = 1.0
    """Maximum standard deviation of the 'bounded_normal' actor."""
    actor_init_std: float = 5.0
    """Initial standard deviation (before tanh) of the 'tanh_normal' actor."""
    actor_unimix: float = 0.01
    """Uniform mixture of the discrete actor."""
    action_noise: float = 0.0
    """Gaussian noise added to continuous actions while collecting data (V1: 0.3)."""
    critic_loss_type: str = "dreamer_v3"
    """'dreamer_v1': Normal regression to λ-returns from an EMA target critic;
    'dreamer_v2': the same with a target critic copied every ``critic_target_update_interval``;
    'dreamer_v3': twohot regression to λ-returns of the critic itself plus a regulariser towards
    its EMA copy."""
    critic_ema_decay: float = 0.98
    """Decay of the critic's EMA copy (V1 target, V3 regulariser)."""
    critic_ema_regularizer: float = 1.0
    """Weight of the V3 regulariser towards the EMA critic."""
    critic_target_update_interval: int = 100
    """Train steps between hard copies of the V2 target critic."""
    return_norm_decay: float = 0.99
    """EMA decay of the 5th / 95th return percentiles (V3 actor)."""

    # ---- data -----------------------------------------------------------------------------
    batch_size: int = 16
    """Sequences per training batch."""
    batch_length: int = 64
    """Steps per training sequence (>= 2)."""
    sequence_sampling: str = "stream"
    """'stream': each batch row continues its stream of episodes from the previous batch and the
    RSSM state is carried over (V3); 'windows': windows inside one episode each (V1 / V2)."""
    train_interval: int = 1
    """Env steps between train steps (summed over parallel envs); not used when ``train_ratio`` is
    set."""
    train_ratio: float | None = None
    """DreamerV3's train ratio: replayed env steps per env step, batch_size × batch_length × train
    steps / env steps. Set, it decides when to train instead of ``train_interval``, exactly on
    average (16 × 64 sequences and train_ratio 512: one train step every 2 env steps). Each unit costs
    compute: train steps per env step = train_ratio / (batch_size × batch_length)."""
    memory: MemoryConfig = field(default_factory=lambda: MemoryConfig(capacity=1_000_000, warmup_size=1_000))
    """Capacity in env steps and ``warmup_size``: steps of random actions before training."""

    precision: str = "float32"
    """Compute dtype of the networks: 'float32', 'mixed_bfloat16' or 'mixed_float16' (bfloat16 /
    float16 matrix products with float32 weights; for GPUs and TPUs that have fast half-precision
    units). States, heads, distributions and losses stay float32; float16 adds dynamic loss scaling.
    On a CPU it mostly costs time."""

    name = "dreamer"

    # ---- presets ---------------------------------------------------------------------------
    def set_model_size(self, size: str = "S") -> Config:
        """Widths of DreamerV3's model sizes 'XS', 'S', 'M', 'L', 'XL' (and 'tiny' for tests) for
        the RSSM, every MLP (``layers`` hidden layers) and the CNN. z keeps its kind: categorical
        stoch × classes, or Gaussian with stoch dimensions."""
        if size not in MODEL_SIZES:
            raise ConfigError(f"set_model_size(size={size!r}): allowed: {', '.join(map(repr, MODEL_SIZES))}.")
        s = MODEL_SIZES[size]
        layers = (s["hidden"],) * s["layers"]
        self.rssm_deter_size, self.rssm_hidden_units = s["deter"], s["hidden"]
        self.rssm_stoch_size = s["stoch"]
        if self.rssm_classes:  # a Gaussian z (V1) stays Gaussian
            self.rssm_classes = s["classes"]
        self.cnn_depth = s["depth"]
        for name in ("encoder_decoder_mlp", "reward_layer_sizes", "cont_layer_sizes", "actor_layer_sizes",
                     "critic_layer_sizes"):
            setattr(self, name, layers)
        return self

    def set_dreamer_v3(self) -> Config:
        """DreamerV3 (Hafner et al. 2023): categorical 32×32 z with 1% unimix, Dense → LayerNorm →
        SiLU, residual CNN, symlog inputs, twohot reward and critic, KL 0.5·dyn + 0.1·rep with one
        free nat, percentile-normalised actor, critic EMA regulariser, stream batches, γ = 0.997. Paper learning rates: lr_model 1e-4, lr_actor = lr_critic = 3e-5
        (the defaults)."""
        self.set_model_size("S")
        self.rssm_stoch_size, self.rssm_classes, self.rssm_unimix = 32, 32, 0.01
        self.dense_activation, self.dense_norm = "silu", True
        self.image_encoder, self.cnn_blocks = "residual", 1
        self.encoder_decoder_dist, self.symlog_inputs, self.reward_dist = "linear", True, "twohot"
        self.cont_loss_scale = 1.0
        self.free_nats, self.kl_dyn_scale, self.kl_rep_scale = 1.0, 0.5, 0.1
        self.model_epsilon, self.actor_critic_epsilon = 1e-8, 1e-5
        self.max_grad_norm, self.actor_critic_grad_norm = 1000.0, 100.0
        self.actor_loss_type = self.critic_loss_type = "dreamer_v3"
        self.actor_entropy, self.actor_reinforce_mix = 3e-4, None
        self.actor_continuous_dist, self.actor_min_std, self.actor_max_std = "bounded_normal", 0.1, 1.0
        self.actor_unimix, self.action_noise = 0.01, 0.0
        self.critic_ema_decay, self.critic_ema_regularizer = 0.98, 1.0
        self.horizon, self.discount, self.return_lambda = 15, 0.997, 0.95
        self.batch_size, self.batch_length, self.sequence_sampling = 16, 64, "stream"
        return self

    def set_dreamer_v2(self) -> Config:
        """DreamerV2 (Hafner et al. 2021): categorical 32×32 z without unimix, ELU MLPs of 4×400,
        V2 CNN, unit-variance Normal image / reward likelihoods, KL balancing α = 0.8 with one free
        nat, actor ρ·REINFORCE + (1 − ρ)·dynamics − 1e-4·entropy, target critic copied every 100
        steps, windows inside episodes, γ = 0.99. Paper learning rates: lr_model 3e-4 (2e-4 on
        Atari), lr_actor 8e-5 (4e-5), lr_critic 8e-5 (1e-4)."""
        self.rssm_deter_size, self.rssm_hidden_units = 600, 600
        self.rssm_stoch_size, self.rssm_classes, self.rssm_unimix = 32, 32, 0.0
        self.dense_activation, self.dense_norm = "elu", False
        self.image_encoder, self.cnn_depth = "conv", 48
        self.encoder_decoder_mlp = (400,) * 4
        self.reward_layer_sizes = self.cont_layer_sizes = (400,) * 4
        self.actor_layer_sizes = self.critic_layer_sizes = (400,) * 4
        self.encoder_decoder_dist, self.symlog_inputs, self.reward_dist = "normal", False, "normal"
        self.cont_loss_scale = 5.0
        self.free_nats, self.kl_dyn_scale, self.kl_rep_scale = 1.0, 0.8, 0.2
        self.model_epsilon, self.actor_critic_epsilon = 1e-5, 1e-5
        self.max_grad_norm, self.actor_critic_grad_norm = 100.0, 100.0
        self.actor_loss_type = self.critic_loss_type = "dreamer_v2"
        self.actor_entropy, self.actor_reinforce_mix = 1e-4, None
        self.actor_continuous_dist, self.actor_min_std, self.actor_init_std = "tanh_normal", 0.1, 5.0
        self.actor_unimix, self.action_noise = 0.0, 0.0
        self.critic_target_update_interval = 100
        self.horizon, self.discount, self.return_lambda = 15, 0.99, 0.95
        self.batch_size, self.batch_length, self.sequence_sampling = 16, 50, "windows"
        return self

    def set_dreamer_v1(self) -> Config:
        """Dreamer (Hafner et al. 2020): Gaussian z of 30 dimensions (std = softplus + 0.1), ELU
        MLPs, V2 CNN, unit-variance Normal image / reward likelihoods, one KL with 3 free nats,
        actor maximising λ-returns by back-propagation through the dynamics with 0.3 action noise,
        EMA target critic, windows inside episodes, γ = 0.99. Paper learning rates: lr_model 6e-4,
        lr_actor = lr_critic = 8e-5. The 3 free nats suit the 30-dimensional z: with a much smaller
        ``rssm_stoch_size`` the KL can stay below them, and then the prior is never trained (lower
        ``free_nats`` with it, e.g. 0.1 for 4 dimensions). With no entropy term the continuous
        actor can settle on actions at the bounds (bang-bang); docs/benchmarks.md shows this on
        Pendulum."""
        self.rssm_deter_size, self.rssm_hidden_units = 200, 200
        self.rssm_stoch_size, self.rssm_classes, self.rssm_min_std = 30, 0, 0.1
        self.dense_activation, self.dense_norm = "elu", False
        self.image_encoder, self.cnn_depth = "conv", 32
        self.encoder_decoder_mlp = (400, 400)
        self.reward_layer_sizes = self.cont_layer_sizes = (400, 400)
        self.actor_layer_sizes = self.critic_layer_sizes = (400, 400, 400)
        self.encoder_decoder_dist, self.symlog_inputs, self.reward_dist = "normal", False, "normal"
        self.cont_loss_scale = 1.0
        self.free_nats, self.kl_dyn_scale, self.kl_rep_scale = 3.0, 0.5, 0.5
        self.model_epsilon, self.actor_critic_epsilon = 1e-7, 1e-7
        self.max_grad_norm, self.actor_critic_grad_norm = 100.0, 100.0
        self.actor_loss_type = self.critic_loss_type = "dreamer_v1"
        self.actor_entropy, self.actor_reinforce_mix = 0.0, None
        self.actor_continuous_dist, self.actor_min_std, self.actor_init_std = "tanh_normal", 1e-4, 5.0
        self.actor_unimix, self.action_noise = 0.0, 0.3
        self.critic_ema_decay = 0.98
        self.horizon, self.discount, self.return_lambda = 15, 0.99, 0.95
        self.batch_size, self.batch_length, self.sequence_sampling = 50, 50, "windows"
        return self

    # ---- validation ------------------------------------------------------------------------
    def validate(self) -> None:
        super().validate()
        self._check_int("batch_size", low=1)
        self.memory.check()
        for name in ("rssm_deter_size", "rssm_hidden_units", "cnn_depth", "horizon", "train_interval",
                     "critic_target_update_interval"):
            self._check_int(name, low=1)
        self._check_int("batch_length", low=2)
        self._check_choice("precision", PRECISIONS)
        if self.train_ratio is not None:
            self._check_range("train_ratio", 0.0, float("inf"), low_open=True, high_open=True)
        self._check_int("cnn_blocks", low=0)
        self._check_int("warmup_world_model", low=0)
        self._check_int("rssm_stoch_size", low=1)
        if not isinstance(self.rssm_classes, int) or self.rssm_classes < 0 or self.rssm_classes == 1:
            raise ConfigError(
                f"rssm_classes={self.rssm_classes!r} cannot be built: use 0 (Gaussian z of rssm_stoch_size "
                "dimensions, V1) or an integer >= 2 (rssm_stoch_size categorical variables of that many classes)."
            )
        choices = {
            "actor_loss_type": LOSS_TYPES, "critic_loss_type": LOSS_TYPES,
            "encoder_decoder_dist": ENCODER_DECODER_DISTS, "reward_dist": REWARD_DISTS,
            "image_encoder": IMAGE_ENCODERS, "actor_continuous_dist": ACTOR_CONTINUOUS_DISTS,
            "sequence_sampling": SEQUENCE_SAMPLING, "imagination_cont": IMAGINATION_CONTS, "dense_activation": ("silu", "elu", "relu", "gelu", "tanh"),
        }
        for name, allowed in choices.items():
            self._check_choice(name, allowed)
        for name in ("encoder_decoder_mlp", "reward_layer_sizes", "cont_layer_sizes", "actor_layer_sizes",
                     "critic_layer_sizes"):
            sizes = getattr(self, name)
            if not isinstance(sizes, (tuple, list)) or any(not isinstance(s, int) or s <= 0 for s in sizes):
                raise ConfigError(f"{name}={sizes!r} must be a tuple of positive integers, e.g. (512, 512).")
        self._check_range("discount", 0.0, 1.0, low_open=True)
        self._check_range("return_lambda", 0.0, 1.0)
        for name in ("rssm_unimix", "actor_unimix"):
            self._check_range(name, 0.0, 1.0, high_open=True)
        for name in ("critic_ema_decay", "return_norm_decay"):
            self._check_range(name, 0.0, 1.0, high_open=True)
        for name in ("free_nats", "kl_dyn_scale", "kl_rep_scale", "cont_loss_scale", "actor_entropy",
                     "critic_ema_regularizer", "action_noise"):
            self._check_range(name, 0.0, float("inf"))
        for name in ("rssm_min_std", "actor_min_std", "model_epsilon", "actor_critic_epsilon"):
            self._check_range(name, 0.0, float("inf"), low_open=True)
        if self.actor_continuous_dist == "bounded_normal" and not self.actor_max_std > self.actor_min_std:
            raise ConfigError(f"actor_max_std={self.actor_max_std!r} must be > actor_min_std={self.actor_min_std!r}.")
        self._check_range("actor_init_std", 0.0, float("inf"), low_open=True)
        if self.actor_reinforce_mix is not None:
            self._check_range("actor_reinforce_mix", 0.0, 1.0)
        if self.memory.warmup_size < self.batch_length:
            raise ConfigError(
                f"memory.warmup_size={self.memory.warmup_size} is smaller than batch_length={self.batch_length}; "
                f"no training sequence could be sampled. Set memory.warmup_size >= {self.batch_length}."
            )

    def make_agent(self, spec, num_envs: int = 1):
        from srl_tf.algorithms.dreamer_v3.agent import Agent

        self.validate()
        return Agent(self, spec, num_envs)
