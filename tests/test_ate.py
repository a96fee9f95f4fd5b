"""Treatment-effect estimators: exact algebra, Stata golden values, planted truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.ate import (
    TIDY_COLUMNS,
    Estimates,
    OverlapError,
    covariate_columns,
    design_matrix,
    estimate_ate,
    estimate_many,
)
from analysis.diagnostics import _e_value, balance, overlap_summary, propensity_scores

GOLDEN = Path(__file__).parent / "golden"
OUTCOME_COVARIATES = ["prenatal1_", "mmarried_", "mage", "fbaby_"]
PROPENSITY_COVARIATES = ["mmarried_", "mage", "mage2", "fbaby_", "medu"]


@pytest.fixture(scope="module")
def cattaneo():
    return pd.read_csv(GOLDEN / "cattaneo2.csv")


@pytest.mark.parametrize(
    "row",
    pd.read_csv(GOLDEN / "teffects_cattaneo2.csv").to_dict("records"),
    ids=lambda r: f"{r['method']}-{r['estimand']}",
)
def test_matches_stata_teffects(cattaneo, row):
    est = estimate_ate(
        cattaneo,
        "bweight",
        "mbsmoke_",
        OUTCOME_COVARIATES,
        row["method"],
        estimand=row["estimand"],
        propensity_covariates=PROPENSITY_COVARIATES,
        propensity_model="probit",
    )
    assert est.estimate == pytest.approx(row["effect"], rel=1e-6)
    assert est.control_mean == pytest.approx(row["control_mean"], rel=1e-6)
    assert est.std_error == pytest.approx(row["effect_se"], rel=2e-3)
    assert est.ci_low == pytest.approx(est.estimate - 1.959964 * est.std_error, rel=1e-6)


def test_naive_is_the_difference_in_means_with_welch_error():
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 10.0, 12.0], "t": [0, 0, 0, 1, 1]})
    est = estimate_ate(df, "y", "t", [], "naive")
    assert est.estimate == pytest.approx(11 - 2)
    assert est.std_error == pytest.approx(np.sqrt(1.0 / 3 + 2.0 / 2))


def test_randomized_noise_free_effect_is_exact():
    """With a constant effect and outcomes linear in x, every adjusted method is exact."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    t = (rng.random(2000) < 1 / (1 + np.exp(-x))).astype(int)
    df = pd.DataFrame({"x": x, "t": t, "y": 2.0 + 3.0 * x + 1.5 * t})
    for method in ("regression", "aipw"):
        for estimand in ("ATE", "ATT"):
            assert estimate_ate(df, "y", "t", ["x"], method, estimand=estimand).estimate == pytest.approx(1.5, abs=1e-9)


def test_bad_arguments_are_refused(cattaneo):
    with pytest.raises(ValueError, match="method must be one of"):
        estimate_ate(cattaneo, "bweight", "mbsmoke_", [], "matching")
    with pytest.raises(ValueError, match="must be binary"):
        estimate_ate(cattaneo, "bweight", "mage", [], "naive")
    with pytest.raises(KeyError, match="'nope' is not a column"):
        estimate_ate(cattaneo, "bweight", "mbsmoke_", ["nope"], "ipw")
    with_gap = cattaneo.assign(mage=cattaneo["mage"].astype(float).where(cattaneo.index != 3))
    with pytest.raises(ValueError, match="missing values in mage"):
        estimate_ate(with_gap, "bweight", "mbsmoke_", ["mage"], "aipw")


def test_e_value_formula():
    assert _e_value(2.0) == pytest.approx(2 + np.sqrt(2))  # VanderWeele & Ding's worked value 3.41
    assert _e_value(0.5) == pytest.approx(_e_value(2.0))


def test_weighting_balances_covariates(cattaneo):
    scores = propensity_scores(cattaneo, "mbsmoke_", PROPENSITY_COVARIATES, model="probit")
    table = balance(cattaneo, "mbsmoke_", PROPENSITY_COVARIATES, scores)
    assert table["smd_before"].abs().max() > 0.3
    assert table["smd_after"].abs().max() < table["smd_before"].abs().max() / 2
    assert 0 <= overlap_summary(scores, cattaneo["mbsmoke_"])["share_trimmed"] < 0.2


def test_estimate_many_matches_one_at_a_time(cattaneo):
    many = estimate_many(
        cattaneo,
        ["bweight"],
        "mbsmoke_",
        OUTCOME_COVARIATES,
        ["ipw", "aipw"],
        ["ATE", "ATT"],
        propensity_covariates=PROPENSITY_COVARIATES,
    )
    for est in many:
        one = estimate_ate(
            cattaneo,
            "bweight",
            "mbsmoke_",
            OUTCOME_COVARIATES,
            est.method,
            estimand=est.estimand,
            propensity_covariates=PROPENSITY_COVARIATES,
        )
        assert one.estimate == pytest.approx(est.estimate, rel=1e-12) and one.std_error == pytest.approx(
            est.std_error, rel=1e-12
        )


# --- covariates written as a formula -------------------------------------------------------------

OUTCOME_FORMULA = "prenatal1_ + mmarried_ + mage + fbaby_"
PROPENSITY_FORMULA = "mmarried_ + mage + I(mage**2) + fbaby_ + medu"  # Stata: c.mage##c.mage, here squared in place


@pytest.mark.parametrize(
    "row",
    [r for r in pd.read_csv(GOLDEN / "teffects_cattaneo2.csv").to_dict("records") if r["method"] in ("ipw", "aipw")],
    ids=lambda r: f"{r['method']}-{r['estimand']}",
)
def test_formula_with_mage_squared_matches_stata_teffects(cattaneo, row):
    """The golden IPW / AIPW probit models with mage^2 computed by the formula, not read from mage2."""
    est = estimate_ate(
        cattaneo.drop(columns="mage2"),
        "bweight",
        "mbsmoke_",
        OUTCOME_FORMULA,
        row["method"],
        estimand=row["estimand"],
        propensity_covariates=PROPENSITY_FORMULA,
        propensity_model="probit",
    )
    assert est.estimate == pytest.approx(row["effect"], rel=1e-6)
    assert est.control_mean == pytest.approx(row["control_mean"], rel=1e-6)
    assert est.std_error == pytest.approx(row["effect_se"], rel=2e-3)


def test_formula_and_column_list_give_identical_numbers(cattaneo):
    methods, estimands = ["naive", "regression", "ipw", "aipw"], ["ATE", "ATT"]
    common = dict(methods=methods, estimands=estimands, propensity_model="probit")
    by_list = estimate_many(
        cattaneo, ["bweight"], "mbsmoke_", OUTCOME_COVARIATES, propensity_covariates=PROPENSITY_COVARIATES, **common
    )
    by_formula = estimate_many(
        cattaneo, ["bweight"], "mbsmoke_", OUTCOME_FORMULA, propensity_covariates=PROPENSITY_FORMULA, **common
    )
    assert len(by_list) == len(by_formula) == 8
    for a, b in zip(by_list, by_formula, strict=True):
        assert (a.method, a.estimand) == (b.method, b.estimand)
        assert b.estimate == pytest.approx(a.estimate, rel=1e-12, abs=0)
        assert b.std_error == pytest.approx(a.std_error, rel=1e-12, abs=0)
        assert b.control_mean == pytest.approx(a.control_mean, rel=1e-12, abs=0)


def firms(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    """Inspections of firms with a risk level, an industry and a size; treatment depends on all three."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "risk_level": rng.choice(["high", "low", "medium"], n),
            "industry": pd.Categorical(rng.choice(["chemicals", "food", "textiles"], n)),
            "enterprise_size": rng.normal(size=n),
        }
    )
    index = 0.4 * df["enterprise_size"] + (df["risk_level"] == "high") - 0.5 * (df["industry"] == "food")
    df["treated"] = (rng.random(n) < 1 / (1 + np.exp(-index))).astype(int)
    df["y"] = df["enterprise_size"] + (df["risk_level"] == "low") + 0.5 * df["treated"] + rng.normal(size=n)
    return df


def test_categorical_formula_equals_dummies_of_the_column_list():
    df = firms()
    listed = estimate_many(df, ["y"], "treated", ["risk_level", "industry", "enterprise_size"], ["regression", "aipw"])
    written = estimate_many(
        df, ["y"], "treated", "C(risk_level) + C(industry) + enterprise_size", ["regression", "aipw"]
    )
    for a, b in zip(listed, written, strict=True):
        assert b.estimate == pytest.approx(a.estimate, rel=1e-10)
        assert b.std_error == pytest.approx(a.std_error, rel=1e-10)


def test_formula_interactions_keep_one_intercept_and_drop_empty_cells_with_a_note():
    df = firms()
    df.loc[(df["risk_level"] == "low") & (df["industry"] == "textiles"), "risk_level"] = "medium"  # an empty cell
    formula = "C(risk_level) * C(industry) + enterprise_size"
    matrix = design_matrix(df, formula)
    assert list(matrix.columns[:2]) == ["const", "C(risk_level)[T.low]"] and "Intercept" not in matrix.columns
    assert (matrix["const"] == 1.0).all() and matrix.shape == (len(df), 1 + 2 + 2 + 4 + 1)
    est = estimate_ate(df, "y", "treated", formula, "aipw")
    empty_cell = "C(risk_level)[T.low]:C(industry)[T.textiles]"
    assert f"{empty_cell} left out of the outcome model: constant, or determined by the other covariates" in est.notes
    assert (
        f"{empty_cell} left out of the propensity model: constant, or determined by the other covariates" in est.notes
    )
    # Removing the formula's intercept changes nothing: the model gets its one intercept back.
    without = estimate_ate(df, "y", "treated", f"{formula} - 1", "aipw")
    assert without.estimate == pytest.approx(est.estimate, rel=1e-9)
    assert without.std_error == pytest.approx(est.std_error, rel=1e-7)
    assert list(design_matrix(df, "0 + enterprise_size").columns) == ["const", "enterprise_size"]


def test_formula_columns_are_checked_and_bad_formulas_named(cattaneo):
    with pytest.raises(KeyError, match="'nope' is not a column"):
        estimate_ate(cattaneo, "bweight", "mbsmoke_", "mage + I(nope**2)", "aipw")
    with pytest.raises(KeyError, match="'nope' is not a column"):
        estimate_ate(cattaneo, "bweight", "mbsmoke_", ["mage"], "ipw", propensity_covariates="mage + C(nope)")
    with pytest.raises(KeyError, match=r"'nope' \(in the covariate formula 'mage \+ nope'\) is not a column"):
        design_matrix(cattaneo, "mage + nope")
    with_gap = cattaneo.assign(mage=cattaneo["mage"].astype(float).where(cattaneo.index != 3))
    with pytest.raises(ValueError, match="missing values in mage"):
        estimate_ate(with_gap, "bweight", "mbsmoke_", "medu + I(mage**2)", "aipw")
    with pytest.raises(ValueError, match=r"covariate formula 'mage \+' cannot be read"):
        estimate_ate(cattaneo, "bweight", "mbsmoke_", "mage +", "aipw")
    with pytest.raises(ValueError, match=r"covariate formula 'I\(mage \*\*\)' cannot be read"):
        estimate_ate(cattaneo, "bweight", "mbsmoke_", "I(mage **)", "regression")
    with pytest.raises(ValueError, match=r"covariate formula 'bweight ~ mage' should be a right-hand side only"):
        estimate_ate(cattaneo, "bweight", "mbsmoke_", "bweight ~ mage", "regression")
    with pytest.raises(ValueError, match=r"covariate formula 'np.nosuch\(mage\)' cannot be evaluated"):
        estimate_ate(cattaneo, "bweight", "mbsmoke_", "np.nosuch(mage)", "regression")


def test_formula_reads_only_the_columns_it_names():
    assert covariate_columns("C(a) * `my col` + I(b**2) + np.log(c) + C(a, contr.treatment('x'))") == [
        "a",
        "my col",
        "b",
        "c",
    ]
    assert covariate_columns("~ scale(d) + {e + 1}") == ["d", "e"]
    assert covariate_columns(["x", "y"]) == ["x", "y"]


# --- one result shape --------------------------------------------------------------------------


def test_tidy_has_the_estimates_csv_columns_and_as_row_is_unchanged(cattaneo):
    results = estimate_many(cattaneo, ["bweight"], "mbsmoke_", OUTCOME_COVARIATES, ["naive", "aipw"], ["ATE", "ATT"])
    assert isinstance(results, Estimates) and isinstance(results, list) and len(results) == 4
    first = results[0]
    assert list(first.as_row("smoking")) == ["study", *TIDY_COLUMNS]
    row = first.tidy()
    assert row.shape == (1, 8) and list(row.columns) == TIDY_COLUMNS
    assert row.iloc[0].to_dict() == {k: v for k, v in first.as_row("smoking").items() if k != "study"}
    table = results.tidy()
    assert list(table.columns) == TIDY_COLUMNS and len(table) == 4
    assert list(table["method"]) == ["naive", "aipw", "naive", "aipw"]
    assert table["std_error"].tolist() == [r.std_error for r in results]
    assert list(Estimates().tidy().columns) == TIDY_COLUMNS and Estimates().summary() == ""
    assert results[1:] == list(results)[1:]  # still a list: slicing, equality, iteration


def test_summary_reads_as_text(cattaneo):
    est = estimate_ate(cattaneo.assign(flat=1.0), "bweight", "mbsmoke_", [*OUTCOME_COVARIATES, "flat"], "aipw")
    text = est.summary()
    assert text.splitlines()[0] == "ATE of the treatment on bweight: augmented IPW (doubly robust)"
    assert f"{est.estimate:.1f}" in text and f"{est.std_error:.1f} (robust)" in text
    assert f"95% CI          [{est.ci_low:,.1f}, {est.ci_high:,.1f}]" in text
    assert "4,642 observations" in text and "clusters" not in text
    assert "note: flat left out of the outcome model" in text
    narrow = estimate_ate(cattaneo, "bweight", "mbsmoke_", [], "naive", alpha=0.1)
    assert "90% CI" in narrow.summary() and "(Welch)" in narrow.summary()
    many = estimate_many(cattaneo, ["bweight"], "mbsmoke_", [], ["naive", "ipw"])
    assert many.summary() == many[0].summary() + "\n\n" + many[1].summary()


def test_a_term_times_itself_is_the_term_not_its_square(cattaneo):
    """Formula semantics (patsy, formulaic): mage:mage is mage; the square needs I(mage**2)."""
    assert list(design_matrix(cattaneo, "mage + mage:mage").columns) == ["const", "mage"]
    squared = design_matrix(cattaneo, "mage + I(mage**2)")
    assert squared["I(mage ** 2)"].tolist() == cattaneo["mage2"].astype(float).tolist()


def test_a_column_redundant_within_one_arm_is_left_out_of_that_arms_model_only():
    """As Stata's teffects ra: each arm's regression omits what is collinear among its own units."""
    rng = np.random.default_rng(11)
    n = 400
    t = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    rare = np.where(t == 1, 0.0, (rng.random(n) < 0.3).astype(float))  # never 1 among the treated
    y = 1.0 + 2.0 * t + x + 0.5 * rare + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "t": t, "x": x, "rare": rare})
    est = estimate_ate(df, "y", "t", ["x", "rare"], method="regression")
    assert est.notes == [
        "rare left out of the outcome model of the treated arm: determined by the other covariates there"
    ]
    treated, untreated = df[df["t"] == 1], df[df["t"] == 0]
    m1 = sm.OLS(treated["y"], sm.add_constant(treated[["x"]])).fit().predict(sm.add_constant(df[["x"]]))
    m0 = (
        sm.OLS(untreated["y"], sm.add_constant(untreated[["x", "rare"]]))
        .fit()
        .predict(sm.add_constant(df[["x", "rare"]]))
    )
    assert est.estimate == pytest.approx(float(np.mean(m1 - m0)), rel=1e-10)
    assert np.isfinite(est.std_error) and est.std_error > 0
    with pytest.raises(OverlapError):  # in the propensity model, the same column predicts the arm perfectly
        estimate_ate(df, "y", "t", ["x", "rare"], method="aipw")
    doubly_robust = estimate_ate(df, "y", "t", ["x", "rare"], method="aipw", propensity_covariates=["x"])
    assert np.isfinite(doubly_robust.std_error) and abs(doubly_robust.estimate - 2.0) < 0.5
