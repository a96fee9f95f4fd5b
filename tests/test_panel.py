"""Fixed-effects panel regressions: Stata/Baltagi golden values, clustering, bootstrap; study 3 on the world."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import panel, team

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def grunfeld():
    return pd.read_csv(GOLDEN / "grunfeld.csv")


@pytest.mark.parametrize("cluster, column", [(None, "se_conventional"), ("firm", "se_cluster_company")])
def test_within_estimator_matches_stata_xtreg(grunfeld, cluster, column):
    fit = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm"], cluster=cluster)
    reference = pd.read_csv(GOLDEN / "xtreg_grunfeld.csv").set_index("term")
    for term in ("value", "capital"):
        assert fit.term(term)["estimate"] == pytest.approx(reference.loc[term, "estimate"], rel=1e-5)
        assert fit.term(term)["std_error"] == pytest.approx(reference.loc[term, column], rel=1e-3)


def test_two_way_clustering_and_two_way_effects(grunfeld):
    one = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm", "year"], cluster="firm")
    two = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm", "year"], cluster=["firm", "year"])
    assert one.term("value")["estimate"] == pytest.approx(two.term("value")["estimate"], rel=1e-12)
    assert two.term("value")["std_error"] != pytest.approx(one.term("value")["std_error"], rel=1e-3)
    assert two.vcov == "CRV1 by firm and year"


def test_wild_cluster_bootstrap_with_few_clusters(grunfeld):
    fit = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm"], cluster="firm")
    boot = panel.wild_cluster_bootstrap(fit, "value", reps=999)
    again = panel.wild_cluster_bootstrap(fit, "value", reps=999)
    assert boot == again  # seeded
    assert 0 < boot["pvalue"] < 0.05
    assert boot["pvalue"] > fit.term("value")["pvalue"]  # with 10 clusters the bootstrap is more cautious


def test_errors_on_bad_input(grunfeld):
    with pytest.raises(KeyError, match="nope"):
        panel.feols(grunfeld, "invest", ["nope"], ["firm"])
    with pytest.raises(ValueError, match="one or two"):
        panel.feols(grunfeld, "invest", ["value"], [], cluster=["firm", "year", "value"])


def test_exact_recovery_on_noise_free_panel():
    rng = np.random.default_rng(1)
    units, periods = 30, 8
    df = pd.DataFrame({"unit": np.repeat(range(units), periods), "t": np.tile(range(periods), units)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = 0.7 * df["x"] + df["unit"] * 0.3 + df["t"] * 0.1
    assert panel.feols(df, "y", ["x"], ["unit", "t"]).term("x")["estimate"] == pytest.approx(0.7, abs=1e-10)


# --- study 3 on the simulated world -----------------------------------------------------


@pytest.fixture(scope="module")
def world_cells(default_world):
    from analysis.data import load

    return team.panel(load(default_world))


pytestmark = pytest.mark.xdist_group("team")


def test_elasticities_cover_planted_truth(world_cells):
    from analysis.synth.params import Effects

    truth = Effects().inspections_elasticity
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = team.elasticities(world_cells).frame
    assert set(table["outcome"]) == set(team.OUTCOMES)
    for row in table.itertuples():
        assert row.ci_low <= truth <= row.ci_high, row.outcome
    assert table.set_index("outcome").loc["inspections", "ci_high"] < 1  # elasticity below one


def test_leads_test_does_not_reject_without_anticipation(world_cells):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert team.leads_test(world_cells)["pvalue"] > 0.05


def test_lag_profile_sums_to_the_elasticity(world_cells):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile = team.lag_profile(world_cells)
    total = profile[profile["term"] == "sum of lags"].iloc[0]
    assert total["ci_low"] <= 0.6 <= total["ci_high"]


def test_beijing_meets_its_technical_inspector_standard(world_cells):
    table = team.technical_inspector_standard(world_cells).frame.set_index("province")
    assert table.loc["Beijing", "regions_meeting_standard"] == 1.0
    assert table.drop(index="Beijing")["regions_meeting_standard"].max() == 0.0
