"""The ``srl-tf`` command: train with an algorithm's defaults, plot histories, argument errors."""

import json
import os
import re
import subprocess
import sys

import pytest

from srl_tf.cli import main


def test_train_writes_history_config_evaluation_plot_and_gif(tmp_path, capsys):
    out, gif = str(tmp_path / "run"), str(tmp_path / "episode.gif")
    argv = ["train", "dqn", "CartPole-v1", "--steps", "300", "--seed", "3", "--out", out, "--gif", gif]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    rows = [json.loads(line) for line in open(os.path.join(out, "history.jsonl"))]
    assert rows[-1]["step"] == 300 and "eval_reward0" in rows[-1]
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["algorithm"] == "DQN" and config["rl_config"]["seed"] == 3
    assert config["env_config"]["name"] == "CartPole-v1"
    # the evaluation printed is that of the final weights, as the last history row logged it
    mean = re.search(r"evaluation: mean (-?[\d.]+) over 10 episodes", printed)
    assert mean and float(mean.group(1)) == pytest.approx(rows[-1]["eval_reward0"], abs=0.05)
    lines = printed.strip().splitlines()
    plot_path, gif_path = lines[-2], lines[-1]
    with open(plot_path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    assert gif_path == gif
    with Image.open(gif) as im:
        assert im.size == (600, 400) and im.n_frames > 5  # CartPole frames, one per step


def test_plot_writes_the_requested_columns(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    with open(run / "history.jsonl", "w") as f:
        for step in (10, 20, 30):
            f.write(
                json.dumps({"train": 0, "step": step, "episode": 1, "time": 0.1 * step, "reward0": step / 10}) + "\n"
            )
    path = str(tmp_path / "plot.png")
    assert main(["plot", str(run), "--x", "time", "--y", "reward0", "--title", "a run", "--path", path]) == 0
    assert capsys.readouterr().out.strip() == path
    import matplotlib.image

    assert matplotlib.image.imread(path).ndim == 3
    assert main(["plot", str(run), "--y", "loss", "--path", path]) == 2  # a one-line error, no traceback
    err = capsys.readouterr().err
    assert "srl-tf: error: plot(y='loss'): no such column" in err and "reward0" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "dqm", "CartPole-v1"], "unknown algorithm 'dqm'"),
        (["train", "base", "CartPole-v1"], "unknown algorithm 'base'"),
        (["train", "dqn", "CartPole-v1", "--steps", "many"], "invalid int value: 'many'"),
        (["train", "dqn"], "the following arguments are required: env"),
        ([], "the following arguments are required: command"),
        (["fit", "dqn", "CartPole-v1"], "invalid choice: 'fit'"),
        (["plot"], "the following arguments are required: dirs"),
    ],
)
def test_argument_errors_exit_with_usage_and_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: srl-tf" in err and message in err


def test_module_runs_as_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "srl_tf.cli", "train", "--help"], capture_output=True, text=True, cwd=os.getcwd()
    )
    assert result.returncode == 0
    assert "--steps" in result.stdout and "--gif" in result.stdout
