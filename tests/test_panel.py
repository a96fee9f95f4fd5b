"""Fixed-effects panel regressions: Stata/Baltagi golden values, clustering, bootstrap; study 3 on the world."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import panel, team
from analysis.did import DesignError

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


# --- public pyfixest interface only ----------------------------------------------------------


class PublicOnly:
    """A pyfixest model that refuses, from outside, every attribute whose name starts with `_`."""

    def __init__(self, model):
        object.__setattr__(self, "wrapped", model)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(f"private pyfixest attribute {name!r} used")
        return getattr(object.__getattribute__(self, "wrapped"), name)


def test_only_public_pyfixest_attributes_are_used(grunfeld, monkeypatch):
    import pyfixest

    real = pyfixest.feols
    monkeypatch.setattr(pyfixest, "feols", lambda *args, **kwargs: PublicOnly(real(*args, **kwargs)))
    for fixed_effects, cluster in [(["firm"], "firm"), (["firm", "year"], None), ([], None)]:
        fit = panel.feols(grunfeld, "invest", ["value", "capital"], fixed_effects, cluster=cluster)
        assert isinstance(fit.fit, PublicOnly)
        assert fit.n_obs == 200
        fit.covariance, fit.tidy(), fit.summary(), panel.joint_test(fit, ["value", "capital"])
    panel.wild_cluster_bootstrap(panel.feols(grunfeld, "invest", ["value"], ["firm"], cluster="firm"), "value", reps=99)
    grunfeld = grunfeld.assign(capital=grunfeld["capital"].where(grunfeld.index % 40 != 5, 0.0))
    fit = panel.feols(grunfeld, "invest", "value + np.log(capital)", ["firm"])  # pyfixest drops 5 rows itself
    assert (fit.n_obs, fit.t_df) == (195, 195 - 2 - 10)


# The previous implementation's joint tests of value and capital (its own covariance and pyfixest's `_df_t`),
# recorded before the switch to the public `wald_test`.
PREVIOUS_JOINT_TESTS = [
    (["firm"], None, "iid", 309.01417516828076, (2, 188), 3.7489356813356567e-60),
    (["firm"], "firm", "iid", 28.309581888616993, (2, 9), 0.0001310548748929941),
    (["firm", "year"], None, "iid", 217.44230687637017, (2, 169), 1.8442362049975368e-47),
    (["firm", "year"], "firm", "iid", 60.08209256289048, (2, 9), 6.222312299045141e-06),
    (["firm", "year"], ["firm", "year"], "iid", 93.41717749100567, (2, 9), 9.562937643770818e-07),
    ([], None, "iid", 426.57573130481245, (2, 197), 2.5799247071945384e-72),
    ([], None, "hetero", 178.82796950666884, (2, 197), 5.23108792472778e-45),
    (["firm"], None, "hetero", 40.227560085180585, (2, 188), 2.863510793389966e-15),
]


@pytest.mark.parametrize("fixed_effects, cluster, vcov, f, df, pvalue", PREVIOUS_JOINT_TESTS)
def test_joint_test_gives_the_previous_numbers_on_grunfeld(grunfeld, fixed_effects, cluster, vcov, f, df, pvalue):
    fit = panel.feols(grunfeld, "invest", ["value", "capital"], fixed_effects, cluster=cluster, vcov=vcov)
    test = panel.joint_test(fit, ["value", "capital"])
    assert test["df"] == df and fit.t_df == df[1]
    assert test["F"] == pytest.approx(f, rel=1e-12 if len(fixed_effects) < 2 else 1e-7)
    assert test["pvalue"] == pytest.approx(pvalue, rel=1e-9 if len(fixed_effects) < 2 else 1e-6)


def planted_panel() -> pd.DataFrame:
    """25 units x 6 periods, three regressors, missing x in three rows and one singleton unit."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"unit": np.repeat(range(25), 6), "t": np.tile(range(6), 25)})
    df["x"], df["z"], df["w"] = rng.normal(size=(3, len(df)))
    df["y"] = 0.5 * df["x"] - 0.2 * df["z"] + rng.normal(size=len(df)) + 0.1 * df["unit"]
    df.loc[[3, 17, 40], "x"] = np.nan
    singleton = pd.DataFrame({"unit": [99], "t": [0], "x": [1.0], "z": [0.0], "w": [0.0], "y": [2.0]})
    df = pd.concat([df, singleton], ignore_index=True)
    df["g"] = df["unit"] % 7
    return df


@pytest.mark.parametrize(
    "regressors, fixed_effects, cluster, vcov, f, df, pvalue",
    [
        (["x", "z", "w"], ["unit", "t"], None, "iid", 17.72672605269594, (3, 114), 1.638233322395172e-09),
        (["x", "z", "w"], ["unit", "t"], ["unit", "g"], "iid", 21.04422807635621, (3, 6), 0.001382669957574333),
        (["x", "z"], ["unit"], "g", "iid", 15.469805546809035, (2, 6), 0.00428525622767996),
        (["x", "z"], [], None, "hetero", 20.22440035560907, (2, 145), 1.7903504570133642e-08),
    ],
)
def test_joint_test_gives_the_previous_numbers_on_a_planted_panel(
    regressors, fixed_effects, cluster, vcov, f, df, pvalue
):
    fit = panel.feols(planted_panel(), "y", regressors, fixed_effects, cluster=cluster, vcov=vcov)
    test = panel.joint_test(fit, regressors)
    assert fit.n_obs == (147 if fixed_effects else 148)  # three rows lack x; the singleton unit goes with effects
    assert test["df"] == df
    # pyfixest demeans two-way effects iteratively; its own result moves in the ninth digit from one process to
    # the next (the previous implementation's too), so the recorded numbers are matched to eight.
    assert test["F"] == pytest.approx(f, rel=1e-8 if len(fixed_effects) < 2 else 1e-7)
    assert test["pvalue"] == pytest.approx(pvalue, rel=1e-6)


@pytest.mark.parametrize("cluster", [None, "firm", ["firm", "year"]])
def test_joint_test_of_one_term_is_its_squared_t(grunfeld, cluster):
    fit = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm", "year"], cluster=cluster)
    row = fit.term("capital")
    test = panel.joint_test(fit, ["capital"])
    assert test["F"] == pytest.approx((row["estimate"] / row["std_error"]) ** 2, rel=1e-10)
    assert test["pvalue"] == pytest.approx(row["pvalue"], rel=1e-8)


def test_joint_test_refuses_unknown_or_no_terms(grunfeld):
    fit = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm"])
    with pytest.raises(ValueError, match="not coefficients of the fit: nope"):
        panel.joint_test(fit, ["value", "nope"])
    with pytest.raises(ValueError, match="at least one term"):
        panel.joint_test(fit, [])


def test_a_panel_fit_built_by_hand_keeps_working(grunfeld):
    fit = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm"])
    by_hand = panel.PanelFit(fit.coefficients, fit.n_obs, fit.vcov, fit.fit)
    assert by_hand.n_clusters is None and by_hand.t_df is None
    assert panel.joint_test(by_hand, ["value"])["df"] == (1, 198)  # the old fallback: n_obs - coefficients
    assert by_hand.covariance.equals(fit.covariance)
    assert by_hand.summary().startswith("OLS\n200 observations; conventional (iid) standard errors")


# --- the covariance matrix ---------------------------------------------------------------------


def within(grunfeld):
    columns = ["invest", "value", "capital"]
    demeaned = grunfeld[columns] - grunfeld.groupby("firm")[columns].transform("mean")
    x = demeaned[["value", "capital"]].to_numpy()
    bread = np.linalg.inv(x.T @ x)
    residuals = demeaned["invest"].to_numpy() - x @ bread @ x.T @ demeaned["invest"].to_numpy()
    return x, bread, residuals


@pytest.mark.parametrize("cluster", [None, "firm"])
def test_covariance_is_the_within_estimators_by_hand(grunfeld, cluster):
    x, bread, u = within(grunfeld)
    n, firms = len(grunfeld), grunfeld["firm"].nunique()
    if cluster is None:
        expected = (u @ u) / (n - 2 - firms) * bread
    else:
        scores = [x[rows].T @ u[rows] for rows in (grunfeld["firm"] == f for f in grunfeld["firm"].unique())]
        meat = sum(np.outer(s, s) for s in scores)
        # fixest: (N - 1) / (N - K) with the firm effects nested in the clusters counted as one, times G / (G - 1)
        expected = (n - 1) / (n - 3) * firms / (firms - 1) * bread @ meat @ bread
    fit = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm"], cluster=cluster)
    covariance = fit.covariance
    assert list(covariance.index) == list(covariance.columns) == ["value", "capital"]
    np.testing.assert_allclose(covariance.to_numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(covariance)), fit.coefficients["std_error"], rtol=1e-12)


def test_covariance_is_what_pyfixest_holds(grunfeld):
    """team.py replaces `fit.fit._vcov` by `fit.covariance`: the numbers must not move."""
    grunfeld = grunfeld.assign(value_sq=grunfeld["value"] ** 2 / 1e4, lag=grunfeld.groupby("firm")["value"].shift())
    fit = panel.feols(grunfeld, "invest", ["value", "capital", "value_sq", "lag"], ["firm", "year"], cluster="firm")
    held = getattr(fit.fit, "_vcov", None)
    if held is None:
        pytest.skip("this pyfixest keeps its covariance elsewhere")
    np.testing.assert_allclose(fit.covariance.to_numpy(), held, rtol=1e-12, atol=0)
    weights = np.array([1.0, 0.0, 1.0, 1.0])
    assert np.sqrt(weights @ fit.covariance.to_numpy() @ weights) == pytest.approx(
        np.sqrt(weights @ held @ weights), rel=1e-13
    )
    assert np.array_equal(fit.covariance.to_numpy(), fit.covariance.to_numpy().T)


# --- regressors as a formula -------------------------------------------------------------------


@pytest.mark.parametrize("cluster", [None, "firm", ["firm", "year"]])
def test_a_list_and_the_same_formula_give_identical_fits(grunfeld, cluster):
    listed = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm", "year"], cluster=cluster)
    written = panel.feols(grunfeld, "invest", "value + capital", ["firm", "year"], cluster=cluster)
    assert written.coefficients.equals(listed.coefficients)
    assert (written.n_obs, written.vcov, written.n_clusters, written.t_df) == (
        listed.n_obs,
        listed.vcov,
        listed.n_clusters,
        listed.t_df,
    )
    assert written.covariance.equals(listed.covariance)
    assert written.tidy().equals(listed.tidy()) and written.summary() == listed.summary()
    assert panel.joint_test(written, ["value", "capital"]) == panel.joint_test(listed, ["value", "capital"])


def test_formula_terms_equal_the_columns_built_by_hand(grunfeld):
    data = grunfeld.assign(
        quarter_of_year=(grunfeld["year"] % 4).astype(int),
        event_time=(grunfeld["year"] - 1945).clip(-3, 3).astype(int),
    )
    data["value_sq"] = data["value"] ** 2
    dummies = {f"q{q}": (data["quarter_of_year"] == q).astype(float) for q in (1, 2, 3)}
    events = {f"e{e + 3}": (data["event_time"] == e).astype(float) for e in (-3, -2, 0, 1, 2, 3)}
    data = data.assign(**dummies, **events)

    written = panel.feols(data, "invest", "value + C(quarter_of_year) + I(value**2)", ["firm"], cluster="firm")
    by_hand = panel.feols(data, "invest", ["value", *dummies, "value_sq"], ["firm"], cluster="firm")
    assert list(written.coefficients["term"]) == [
        "value",
        "C(quarter_of_year)[T.1]",
        "C(quarter_of_year)[T.2]",
        "C(quarter_of_year)[T.3]",
        "I(value ** 2)",
    ]
    np.testing.assert_allclose(written.coefficients["estimate"], by_hand.coefficients["estimate"], rtol=1e-8)
    np.testing.assert_allclose(written.coefficients["std_error"], by_hand.coefficients["std_error"], rtol=1e-7)

    study = panel.feols(data, "invest", "value + i(event_time, ref=-1)", ["firm"], cluster="firm")
    by_hand = panel.feols(data, "invest", ["value", *events], ["firm"], cluster="firm")
    assert len(study.coefficients) == 7 and not study.coefficients["term"].str.contains("-1").any()
    np.testing.assert_allclose(study.coefficients["estimate"], by_hand.coefficients["estimate"], rtol=1e-8)
    leads = [t for t in study.coefficients["term"] if t != "value"]
    assert panel.joint_test(study, leads)["F"] == pytest.approx(panel.joint_test(by_hand, list(events))["F"], rel=1e-8)


def test_formula_columns_are_checked_like_listed_ones(grunfeld):
    with pytest.raises(KeyError, match="not columns of the panel: nope, other"):
        panel.feols(grunfeld, "invest", "value + nope + C(other)", ["firm"])
    with pytest.raises(KeyError, match="not columns of the panel: nope"):
        panel.estimable_sample(grunfeld, "invest", "value + I(nope**2)", ["firm"])
    for text, message in [
        ("value ~ capital", "only the right-hand side"),
        ("value | year", "only the right-hand side"),
        ("value + (", "not a formula pyfixest can read"),
        ("sw(value, capital)", "several models"),
        ("", "at least one regressor"),
        ("1", "at least one regressor"),
    ]:
        with pytest.raises(ValueError, match=message):
            panel.feols(grunfeld, "invest", text, ["firm"])


def test_estimable_sample_reads_the_columns_a_formula_uses(grunfeld):
    data = grunfeld.assign(
        quarter_of_year=(grunfeld["year"] % 4).astype(float), unused=np.nan, listed=grunfeld["firm"].str.len()
    )
    data.loc[[0, 1], "quarter_of_year"] = np.nan
    sample = panel.estimable_sample(data, "invest", "value + C(quarter_of_year)", ["firm"])
    assert len(sample) == 198 and sample.index[0] == 2  # rows lacking a used column go; `unused` does not matter
    assert panel.feols(data, "invest", "value + C(quarter_of_year)", ["firm"]).n_obs == 198
    with pytest.raises(DesignError, match="^listed never changes within a firm, so the firm fixed effects absorb "):
        panel.feols(data, "invest", "value + I(listed ** 2)", ["firm"])
    with pytest.raises(DesignError, match="^firm never changes within a firm, .* absorb C\\(firm\\) and it cannot"):
        panel.feols(data, "invest", "value + C(firm)", ["firm"])
    with pytest.raises(DesignError, match="^value takes a single value in the 200 usable rows, so I\\(value"):
        panel.feols(data.assign(value=3.0), "invest", "capital + I(value ** 2)", ["firm"])
    # an interaction of a column the firm effects absorb with one that varies is estimable
    fit = panel.feols(data, "invest", "value + value:listed", ["firm"])
    assert list(fit.coefficients["term"]) == ["value", "value:listed"]


def test_a_formula_that_uses_up_the_sample_is_a_design_error():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": range(12), "g": np.arange(12) % 3, "x": rng.normal(size=12), "y": rng.normal(size=12)})
    for fixed_effects in ([], ["g"]):
        with pytest.raises(DesignError, match="nothing is left to estimate the errors"):
            panel.feols(df, "y", "x + C(id)", fixed_effects)


# --- one result shape: tidy() and summary() --------------------------------------------------------


def test_tidy_is_the_coefficients_with_sample_and_errors(grunfeld):
    fit = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm"], cluster="firm")
    table = fit.tidy()
    assert list(table.columns) == ["term", "estimate", "std_error", "ci_low", "ci_high", "pvalue", "n_obs", "vcov"]
    assert table.drop(columns=["n_obs", "vcov"]).equals(fit.coefficients)
    assert table["n_obs"].eq(200).all() and table["vcov"].eq("CRV1 by firm").all()
    table.loc[0, "estimate"] = 0.0
    assert fit.term("value")["estimate"] != 0.0  # a copy


def test_summary_reads_coefficients_errors_sample_and_clusters(grunfeld):
    fit = panel.feols(grunfeld, "invest", ["value", "capital"], ["firm"], cluster="firm")
    lines = fit.summary().splitlines()
    assert lines[0] == "OLS of invest, absorbing firm fixed effects"
    assert lines[1] == "200 observations; standard errors clustered by firm (CRV1, 10 clusters)"
    assert lines[3].split() == ["term", "estimate", "std.", "error", "95%", "CI", "p-value"]
    value = fit.term("value")
    assert lines[4].split() == [
        "value",
        f"{value['estimate']:.4f}",
        f"{value['std_error']:.5f}",
        f"[{value['ci_low']:.5f},",
        f"{value['ci_high']:.4f}]",
        "<0.001",
    ]
    assert lines[5].startswith("capital")

    two_way = panel.feols(grunfeld, "invest", ["value"], ["firm", "year"], cluster=["firm", "year"]).summary()
    assert "absorbing firm and year fixed effects" in two_way
    assert "clustered by firm and year (CRV1, 10 clusters in the smaller dimension)" in two_way
    assert "conventional (iid) standard errors" in panel.feols(grunfeld, "invest", ["value"], ["firm"]).summary()
    robust = panel.feols(grunfeld, "invest", ["value"], [], vcov="hetero").summary()
    assert robust.startswith("OLS of invest\n") and "heteroskedasticity-robust (HC1)" in robust
    assert "Intercept" in robust


# --- documentation ---------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["feols", "estimable_sample", "wild_cluster_bootstrap", "joint_test"])
def test_numpydoc_docstrings_with_examples_that_run(function):
    import doctest

    doc = getattr(panel, function).__doc__
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert f"\n    {section}\n    {'-' * len(section)}\n" in doc, section
    test = doctest.DocTestFinder().find(getattr(panel, function), function, globs=vars(panel).copy())[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test)
    assert result.failed == 0 and result.attempted > 2


# --- study 3 on the simulated world -----------------------------------------------------


@pytest.fixture(scope="module")
def world_cells(default_world):
    from analysis.data import load

    return team.panel(load(default_world))


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


# --- the within-cell gap from counts and sums equals the regression on the rows ---------------------------------


def _cells_of(rows: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    grouped = rows.assign(**{f"{y}_sq": rows[y] ** 2 for y in outcomes}).groupby(["cluster", "cell", "d"])
    sums = grouped[[*outcomes, *(f"{y}_sq" for y in outcomes)]].sum().unstack("d")
    counts = grouped.size().unstack("d")
    cells = pd.DataFrame({"n0": counts[0], "n1": counts[1]})
    for y in outcomes:
        for arm in (0, 1):
            cells[f"sum{arm}_{y}"] = sums[(y, arm)]
            cells[f"sumsq{arm}_{y}"] = sums[(f"{y}_sq", arm)]
    return cells.dropna().reset_index()


def test_within_cell_gap_equals_feols_with_cell_effects_and_clustered_errors():
    rng = np.random.default_rng(7)
    n = 6000
    cluster = rng.integers(0, 9, n)
    cell = cluster * 10 + rng.integers(0, 6, n)  # cells nest in clusters
    d = (rng.random(n) < 0.2 + 0.05 * (cell % 7)).astype(int)  # arms' shares differ by cell
    rows = pd.DataFrame(
        {
            "cluster": cluster,
            "cell": cell,
            "d": d,
            "y": 0.3 * d + 0.1 * cell + rng.normal(size=n),
            "binary": (rng.random(n) < 0.3 + 0.2 * d).astype(float),
        }
    )
    cells = _cells_of(rows, ["y", "binary"])
    for outcome in ("y", "binary"):
        expected = panel.feols(rows, outcome, ["d"], ["cell"], cluster="cluster").term("d")
        got = panel.within_cell_gap(cells, outcome, "cluster")
        for key in ("estimate", "std_error", "ci_low", "ci_high"):
            assert got[key] == pytest.approx(float(expected[key]), rel=1e-10), (outcome, key)
        assert got["n_obs"] == n


def test_within_cell_gap_is_none_when_the_cells_absorb_the_outcome():
    rows = pd.DataFrame({"cluster": [1, 1, 2, 2, 3, 3], "cell": [1, 1, 2, 2, 3, 3], "d": [0, 1] * 3})
    rows["y"] = rows["cell"] * 2.0  # constant within each cell
    assert panel.within_cell_gap(_cells_of(rows, ["y"]), "y", "cluster") is None
