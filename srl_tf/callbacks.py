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


class PredictionGif(Callback):
    """A Dreamer run that shows what its world model sees while it trains: at every evaluation of the
    history (``set_history_on_file(..., enable_eval=True)``) it rewrites ``path`` with the open-loop
    prediction GIF of :func:`srl_tf.render.save_prediction_gif` (real frames | reconstruction |
    imagination from ``context`` frames, on the newest ``length`` stored steps).

    >>> runner.train(max_steps=50_000, callbacks=[srl_tf.callbacks.PredictionGif("runs/pixels/prediction.gif")])
    """

    def __init__(self, path: str, length: int = 50, context: int = 5):
        self.path, self.length, self.context = path, length, context

    def on_train_begin(self, runner) -> None:
        from srl_tf.errors import ConfigError

        coder = getattr(getattr(runner.agent, "wm", None), "coder", None)
        if coder is None or coder.image_key is None:
            raise ConfigError(
                f"PredictionGif needs a Dreamer agent with image observations; this run is {runner.rl_config.name} "
                f"on observations of shape {runner.agent.spec.obs_shape}."
            )

    def on_log(self, runner, row: dict) -> None:
        if row.get("eval_reward0") is None or runner.agent.memory.written[0] <= self.context:
            return  # no evaluation in this row, or too few steps stored for context and prediction
        from srl_tf.render import save_prediction_gif

        save_prediction_gif(runner.agent, self.path, length=self.length, context=self.context)
