"""Code names become words in one place (analysis.labels); numbers are formatted for people."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import labels, metrics
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
