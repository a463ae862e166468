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


def test_train_starts_from_the_tuned_preset_unless_told_not_to(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "dqn", "CartPole-v1", "--steps", "40", "--out", out, "--set", "memory.warmup_size=64"]) == 0
    assert "the tuned preset srl_tf.presets for dqn on CartPole-v1" in capsys.readouterr().out
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        rl = json.load(f)["rl_config"]
    assert rl["train_interval"] == 256 and rl["hidden_block"]["layer_sizes"] == [256, 256]  # the preset's values
    assert rl["memory"]["warmup_size"] == 64  # --set on top of it
    assert main(["train", "dqn", "CartPole-v1", "--steps", "40", "--out", out, "--no-preset"]) == 0
    assert "the default Config" in capsys.readouterr().out
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        assert json.load(f)["rl_config"]["train_interval"] == 1


def test_every_preset_builds_an_agent_for_its_env():
    import srl_tf
    from srl_tf import presets

    for (algorithm, env_id), _ in presets.PRESETS.items():
        config, env_kwargs = presets.tuned(algorithm, env_id, seed=1)
        assert config.seed == 1 and config.name.lower().startswith(algorithm)
        runner = srl_tf.Runner(srl_tf.EnvConfig(env_id, **env_kwargs), config)
        assert runner.agent is not None
    assert presets.tuned("dqn", "Acrobot-v1") is None
