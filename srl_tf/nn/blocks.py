"""Keras building blocks shared by the algorithms."""

from __future__ import annotations

import keras
import numpy as np

from srl_tf.config import BlockConfig


def mlp_layers(cfg: BlockConfig, name: str) -> list:
    """Dense (→ LayerNorm) → activation for each width in ``cfg.layer_sizes``."""
    out = []
    for i, units in enumerate(cfg.layer_sizes):
        out.append(keras.layers.Dense(units, use_bias=not cfg.layer_norm, name=f"{name}_dense{i}"))
        if cfg.layer_norm:
            out.append(keras.layers.LayerNormalization(name=f"{name}_ln{i}"))
        out.append(keras.layers.Activation(cfg.activation, name=f"{name}_act{i}"))
    return out


_CNN_PRESETS = {
    # (filters, kernel, stride)
    "dqn": ((32, 8, 4), (64, 4, 2), (64, 3, 1)),  # Mnih et al. 2015
    "small": ((16, 3, 2), (32, 3, 2), (32, 3, 2)),
}


def cnn_layers(cfg: BlockConfig, name: str) -> list:
    out = []
    for i, (filters, kernel, stride) in enumerate(_CNN_PRESETS[cfg.cnn_preset]):
        out.append(keras.layers.Conv2D(filters, kernel, stride, activation=cfg.activation, name=f"{name}_conv{i}"))
    out.append(keras.layers.Flatten(name=f"{name}_flatten"))
    return out


def min_image_size(cfg: BlockConfig) -> int:
    """Smallest square input the CNN preset accepts (valid padding)."""
    size = 1
    for _, kernel, stride in reversed(_CNN_PRESETS[cfg.cnn_preset]):
        size = (size - 1) * stride + kernel
    return size


def torso(spec, hidden: BlockConfig, image: BlockConfig | None = None, name: str = "torso") -> keras.Sequential:
    """The input side of a network: for images, uint8 → [0, 1] scaling and a CNN, then the MLP."""
    layers: list = [keras.Input(shape=spec.obs_shape, dtype=str(spec.obs_dtype))]
    if spec.is_image:
        from srl_tf.errors import ConfigError

        image = image or BlockConfig().set_cnn("dqn")
        need = min_image_size(image)
        if min(spec.obs_shape[:2]) < need:
            raise ConfigError(
                f"Image observations {spec.obs_shape} are smaller than the '{image.cnn_preset}' CNN accepts "
                f"(at least {need}x{need}); set EnvConfig.image_resize or image_block.set_cnn('small')."
            )
        layers.append(keras.layers.Rescaling(1.0 / 255.0, name=f"{name}_scale"))
        layers += cnn_layers(image, name)
    layers += mlp_layers(hidden, name)
    return keras.Sequential(layers, name=name)


class PolicyNetwork(keras.Model):
    """Observation → policy parameters (logits or Gaussian mean); ``.head.distribution(params)``
    turns them into a TFP distribution."""

    def __init__(self, spec, hidden: BlockConfig, image: BlockConfig | None = None, **kwargs):
        from srl_tf.distributions import PolicyHead

        super().__init__(**kwargs)
        self.torso = torso(spec, hidden, image, name=f"{self.name}_torso")
        self.head = PolicyHead(spec.discrete, spec.action_dim, name=f"{self.name}_head")

    def call(self, obs):
        return self.head(self.torso(obs))

    def distribution(self, obs):
        return self.head.distribution(self(obs))


class ValueNetwork(keras.Model):
    """Observation → scalar state value."""

    def __init__(self, spec, hidden: BlockConfig, image: BlockConfig | None = None, **kwargs):
        super().__init__(**kwargs)
        self.torso = torso(spec, hidden, image, name=f"{self.name}_torso")
        self.out = keras.layers.Dense(1, name=f"{self.name}_out")

    def call(self, obs):
        return keras.ops.squeeze(self.out(self.torso(obs)), -1)


class QValueNetwork(keras.Model):
    """(observation, continuous action) → scalar Q. Vector observations are concatenated with the
    action before the MLP; image observations first go through their own uint8 → [0, 1] scaling
    and CNN (the :func:`torso` with no dense layers)."""

    def __init__(self, spec, hidden: BlockConfig, image: BlockConfig | None = None, **kwargs):
        super().__init__(**kwargs)
        if spec.is_image:
            self.encoder = torso(spec, BlockConfig(layer_sizes=()), image, name=f"{self.name}_encoder")
        else:
            self.encoder = keras.layers.Flatten(name=f"{self.name}_flatten")
        self.mlp = keras.Sequential(mlp_layers(hidden, f"{self.name}_mlp"), name=f"{self.name}_mlp")
        self.out = keras.layers.Dense(1, name=f"{self.name}_out")

    def call(self, obs, action):
        h = self.mlp(keras.ops.concatenate([keras.ops.cast(self.encoder(obs), "float32"), action], axis=-1))
        return keras.ops.squeeze(self.out(h), -1)


class RunningNormalization(keras.layers.Layer):
    """Normalises inputs by running statistics (mean and variance over everything passed to
    :meth:`update`, merged batch by batch with Chan et al.'s parallel formula), then clips.

    The statistics are non-trainable weights, so they are saved and loaded with the model.
    ``center=False`` only divides by the standard deviation (reward scaling).
    """

    def __init__(self, shape: tuple = (), clip: float = 10.0, center: bool = True, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.stat_shape = tuple(shape)
        self.clip = float(clip)
        self.center = center
        self.epsilon = float(epsilon)
        self.mean = self.add_weight(shape=self.stat_shape, initializer="zeros", trainable=False, name="mean")
        self.var = self.add_weight(shape=self.stat_shape, initializer="ones", trainable=False, name="var")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")
        self.built = True

    def update(self, batch) -> None:
        """Merges the statistics of ``batch`` (leading axes are samples) into the running ones."""
        x = np.asarray(batch, np.float64).reshape((-1,) + self.stat_shape)
        n, mean, var = float(self.count.numpy()), np.asarray(self.mean.numpy(), np.float64), np.asarray(self.var.numpy(), np.float64)
        bn, bmean, bvar = len(x), x.mean(axis=0), x.var(axis=0)
        total = n + bn
        delta = bmean - mean
        new_mean = mean + delta * bn / total
        new_var = (var * n + bvar * bn + np.square(delta) * n * bn / total) / total
        self.mean.assign(new_mean.astype(np.float32))
        self.var.assign(new_var.astype(np.float32))
        self.count.assign(total)

    def call(self, x):
        x = keras.ops.cast(x, "float32")
        if self.center:
            x = x - self.mean
        x = x / keras.ops.sqrt(self.var + self.epsilon)
        return keras.ops.clip(x, -self.clip, self.clip)

    def get_config(self):
        return {**super().get_config(), "shape": self.stat_shape, "clip": self.clip, "center": self.center,
                "epsilon": self.epsilon}


_NUMPY_ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "linear": lambda x: x,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
}


def numpy_mlp(layers: list):
    """A numpy forward pass of Dense / Activation layers (input layers are skipped), or None when a
    layer has no numpy form.

    Acting on one observation through a small MLP takes ~15 µs in numpy against ~150 µs for a
    ``tf.function`` call, which dominates the per-env-step cost of off-policy agents on small
    envs. Returns ``(forward(x, weights), snapshot())``: ``snapshot`` reads the current weights
    (call it after every training step), ``forward`` uses such a snapshot.
    """
    plan = []
    for layer in layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Dense):
            act = layer.get_config()["activation"]
            if act not in _NUMPY_ACTIVATIONS:
                return None
            plan.append(("dense", layer, _NUMPY_ACTIVATIONS[act]))
        elif isinstance(layer, keras.layers.Activation):
            name = layer.get_config()["activation"]
            if name not in _NUMPY_ACTIVATIONS:
                return None
            plan.append(("act", None, _NUMPY_ACTIVATIONS[name]))
        else:
            return None

    def snapshot():
        return [[w.numpy() for w in layer.weights] if layer is not None else None for _, layer, _ in plan]

    def forward(x, weights):
        h = np.asarray(x, np.float32)
        for (kind, _, fn), w in zip(plan, weights):
            if kind == "dense":
                h = h @ w[0]
                if len(w) > 1:
                    h = h + w[1]
            h = fn(h)
        return h

    return forward, snapshot
