"""Keras building blocks shared by the algorithms."""

from __future__ import annotations

import keras

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
