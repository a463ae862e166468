"""Errors raised for user mistakes (configuration, environment, usage)."""


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range; the message says which and why."""


class EnvError(ValueError):
    """An environment cannot be made or has a space srl_tf does not support."""


class UnknownAttributeError(ConfigError, AttributeError):
    """A name read from a config or the Runner that does not exist; also an ``AttributeError``, so
    ``hasattr`` and ``getattr(obj, name, default)`` keep working."""


class MissingPathError(ConfigError, FileNotFoundError):
    """A file or directory the user named does not exist (also a ``FileNotFoundError``)."""
