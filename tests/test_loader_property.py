"""Property: corrupting random rows of a valid dataset loses nothing.

Every corrupted row lands in quarantine at its own physical line (blank lines and
quoted line breaks included), every untouched row is accepted unchanged, and
read = accepted + quarantined for every table.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from conftest import tiny_tables, write_csv_dataset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data import load

# Values that break the contract in a given column whatever the rest of the row holds.
CORRUPTIONS = {
    "inspection_id": [""],
    "region_id": ["", "NOWHERE", "P9"],
    "inspection_date": ["2022-13-01", "yesterday", "", "2022/01/05"],
    "enterprise_id": [""],
    "industry": ["Mining", "heavy industry", ""],
    "enterprise_size": ["huge", "S"],
    "risk_level": ["0", "5", "two", "1.5"],
    "surprise": ["maybe", "", "2", "T"],
    "cross_region": ["n", "", "-1"],
    "officers": ["0", "-2", "many"],
    "technical_inspector": ["sometimes"],
    "hazards_found": ["-1", "", "1.2", "lots"],
    "case_filed": ["", "perhaps"],
    "penalty_amount": ["-1", "", "free", "inf"],
    "double_penalty": ["", "twice"],
}
N_COPIES = 10  # 60 inspections

# A hundred generated datasets, each written and loaded: about 25 s of CPU (make check, CI).
pytestmark = pytest.mark.slow


def many_inspections() -> dict[str, pd.DataFrame]:
    tables = tiny_tables()
    base = tables["inspections"]
    copies = [base.assign(inspection_id=base["inspection_id"] + f"-{k}") for k in range(N_COPIES)]
    tables["inspections"] = pd.concat(copies, ignore_index=True)
    return tables


corruption = st.tuples(
    st.integers(0, 6 * N_COPIES - 1),
    st.sampled_from(sorted(CORRUPTIONS)),
    st.integers(0, 3),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(corruption, max_size=25))
def test_corrupted_rows_are_quarantined_and_valid_rows_kept(tmp_path_factory, corruptions):
    tables = many_inspections()
    inspections = tables["inspections"]
    original_ids = inspections["inspection_id"].copy()
    corrupted_rows = set()
    for row, column, pick in corruptions:
        options = CORRUPTIONS[column]
        inspections.loc[row, column] = options[pick % len(options)]
        corrupted_rows.add(row)
    path = write_csv_dataset(tmp_path_factory.mktemp("prop"), tables)

    dataset = load(path)

    recon = dataset.reconciliation().set_index("table")
    assert recon["balanced"].all()
    assert recon.loc["inspections", "read"] == len(inspections)
    held = dataset.quarantine[dataset.quarantine["table"] == "inspections"]
    assert set(held["line"] - 2) == corrupted_rows
    kept = set(original_ids.drop(index=list(corrupted_rows)))
    assert set(dataset.inspections["inspection_id"]) == kept


# Layout changes that move later rows down the file: a blank line before a row, or a
# quoted value with line breaks inside the row (in a column outside the contract).
layout_change = st.tuples(st.integers(0, 6 * N_COPIES - 1), st.sampled_from(["blank line before", "line breaks"]))


def csv_text_and_lines(frame: pd.DataFrame, blank_before: set[int]) -> tuple[str, list[int], list[int]]:
    """The CSV text, each row's physical line, and the lines that are blank."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(frame.columns)
    line, row_lines, blank_lines = 2, [], []
    for position, row in enumerate(frame.itertuples(index=False)):
        if position in blank_before:
            out.write("\n")
            blank_lines.append(line)
            line += 1
        start = out.tell()
        writer.writerow(row)
        row_lines.append(line)
        line += out.getvalue()[start:].count("\n")
    return out.getvalue(), row_lines, blank_lines


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(corruption, max_size=15), st.lists(layout_change, max_size=10))
def test_rows_are_held_at_their_physical_line(tmp_path_factory, corruptions, changes):
    tables = many_inspections()
    inspections = tables["inspections"]
    inspections["note"] = ""
    corrupted_rows = set()
    for row, column, pick in corruptions:
        options = CORRUPTIONS[column]
        inspections.loc[row, column] = options[pick % len(options)]
        corrupted_rows.add(row)
    blank_before = {row for row, change in changes if change == "blank line before"}
    for row, change in changes:
        if change == "line breaks":
            inspections.loc[row, "note"] = 'first line\nsecond line,\r\nthird "line"'
    path = write_csv_dataset(tmp_path_factory.mktemp("lines"), tables)
    text, row_lines, blank_lines = csv_text_and_lines(inspections, blank_before)
    (path / "inspections.csv").write_text(text, encoding="utf-8", newline="")

    dataset = load(path)

    held = dataset.quarantine[dataset.quarantine["table"] == "inspections"]
    assert sorted(held.loc[held["reason"] == "blank line", "line"]) == blank_lines
    assert set(held.loc[held["reason"] != "blank line", "line"]) == {row_lines[row] for row in corrupted_rows}
    assert dataset.reconciliation()["balanced"].all()
    kept = inspections.drop(index=list(corrupted_rows))
    assert dataset.inspections["note"].tolist() == kept["note"].tolist()
