"""Tables in the docs are made by benchmarks/report.py from the committed result files: a table edited
by hand, or a result file changed without the table, fails here (``python benchmarks/report.py --write``
brings the docs back in line)."""

import importlib.util
import os
import re

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
