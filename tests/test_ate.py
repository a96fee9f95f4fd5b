"""Treatment-effect estimators: exact algebra, Stata golden values, planted truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.ate import estimate_ate, estimate_many
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
