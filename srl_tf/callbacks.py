"""Callbacks hooked into :meth:`srl_tf.Runner.train`."""

from __future__ import annotations


class Callback:
    """Override what you need. ``on_step`` returning True stops training."""

    def on_train_begin(self, runner) -> None:
        pass

    def on_step(self, runner, info: dict) -> bool | None:
        """After every vector-env step; ``info`` has step, train, episode and time (the metrics of
        the last train step are in ``runner.last_metrics``, as tensors)."""
        return None

    def on_episode_end(self, runner, episode_return: float, episode_length: int) -> None:
        pass

    def on_log(self, runner, row: dict) -> None:
        """After every history row (including evaluation results)."""

    def on_train_end(self, runner) -> None:
        pass
