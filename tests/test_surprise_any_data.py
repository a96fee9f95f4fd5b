"""Study 1 on any contract-valid dataset: every step completes, or says in one sentence what the data lacks.

Small worlds (tests/variants.py changes on a world of about 8,000 inspections) stand for
the data a new user brings: optional columns absent or partly empty, no campaign, one
province, one kind of visit, outcomes that never happen. The page's steps are run as
notebook 02 runs them (through `limits.Limitations`); one test builds the page itself.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from variants import (
    Variant,
    drop_columns,
    keep_provinces,
    rename_provinces,
    tiny,
    window,
    without_programs,
    write_variant,
)

from analysis import surprise
from analysis.ate import Estimate
from analysis.data import load
from analysis.diagnostics import e_value
from analysis.limits import Limitations, Missing, Unavailable

NO_RISK = "No inspection up to 2024Q4 has a risk grade (column risk_level), so risk grades are not adjusted for."
NO_SIZE = (
    "No inspection up to 2024Q4 has an enterprise size (column enterprise_size), so enterprise sizes are not "
    "adjusted for."
)
NO_CAMPAIGN = "No surprise campaign was in force up to {period}, so campaigns are not adjusted for."
NO_RISK_GROUPS = (
    "No inspection up to 2024Q4 has a risk grade (column risk_level), so the effect cannot be broken "
    "down by risk grade."
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small simulated world (about 8,000 inspections, 2019Q1-2024Q4; campaigns from 2022Q1)."""
    from analysis import contract as c
    from analysis.synth import write_dataset

    directory = tmp_path_factory.mktemp("surprise-world")
    write_dataset(directory, seed=11, scale=0.02)
    return {t.name: pd.read_parquet(directory / f"{t.name}.parquet") for t in c.TABLES}


def dataset(world, tmp_path, change=lambda tables: tables, fmt: str = "parquet") -> Path:
    return write_variant(Variant("v", change, format=fmt), world, {}, tmp_path / "data")


def set_inspections(**columns):
    def change(tables):
        inspections = tables["inspections"].copy()
        for name, value in columns.items():
            inspections[name] = value(inspections) if callable(value) else value
        return {**tables, "inspections": inspections}

    return change


def then(*changes):
    def change(tables):
        for step in changes:
            tables = step(tables)
        return tables

    return change


def text(shown) -> str:
    """What a displayed object says, as plain text."""
    markup = shown._repr_html_() if hasattr(shown, "_repr_html_") else str(shown)
    return html.unescape(re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", markup)))


def page(path: Path, period: str = "2024Q4", min_cell_size: int = 5, rows: bool = False) -> tuple[Limitations, str]:
    """Notebook 02's steps, in its order and with its sections; the limitations and all the page's text.

    The study table is the notebook's (the cells: `surprise.study_data`), or with `rows` one row per inspection."""
    limits = Limitations()
    build = surprise.study_table if rows else surprise.study_cells
    table, notes = build(load(path), last_period=period)
    table = limits.run("Comparing unannounced with announced inspections", surprise.comparable, table, period)
    shown = [surprise.describe(table, period, notes)]
    outcomes = limits.run("Estimates", surprise.plan, table, limits)
    estimates = limits.run("Estimates", surprise.estimates, table, outcomes, estimands=("ATE", "ATT"))
    frame = limits.run("Estimates", surprise.estimates_frame, estimates)
    shown += [
        surprise.estimates_table(estimates),
        limits.run("Estimates", surprise.estimates_reading, table, estimates),
    ]
    limits.run("Estimates", surprise.forest, frame, None)
    scores = limits.run("Overlap", surprise.propensity_scores, table)
    limits.run("Overlap", surprise.overlap_figure, scores, table)
    balance = limits.run("Balance", surprise.balance, table, scores)
    shown += [surprise.overlap_reading(scores, table), surprise.balance_reading(balance)]
    by_industry = limits.run("Effect by industry", surprise.subgroups, table, "case_filed", "industry", min_cell_size)
    limits.run("Effect by industry", surprise.subgroup_figure, by_industry, "effect")
    by_risk = limits.run("Effect by risk grade", surprise.subgroups, table, "case_filed", "risk_level", min_cell_size)
    shown += [surprise.subgroup_reading(by_industry), surprise.subgroup_display(by_risk, "by risk grade")]
    sensitivity = limits.run("Sensitivity to unmeasured confounding", surprise.sensitivity, table, estimates)
    shown += [
        surprise.sensitivity_table(sensitivity),
        limits.run("Sensitivity to unmeasured confounding", surprise.sensitivity_reading, sensitivity),
        limits.conclusion(),
    ]
    import matplotlib.pyplot as plt

    plt.close("all")
    return limits, " ".join(text(s) for s in shown)


def reasons(limits: Limitations) -> dict[str, str]:
    return dict(limits.items)


@pytest.mark.parametrize("columns", [("risk_level",), ("enterprise_size",), ("risk_level", "enterprise_size")])
def test_an_absent_optional_covariate_is_left_out_of_the_models_not_the_rows(world, tmp_path, columns):
    path = dataset(world, tmp_path, drop_columns(*(("inspections", c) for c in columns)))
    table, notes = surprise.study_table(load(path))
    assert len(table) == len(world["inspections"]) and notes == []  # no inspection dropped
    limits, said = page(path)
    expected = {"risk_level": NO_RISK, "enterprise_size": NO_SIZE}
    for column in columns:
        assert expected[column] in said
        words = surprise.OPTIONAL_COVARIATES[column]
        assert reasons(limits)[f"Adjustment for {words}"] == expected[column]
    assert ("Effect by risk grade" in reasons(limits)) == ("risk_level" in columns)
    if "risk_level" in columns:
        assert NO_RISK_GROUPS in said
    assert "Estimates" not in reasons(limits) and "Unannounced inspections change the chance" in said


def test_a_partly_missing_covariate_is_a_category_of_its_own_and_counted(world, tmp_path):
    every_fifth = set_inspections(risk_level=lambda i: i["risk_level"].astype("Int64").mask(np.arange(len(i)) % 5 == 0))
    path = dataset(world, tmp_path, every_fifth)
    table, notes = surprise.study_table(load(path))
    missing = int(np.ceil(len(world["inspections"]) / 5))
    assert len(table) == len(world["inspections"])
    assert (table["risk_level"] == surprise.NOT_RECORDED).sum() == missing
    assert notes == [
        f"{missing:,} of the {len(table):,} inspections have no risk grade recorded; they are kept, "
        "with \u201cnot recorded\u201d as a category of its own."
    ]
    limits, said = page(path)
    assert notes[0] in said and limits.items == []
    assert "not recorded" in said  # a row of the effect-by-risk-grade table


@pytest.mark.parametrize(
    "change, period",
    [
        (without_programs(), "2024Q4"),  # programs empty
        (without_programs("surprise_campaign"), "2024Q4"),
        (lambda tables: tables, "2021Q4"),  # a report period before every campaign (they start in 2022Q1)
        (keep_provinces("Shandong"), "2024Q4"),  # one province, which never ran a campaign
    ],
    ids=["programs-empty", "no-surprise-campaign", "before-every-campaign", "one-province-without-campaign"],
)
def test_no_campaign_in_force_is_said_in_words(world, tmp_path, change, period):
    path = dataset(world, tmp_path, change)
    table, _ = surprise.study_table(load(path), last_period=period)
    assert (table["campaign_active"] == 0).all()
    results = surprise.estimates(table)
    assert any(n.startswith("campaign_active left out of the propensity model") for r in results for n in r.notes)
    assert NO_CAMPAIGN.format(period=period) in surprise.adjustment(table, results)
    limits, said = page(path, period)
    assert NO_CAMPAIGN.format(period=period) in said
    assert "campaign_active" not in said  # the estimator's note, said in words instead
    assert "Estimates" not in reasons(limits) and "Overlap" not in reasons(limits)


def test_an_outcome_that_never_happens_is_said_and_the_rest_estimated(world, tmp_path):
    path = dataset(world, tmp_path, set_inspections(penalty_amount=0.0, double_penalty=False))
    limits, said = page(path)
    sentence = "The effect on the fines per inspection cannot be estimated: no inspection up to 2024Q4 led to a fine."
    assert reasons(limits)["Effect on fines"] == sentence and sentence in said
    table, _ = surprise.study_table(load(path))
    results = surprise.estimates(table)
    assert {r.outcome for r in results} == {"hazards_found", "major_hazard_found", "case_filed"}
    e_values = surprise.sensitivity(table, results)
    assert np.isfinite(e_values["e_value"]).all()


def test_e_value_is_not_defined_without_a_baseline_rather_than_a_division_by_zero():
    zero_base = Estimate(0.0, 0.0, 0.0, 0.0, 100, "aipw", control_mean=0.0)
    assert all(np.isnan(v) for v in e_value(zero_base).values())
    assert all(np.isnan(v) for v in e_value(zero_base, outcome_sd=0.0).values())
    never_treated_rate = Estimate(-0.2, 0.01, -0.22, -0.18, 100, "aipw", control_mean=0.2)  # treated mean 0
    assert np.isnan(e_value(never_treated_rate)["e_value"])
    ordinary = e_value(Estimate(0.1, 0.02, 0.06, 0.14, 100, "aipw", control_mean=0.2))
    assert ordinary["risk_ratio"] == pytest.approx(1.5) and ordinary["e_value"] == pytest.approx(1.5 + np.sqrt(0.75))
    frame = pd.DataFrame(
        {
            "outcome": ["case_filed", "penalty_amount"],
            "estimate": [0.0, 1.0],
            "risk_ratio": [np.nan, 1.2],
            "e_value": [np.nan, 1.7],
            "e_value_ci": [np.nan, 1.3],
        }
    )
    said = text(surprise.sensitivity_reading(frame))
    assert "No E-value is defined for case filed" in said and "risk ratio of 1.30" in said


@pytest.mark.parametrize(
    "surprise_column, sentence",
    [
        (
            False,
            "None of the 300 inspections up to 2024Q4 was unannounced, so there are no unannounced inspections "
            "to compare with announced ones.",
        ),
        (
            True,
            "All 300 inspections up to 2024Q4 were unannounced, so there are no announced inspections to compare them "
            "with.",
        ),
        (
            lambda i: np.isin(np.arange(len(i)), [0, 1, 2]),
            "Only 3 unannounced and 297 announced inspections up to 2024Q4; at least 5 of each kind are needed "
            "to compare them.",
        ),
    ],
    ids=["no-unannounced", "all-unannounced", "three-unannounced"],
)
def test_one_kind_of_visit_makes_the_study_impossible_and_says_so_once(world, tmp_path, surprise_column, sentence):
    path = dataset(world, tmp_path, then(tiny, set_inspections(surprise=surprise_column)))
    table, _ = surprise.study_table(load(path))
    for step in (surprise.comparable, surprise.estimates, surprise.propensity_scores):
        with pytest.raises(Unavailable, match=re.escape(sentence)):
            step(table)
    limits, said = page(path)
    assert limits.items == [("Comparing unannounced with announced inspections", sentence)]
    assert said.count(sentence) == 2  # where it happens, and in the conclusion
    assert "Not shown: Comparing unannounced with announced inspections was not possible (see above)." in said


def test_tiny_data_estimates_what_it_can_and_says_subgroups_are_too_small(world, tmp_path):
    limits, said = page(dataset(world, tmp_path, tiny))
    too_small = "has enough inspections (500 or more, of both kinds) to estimate an effect of its own."
    assert reasons(limits) == {
        "Effect by industry": f"No industry {too_small}",
        "Effect by risk grade": f"No risk grade {too_small}",
    }
    assert "300 inspections up to 2024Q4" in said and "Unannounced inspections change the chance" in said


def test_sites_visited_one_way_only_are_named(world, tmp_path):
    fireworks_unannounced = set_inspections(
        surprise=lambda i: i["surprise"] | (i["industry"].astype(str) == "fireworks")
    )
    path = dataset(world, tmp_path, then(tiny, fireworks_unannounced))
    table, _ = surprise.study_table(load(path))
    fireworks = int((table["industry"] == "fireworks").sum())
    assert fireworks >= 5
    limits, said = page(path)
    sentence = (
        "Some kinds of site got only one kind of visit, so they cannot be compared like with like: "
        f"all {fireworks} inspections in fireworks were unannounced."
    )
    assert reasons(limits)["Estimates"] == sentence and sentence in said
    assert "Overlap" not in reasons(limits) and "Scores run from" in said  # the overlap figure shows where


@pytest.mark.parametrize(
    "change, period, fmt",
    [
        (keep_provinces("Jiangsu"), "2024Q4", "parquet"),
        (rename_provinces, "2024Q4", "csv"),
        (lambda tables: tables, "2019Q1", "duckdb"),  # the very first quarter of the data
        (window("2019Q1", "2020Q4"), "2020Q4", "parquet"),
    ],
    ids=["one-province-with-campaigns", "provinces-renamed-csv", "first-quarter-duckdb", "eight-quarters-early"],
)
def test_study_completes_on_other_shapes_and_formats(world, tmp_path, change, period, fmt):
    path = dataset(world, tmp_path, change, fmt)
    limits, said = page(path, period)
    assert "Unannounced inspections change the chance" in said
    essential = {"Comparing unannounced with announced inspections", "Estimates", "Overlap", "Balance"}
    assert not essential & set(reasons(limits))


def test_disclosure_control_still_withholds_small_subgroups(world, tmp_path):
    table, _ = surprise.study_table(load(dataset(world, tmp_path)))
    rare = table["industry"] == table["industry"].value_counts().index[-1]
    table.loc[rare & (table.index % 50 != 0), "industry"] = table["industry"].mode()[0]  # a handful stay in the rarest
    groups = surprise.subgroups(table, "case_filed", "industry", min_cell_size=50, min_group=200)
    small = groups.frame["n_obs"].isna()
    assert small.any() and groups.withheld.cells > 0
    assert groups.frame.loc[groups.frame["estimate"].notna(), "industry"].isin(table["industry"]).all()
    assert surprise.withheld(groups, Missing("x", "y")) == [groups.withheld]


@pytest.mark.slow  # a real notebook on data of its own
def test_notebook_page_says_what_it_could_not_do(world, tmp_path):
    """End to end: notebook 02 through the report runner on data without risk grades or campaigns."""
    from analysis.report import build

    path = dataset(world, tmp_path, then(drop_columns(("inspections", "risk_level")), without_programs()))
    result = build(path, "2024Q4", out=tmp_path / "report", only=["02_surprise_inspections"], log=lambda *_: None)
    status = {n.name: (n.status, n.message) for n in result.notebooks}
    assert status["02_surprise_inspections"][0] == "ok", status
    page_html = html.unescape((result.out / "02_surprise_inspections.html").read_text(encoding="utf-8"))
    for sentence in (NO_RISK, NO_RISK_GROUPS, NO_CAMPAIGN.format(period="2024Q4"), "Not possible with this data:"):
        assert sentence in page_html, sentence
    assert "Traceback (most recent call last)" not in page_html
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert manifest["limitations"]["02_surprise_inspections"] == [
        {"section": "Adjustment for risk grade", "reason": NO_RISK},
        {"section": "Effect by risk grade", "reason": NO_RISK_GROUPS},
    ]
