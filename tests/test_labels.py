"""Code names become words in one place (analysis.labels); numbers are formatted for people."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import contract, labels, metrics, team
from analysis.registry import STUDIES
from analysis.report.messages import key_messages


def names_reaching_reviewers() -> set[str]:
    names = {name for study in STUDIES for name in (study.name, study.estimand, study.method, *study.outcomes)}
    names |= set(metrics.METRICS)
    names |= {"ATE", "ATT", *(f"ATT_e{e}" for e in range(5)), "naive", "regression", "ipw", "aipw", "twfe"}
    return names


@pytest.mark.parametrize("name", sorted(names_reaching_reviewers()))
def test_every_name_a_reviewer_can_meet_has_words(name):
    words = labels.label(name)
    assert words and "_" not in words


def team_table_terms() -> set[str]:
    """Every regression term a team table can show: officers with any lags and leads, training, controls."""
    settings = team.Settings(lags=8, leads=8)
    return {*settings.lag_terms, *settings.lead_terms, "trainees_per_officer", *team.CONTROLS}


@pytest.mark.parametrize("term", sorted(team_table_terms()))
def test_every_term_a_team_table_shows_has_words(term):
    words = labels.words(term)
    assert words != term and "_" not in words


@pytest.mark.parametrize(
    "table, column", [(t.name, col.name) for t in contract.TABLES for col in t.columns], ids=lambda x: str(x)
)
def test_every_column_of_the_data_contract_has_words(table, column):
    assert "_" not in labels.data_table(table)
    words = labels.data_column(table, column)
    assert words and "_" not in words and "." not in words


def test_a_data_column_without_words_fails_loudly():
    with pytest.raises(KeyError, match="no words for the data column 'inspections.new_column'"):
        labels.data_column("inspections", "new_column")


@pytest.mark.parametrize(
    "reason, expected",
    [
        ("penalty_amount > 0 but case_filed is false", "a fine without a penalty case"),
        ("major_hazards exceeds hazards_found", "more major hazards than hidden dangers found"),
        (
            "duplicate key region_id/period (first at line 12)",
            "the same region and quarter a second time (first at line 12)",
        ),
        (
            "unknown region_id; did you mean 'JS-01'? (ids are case-sensitive)",
            "a region not in the regions table; did you mean 'JS-01'? (region codes are case-sensitive)",
        ),
        ("not a number", "not a number"),
    ],
)
def test_the_loaders_reasons_in_words(reason, expected):
    assert labels.reason(reason) == expected


def test_every_fixed_reason_of_the_loader_names_no_column():
    from analysis import validation

    source = Path(validation.__file__).read_text(encoding="utf-8")
    fixed = set(re.findall(r'"([a-z_]+ (?:exceeds|> 0 but|is true but|differs from)[^"]*)"', source))
    assert fixed and fixed <= set(labels.REASONS)  # a new cross-column rule needs its words here
    assert all("_" not in words for words in labels.REASONS.values())


def test_a_name_without_words_fails_loudly():
    with pytest.raises(KeyError, match="no label for 'new_outcome'"):
        labels.label("new_outcome")


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: labels.effect("case_filed", 0.0923), "+9.2 percentage points"),
        (lambda: labels.effect("penalty_amount", 3272.343), "+3,272 yuan"),
        (lambda: labels.effect("hazards_found", -0.7381), "-0.74"),
        (lambda: labels.level("case_rate", 0.254), "25.4%"),
        (lambda: labels.level("avg_case_value", 24089.645), "24,090 yuan"),
        (lambda: labels.level("inspections", 1847), "1,847"),
        (lambda: labels.growth(1.098), "+9.8%"),
        (lambda: labels.change("case_rate", 0.25, 1.25), "+5.0 percentage points"),
        (lambda: labels.interval("case_filed", 0.086, 0.108), "+8.6 to +10.8 percentage points"),
        (lambda: labels.p_value(0.0004), "< 0.001"),
        (lambda: labels.p_value(0.0312), "0.031"),
        (lambda: labels.significant(3272.343), "3,270"),
        (lambda: labels.significant(0.0012345), "0.00123"),
        (lambda: labels.level("case_rate", math.nan), "n/a"),
        (lambda: labels.count(420219), "420,219"),
        (lambda: labels.percent(0.095), "9.5%"),
        (lambda: labels.percent(0.0), "0%"),
        (lambda: labels.percent(0.00004), "< 0.1%"),
        (lambda: labels.multiple(2.7012), "x2.70"),
        (lambda: labels.growth(1.0001), "0.0%"),  # never "+0.0%"
        (lambda: labels.points(-0.0004), "0.0"),  # never "-0.0"
        (lambda: labels.change_in_table("case_rate", 0.25, 1.25), "+5.0"),
        (lambda: labels.change_in_table("inspections", 1673, 1.081), "+8.1%"),
        (lambda: labels.in_table("avg_case_value", 25967.556), "25,968"),
        (lambda: labels.in_table("case_rate", 0.183), "18.3%"),
        (lambda: labels.header("avg_case_value"), "Average fine per case (yuan)"),
        (lambda: labels.coefficient(0.57981), "0.580"),
    ],
)
def test_numbers_for_people(call, expected):
    assert call() == expected


def test_key_messages_have_numbers_units_and_intervals():
    estimates = pd.DataFrame(
        [
            {
                "study": "surprise",
                "outcome": "case_filed",
                "estimand": "ATE",
                "method": "aipw",
                "estimate": 0.097,
                "std_error": 0.006,
                "ci_low": 0.086,
                "ci_high": 0.108,
                "n_obs": 33582,
            },
            {
                "study": "surprise",
                "outcome": "case_filed",
                "estimand": "ATE",
                "method": "naive",
                "estimate": 0.2,
                "std_error": 0.006,
                "ci_low": 0.19,
                "ci_high": 0.21,
                "n_obs": 33582,
            },
            {
                "study": "team",
                "outcome": "inspections",
                "estimand": "elasticity",
                "method": "twfe",
                "estimate": 0.57,
                "std_error": 0.07,
                "ci_low": 0.42,
                "ci_high": 0.71,
                "n_obs": 3212,
            },
        ]
    )
    headline = pd.DataFrame(
        {"metric": ["inspections", "case_rate"], "value": [1847, 0.254], "year_on_year": [1.071, None]}
    )
    messages = key_messages(estimates, headline, "2024Q4")
    assert messages == [
        "In 2024Q4 there were 1,847 inspections (+7.1% on a year earlier); 25.4% of them ended in a penalty case.",
        "Unannounced inspections change the chance that a penalty case is filed by +9.7 percentage points "
        "(95% CI +8.6 to +10.8 percentage points) compared with announced inspections of similar sites.",
        "Within a region, 10% more enforcement officers go with 5.7% more inspections (95% CI +4.2% to +7.1%).",
    ]
