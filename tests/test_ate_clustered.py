"""Clustered standard errors of the treatment-effect estimators (`cluster=`).

Exact algebra (one unit per cluster is the independent-units error times sqrt(n/(n-1)); the
naive error equals OLS's cluster-robust one), named errors, and a Monte Carlo: with shocks
shared within clusters, in the outcome and in the treatment share, intervals that assume
independent units under-cover and clustered ones cover about 95%.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.ate import estimate_ate, estimate_many

CATTANEO = pd.read_csv(Path(__file__).parent / "golden" / "cattaneo2.csv")
OUTCOME_COVARIATES = ["prenatal1_", "mmarried_", "mage", "fbaby_"]
PROPENSITY_FORMULA = "mmarried_ + mage + I(mage**2) + fbaby_ + medu"


# --- exact algebra ---------------------------------------------------------------------------------


@pytest.mark.parametrize("estimand", ["ATE", "ATT"])
@pytest.mark.parametrize("method", ["regression", "ipw", "aipw"])
def test_one_unit_per_cluster_is_the_robust_error_times_sqrt_n_over_n_minus_1(method, estimand):
    data = CATTANEO.assign(unit=np.arange(len(CATTANEO)))
    common = dict(estimand=estimand, propensity_covariates=PROPENSITY_FORMULA, propensity_model="probit")
    robust = estimate_ate(data, "bweight", "mbsmoke_", OUTCOME_COVARIATES, method, **common)
    clustered = estimate_ate(data, "bweight", "mbsmoke_", OUTCOME_COVARIATES, method, cluster="unit", **common)
    n = len(data)
    assert clustered.estimate == robust.estimate
    assert clustered.std_error == pytest.approx(robust.std_error * np.sqrt(n / (n - 1)), rel=1e-10)
    assert (robust.n_clusters, robust.vcov) == (None, "robust")
    assert (clustered.n_clusters, clustered.vcov) == (n, "clustered by unit")


def test_naive_clustered_error_is_its_influence_function_summed_by_cluster():
    y, t = CATTANEO["bweight"].to_numpy(float), CATTANEO["mbsmoke_"].to_numpy(float)
    n, treated, control = len(y), y[t == 1], y[t == 0]
    by_unit = estimate_ate(CATTANEO.assign(unit=np.arange(n)), "bweight", "mbsmoke_", [], "naive", cluster="unit")
    independent = np.sqrt(treated.var() / len(treated) + control.var() / len(control))  # divisor n, not n - 1
    assert by_unit.std_error == pytest.approx(independent * np.sqrt(n / (n - 1)), rel=1e-10)
    welch = estimate_ate(CATTANEO, "bweight", "mbsmoke_", [], "naive")
    assert welch.vcov == "Welch" and welch.n_clusters is None


def test_naive_clustered_error_equals_ols_cluster_robust_error():
    """The difference in means is OLS of y on (1, t); its cluster-robust error, with the G/(G-1) factor only."""
    data = CATTANEO.assign(county=np.random.default_rng(4).integers(0, 37, len(CATTANEO)))
    est = estimate_ate(data, "bweight", "mbsmoke_", [], "naive", cluster="county")
    ols = sm.OLS(data["bweight"], sm.add_constant(data["mbsmoke_"].astype(float))).fit(
        cov_type="cluster", cov_kwds={"groups": data["county"], "use_correction": False}
    )
    g = data["county"].nunique()
    assert est.n_clusters == g == 37
    assert est.estimate == pytest.approx(ols.params["mbsmoke_"], rel=1e-12)
    assert est.std_error == pytest.approx(ols.bse["mbsmoke_"] * np.sqrt(g / (g - 1)), rel=1e-10)


def test_clustered_error_ignores_labels_and_row_order():
    data = CATTANEO.assign(county=np.random.default_rng(5).integers(0, 30, len(CATTANEO)))
    first = estimate_ate(data, "bweight", "mbsmoke_", OUTCOME_COVARIATES, "aipw", cluster="county")
    relabelled = data.assign(county=data["county"].map(lambda c: f"county {29 - c}"))
    shuffled = relabelled.sample(frac=1.0, random_state=0)
    again = estimate_ate(shuffled, "bweight", "mbsmoke_", OUTCOME_COVARIATES, "aipw", cluster="county")
    assert again.estimate == pytest.approx(first.estimate, rel=1e-9)
    assert again.std_error == pytest.approx(first.std_error, rel=1e-9)
    robust = estimate_ate(data, "bweight", "mbsmoke_", OUTCOME_COVARIATES, "aipw")
    assert first.std_error != pytest.approx(robust.std_error, rel=1e-3)
    assert "30 clusters" in first.summary() and "(clustered by county)" in first.summary()


def test_cluster_column_problems_are_named():
    gaps = CATTANEO.assign(
        county=np.where(np.arange(len(CATTANEO)) % 100 == 0, np.nan, 1.0 + np.arange(len(CATTANEO)) % 7)
    )
    with pytest.raises(ValueError, match="the cluster column 'county' has 47 missing values"):
        estimate_ate(gaps, "bweight", "mbsmoke_", OUTCOME_COVARIATES, "aipw", cluster="county")
    with pytest.raises(ValueError, match="the cluster column 'county' has 47 missing values"):
        estimate_ate(gaps, "bweight", "mbsmoke_", [], "naive", cluster="county")
    with pytest.raises(KeyError, match="'county' is not a column"):
        estimate_ate(CATTANEO, "bweight", "mbsmoke_", [], "naive", cluster="county")
    with pytest.raises(ValueError, match="single cluster"):
        estimate_ate(CATTANEO.assign(county=1), "bweight", "mbsmoke_", [], "ipw", cluster="county")


# --- Monte Carlo coverage --------------------------------------------------------------------------

CLUSTERS, CLUSTER_SIZE, EFFECT = 40, 50, 1.0
CHECKED = [("y", "regression"), ("y", "ipw"), ("y", "aipw"), ("y_plain", "naive")]
IID_CEILING = 0.88  # intervals assuming independent units cover about 0.6 in this design


def simulate(rng: np.random.Generator) -> pd.DataFrame:
    """40 clusters of 50 units; a cluster effect in the outcome, and a treatment share varying by cluster.

    Treatment depends on x (so `y` needs adjusting) and on a cluster effect the models do not
    see; the outcome has a cluster random effect independent of it. The effect is EFFECT for
    everyone. `y_plain` is the outcome without x, for the difference in means.
    """
    cluster = np.repeat(np.arange(CLUSTERS), CLUSTER_SIZE)
    n = CLUSTERS * CLUSTER_SIZE
    x = rng.normal(size=n)
    treatment_shift = rng.normal(size=CLUSTERS)[cluster]
    outcome_shock = rng.normal(size=CLUSTERS)[cluster]
    t = (rng.random(n) < 1 / (1 + np.exp(-(treatment_shift + 0.5 * x)))).astype(int)
    noise = rng.normal(size=n)
    y_plain = 1.0 + EFFECT * t + outcome_shock + noise
    return pd.DataFrame({"y": y_plain + x, "y_plain": y_plain, "t": t, "x": x, "cluster": cluster})


def coverages(replications: int, seed: int) -> dict[tuple[str, str], dict[str, float]]:
    """Share of replications whose 95% interval holds EFFECT, per (outcome, method) and error type."""
    rng = np.random.default_rng(seed)
    hits = {key: {"iid": 0, "clustered": 0} for key in CHECKED}
    for _ in range(replications):
        data = simulate(rng)
        for kind, cluster in (("iid", None), ("clustered", "cluster")):
            for est in estimate_many(
                data, ["y", "y_plain"], "t", ["x"], ["naive", "regression", "ipw", "aipw"], cluster=cluster
            ):
                if (est.outcome, est.method) in hits:
                    hits[(est.outcome, est.method)][kind] += est.ci_low <= EFFECT <= est.ci_high
    return {key: {kind: count / replications for kind, count in found.items()} for key, found in hits.items()}


def clustered_band(replications: int) -> tuple[float, float]:
    """Where the clustered coverage may fall: 0.95 give or take 3 binomial standard errors
    (sqrt(0.95 * 0.05 / R)), and 0.02 more below, since with 40 clusters normal-based
    cluster-robust intervals are known to cover a little less than 95%."""
    spread = 3 * np.sqrt(0.95 * 0.05 / replications)
    return 0.95 - 0.02 - spread, 0.95 + spread


def check_coverage(replications: int, seed: int) -> None:
    found = coverages(replications, seed)
    low, high = clustered_band(replications)
    report = (
        f"coverage over R={replications} replications (seed {seed}), clustered band [{low:.3f}, {high:.3f}]: "
        + "; ".join(
            f"{outcome}/{method} iid {c['iid']:.3f} clustered {c['clustered']:.3f}"
            for (outcome, method), c in found.items()
        )
    )
    print(report)
    for c in found.values():
        assert c["iid"] < IID_CEILING, report
        assert low <= c["clustered"] <= high, report


@pytest.mark.slow  # 300 replications (~6 s); test_clustered_intervals_cover_precisely runs 2000
def test_clustered_intervals_cover_and_independent_ones_do_not():
    """R = 300: band [0.892, 0.988] (binomial standard error 0.013). About 6 s of CPU."""
    check_coverage(replications=300, seed=20240611)


@pytest.mark.slow
def test_clustered_intervals_cover_precisely():
    """R = 2000: band [0.915, 0.965] (binomial standard error 0.005). About 40 s of CPU."""
    check_coverage(replications=2000, seed=1)
