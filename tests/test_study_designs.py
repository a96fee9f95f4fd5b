"""Study designs as parameters: the schema's defaults are the studies' own, values are checked
before anything runs, and each study honours its design (scope, programme, covariates, lags)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import cross_region, surprise, team
from analysis.cli import main
from analysis.data import load
from analysis.errors import ParameterError
from analysis.report import schema

SURPRISE = schema.NOTEBOOKS_BY_NAME["02_surprise_inspections"]
CROSS_REGION = schema.NOTEBOOKS_BY_NAME["03_cross_region_enforcement"]
TEAM = schema.NOTEBOOKS_BY_NAME["04_team_expansion"]


@pytest.fixture(scope="module")
def dataset(default_world):
    return load(default_world)


def test_schema_defaults_are_the_studies_own_designs():
    """The notebook's defaults and the package's defaults cannot drift apart."""
    design, given = surprise.DEFAULT, SURPRISE.defaults()
    assert surprise.Design.of(**{k: given[k] for k in _fields(surprise.Design)}) == design
    settings = cross_region.Settings()
    assert {k: CROSS_REGION.defaults()[k] for k in _fields(cross_region.Settings)} == vars(settings)
    assert CROSS_REGION.defaults()["outcomes"] == list(cross_region.OUTCOMES)
    settings_4 = team.Settings()
    defaults_4 = TEAM.defaults()
    assert (
        team.Settings(
            tuple(defaults_4["outcomes"]),
            defaults_4["lags"],
            defaults_4["leads"],
            tuple(defaults_4["controls"]),
            defaults_4["cluster"],
        )
        == settings_4
    )
    assert settings_4.lag_terms == team.LAGS and settings_4.lead_terms == team.LEADS


def _fields(cls) -> list[str]:
    return list(cls.__dataclass_fields__)


@pytest.mark.parametrize(
    "spec, given, complaint",
    [
        (SURPRISE, {"methods": ["magic"]}, "methods: 'magic' not allowed (choose from naive, regression, ipw, aipw)"),
        (SURPRISE, {"estimands": []}, "estimands: give at least one"),
        (SURPRISE, {"covariates": 5}, "covariates: expected list or str, got int 5"),
        (SURPRISE, {"covariates": "y ~ x"}, "covariates: 'y ~ x': give a right-hand side"),
        (SURPRISE, {"overlap_tolerance": 0.7}, "overlap_tolerance: must be from 0 up to 0.5"),
        (SURPRISE, {"propensity_model": "cloglog"}, "propensity_model: 'cloglog' is not one of logit, probit"),
        (CROSS_REGION, {"control_group": "sometimes"}, "control_group: 'sometimes' is not one of nevertreated"),
        (CROSS_REGION, {"anticipation": -1}, "anticipation: must be 0 or more"),
        (TEAM, {"leads": 0}, "leads: must be at least 1"),
        (TEAM, {"outcomes": ["cases", "cases"]}, "outcomes: a name is given twice"),
    ],
)
def test_a_bad_design_names_notebook_parameter_and_what_is_allowed(spec, given, complaint):
    with pytest.raises(ParameterError) as caught:
        spec.resolve(given)
    assert str(caught.value).startswith(f"notebook {spec.name}: ")
    assert complaint in str(caught.value)


def test_scope_and_programme_are_checked_against_the_data():
    facts = schema.DataFacts(("2019Q1", "2024Q4"), provinces=("Hunan", "Jiangsu"), programs=("cross_region",))
    with pytest.raises(ParameterError, match=r"scope: 'Atlantis' not in the data's provinces \(Hunan, Jiangsu\)"):
        CROSS_REGION.resolve({"scope": ["Jiangsu", "Atlantis"]}, data=facts)
    with pytest.raises(ParameterError, match="program: 'training' not in the data's programs"):
        CROSS_REGION.resolve({"program": "training"}, data=facts)
    # The default programme is not an error when the data lacks it: the page says so in words.
    assert CROSS_REGION.resolve({}, data=schema.DataFacts(("2019Q1", "2024Q4")))["program"] == "cross_region"


def test_an_unknown_province_stops_the_report_before_anything_runs(tiny_dir, tmp_path, capsys):
    out = tmp_path / "r"
    code = main(
        ["report", "--data", str(tiny_dir), "--period", "2022Q4", "--out", str(out), "--param", 'scope=["Atlantis"]']
    )
    assert code == 2
    assert "scope: 'Atlantis' not in the data's provinces" in capsys.readouterr().err
    assert not out.exists()


def test_within_keeps_one_province_and_accounts_for_every_row(dataset):
    jiangsu = dataset.within(["Jiangsu"])
    assert set(jiangsu.regions["province"].astype(str)) == {"Jiangsu"}
    assert set(jiangsu.inspections["region_id"].astype(str)) <= set(jiangsu.regions["region_id"].astype(str))
    reconciliation = jiangsu.reconciliation().set_index("table")
    assert reconciliation["balanced"].all()
    assert reconciliation.loc["inspections", "outside_scope"] == len(dataset.inspections) - len(jiangsu.inspections)
    assert "This report covers Jiangsu (" in jiangsu.notes[-1]
    assert dataset.within([]) is dataset
    with pytest.raises(ValueError, match="'Atlantis', not a province of the regions table"):
        dataset.within(["Atlantis"])


def test_study_table_keeps_keys_outcomes_and_row_labels(dataset):
    table, _ = surprise.study_table(dataset, last_period="2023Q4")
    assert set(surprise.KEYS + list(surprise.OUTCOMES)) <= set(table.columns)
    inspections = dataset.inspections
    assert table.index.isin(inspections.index).all()  # labels of the inspections table, not renumbered
    assert (table["inspection_id"] == inspections.loc[table.index, "inspection_id"].astype(str)).all()
    later = int((surprise.quarters_of(inspections["inspection_date"]).astype(str) > "2023Q4").sum())
    assert len(table) + later == len(inspections)
    assert table.attrs["left_out"] == {"inspected after 2023Q4": later}


def test_one_province_gets_estimates(dataset):
    """The surprise study on Jiangsu alone (the last review saw 12 of 14 provinces fail)."""
    table, _ = surprise.study_table(dataset.within(["Jiangsu"]))
    results = surprise.estimates(table, methods=("naive", "aipw"), estimands=("ATE",))
    assert {r.outcome for r in results} == set(surprise.OUTCOMES)
    regions = table["region_id"].nunique()
    assert all(np.isfinite(r.std_error) and r.n_clusters == regions for r in results)
    assert "with fewer than 30 regions they may be too small" in surprise.estimates_reading(table, results).markup


def test_a_formula_and_the_equivalent_columns_give_the_same_estimates(dataset):
    table, _ = surprise.study_table(dataset.within(["Hunan"]))
    columns = surprise.Design(outcomes=("case_filed",), methods=("ipw",), estimands=("ATE",))
    formula = surprise.Design(
        outcomes=("case_filed",),
        methods=("ipw",),
        estimands=("ATE",),
        propensity_covariates="C(risk_level) + C(industry) + C(enterprise_size) + campaign_active",
    )
    a, b = surprise.estimates(table, design=columns)[0], surprise.estimates(table, design=formula)[0]
    assert b.estimate == pytest.approx(a.estimate, rel=1e-8)
    assert b.std_error == pytest.approx(a.std_error, rel=1e-6)


def test_clustering_is_the_surprise_default_and_can_be_turned_off(dataset):
    table, _ = surprise.study_table(dataset.within(["Hunan"]))
    clustered = surprise.estimates(table, ["case_filed"], ["aipw"], ["ATE"])[0]
    independent = surprise.estimates(table, ["case_filed"], ["aipw"], ["ATE"], design=surprise.Design(cluster=None))[0]
    assert clustered.estimate == independent.estimate  # clustering changes the uncertainty only
    assert clustered.n_clusters == table["region_id"].nunique() and independent.n_clusters is None
    assert clustered.std_error != independent.std_error


def test_team_lags_and_leads_follow_the_settings(dataset):
    settings = team.Settings(lags=2, leads=1, controls=("campaign_active",))
    cells = team.panel(dataset, last_period="2024Q4", settings=settings)
    profile = team.lag_profile(cells, settings=settings)
    assert list(profile["term"]) == ["log_officers", "log_officers_lag1", "log_officers_lag2", "sum of lags"]
    leads = team.leads_test(cells, settings=settings)
    assert list(leads["leads"]["term"]) == ["log_officers_lead1"] and leads["df"][0] == 1
    fit = team.elasticity(cells, "inspections", settings=settings)
    assert "cross_region_active" not in set(fit.coefficients["term"])


def test_cross_region_studies_another_programme(dataset):
    settings = cross_region.Settings(program="technical_inspectors")
    cells = cross_region.panel(dataset, last_period="2024Q4", program="technical_inspectors")
    starts = dataset.program_starts("technical_inspectors")
    adopters = set(cells.loc[cells["g"] > 0, "region_id"])
    assert adopters and adopters <= set(starts)
    design = cross_region.design(dataset, cells, settings=settings)
    result = cross_region.estimate(design, "case_rate")
    sentence = cross_region.reading({"case_rate": result}, settings)._repr_html_()
    assert "After adoption, the technical-inspector programme changed" in sentence


def test_the_not_yet_treated_comparison_can_be_asked_for(dataset):
    cells = cross_region.panel(dataset, last_period="2024Q4")
    design = cross_region.design(dataset, cells, settings=cross_region.Settings(control_group="notyettreated"))
    result = cross_region.estimate(design, "case_rate")
    assert result.control_group == "notyettreated"
    assert cross_region.require_never_adopters({"case_rate": result}, design.settings) is None


def test_an_unknown_covariate_in_xformla_is_named(dataset):
    cells = cross_region.panel(dataset, last_period="2024Q4")
    design = cross_region.design(dataset, cells, settings=cross_region.Settings(xformla="~ staff_morale"))
    with pytest.raises(ValueError, match="xformla '~ staff_morale' names staff_morale, not columns"):
        cross_region.estimate(design, "case_rate")


def test_formula_columns_come_from_the_panel(dataset):
    cells = cross_region.panel(dataset, last_period="2024Q4")
    assert cross_region._formula_columns("~ I(inspections ** 2) + log(officers)", cells) == ["inspections", "officers"]
    assert isinstance(cells, pd.DataFrame)


def test_team_verdict_reads_the_leads_test():
    from analysis.limits import Missing

    doubtful = team.robustness({"pvalue": 0.01, "F": 5.0, "df": (2, 40)}, Missing("Elasticities", "no data"))
    assert "Verdict: read with care: output moves before staffing does (leads test p = 0.010)" in doubtful.markup
    fine = team.robustness({"pvalue": 0.40, "F": 0.9, "df": (2, 40)}, Missing("Elasticities", "no data"))
    assert "Verdict: output does not move before staffing does" in fine.markup


def test_estimate_tables_read_in_words_and_units():
    from analysis import display

    row = {"study": "surprise", "outcome": "case_filed", "estimand": "ATE", "method": "aipw", "estimate": 0.0922}
    row |= {"std_error": 0.002, "ci_low": 0.088, "ci_high": 0.096, "n_obs": 420219}
    markup = display.estimates_table(pd.DataFrame([row])).markup
    assert "+9.2 percentage points" in markup and "420,219" in markup and "augmented IPW" in markup
    assert "case_filed" not in markup and ">aipw<" not in markup and "0.0922" not in markup
    comparison = pd.DataFrame(
        [
            {
                "outcome": "avg_case_value",
                "compared_with": "never adopted",
                "regions": 112,
                "callaway_santanna": 1563.4564,
                "cs_ci_low": -200.0,
                "cs_ci_high": 3300.0,
                "twfe": 900.0,
                "twfe_ci_low": -100.0,
                "twfe_ci_high": 1900.0,
                "pretrend_pvalue": 0.0004,
            }
        ]
    )
    shown = cross_region.comparison_shown(comparison).markup
    assert "+1,563 yuan" in shown and "&lt; 0.001" in shown and "regions that never adopted" in shown
    assert "callaway_santanna" not in shown and "cs ci low" not in shown


def test_the_e_value_table_reads_in_words():
    frame = pd.DataFrame(
        [{"outcome": "case_filed", "estimate": 0.0922, "risk_ratio": 1.45, "e_value": 2.26, "e_value_ci": 2.1}]
    )
    markup = surprise.sensitivity_table(frame).markup
    assert "chance that a penalty case is filed" in markup and "+9.2 percentage points" in markup
    assert "e_value" not in markup and "case_filed" not in markup
