"""Notebooks are thin, stored without outputs, and their parameters match the package's schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.report.schema import NOTEBOOKS

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
ALL = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_every_notebook_has_a_schema_and_every_schema_a_notebook():
    assert {p.stem for p in ALL} == {spec.name for spec in NOTEBOOKS}


@pytest.mark.parametrize("spec", NOTEBOOKS, ids=lambda s: s.name)
def test_parameters_cell_matches_schema(spec):
    import papermill as pm  # here, not at collection: its imports take seconds

    inferred = pm.inspect_notebook(str(NOTEBOOK_DIR / f"{spec.name}.ipynb"))
    assert set(inferred) == {p.name for p in spec.params}
    for param in spec.params:
        assert eval(inferred[param.name]["default"]) == param.default, param.name  # noqa: S307 - our own literal
        assert inferred[param.name]["inferred_type_name"] == param.type_name
        assert inferred[param.name]["help"] == param.help


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_stored_without_outputs(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_notebooks_are_thin(path):
    """No function or class definitions, no installs, no hand-built paths: logic lives in the package."""
    notebook = json.loads(path.read_text())
    code = [
        "".join(c["source"])
        for c in notebook["cells"]
        if c["cell_type"] == "code" and "parameters" not in c.get("metadata", {}).get("tags", [])
    ]  # the parameters cell is declarations only, one line per parameter
    assert notebook["cells"][0]["cell_type"] == "markdown"
    for source in code:
        for forbidden in ("def ", "class ", "!pip", "%pip", "open(", "Path(", "read_csv", "read_parquet"):
            assert forbidden not in source, (path.name, forbidden)
        assert len(source.splitlines()) <= 8, (path.name, source)
    tagged = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
