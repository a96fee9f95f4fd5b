"""The contract's prose (docs/data-contract.md) and its declaration (analysis.contract) agree,
and the sample dataset under data/ meets it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import contract as c
from analysis.data import load

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")


def paragraph(table: str) -> str:
    """The doc's paragraph on one table (it starts with the table's name in bold)."""
    match = re.search(rf"^\*\*{table}\*\*.*?(?=\n\n)", DOC, re.S | re.M)
    assert match, f"docs/data-contract.md has no paragraph '**{table}**'"
    return match.group(0)


@pytest.mark.parametrize("table", c.TABLES, ids=lambda t: t.name)
def test_every_declared_column_is_documented_in_its_table(table):
    text = paragraph(table.name)
    for column in table.columns:
        position = text.find(f"`{column.name}`")
        assert position >= 0, f"{table.name}.{column.name} is not in the doc's paragraph on {table.name}"
        if not column.required:
            assert "optional" in text[:position], f"{table.name}.{column.name} is optional in code, not in the doc"
    assert ("(optional)" in text) == (not table.required), f"{table.name}: required in one place, optional in the other"


def test_sample_dataset_meets_the_contract():
    sample = load(ROOT / "data" / "sample")
    assert sample.quarantine.empty and sample.notes == [] and sample.unknown_columns == {}
    assert all(len(frame) for name, frame in sample.tables.items())
