"""srl-tf train --set: config fields from the command line."""

import json
import os

from srl_tf.cli import main


def test_set_assigns_fields_nested_fields_and_schedules(tmp_path):
    out = str(tmp_path / "run")
    args = ["train", "dqn", "CartPole-v1", "--steps", "60", "--out", out, "--set", "lr=5e-4",
            "--set", "hidden_block.layer_sizes=(32,)", "--set", "memory.warmup_size=40", "--set", "batch_size=8"]
    assert main(args) == 0
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        rl = json.load(f)["rl_config"]
    assert rl["lr"]["start"] == 5e-4 and rl["hidden_block"]["layer_sizes"] == [32]
    assert rl["memory"]["warmup_size"] == 40 and rl["batch_size"] == 8


def test_set_mistakes_are_one_line_errors(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "dqn", "CartPole-v1", "--out", out, "--set", "gamma=0.9"]) == 2
    err = capsys.readouterr().err
    assert "srl-tf: error: Config has no field 'gamma'" in err and "calls it discount" in err and "Traceback" not in err
    assert main(["train", "dqn", "CartPole-v1", "--out", out, "--set", "lr"]) == 2
    assert "expected FIELD=VALUE" in capsys.readouterr().err
