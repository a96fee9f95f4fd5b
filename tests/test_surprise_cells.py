"""The surprise study on its cells (`surprise.study_cells`, what the report uses) gives what it gives on
one row per inspection (`surprise.study_table`): every number to rounding, every sentence of the page.

The cells are counted in SQL where the data lies, a few hundred rows instead of thousands of
inspections here (and 25,000 instead of ten million at national scale), so each step has a cells
path beside its rows path; these tests hold the two together on data the simulated world does not
look like: optional columns absent or partly empty, one province, no campaign, few inspections,
one kind of visit, outcomes that never happen, a report quarter before the data ends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_surprise_any_data import dataset, page, set_inspections, world  # noqa: F401 (world: a fixture)
from variants import drop_columns, keep_provinces, tiny, window, without_programs

from analysis import snapshot, surprise
from analysis.columns import lookup
from analysis.data import load
from analysis.limits import Limitations, Missing

CHANGES = {
    "as simulated": lambda tables: tables,
    "no risk grade or size": drop_columns(("inspections", "risk_level"), ("inspections", "enterprise_size")),
    "risk grade partly missing": set_inspections(
        risk_level=lambda f: f["risk_level"].where(f.index % 7 != 0, pd.NA).astype("Int64")
    ),
    "one province": keep_provinces("Jiangsu"),
    "no campaign": without_programs("surprise_campaign"),
    "few inspections": tiny,
    "every inspection unannounced": set_inspections(surprise=True),
    "no case ever filed": set_inspections(case_filed=False, penalty_amount=0.0, double_penalty=False),
    "data from 2021": window("2021Q1", "2024Q4"),
    "seventy industries": set_inspections(industry=lambda f: "industry_" + (f.index % 70).astype(str)),
}


def _steps(table, period: str) -> dict:
    """Every result of notebook 02's steps that holds numbers (a step that was not possible: its sentence)."""
    design, limits = surprise.DEFAULT, Limitations()
    table = limits.run("Comparison", surprise.comparable, table, period)
    outcomes = limits.run("Estimates", surprise.plan, table, limits)
    estimates = limits.run("Estimates", surprise.estimates, table, outcomes, design=design)
    scores = limits.run("Overlap", surprise.propensity_scores, table, design)
    balance = limits.run("Balance", surprise.balance, table, scores, design)
    groups = surprise.breakdowns(table, design, 5, limits)
    return {
        "estimates": limits.run("Estimates", surprise.estimates_frame, estimates),
        "balance": balance,
        "breakdowns": [g if isinstance(g, Missing) else g.frame for g in groups],
        "sensitivity": limits.run("Sensitivity", surprise.sensitivity, table, estimates),
        "scores": scores,
        "limits": dict(limits.items),
    }


def _same(rows, cells, what: str) -> None:
    if isinstance(rows, Missing) or isinstance(cells, Missing):
        assert str(rows) == str(cells), what
    elif isinstance(rows, pd.DataFrame):
        pd.testing.assert_frame_equal(rows, cells, check_exact=False, rtol=1e-9, atol=1e-12, obj=what)
    else:
        assert rows == cells, what


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_the_cells_give_the_numbers_and_the_page_of_the_rows(world, tmp_path, change):  # noqa: F811
    path = dataset(world, tmp_path, CHANGES[change])
    period = "2023Q4" if change == "data from 2021" else "2024Q4"
    rows, row_notes = surprise.study_table(load(path), last_period=period)
    cells, cell_notes = surprise.study_cells(load(path), last_period=period)
    assert cell_notes == row_notes and cells.attrs["left_out"] == rows.attrs["left_out"]
    assert cells[surprise.CELL_COUNT].sum() == len(rows) and len(cells) < len(rows)
    by_rows, by_cells = _steps(rows, period), _steps(cells, period)
    row_scores, cell_scores = by_rows.pop("scores"), by_cells.pop("scores")
    if not isinstance(row_scores, Missing):  # each inspection's score is its cell's
        keys = [*surprise.COVARIATES, surprise.TREATMENT]
        scored = cells.assign(score=cell_scores).drop_duplicates(keys)  # cells of other regions share a score
        np.testing.assert_allclose(lookup(rows, scored, keys, "score"), row_scores, 1e-12)
    for what in by_rows:
        if what == "breakdowns":
            for one, other in zip(by_rows[what], by_cells[what], strict=True):
                _same(one, other, what)
        else:
            _same(by_rows[what], by_cells[what], what)
    assert page(path, period, rows=True) == page(path, period)  # every sentence, every limitation


def test_the_cells_of_a_snapshot_are_counted_on_disk_and_equal_those_in_memory(world, tmp_path):  # noqa: F811
    in_memory = load(dataset(world, tmp_path, keep_provinces("Jiangsu", "Shandong")))
    on_disk = snapshot.read(snapshot.write(in_memory, tmp_path / "snapshot")).within(["Jiangsu"])
    assert on_disk.parquet_source("inspections") is not None  # counted from the file
    cells, notes = surprise.study_cells(on_disk, last_period="2024Q4")
    expected, expected_notes = surprise.study_cells(in_memory.within(["Jiangsu"]), last_period="2024Q4")
    keys = ["region_id", "risk_level", "industry", "enterprise_size", "surprise", "campaign_active"]
    left, right = (frame.sort_values(keys).reset_index(drop=True) for frame in (cells, expected))
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-12)
    assert notes == expected_notes and set(cells["province"]) == {"Jiangsu"}


@pytest.mark.parametrize(
    ("design", "rows"),
    [
        (surprise.DEFAULT, False),
        (surprise.Design(covariates="C(risk_level) * C(industry) + C(quarter)"), True),
        (surprise.Design(heterogeneity_by=("industry", "inspection_date")), True),
        (surprise.Design(cluster="province"), False),
        (surprise.Design(heterogeneity_by=("major_hazard_found",)), True),  # an outcome: cells have its sums only
        (surprise.Design(covariates=(*surprise.OUTCOME_COVARIATES, "hazards_found")), True),
    ],
)
def test_a_design_reading_what_only_rows_have_gets_the_rows(world, tmp_path, design, rows):  # noqa: F811
    table, _ = surprise.study_data(load(dataset(world, tmp_path)), design, last_period="2024Q4")
    assert (surprise.CELL_COUNT not in table.columns) == rows


def test_the_spread_of_fines_is_the_same_from_cells_at_any_mean(world, tmp_path):  # noqa: F811
    """Fines of a billion yuan that differ by a few yuan: a sum of squares minus a squared sum would lose
    every digit (the E-value's standard deviation came out 11.2 instead of 0.82)."""
    nearly_equal = set_inspections(case_filed=True, penalty_amount=lambda f: 1e9 + (f.index % 3))
    path = dataset(world, tmp_path, nearly_equal)
    rows, _ = surprise.study_table(load(path), last_period="2024Q4")
    cells, _ = surprise.study_cells(load(path), last_period="2024Q4")
    expected = float(rows["penalty_amount"].std())
    assert 0.8 < expected < 0.9
    assert surprise._spread(cells, "penalty_amount") == (pytest.approx(expected, rel=1e-9), False)
    assert surprise._spread(cells, "case_filed") == (0.0, True)
