"""Training history: JSONL rows on file (plus TensorBoard event files) or in memory, and plots.

Each row has the x columns ``train`` (gradient steps), ``step`` (env steps), ``episode`` and
``time`` (seconds), and any logged value: ``reward0`` (mean return of the episodes that ended since
the last row), ``eval_reward0`` (mean deterministic evaluation return), losses and other metrics.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Sequence

from srl_tf.errors import ConfigError, MissingPathError

X_COLUMNS = ("train", "step", "episode", "time")


class HistoryWriter:
    """Writes rows to ``<dir>/history.jsonl`` and TensorBoard events under ``<dir>/tensorboard``;
    with ``directory=None`` keeps them in memory only. ``append=False`` starts the file afresh (a
    new run in a used directory); ``append=True`` continues it (a resumed run)."""

    def __init__(self, directory: str | None = None, tensorboard: bool = True, append: bool = False):
        self.directory = directory
        self.rows: list[dict] = []
        self._file = None
        self._tb = None
        if directory:
            os.makedirs(directory, exist_ok=True)
            self._file = open(os.path.join(directory, "history.jsonl"), "a" if append else "w", encoding="utf-8")
            if tensorboard:
                import tensorflow as tf

                self._tb = tf.summary.create_file_writer(os.path.join(directory, "tensorboard"))

    def write_config(self, data: dict) -> None:
        if self.directory:
            with open(os.path.join(self.directory, "config.json"), "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2, default=str)

    def append(self, row: dict) -> None:
        row = {k: _plain(v) for k, v in row.items()}
        self.rows.append(row)
        if self._file:
            self._file.write(json.dumps(row) + "\n")
            self._file.flush()
        if self._tb is not None:
            import tensorflow as tf

            with self._tb.as_default(step=int(row.get("step", 0))):
                for k, v in row.items():
                    if k not in X_COLUMNS and isinstance(v, (int, float)) and v is not None:
                        tf.summary.scalar(k, v)
            self._tb.flush()

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _plain(v):
    if v is None or isinstance(v, (str, bool)):
        return v  # JSON null / string / bool as they are (float(None) would turn None into "None")
    if isinstance(v, numbers.Integral):
        return int(v)  # numpy integers stay integers
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def read_rows(directory: str) -> list[dict]:
    path = os.path.join(directory, "history.jsonl")
    if not os.path.exists(path):
        raise MissingPathError(f"No history in '{directory}' (expected {path}); was set_history_on_file used?")
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut short by an interrupted run
    return rows


def truncate_rows(directory: str, max_step: int) -> int:
    """Keeps the rows of ``<directory>/history.jsonl`` up to env step ``max_step`` (a run resumed
    from a checkpoint at that step writes the later ones again); returns the rows dropped."""
    path = os.path.join(directory, "history.jsonl")
    if not os.path.exists(path):
        return 0
    rows = read_rows(directory)
    kept = [r for r in rows if r.get("step", 0) <= max_step]
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in kept:
            f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return len(rows) - len(kept)


class Histories:
    """One or more runs' histories, for reading and plotting.

    >>> h = Runner.load_histories(["runs/a", "runs/b"])
    >>> h.plot("step", "eval_reward0", title="CartPole")
    """

    def __init__(self, runs: Sequence[tuple[str, list[dict]]], directory: str | None = None):
        self.runs = list(runs)
        self.directory = directory

    @classmethod
    def load(cls, directories: Iterable[str] | str) -> Histories:
        if isinstance(directories, str):
            directories = [directories]
        directories = list(directories)
        runs = [(os.path.basename(os.path.normpath(d)), read_rows(d)) for d in directories]
        return cls(runs, directory=directories[0] if directories else None)

    def column(self, name: str, run: int = 0) -> list:
        return [r.get(name) for r in self.runs[run][1]]

    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for _, rows in self.runs:
            for r in rows:
                names.update(dict.fromkeys(r))
        return list(names)

    def plot(
        self,
        x: str = "step",
        y: str | Sequence[str] = "eval_reward0",
        title: str | None = None,
        path: str | None = None,
        smooth: int = 1,
        show: bool | None = None,
    ) -> str:
        """Plots ``y`` (one column, or several: ``["eval_reward0", "reward0"]``; of several, those
        never logged are left out with a warning) against ``x`` for every run, saves a PNG and returns
        its path (shown too when matplotlib is interactive).
        ``smooth`` > 1 adds a moving average over that many rows."""
        if x not in X_COLUMNS:
            raise ConfigError(f"plot(x={x!r}): x must be one of {', '.join(X_COLUMNS)}.")
        ys_names = [y] if isinstance(y, str) else list(y)
        available = self.columns()
        missing = [name for name in ys_names if name not in available]
        if missing and (isinstance(y, str) or len(missing) == len(ys_names)):
            raise ConfigError(
                f"plot(y={missing[0]!r}): no such column; logged columns are {', '.join(sorted(available))}."
            )
        if missing:  # of several columns, one not logged yet (e.g. reward0 before any episode ended)
            from srl_tf.logs import logger

            logger.warning(f"plot: {', '.join(missing)} not logged in these runs; drawn without")
            ys_names = [name for name in ys_names if name not in missing]
        import matplotlib

        if show is None:
            show = matplotlib.is_interactive()
        if not show:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.2))
        styles = ["-", "--", ":", "-."]
        for k, column in enumerate(ys_names):
            for label, rows in self.runs:
                pts = [(r[x], r[column]) for r in rows if r.get(column) is not None and r.get(x) is not None]
                if not pts:
                    continue
                xs, ys = zip(*pts)
                several = not isinstance(y, str)  # columns asked for by a list are named in the legend
                name = label if not several else (column if len(self.runs) == 1 else f"{label} {column}")
                marker = "o" if len(xs) <= 30 else None  # a run of few rows (or one) stays visible
                line = ax.plot(xs, ys, styles[k % len(styles)], label=name, marker=marker, markersize=4,
                               alpha=0.35 if smooth > 1 else 1.0)[0]
                if smooth > 1 and len(ys) >= smooth:
                    avg = [sum(ys[max(0, i - smooth + 1) : i + 1]) / len(ys[max(0, i - smooth + 1) : i + 1]) for i in range(len(ys))]
                    ax.plot(xs, avg, styles[k % len(styles)], color=line.get_color())
        ax.set_xlabel({"train": "gradient steps", "step": "env steps", "episode": "episodes", "time": "seconds"}[x])
        ax.set_ylabel(" / ".join(ys_names))
        ax.set_title(title or f"{' / '.join(ys_names)} vs {x}")
        ax.grid(alpha=0.3)
        if len(self.runs) > 1 or not isinstance(y, str):
            ax.legend()
        fig.tight_layout()
        if path is None:
            base = self.directory or "."
            path = os.path.join(base, f"{'_'.join(ys_names)}_vs_{x}.png")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=100)
        if show:
            plt.show()
        plt.close(fig)
        return path
