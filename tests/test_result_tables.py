"""Tables in the docs are made by benchmarks/report.py from the committed result files: a table edited
by hand, or a result file changed without the table, fails here (``python benchmarks/report.py --write``
brings the docs back in line)."""

import importlib.util
import os
import re

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")


def _report():
    spec = importlib.util.spec_from_file_location("report", os.path.join(ROOT, "benchmarks", "report.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _report()
MARKED = report.marked_tables()


def test_the_docs_mark_tables():
    # the markers themselves must be found, or every table test below would pass by having nothing to check
    names = {name for _, name, _ in MARKED}
    assert {"main_job", "checkpoint_cost", "summary"} <= names, names


def test_every_table_marker_is_closed():
    for folder, _, files in os.walk(os.path.join(ROOT, "docs")):
        for f in files:
            if f.endswith(".md"):
                with open(os.path.join(folder, f), encoding="utf-8") as fh:
                    text = fh.read()
                opened = len(re.findall(r"<!-- table: ", text))
                assert opened == len(report.MARKER.findall(text)), f"{f}: a table marker without its end, or of another form"


@pytest.mark.parametrize(
    "page, name, body", MARKED, ids=[f"{os.path.relpath(p, os.path.join(ROOT, 'docs'))}:{n}" for p, n, _ in MARKED]
)
def test_docs_table_is_made_from_the_result_files(page, name, body):
    assert name in report.TABLES, f"{page} marks a table {name!r} that benchmarks/report.py does not make"
    assert body == report.table(name)


def _docs_text() -> str:
    texts = []
    for folder, _, files in os.walk(os.path.join(ROOT, "docs")):
        for f in files:
            if f.endswith(".md"):
                with open(os.path.join(folder, f), encoding="utf-8") as fh:
                    texts.append(fh.read())
    return "\n".join(texts)


def test_every_plot_with_its_result_files_is_written_and_shown():
    docs = _docs_text()
    made = [image for image, (files, _, _) in report.PLOTS.items() if report.available(files)]
    assert "dreamer_v3_pendulum_eval.png" in made
    for image in made:
        assert os.path.exists(os.path.join(ROOT, "docs", "images", image)), f"{image}: run report.py --write"
        assert f"images/{image})" in docs, f"{image} is made but no docs page shows it"


def test_the_dreamer_preset_plot_is_drawn_from_its_result_file(tmp_path):
    # the preset files name no env in their settings; the plot must still find Pendulum-v1's panel
    path = report.plot("dreamer_v3_pendulum_eval.png", str(tmp_path / "eval.png"))
    assert os.path.getsize(path) > 1000


def _generality():
    spec = importlib.util.spec_from_file_location(
        "dreamer_generality", os.path.join(ROOT, "benchmarks", "dreamer_generality.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_run_stopped_short_of_its_budget_is_marked_and_continues():
    g = _generality()
    row = {"task": "pixels", "env": "Pendulum-v1", "seed": 0, "env_steps": 7_500, "budget": 50_000,
           "final_eval": -250.0, "best_eval": -250.0, "eval_curve": [[5_000, -900.0], [7_500, -250.0]],
           "train_steps_per_s": 0.2, "peak_rss_mib": 5_000.0}
    full = dict(row, task="acrobot", env="Acrobot-v1", env_steps=20_000, budget=20_000, final_eval=-90.0)
    old = dict(full, task="pendulum", env="Pendulum-v1")  # a row written before rows had a budget
    del old["budget"]
    rows = [row, full, old]
    # a run stopped at 7,500 is landed for that stop, not for a later one nor for its whole budget
    assert g.landed(rows, "pixels", 0, until=7_500)
    assert not g.landed(rows, "pixels", 0, until=10_000)
    assert not g.landed(rows, "pixels", 0)
    assert g.landed(rows, "acrobot", 0) and g.landed(rows, "pendulum", 0)
    assert not g.landed(rows, "pixels", 1)
    meta = {"settings": {"size": "XS", "train_ratio": 256.0}, "command": "c", "date": "d", "commit": "0" * 40,
            "dirty": False, "machine": {"cpu": "x", "cores": 2, "load_before": [0, 0, 0], "load_after": [0, 0, 0]}}
    text = g.table({**meta, "runs": rows})
    lines = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert "7,500 of 50,000 (**stopped**)" in lines["| pixels"]
    assert "stopped" not in lines["| acrobot"] and "stopped" not in lines["| pendulum"]
    assert "Stopped: the run was ended" in text
    assert "Stopped:" not in g.table({**meta, "runs": [full]})


def _script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "benchmarks", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dreamer_preset_rows_are_judged_against_their_presets_target():
    p = _script("dreamer_pendulum")
    base = {"env_steps": 8_000, "train_steps_per_s": 3.1, "peak_rss_mb": 2_000, "train_steps": 7_950}
    runs = [dict(base, seed=0, final_eval=-150.0, best_eval=-140.0, eval_curve=[[2_000, -900.0], [4_000, -140.0]]),
            dict(base, seed=1, final_eval=-250.0, best_eval=-180.0, eval_curve=[[2_000, -800.0], [6_000, -180.0]]),
            dict(base, seed=2, final_eval=-250.0, best_eval=-210.0, eval_curve=[[2_000, -700.0], [6_000, -210.0]])]
    meta = {"command": "c", "date": "d", "commit": "0" * 40, "dirty": False,
            "machine": {"cpu": "x", "cores": 2, "load_before": [0, 0, 0], "load_after": [0, 0, 0]},
            "settings": {"preset": "v3", "lrs": [1e-4, 1e-4, 2e-5], "set": [], "eval_interval": 2_000}}
    rows = {line.split(" | ")[1]: line for line in p.learning_table({**meta, "runs": runs}).splitlines()
            if line.startswith("| V3")}
    assert "≥ -200 within 30,000: **met** | 4,000 |" in rows["0"]
    assert "**not held** at the end | 6,000 |" in rows["1"]
    assert "**missed** | - |" in rows["2"]
    # V1 and V2 have a target of their own: the same returns meet it
    v1 = p.learning_table({**meta, "settings": dict(meta["settings"], preset="v1"), "runs": runs})
    assert v1.count("≥ -300 within 50,000: **met**") == 3
    # the summary on docs/benchmarks.md judges the mean of the final evaluations
    summary = report._summary_row("dreamer_v3_pendulum", {**meta, "runs": runs})
    assert "-150.0 / -250.0 / -250.0 (mean -216.7)" in summary and "**missed**" in summary
    assert "on 2 of 3 seeds" in summary
    assert "**met**" in report._summary_row("dreamer_v3_pendulum", {**meta, "runs": runs[:1]})


def test_a_landed_seed_replaces_its_own_row_and_keeps_the_others(tmp_path):
    import _results  # benchmarks/ is on the path through report.py

    out, settings = str(tmp_path / "r.json"), {"preset": "v3"}
    before = _results.machine()
    for seed, final in ((0, -300.0), (1, -200.0), (0, -150.0)):
        _results.add_row(out, {"seed": seed, "final_eval": final}, ("seed",), settings, before, str(tmp_path))
    assert sorted((r["seed"], r["final_eval"]) for r in _results.read(out)["runs"]) == [(0, -150.0), (1, -200.0)]
    # rows written with other settings are not mixed in: the file starts again
    _results.add_row(out, {"seed": 2, "final_eval": -100.0}, ("seed",), {"preset": "v2"}, before, str(tmp_path))
    assert [r["seed"] for r in _results.read(out)["runs"]] == [2]
    assert _results.rows_with_settings(out, settings) == []


def test_the_critic_speed_stand_in_has_the_world_models_shape_and_true_values():
    c = _script("dreamer_critic_speed")
    f = c.stand_in_features(50, deter=8, groups=4, classes=5)
    assert f.shape == (51, 8 + 4 * 5) and f.dtype == np.float32
    assert np.all(np.abs(f[:, :8]) <= 1.0)
    onehots = f[:, 8:].reshape(51, 4, 5)
    assert np.all(onehots.sum(-1) == 1.0) and set(np.unique(onehots)) == {0.0, 1.0}
    assert len({row.tobytes() for row in f}) > 40  # states differ: the critic can tell them apart
    gamma = 0.9
    direct = [sum(gamma ** k for k in range(50 - t)) for t in range(50)]
    np.testing.assert_allclose(c.true_values(50, gamma), direct, rtol=1e-6)


def test_the_dreamer_critic_learns_exact_returns_with_its_own_loss():
    """The agent's critic_loss, optimiser and EMA update, on an exact 10-step episode: the value
    of the first state climbs towards the true 9.87 (γ 0.997) from the zero-initialised twohot."""
    c = _script("dreamer_critic_speed")
    run = c.train(3e-3, 10, 300, 32, {"size": "XS", "train_ratio": 256})
    assert run["true_v0"] == pytest.approx((1 - 0.997 ** 10) / 0.003)
    v0 = [v for _, v, _ in run["curve"]]
    assert len(run["curve"]) == 100 and run["curve"][-1][0] == 300
    assert v0[-1] > 0.7 * run["true_v0"] and run["curve"][-1][2] < run["curve"][0][2]
    assert c.steps_to(run, 0.5) is not None and c.value_at(run, 300) == v0[-1]
