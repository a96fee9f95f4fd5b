"""The notebooks' prose is what a reviewer reads on the page: words, not code names."""

from __future__ import annotations

import re

import pytest

from analysis.paths import NOTEBOOKS
from analysis.report import schema

CODE = re.compile(r"`[^`]+`")


@pytest.mark.parametrize("name", [spec.name for spec in schema.NOTEBOOKS])
def test_markdown_names_no_code(name):
    import nbformat  # here, not at collection: its JSON-schema imports take seconds

    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [(cell.id, m) for cell in notebook.cells if cell.cell_type == "markdown" for m in CODE.findall(cell.source)]
    assert code == [], f"{name}: code names in the prose a reviewer reads: {code}"
