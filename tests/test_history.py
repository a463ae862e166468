"""HistoryWriter (JSONL, config, TensorBoard), Histories loading and plotting."""

import glob
import json
import os

import numpy as np
import pytest

from srl_tf.history import X_COLUMNS, Histories, HistoryWriter, read_rows

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(n=5, reward_offset=0.0):
    return [
        {
            "train": 10 * i,
            "step": 100 * i,
            "episode": i,
            "time": 0.5 * i,
            "reward0": reward_offset + i,
            "loss": 1.0 / (i + 1),
        }
        for i in range(n)
    ]


def _write_run(directory, rows, tensorboard=False, append=False):
    w = HistoryWriter(str(directory), tensorboard=tensorboard, append=append)
    for r in rows:
        w.append(r)
    w.close()
    return str(directory)


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG_MAGIC


# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------


def test_writer_on_file_writes_jsonl_config_and_tensorboard_events(tmp_path):
    w = HistoryWriter(str(tmp_path))
    w.write_config({"algorithm": "DQN", "rl_config": {"batch_size": 16}})
    for r in _rows(3):
        w.append(r)
    w.close()

    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == _rows(3)
    assert json.loads((tmp_path / "config.json").read_text())["rl_config"]["batch_size"] == 16

    events = glob.glob(str(tmp_path / "tensorboard" / "events.out.tfevents.*"))
    assert len(events) == 1 and os.path.getsize(events[0]) > 0
    import tensorflow as tf

    tags = {(v.tag, e.step) for e in tf.compat.v1.train.summary_iterator(events[0]) for v in e.summary.value}
    assert {("reward0", 200), ("loss", 100)} <= tags  # logged against env steps
    assert not {t for t, _ in tags} & set(X_COLUMNS)  # x columns are not logged as scalars


def test_writer_appends_to_an_existing_history_only_when_asked(tmp_path):
    _write_run(tmp_path, _rows(2))
    _write_run(tmp_path, _rows(3)[2:], append=True)
    assert read_rows(str(tmp_path)) == _rows(3)
    _write_run(tmp_path, _rows(1))  # a new run replaces the old rows
    assert read_rows(str(tmp_path)) == _rows(1)


def test_writer_in_memory_keeps_rows_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = HistoryWriter(None)
    w.write_config({"a": 1})
    w.append({"step": 1, "loss": 0.5})
    w.close()
    assert w.rows == [{"step": 1, "loss": 0.5}]
    assert os.listdir(tmp_path) == []


def test_writer_stores_plain_json_values(tmp_path):
    w = HistoryWriter(str(tmp_path), tensorboard=False)
    w.append(
        {"step": np.int64(3), "loss": np.float32(0.25), "bad": float("nan"), "inf": np.inf, "none": None, "tag": "x"}
    )
    w.close()
    (row,) = read_rows(str(tmp_path))
    assert row["step"] == 3 and row["loss"] == 0.25 and row["tag"] == "x"
    assert row["bad"] is None and row["inf"] is None  # non-finite values become null
    assert row["none"] is None  # not the string "None"


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------


def test_histories_load_round_trip(tmp_path):
    a = _write_run(tmp_path / "run_a", _rows(4))
    b = _write_run(tmp_path / "run_b", _rows(2, reward_offset=10))
    h = Histories.load([a, b])
    assert [name for name, _ in h.runs] == ["run_a", "run_b"]
    assert h.runs[0][1] == _rows(4) and h.runs[1][1] == _rows(2, reward_offset=10)
    assert h.column("reward0", run=1) == [10.0, 11.0]
    assert set(h.columns()) == {"train", "step", "episode", "time", "reward0", "loss"}
    assert Histories.load(a).runs[0][1] == _rows(4)  # a single directory as a string


def test_truncated_last_line_is_skipped(tmp_path):
    d = _write_run(tmp_path / "run", _rows(3))
    with open(os.path.join(d, "history.jsonl"), "a", encoding="utf-8") as f:
        f.write('{"train": 30, "step": 300, "epis')  # interrupted mid-write
    assert Histories.load(d).runs[0][1] == _rows(3)


def test_loading_a_directory_without_history_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="history.jsonl"):
        Histories.load(str(tmp_path))


# ------------------------------------------------------------------------------------------
# Plotting
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", X_COLUMNS)
def test_plot_writes_png_for_every_x_column(tmp_path, x):
    d = _write_run(tmp_path / "run", _rows(6))
    path = Histories.load(d).plot(x, "reward0", path=str(tmp_path / f"plot_{x}.png"))
    assert path == str(tmp_path / f"plot_{x}.png")
    assert _is_png(path)


def test_plot_default_path_is_in_the_run_directory(tmp_path):
    d = _write_run(tmp_path / "run", _rows(3))
    path = Histories.load(d).plot("step", "loss")
    assert path == os.path.join(d, "loss_vs_step.png") and _is_png(path)


def test_plot_unknown_x_names_the_allowed_values(tmp_path):
    h = Histories.load(_write_run(tmp_path / "run", _rows(3)))
    with pytest.raises(ValueError, match="x='steps'") as e:
        h.plot("steps", "reward0", path=str(tmp_path / "p.png"))
    assert all(c in str(e.value) for c in X_COLUMNS)
    assert not (tmp_path / "p.png").exists()


def test_plot_unknown_y_names_the_logged_columns(tmp_path):
    h = Histories.load(_write_run(tmp_path / "run", _rows(3)))
    with pytest.raises(ValueError, match="y='eval_reward0'") as e:
        h.plot("step", "eval_reward0", path=str(tmp_path / "p.png"))
    assert "reward0" in str(e.value) and "loss" in str(e.value)


def test_plot_several_runs_has_a_legend(tmp_path, monkeypatch):
    import matplotlib.figure

    figures = []
    original = matplotlib.figure.Figure.savefig

    def capture(fig, *args, **kwargs):
        figures.append(fig)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", capture)
    runs = [
        _write_run(tmp_path / name, _rows(5, reward_offset=k)) for k, name in enumerate(["seed0", "seed1", "seed2"])
    ]
    path = Histories.load(runs).plot(
        "episode", "reward0", title="three seeds", path=str(tmp_path / "all.png"), smooth=2
    )
    assert _is_png(path)
    (fig,) = figures
    ax = fig.axes[0]
    assert ax.get_title() == "three seeds"
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["seed0", "seed1", "seed2"]
    assert len(ax.get_lines()) == 6  # raw and smoothed line per run
    np.testing.assert_allclose(ax.get_lines()[2].get_ydata(), [1, 2, 3, 4, 5])  # second run, raw


def test_plot_skips_rows_without_the_value(tmp_path):
    rows = _rows(4)
    rows[1].pop("reward0")
    d = _write_run(tmp_path / "run", rows)
    assert _is_png(Histories.load(d).plot("step", "reward0", path=str(tmp_path / "p.png")))
