"""Tables in the docs are printed by the benchmark that measured them, from its committed result
file: a table edited by hand, or a result file changed without the table, fails here."""

import importlib.util
import json
import os

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")
TABLES = [
    ("checkpoint_cost", "checkpoint_cost.json", "docs/guides/checkpoints.md"),
    ("main_job", "main_job.json", "docs/getting-started.md"),
    ("ray_scaling", "ray_scaling.json", "docs/guides/scaling_out.md"),
    ("export_speed", "export_speed.json", "docs/guides/deploying.md"),
]


@pytest.mark.parametrize("script, result, page", TABLES, ids=[t[0] for t in TABLES])
def test_docs_table_is_made_from_the_result_file(script, result, page):
    spec = importlib.util.spec_from_file_location(script, os.path.join(ROOT, "benchmarks", f"{script}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(os.path.join(ROOT, "benchmarks", "results", result), encoding="utf-8") as f:
        expected = module.table(json.load(f))
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        text = f.read()
    marker = f"<!-- table: python benchmarks/{script}.py --table -->"
    start = text.index(marker)
    body = text[text.index("\n", start) + 1 : text.index("<!-- end table -->", start)].strip()
    assert body == expected.strip()
