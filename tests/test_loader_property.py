"""Property: corrupting random rows of a valid dataset loses nothing.

Every corrupted row lands in quarantine at its own line, every untouched row is
accepted unchanged, and read = accepted + quarantined for every table.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data import load
from conftest import tiny_tables, write_csv_dataset

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
