"""Degenerate designs get the treatment Stata and fixest give them, said in words, never a wrong number.

Constant or collinear covariates are left out with a note; perfect prediction is a named
error; designs `did` would silently change (no never-treated units, everyone treated from
the start) are refused with a sentence; clustering never invents a cluster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import did, panel
from analysis.ate import OverlapError, drop_redundant, estimate_ate, estimate_many

GOLDEN_CATTANEO = pd.read_csv(__file__.rsplit("/", 1)[0] + "/golden/cattaneo2.csv")
COVARIATES = ["prenatal1_", "mmarried_", "mage", "fbaby_"]


# --- treatment effects --------------------------------------------------------------------


def test_redundant_columns_are_the_later_ones():
    frame = pd.DataFrame(
        {"const": 1.0, "a": [1.0, 2, 3, 4], "b": [2.0, 4, 6, 8], "c": [5.0, 5, 5, 5], "d": [0.0, 1, 0, 1]}
    )
    kept, dropped = drop_redundant(frame)
    assert list(kept.columns) == ["const", "a", "d"] and dropped == ["b", "c"]


@pytest.mark.parametrize("extra", ["constant", "collinear"])
@pytest.mark.parametrize("method", ["regression", "ipw", "aipw"])
def test_redundant_covariate_is_left_out_with_a_note(method, extra):
    data = GOLDEN_CATTANEO.copy()
    data["extra"] = 7.0 if extra == "constant" else 2 * data["mage"] + 1
    reference = estimate_ate(data, "bweight", "mbsmoke_", COVARIATES, method)
    with_extra = estimate_ate(data, "bweight", "mbsmoke_", [*COVARIATES, "extra"], method)
    assert with_extra.estimate == pytest.approx(reference.estimate, rel=1e-9)
    assert with_extra.std_error == pytest.approx(reference.std_error, rel=1e-6)
    assert any("extra left out of the" in note for note in with_extra.notes)
    assert reference.notes == []


def test_perfect_prediction_is_a_named_error():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"x": rng.normal(size=400)})
    data["t"] = (data["x"] > 0).astype(int)
    data["y"] = data["x"] + rng.normal(size=400)
    with pytest.raises(OverlapError, match="overlap"):
        estimate_ate(data, "y", "t", ["x"], "aipw")
    naive = estimate_ate(data, "y", "t", ["x"], "naive")  # the comparison without a model is still possible
    assert np.isfinite(naive.estimate)


def test_overlap_tolerance_is_a_parameter():
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"x": rng.normal(size=2000) * 3})
    data["t"] = rng.binomial(1, 1 / (1 + np.exp(-2.5 * data["x"])))
    data["y"] = data["x"] + data["t"] + rng.normal(size=2000)
    with pytest.raises(OverlapError, match=r"units have a propensity score within 0\.01 of 0 or 1"):
        estimate_ate(data, "y", "t", ["x"], "ipw", overlap_tolerance=0.01)
    assert np.isfinite(estimate_ate(data, "y", "t", ["x"], "ipw", overlap_tolerance=1e-12).estimate)


def test_naive_rows_carry_no_model_notes():
    data = GOLDEN_CATTANEO.assign(extra=1.0)
    rows = estimate_many(data, ["bweight"], "mbsmoke_", [*COVARIATES, "extra"], ["naive", "aipw"])
    assert rows[0].notes == [] and rows[1].notes


# --- staggered difference in differences ------------------------------------------------------


def staggered(units: int = 60, periods: int = 8, never: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = np.arange(units)
    cohort = np.where(index < never, 0, np.where(index < (units + never) // 2, 4, 6))
    df = pd.DataFrame(
        {
            "unit": np.repeat(index + 1, periods),
            "t": np.tile(np.arange(1, periods + 1), units),
            "g": np.repeat(cohort, periods),
        }
    )
    df["x"] = np.repeat(rng.normal(size=units), periods)
    df["y"] = rng.normal(size=len(df)) + 0.5 * df["x"] + ((df["g"] > 0) & (df["t"] >= df["g"])) * 1.0
    return df


@pytest.mark.parametrize("extra", ["constant", "collinear"])
def test_redundant_did_covariate_is_left_out_with_a_note(extra):
    df = staggered()
    df["extra"] = 1.0 if extra == "constant" else 3 * df["x"]
    reference = did.att_gt(df, "y", "t", "unit", "g", xformla="~ x")
    result = did.att_gt(df, "y", "t", "unit", "g", xformla="~ x + extra")
    assert result.table["att"].to_numpy() == pytest.approx(reference.table["att"].to_numpy(), rel=1e-9)
    assert result.notes == ["covariate extra left out: constant, or determined by the other covariates"]
    assert did.aggte(result, "simple").notes == result.notes


def test_only_covariate_constant_falls_back_to_no_covariates():
    df = staggered().assign(extra=2.0)
    result = did.att_gt(df, "y", "t", "unit", "g", xformla="~ extra")
    plain = did.att_gt(df, "y", "t", "unit", "g")
    assert result.table["att"].to_numpy() == pytest.approx(plain.table["att"].to_numpy(), rel=1e-12)


def test_no_never_treated_units_is_refused_not_coerced():
    df = staggered(never=0)
    with pytest.raises(did.DesignError, match="no never-treated units to compare with"):
        did.att_gt(df, "y", "t", "unit", "g")
    result = did.att_gt(df, "y", "t", "unit", "g", control_group="notyettreated")
    assert result.table["att"].notna().any()


def test_everyone_treated_from_the_first_period_is_a_sentence():
    df = staggered()
    df.loc[df["g"] > 0, "g"] = 1
    with pytest.raises(
        did.DesignError, match=r"every treated unit is treated from the first period of the panel \(1\)"
    ):
        did.att_gt(df, "y", "t", "unit", "g")


def test_units_treated_from_the_first_period_are_noted():
    df = staggered()
    df.loc[df["unit"] <= 25, "g"] = np.where(df.loc[df["unit"] <= 25, "g"] > 0, 1, 0)
    result = did.att_gt(df, "y", "t", "unit", "g")
    assert "5 unit(s) treated from the first period left out (no period before adoption)" in result.notes


def test_nobody_treated_is_a_sentence():
    df = staggered().assign(g=0)
    with pytest.raises(did.DesignError, match="no unit is ever treated"):
        did.att_gt(df, "y", "t", "unit", "g")


def test_pretrend_test_with_a_universal_base_period():
    result = did.att_gt(staggered(), "y", "t", "unit", "g", base_period="universal")
    dynamic = did.aggte(result, "dynamic")
    test = did.pretrend_test(dynamic)
    assert np.isfinite(test["pvalue"]) and test["df"] == int((dynamic.by["event_time"] < -1).sum())


# --- fixed effects ---------------------------------------------------------------------------


def panel_frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"region": np.repeat([f"r{i}" for i in range(30)], 10), "quarter": np.tile(range(10), 30)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = 0.6 * df["x"] + rng.normal(size=len(df))
    return df


def test_missing_cluster_ids_are_an_error_not_an_extra_cluster():
    df = panel_frame()
    df.loc[:4, "region"] = None
    with pytest.raises(ValueError, match="cluster variable 'region' is missing in 5 row"):
        panel.feols(df, "y", ["x"], ["quarter"], cluster="region")


def test_a_regressor_named_like_the_cluster_code_is_not_overwritten():
    df = panel_frame()
    df["cluster_code_0"] = np.random.default_rng(4).normal(size=len(df))
    df["y"] = df["y"] + 2.0 * df["cluster_code_0"]
    fit = panel.feols(df, "y", ["x", "cluster_code_0"], ["quarter"], cluster="region")
    unclustered = panel.feols(df, "y", ["x", "cluster_code_0"], ["quarter"])
    assert fit.term("cluster_code_0")["estimate"] == pytest.approx(
        unclustered.term("cluster_code_0")["estimate"], rel=1e-12
    )
    assert fit.term("cluster_code_0")["estimate"] == pytest.approx(2.0, abs=0.2)
