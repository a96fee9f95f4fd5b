"""Metrics against a hand-computed tiny example (tests/conftest.py: tiny_tables)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import tiny_tables, write_csv_dataset

from analysis.data import load
from analysis.errors import ParameterError
from analysis.metrics import compute, parse_period


@pytest.fixture
def tiny(tiny_dir):
    return load(tiny_dir)


def test_province_half_year_by_hand(tiny):
    row = compute(tiny, by="province", period="2022H1").iloc[0]
    expected = {
        "inspections": 4,  # I1-I4
        "surprise_share": 0.5,  # I1, I3
        "cases": 2,  # I1, I3
        "case_rate": 0.5,
        "key_matter_cases": 1,  # I1 (I4 is key matter without a case)
        "penalty_total": 25000.5,
        "avg_case_value": 12500.25,
        "double_penalty_cases": 1,
        "major_hazards": 3,
        "major_hazard_filing_rate": 1.0,  # I1 and I3 have major hazards, both filed
        "officers": 20,  # 2022Q2: C1 12 + C2 8
        "inspections_per_officer": 0.2,
    }
    assert row["province"] == "Province One" and row["period"] == "2022H1"
    for metric, value in expected.items():
        assert row[metric] == pytest.approx(value), metric


def test_region_quarter_by_hand(tiny):
    table = compute(tiny, by="region", period="2022Q1").set_index("region_id")
    assert table.loc["C1", ["inspections", "cases", "officers"]].tolist() == [2, 1, 10]
    assert table.loc["C2", ["inspections", "cases", "officers"]].tolist() == [1, 1, 8]


def test_year_on_year_ratio(tiny):
    row = compute(tiny, by=None, period="2023H1", yoy=True).iloc[0]
    assert row["inspections_yoy"] == pytest.approx(2 / 4)
    assert row["cases_yoy"] == pytest.approx(1 / 2)
    assert math.isnan(row["officers"])  # no staffing for 2023Q2: missing, not zero


def test_industry_grouping_has_no_officers(tiny):
    table = compute(tiny, by="industry", period="2022").set_index("industry")
    assert table.loc["mining", "inspections"] == 2
    assert table["officers"].isna().all()


@pytest.mark.parametrize("text", ["2022Q5", "2022H3", "22Q1", "2022-Q1", "", "Q1"])
def test_bad_periods_are_rejected(text):
    with pytest.raises(ParameterError, match="period"):
        parse_period(text)


def test_period_outside_data(tiny):
    with pytest.raises(ParameterError, match="no inspections in period 2030Q1 \\(the data covers 2022Q1 to 2023Q1\\)"):
        compute(tiny, period="2030Q1")


def test_bad_grouping(tiny):
    with pytest.raises(ParameterError, match="--by must be one of"):
        compute(tiny, by="county", period="2022")


# --- data that is not the simulated world ------------------------------------------------------


def test_key_matter_not_recorded_is_missing_not_zero(tmp_path):
    tables = tiny_tables()
    tables["inspections"] = tables["inspections"].drop(columns="key_matter")
    table = compute(load(write_csv_dataset(tmp_path / "d", tables)), by=None, period="2022")
    assert np.isnan(table.loc[0, "key_matter_cases"])
    recorded = compute(load(write_csv_dataset(tmp_path / "e", tiny_tables())), by=None, period="2022")
    assert recorded.loc[0, "key_matter_cases"] == 1


def test_year_on_year_in_the_first_year_is_missing_not_an_error(tiny_dir):
    table = compute(load(tiny_dir), by="province", period="2022Q1", yoy=True)
    assert table.loc[0, "inspections"] == 3 and np.isnan(table.loc[0, "inspections_yoy"])


def test_officers_with_a_region_missing_are_not_a_total(tmp_path):
    tables = tiny_tables()
    tables["staffing"] = tables["staffing"].drop(index=3)  # C2 lacks 2022Q2
    dataset = load(write_csv_dataset(tmp_path / "d", tables))
    by_region = compute(dataset, by="region", period="2022H1").set_index("region_id")
    assert by_region.loc["C1", "officers"] == 12 and np.isnan(by_region.loc["C2", "officers"])
    national = compute(dataset, by=None, period="2022H1")
    assert np.isnan(national.loc[0, "officers"])  # 12 alone would read as a fall from 18
    assert compute(dataset, by=None, period="2022Q1").loc[0, "officers"] == 18
