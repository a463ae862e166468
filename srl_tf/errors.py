"""Errors raised for user mistakes (configuration, environment, usage)."""


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range; the message says which and why."""


class EnvError(ValueError):
    """An environment cannot be made or has a space srl_tf does not support."""
